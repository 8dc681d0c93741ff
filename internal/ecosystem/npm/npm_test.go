package npm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/registry/npm"
	"github.com/vouch-dev/vouch/internal/source"
)

func TestArtifactName(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"is-number", "7.0.0", "is-number-7.0.0.tgz"},
		{"@babel/core", "7.24.0", "core-7.24.0.tgz"},
	} {
		if got := ArtifactName(tc.name, tc.version); got != tc.want {
			t.Errorf("ArtifactName(%s, %s) = %s, want %s", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestPublishScripts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scripts map[string]string
		want    string
	}{
		{"none", nil, ""},
		{"prepublishOnly wins", map[string]string{"prepublishOnly": "x", "prepublish": "y", "build": "z"}, "prepublishOnly"},
		{"legacy prepublish", map[string]string{"prepublish": "y", "build": "z"}, "prepublish"},
		{"build alone", map[string]string{"build": "z"}, "build"},
		{"compile alone", map[string]string{"compile": "tsc", "test": "mocha"}, "compile"},
		{"build before compile", map[string]string{"compile": "tsc", "build": "z"}, "build"},
		{"compile left to prepublish", map[string]string{"compile": "tsc", "prepublish": "y"}, "prepublish"},
		{"build left to prepare", map[string]string{"build": "z", "prepare": "npm run build"}, ""},
		{"build left to prepack", map[string]string{"build": "z", "prepack": "npm run build"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := publishScripts(tc.scripts); got != tc.want {
				t.Errorf("publishScripts = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRelease(t *testing.T) {
	if n, ok := parseRelease("10.8.2"); !ok || n != [3]int{10, 8, 2} {
		t.Errorf("parseRelease(10.8.2) = %v %v", n, ok)
	}
	for _, bad := range []string{"10.8", "10.8.2-beta.1", "x.y.z", ""} {
		if _, ok := parseRelease(bad); ok {
			t.Errorf("parseRelease(%q) accepted", bad)
		}
	}
}

func TestTrustedPublishTime(t *testing.T) {
	when := time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)
	v := &npm.Version{PublishedAt: when}
	real := &npm.Packument{Time: map[string]string{"created": "2019-01-01T00:00:00Z", "modified": "2021-01-01T00:00:00Z", "1.0.0": "2020-05-01T00:00:00Z"}}
	mirror := &npm.Packument{Time: map[string]string{"1.0.0": "2026-03-29T08:50:05Z"}}
	if got := trustedPublishTime(real, v); !got.Equal(when) {
		t.Errorf("real registry: %v", got)
	}
	if got := trustedPublishTime(mirror, v); !got.IsZero() {
		t.Errorf("mirror without created/modified must give no cut-off, got %v", got)
	}
}

func TestTargetFromName(t *testing.T) {
	tg, err := targetFromName("@scope/pkg", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"@scope", "pkg", "1.0.0"}, []string{tg.Namespace, tg.Name, tg.Version}); diff != "" {
		t.Error(diff)
	}
	for _, bad := range []string{"@scope", "../x", ""} {
		if _, err := targetFromName(bad, "1.0.0"); err == nil {
			t.Errorf("targetFromName(%q) accepted", bad)
		}
	}
}

func TestLegacyDevEngines(t *testing.T) {
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"name": "x"}`, false},
		{`{"devEngines": {"node": ">= 0.10"}}`, true},
		{`{"devEngines": "node >= 4"}`, true},
		{`{"devEngines": {"runtime": {"name": "node", "version": ">=20"}, "packageManager": [{"name": "npm"}]}}`, false},
		{`{"devEngines": {"runtime": ">=20"}}`, true},
		{`not json`, false},
	} {
		p := filepath.Join(t.TempDir(), "package.json")
		if err := os.WriteFile(p, []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := legacyDevEngines(p); got != tc.want {
			t.Errorf("legacyDevEngines(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}

func TestPackedGitignore(t *testing.T) {
	src := map[string]string{".gitignore": "a", "lib/.gitignore": "b", "index.js": "c"}
	for f, want := range map[string]bool{
		".npmignore":       true, // npm ≤ 4 packed .gitignore under this name
		"lib/.npmignore":   true,
		"test/.npmignore":  false, // no .gitignore there
		"index.js":         false,
		"npmignore":        false,
		"lib/x/.npmignore": false,
	} {
		if got := packedGitignore(f, src); got != want {
			t.Errorf("packedGitignore(%q) = %v, want %v", f, got, want)
		}
	}
}

func TestShimsRunTheHostsNpx(t *testing.T) {
	host := t.TempDir()
	npx := filepath.Join(host, "npx")
	if err := os.WriteFile(npx, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", host)
	work := t.TempDir()
	if err := writeShims(work, map[string]string{"yarn": "1.22.19"}, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(work, "bin", "yarn"))
	if err != nil {
		t.Fatal(err)
	}
	// Not "npx" looked up on the scripts' PATH, where node_modules/.bin comes first.
	if want := "exec " + shellQuote(npx) + " --yes yarn@1.22.19 \"$@\""; !strings.Contains(string(b), want) {
		t.Errorf("yarn shim:\n%s\nwant a line %s", b, want)
	}
}

func TestWindowsCheckout(t *testing.T) {
	repo := map[string]string{ // the repository's (LF) contents
		"README.md": "# x\nline\n",
		"LICENSE":   "MIT\n",
		"index.js":  "module.exports = 1;\n",
		"logo.png":  "\x89PNG\x00\n",
	}
	mk := func(published map[string]string) (*upstreamPkg, map[string]string, map[string][]byte) {
		up := &upstreamPkg{data: map[string][]byte{}}
		src := map[string]string{}
		differ := map[string][]byte{}
		for f, c := range published {
			up.files = append(up.files, f)
			up.data[f] = []byte(c)
		}
		for f, c := range repo {
			src[f] = source.BlobHash([]byte(c))
			if p, ok := published[f]; ok && p != c {
				differ[f] = []byte(c)
			}
		}
		return up, src, differ
	}
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	// Published from Windows: the text files have CR LF, the binary one is untouched.
	up, src, differ := mk(map[string]string{"README.md": crlf(repo["README.md"]), "LICENSE": crlf(repo["LICENSE"]), "index.js": repo["index.js"], "logo.png": repo["logo.png"], "dist/x.js": "gen\r\n"})
	if n, ok := windowsCheckout(up, src, differ); !ok || n != 2 {
		t.Errorf("Windows publish: windowsCheckout = %d, %v; want 2, true", n, ok)
	}
	// A Linux publish whose one CR LF file is a generated one, or the repository's own.
	up, src, differ = mk(map[string]string{"README.md": repo["README.md"], "LICENSE": repo["LICENSE"], "index.js": repo["index.js"], "dist/x.js": "gen\r\n"})
	if _, ok := windowsCheckout(up, src, differ); ok {
		t.Error("Linux publish read as a Windows checkout")
	}
	// One CR LF file among more LF ones: an editor's, not git's.
	up, src, differ = mk(map[string]string{"README.md": crlf(repo["README.md"]), "LICENSE": repo["LICENSE"], "index.js": repo["index.js"]})
	if _, ok := windowsCheckout(up, src, differ); ok {
		t.Error("a lone CR LF file read as a Windows checkout")
	}
}

func TestTestsOnly(t *testing.T) {
	for cmd, want := range map[string]bool{
		"npm test":                          true,
		"npm run lint && npm run test:unit": true,
		"yarn test":                         true,
		"npm test && npm run build":         false,
		"node scripts/prepublish":           false,
		"":                                  false,
		"npm run lint; npm t":               true,
	} {
		if got := testsOnly(cmd); got != want {
			t.Errorf("testsOnly(%q) = %v, want %v", cmd, got, want)
		}
	}
}

func TestWorkspacePatterns(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{`["packages/*", "tools/cli"]`, []string{"packages/*", "tools/cli"}},
		{`{"packages": ["packages/*"], "nohoist": ["**/x"]}`, []string{"packages/*"}},
		{`"packages/*"`, nil},
	} {
		if got := workspacePatterns(json.RawMessage(tc.raw)); !slices.Equal(got, tc.want) {
			t.Errorf("workspacePatterns(%s) = %q, want %q", tc.raw, got, tc.want)
		}
	}
	patterns := []string{"./packages/*", "tools/cli/", "libs/**", "!packages/private"}
	for dir, want := range map[string]bool{
		"packages/a": true, "packages/a/b": false, "tools/cli": true, "tools/other": false,
		"libs/x/y": true, "libs": false, "website": false,
	} {
		if got := matchWorkspace(patterns, dir); got != want {
			t.Errorf("matchWorkspace(%q) = %v, want %v", dir, got, want)
		}
	}
}

// rollup 1.32.1's package.json has an object among its scripts: npm runs string scripts only,
// and the manifest still reads.
func TestLenientScripts(t *testing.T) {
	m, err := parseManifest([]byte(`{"name": "rollup", "version": "1.32.1", "scripts": {"build": "tsc", "odd": {"x": 1}, "n": 2}}`))
	if err != nil || m.Name != "rollup" || len(m.Scripts) != 1 || m.Scripts["build"] != "tsc" {
		t.Fatalf("parseManifest = %+v, %v; want the build script only", m, err)
	}
	if m, err := parseManifest([]byte(`{"name": "x", "version": "1.0.0", "scripts": "make"}`)); err != nil || len(m.Scripts) != 0 {
		t.Errorf("scripts as a string: %+v, %v; want no scripts and no error", m, err)
	}
}
