package npm

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReleaseGuards(t *testing.T) {
	root := t.TempDir()
	pkg := filepath.Join(root, "packages", "p")
	files := map[string]string{
		"packages/p/check.js":      "if (!process.env.PUBLISH) { process.exit(1) }\n",
		"packages/p/release.mjs":   "if ('releasing' !== process.env['MY_RELEASE']) throw new Error('not a release')\n",
		"packages/p/ci-only.js":    "if (!process.env.CI || process.env.NODE_ENV !== 'production' || !process.env.npm_config_tag) process.exit(1)\n",
		"packages/p/no-exit.js":    "console.log(process.env.DEBUG)\n",
		"packages/p/big.js":        "if (!process.env.BIG) process.exit(1)\n" + strings.Repeat("// padding\n", 1000),
		"outside.js":               "if (!process.env.OUTSIDE) process.exit(1)\n",
		"packages/p/scripts/x.cjs": "const { env } = process\nif (env.X_MODE !== \"on\" || env.PUBLISH == null) process.exitCode = 2\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		body string
		want []guardVar
	}{
		{"node check.js && npm run build", []guardVar{{"PUBLISH", "true", "check.js"}}},
		{"npm test && node --no-warnings ./release.mjs", []guardVar{{"MY_RELEASE", "releasing", "release.mjs"}}},
		{"node scripts/x.cjs; node check.js", []guardVar{{"X_MODE", "on", "scripts/x.cjs"}, {"PUBLISH", "true", "scripts/x.cjs"}}},
		{"node ci-only.js", nil}, // CI, NODE_ENV and npm's own are not set
		{"node no-exit.js", nil}, // reads the environment but refuses nothing
		{"node big.js", nil},     // not a few-line guard
		{"node ../../outside.js", []guardVar{{"OUTSIDE", "true", "../../outside.js"}}}, // the repository root's
		{"node ../../../outside.js", nil},                                              // outside the repository
		{"node missing.js", nil},
		{"rollup -c", nil},
	} {
		got := releaseGuards(c.body, pkg, root)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("releaseGuards(%q) = %v, want %v", c.body, got, c.want)
		}
	}
}

func TestScriptRemedyForSourceMapWasm(t *testing.T) {
	out := []byte("[!] (plugin visualizer) Error: You must provide the URL of lib/mappings.wasm by calling SourceMapConsumer.initialize({ 'lib/mappings.wasm': ... }) before using SourceMapConsumer\n")
	dir := t.TempDir()
	next, why, sticky := scriptRemedy(dir, dir, "build", out, []string{"PATH=/bin", "NODE_OPTIONS=--openssl-legacy-provider"})
	if !reflect.DeepEqual(next, []string{"PATH=/bin", "NODE_OPTIONS=--openssl-legacy-provider --no-experimental-fetch"}) || !sticky || !strings.Contains(why, "source-map 0.7") {
		t.Errorf("remedy = %q %q %v", next, why, sticky)
	}
	if next, _, _ := scriptRemedy(dir, dir, "build", out, []string{"PATH=/bin"}); !reflect.DeepEqual(next, []string{"PATH=/bin", "NODE_OPTIONS=--no-experimental-fetch"}) {
		t.Errorf("remedy without NODE_OPTIONS = %q", next)
	}
	// Tried already, or another failure: nothing more.
	if next, _, _ := scriptRemedy(dir, dir, "build", out, []string{"NODE_OPTIONS=--no-experimental-fetch"}); next != nil {
		t.Errorf("remedy after the remedy = %q", next)
	}
	if next, _, _ := scriptRemedy(dir, dir, "build", []byte("error TS2307: Cannot find module"), nil); next != nil {
		t.Errorf("remedy for a compile error = %q", next)
	}
}
