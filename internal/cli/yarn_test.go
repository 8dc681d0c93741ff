package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// yarnRelease is the Yarn ≥ 2 release scripts/setup.sh downloads for these tests.
func yarnRelease(t *testing.T) []byte {
	t.Helper()
	p := os.Getenv("VOUCH_TEST_YARN")
	if p == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(cache, "vouch-test", "yarn", "yarn-3.8.6.cjs")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the Yarn release for this test is missing (run scripts/setup.sh): %v", err)
	}
	return b
}

// A project managed by Yarn ≥ 2 (its lockfile, its release committed under .yarn/releases,
// "prepack": "yarn build"): npm cannot install it so that yarn runs its scripts, so the
// rebuild installs with the repository's own yarn.
func TestYarnBerryProject(t *testing.T) {
	release := yarnRelease(t)
	f := newFixture(t)
	const yp = ".yarn/releases/yarn-3.8.6.cjs"
	files := map[string]string{
		"package.json": `{
  "name": "berry-fixture",
  "version": "1.4.0",
  "main": "dist/index.js",
  "files": ["dist"],
  "scripts": {"build": "node build.js", "prepack": "yarn build"},
  "repository": "fixture/berry",
  "packageManager": "yarn@3.8.6"
}
`,
		".yarnrc.yml":   "nodeLinker: node-modules\nenableTelemetry: false\nyarnPath: " + yp + "\n",
		".gitignore":    "dist/\nnode_modules/\n.yarn/*\n!.yarn/releases\n",
		"build.js":      "const fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/index.js', 'module.exports = ' + JSON.stringify(process.env.npm_config_user_agent.split(' ')[0]) + ';\\n');\n",
		yp:              string(release),
		"src/README.md": "the build writes dist/index.js\n",
	}
	dir := filepath.Join(f.root, "repos", "berry")
	writeFiles(t, dir, files)
	// The maintainer's yarn writes the lockfile, which is committed with the release.
	bin := t.TempDir()
	shim := "#!/bin/sh\nexec node " + filepath.Join(dir, yp) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "yarn"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	yarn := exec.Command("yarn", "install")
	yarn.Dir = dir
	yarn.Env = append(os.Environ(), "YARN_ENABLE_GLOBAL_CACHE=false", "YARN_CACHE_FOLDER="+filepath.Join(f.root, "yarn-cache"), "YARN_ENABLE_IMMUTABLE_INSTALLS=false")
	if out, err := yarn.CombinedOutput(); err != nil {
		t.Fatalf("yarn install: %v\n%s", err, out)
	}
	if lock, err := os.ReadFile(filepath.Join(dir, "yarn.lock")); err != nil || !strings.Contains(string(lock), "__metadata:") {
		t.Fatalf("fixture: yarn wrote no Yarn ≥ 2 lockfile (%v)", err)
	}
	_, commit := f.repo("berry", map[string]string{}, "v1.4.0")
	tgz := f.npmPackWithScripts(dir) // prepack runs yarn build, as npm publish would
	f.reg.Publish(tgz)

	code, res := f.rebuildJSON("pkg:npm/berry-fixture@1.4.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Source.Ref != commit || res.Strategy != "npm-build-pack" {
		t.Errorf("source %s strategy %s, want %s npm-build-pack", res.Source.Ref, res.Strategy, commit)
	}
	code, out, errb := f.vouch("infer", "pkg:npm/berry-fixture@1.4.0")
	if code != 0 || !strings.Contains(out, "install: yarn") || !strings.Contains(out, "yarn_path: "+yp) {
		t.Errorf("infer: exit %d, want install: yarn and yarn_path %s:\n%s%s", code, yp, out, errb)
	}
	log, err := os.ReadFile(res.BuildLog)
	if err != nil || !strings.Contains(string(log), "$ yarn install --mode=skip-build") {
		t.Errorf("build log does not show the yarn install (%v):\n%s", err, log)
	}
}
