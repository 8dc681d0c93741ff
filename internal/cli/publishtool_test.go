package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vouch-dev/vouch/internal/archive"
)

// A package published with clean-publish (as nanoid, postcss and browserslist are): the tool
// copies the package into a temporary directory, drops development fields from package.json
// and runs `npm publish` there. The rebuild installs the package's own copy of the tool from
// the registry, runs it, and packs the directory it would have published.
func TestPublishedWithCleanPublish(t *testing.T) {
	f := newFixture(t)
	// The tool, from the (fake) registry: a small clean-publish with the real one's shape.
	tool := filepath.Join(f.root, "tool")
	writeFiles(t, tool, map[string]string{
		"package.json": `{"name": "clean-publish", "version": "1.1.8", "bin": {"clean-publish": "cli.js"}}` + "\n",
		"cli.js": `#!/usr/bin/env node
const fs = require('fs'), path = require('path'), { spawnSync } = require('child_process');
const tmp = fs.mkdtempSync('tmp');
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
delete pkg.devDependencies; delete pkg.scripts;
fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
for (const f of fs.readdirSync('.')) {
  if (f === tmp || f === 'package.json' || f === 'node_modules' || f.startsWith('.') || f === 'test') continue;
  fs.cpSync(f, path.join(tmp, f), { recursive: true });
}
const r = spawnSync('npm', ['publish'], { cwd: tmp, stdio: 'inherit' });
fs.rmSync(tmp, { recursive: true });
process.exit(r.status);
`,
	})
	f.reg.Publish(f.npmPack(tool))

	files := map[string]string{
		"package.json": `{
  "name": "cleaned-fixture",
  "version": "2.0.0",
  "main": "index.js",
  "scripts": {"test": "node test/run.js"},
  "devDependencies": {"clean-publish": "^1.1.0"},
  "repository": "fixture/cleaned"
}
`,
		"index.js":         "module.exports = 'clean';\n",
		"test/run.js":      "require('assert').equal(require('..'), 'clean');\n",
		".size-limit.json": "[]\n",
	}
	_, commit := f.repo("cleaned", files, "v2.0.0")
	// What the publisher's clean-publish handed to npm publish.
	pub := filepath.Join(f.root, "published")
	writeFiles(t, pub, map[string]string{
		"package.json": "{\n  \"name\": \"cleaned-fixture\",\n  \"version\": \"2.0.0\",\n  \"main\": \"index.js\",\n  \"repository\": \"fixture/cleaned\"\n}\n",
		"index.js":     files["index.js"],
	})
	tgz := f.npmPack(pub)
	if a, err := archive.Read(tgz, archive.DefaultLimits); err != nil || a.Lookup("package/test/run.js") != nil {
		t.Fatalf("fixture: the published tarball should not hold the tests (%v)", err)
	}
	f.reg.Publish(tgz)

	code, res := f.rebuildJSON("pkg:npm/cleaned-fixture@2.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Source.Ref != commit || res.Strategy != "npm-build-pack" {
		t.Errorf("source %s strategy %s, want %s npm-build-pack", res.Source.Ref, res.Strategy, commit)
	}
	log, err := os.ReadFile(res.BuildLog)
	if err != nil || !strings.Contains(string(log), "$ clean-publish") || !strings.Contains(string(log), "npm publish in ") {
		t.Errorf("the build log does not show clean-publish handing its directory over (%v):\n%s", err, log)
	}

	// Without the tool's cleaning (the definition edited to pack the tree), the same source
	// does not reproduce the published package.json and file list.
	code, out, errb := f.vouch("infer", "pkg:npm/cleaned-fixture@2.0.0")
	if code != 0 || !strings.Contains(out, "publish_with: clean-publish") {
		t.Fatalf("infer: exit %d, no publish_with in\n%s%s", code, out, errb)
	}
	def := f.writeFile("def.yaml", strings.Replace(out, "publish_with: clean-publish", "", 1))
	code, res = f.rebuildJSON("pkg:npm/cleaned-fixture@2.0.0", "--definition", def)
	if code != 1 || res.Verdict.Success() {
		t.Errorf("without publish_with: exit %d verdict %s, want a mismatch", code, res.Verdict)
	}
}
