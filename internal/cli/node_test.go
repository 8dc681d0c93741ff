package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vouch-dev/vouch/internal/ecosystem/npm"
)

// A gulp 3 build (which Node.js ≥ 12 cannot run) runs its scripts on an older Node.js from
// the registry, while npm keeps running on the host's.
func TestLegacyNodeForGulp3(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Node.js toolchains are fetched for Linux")
	}
	f := newFixture(t)
	// The registry's old Node.js: a stand-in that marks what it runs, then runs the host's
	// node (the test cannot ship a real Node.js 10 binary).
	hostNode, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(f.root, "node-pkg")
	writeFiles(t, nodeDir, map[string]string{
		"package.json": `{"name": "` + npm.NodePackage() + `", "version": "10.24.1"}` + "\n",
		"bin/node":     "#!/bin/sh\nexport LEGACY_NODE=10.24.1\nexec " + hostNode + " \"$@\"\n",
	})
	f.reg.Publish(f.npmPack(nodeDir))
	node8Dir := filepath.Join(f.root, "node8-pkg")
	writeFiles(t, node8Dir, map[string]string{
		"package.json": `{"name": "` + npm.NodePackage() + `", "version": "8.17.0"}` + "\n",
		"bin/node":     "#!/bin/sh\nexport LEGACY_NODE=8.17.0\nexec " + hostNode + " \"$@\"\n",
	})
	f.reg.Publish(f.npmPack(node8Dir))
	gulpDir := filepath.Join(f.root, "gulp-pkg")
	writeFiles(t, gulpDir, map[string]string{"package.json": `{"name": "gulp", "version": "3.9.1"}` + "\n", "index.js": "module.exports = {};\n"})
	gulp := f.reg.Publish(f.npmPack(gulpDir))

	files := map[string]string{
		"package.json": `{"name": "gulp3-fixture", "version": "2.0.0", "main": "dist/index.js", "files": ["dist"],
  "scripts": {"prepublishOnly": "node build.js"}, "devDependencies": {"gulp": "^3.9.1"}, "repository": "fixture/gulp3"}` + "\n",
		"build.js":   "const fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/index.js', 'module.exports = ' + JSON.stringify(process.env.LEGACY_NODE || 'host') + ';\\n');\n",
		".gitignore": "dist/\nnode_modules/\n",
	}
	dir, _ := f.repo("gulp3", files, "v2.0.0")
	t.Setenv("LEGACY_NODE", "10.24.1") // the publisher built on Node.js 10
	f.npmRun(dir, "run", "prepublishOnly")
	t.Setenv("LEGACY_NODE", "")
	f.reg.Publish(f.npmPack(dir))

	code, res := f.rebuildJSON("pkg:npm/gulp3-fixture@2.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Toolchain["node"] != "10.24.1" {
		t.Errorf("toolchain %v, want node 10.24.1", res.Toolchain)
	}
	log, _ := os.ReadFile(res.BuildLog)
	if !strings.Contains(string(log), "scripts run with Node.js 10.24.1") {
		t.Errorf("build log does not say which Node.js ran the scripts:\n%s", log)
	}

	// With a lockfile of that era (natives < 1.1.3 aborts on Node.js 10), Node.js 8.
	files["package.json"] = strings.NewReplacer("gulp3-fixture", "gulp3-locked", "fixture/gulp3", "fixture/gulp3locked").Replace(files["package.json"])
	files["yarn.lock"] = "# yarn lockfile v1\n\n\ngulp@^3.9.1:\n  version \"3.9.1\"\n  resolved \"" + gulp.TarballURL + "#" + gulp.Shasum + "\"\n  integrity " + gulp.Integrity + "\n"
	dir, _ = f.repo("gulp3locked", files, "v2.0.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "module.exports = \"8.17.0\";\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res = f.rebuildJSON("pkg:npm/gulp3-locked@2.0.0")
	if code != 0 || !res.Verdict.Success() || res.Toolchain["node"] != "8.17.0" {
		t.Fatalf("locked: exit %d verdict %s (%s) toolchain %v: %s\nlog: %s", code, res.Verdict, res.Reason, res.Toolchain, res.Message, res.BuildLog)
	}
}
