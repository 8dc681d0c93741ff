package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// TestNPMSourceShapes rebuilds fixture packages of the shapes real packages have and checks
// the verdict, the evidence used to find the commit, and the strategy chosen.
func TestNPMSourceShapes(t *testing.T) {
	type tc struct {
		name     string
		purl     string
		setup    func(f *fixture) (tarball []byte, commit string, opts []registrytest.PublishOption)
		evidence string
		strategy string
		dir      string
	}
	cases := []tc{
		{
			// The publish script runs failing tests first: a rebuild skips test scripts.
			name: "build step ships generated files",
			purl: "pkg:npm/built-fixture@1.2.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{
  "name": "built-fixture",
  "version": "1.2.0",
  "main": "dist/index.js",
  "files": ["dist"],
  "scripts": {"build": "node build.js", "test": "node -e \"process.exit(3)\"", "prepublishOnly": "npm test && npm run build"},
  "repository": "fixture/built"
}
`,
					// md4, as webpack ≤ 4 hashes with: Node.js ≥ 17 needs the legacy OpenSSL provider.
					"build.js":      "const fs = require('fs');\nconst id = require('crypto').createHash('md4').update('x').digest('hex');\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/index.js', '// generated ' + id + '\\nmodule.exports = ' + JSON.stringify(fs.readFileSync('src/index.txt', 'utf8')) + ';\\n');\n",
					"src/index.txt": "hello from source\n",
					".gitignore":    "dist/\nnode_modules/\n",
				}
				dir, commit := f.repo("built", files, "v1.2.0")
				f.t.Setenv("NODE_OPTIONS", "--openssl-legacy-provider") // the publisher's older Node.js
				f.npmRun(dir, "run", "build")
				return f.npmPack(dir), commit, nil
			},
			evidence: "tag:v1.2.0", strategy: "npm-build-pack",
		},
		{
			name: "prepack script shapes the tarball",
			purl: "pkg:npm/prepack-fixture@0.2.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{"name": "prepack-fixture", "version": "0.2.0", "scripts": {"prepack": "node -e \"require('fs').writeFileSync('.npmignore', 'notes.txt\\n')\""}, "repository": "fixture/prepack"}` + "\n",
					"index.js":     "module.exports = 2;\n",
					"notes.txt":    "maintainer notes, not published\n",
				}
				dir, commit := f.repo("prepack", files, "v0.2.0")
				tgz := f.npmPackWithScripts(dir)
				if a, err := archive.Read(tgz, archive.DefaultLimits); err != nil || a.Lookup("package/notes.txt") != nil {
					t.Fatalf("fixture: prepack did not shape the tarball (%v)", err)
				}
				return tgz, commit, nil
			},
			evidence: "tag:v0.2.0", strategy: "npm-build-pack",
		},
		{
			name: "monorepo package with repository.directory",
			purl: "pkg:npm/%40fixture/mono-a@0.3.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json":            `{"name": "mono-root", "private": true, "version": "0.0.0", "workspaces": ["packages/*"]}` + "\n",
					"packages/a/package.json": `{"name": "@fixture/mono-a", "version": "0.3.0", "main": "index.js", "repository": {"type": "git", "url": "https://github.com/fixture/mono.git", "directory": "packages/a"}}` + "\n",
					"packages/a/index.js":     "module.exports = 'a';\n",
					"packages/b/package.json": `{"name": "@fixture/mono-b", "version": "5.0.0"}` + "\n",
					"packages/b/index.js":     "module.exports = 'b';\n",
				}
				dir, commit := f.repo("mono", files, "@fixture/mono-a@0.3.0")
				return f.npmPack(filepath.Join(dir, "packages", "a")), commit, nil
			},
			evidence: "tag:@fixture/mono-a@0.3.0", strategy: "npm-pack", dir: "packages/a",
		},
		{
			name: "lerna monorepo built by the root's build script",
			purl: "pkg:npm/%40fixture/lerna-a@2.0.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json":            `{"name": "lerna-root", "private": true, "scripts": {"build": "node build-all.js"}}` + "\n",
					"lerna.json":              `{"packages": ["packages/*"], "version": "independent"}` + "\n",
					"build-all.js":            "const fs = require('fs');\nfor (const p of fs.readdirSync('packages')) {\n  fs.mkdirSync(`packages/${p}/lib`, {recursive: true});\n  fs.writeFileSync(`packages/${p}/lib/index.js`, '// compiled\\n' + fs.readFileSync(`packages/${p}/src/index.js`, 'utf8'));\n}\n",
					".gitignore":              "lib/\nnode_modules/\n",
					"packages/a/package.json": `{"name": "@fixture/lerna-a", "version": "2.0.0", "main": "lib/index.js", "files": ["lib"], "repository": {"type": "git", "url": "https://github.com/fixture/lerna.git", "directory": "packages/a"}}` + "\n",
					"packages/a/src/index.js": "module.exports = 'a';\n",
					"packages/b/package.json": `{"name": "@fixture/lerna-b", "version": "1.0.0", "main": "lib/index.js"}` + "\n",
					"packages/b/src/index.js": "module.exports = 'b';\n",
				}
				dir, commit := f.repo("lerna", files, "@fixture/lerna-a@2.0.0")
				f.npmRun(dir, "run", "build")
				return f.npmPack(filepath.Join(dir, "packages", "a")), commit, nil
			},
			evidence: "tag:@fixture/lerna-a@2.0.0", strategy: "npm-build-pack", dir: "packages/a",
		},
		{
			name: "workspace package whose files the root's prepare script generates",
			purl: "pkg:npm/%40fixture/ws-gen@1.0.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json":              `{"name": "ws-root", "private": true, "workspaces": ["packages/*"], "scripts": {"prepare": "node gen.js"}}` + "\n",
					"gen.js":                    "require('fs').writeFileSync('packages/gen/entries.js', 'module.exports = [1, 2, 3];\\n');\n",
					".gitignore":                "packages/gen/entries.js\nnode_modules/\n",
					"packages/gen/package.json": `{"name": "@fixture/ws-gen", "version": "1.0.0", "main": "index.js", "repository": {"type": "git", "url": "https://github.com/fixture/wsgen.git", "directory": "packages/gen"}}` + "\n",
					"packages/gen/index.js":     "module.exports = require('./entries');\n",
				}
				dir, commit := f.repo("wsgen", files, "@fixture/ws-gen@1.0.0")
				f.npmRun(dir, "run", "prepare")
				return f.npmPack(filepath.Join(dir, "packages", "gen")), commit, nil
			},
			evidence: "tag:@fixture/ws-gen@1.0.0", strategy: "npm-build-pack", dir: "packages/gen",
		},
		{
			// As with in-publish: only under `npm publish` does the script stamp the README
			// (and leave README.md.bak, which npm packs).
			name: "prepublish guarded by in-publish",
			purl: "pkg:npm/inpublish-fixture@4.0.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					// safe-publish-latest refuses to publish a published version, and publish-please
					// guard any npm publish outside its own flow: a rebuild passes both.
					"package.json": `{"name": "inpublish-fixture", "version": "4.0.0", "scripts": {"prepublish": "safe-publish-latest && publish-please guard && node guard.js && node stamp.js || echo not publishing"}, "repository": "fixture/inpublish"}` + "\n",
					// in-publish 2.0.1's test: npm_command (npm ≥ 7), else npm_config_argv (npm ≤ 6).
					"guard.js":  "let cmd = process.env.npm_command;\nif (!cmd) { try { cmd = JSON.parse(process.env.npm_config_argv).cooked[0]; } catch (e) {} }\nprocess.exit(cmd === 'publish' ? 0 : 1);\n",
					"stamp.js":  "const fs = require('fs');\nfs.copyFileSync('README.md', 'README.md.bak');\nfs.writeFileSync('README.md', fs.readFileSync('README.md', 'utf8').replace('master', 'v4.0.0'));\n",
					"README.md": "badge: master\n",
				}
				dir, commit := f.repo("inpublish", files, "v4.0.0")
				f.npmRun(dir, "exec", "--", "node", "stamp.js") // what the publisher's npm publish ran
				tgz := f.npmPack(dir)
				if a, err := archive.Read(tgz, archive.DefaultLimits); err != nil || a.Lookup("package/README.md.bak") == nil {
					t.Fatalf("fixture: the upstream tarball lacks README.md.bak (%v)", err)
				}
				return tgz, commit, nil
			},
			evidence: "tag:v4.0.0", strategy: "npm-build-pack",
		},
		{
			// base64-js: the committed bundle predates the publisher's last build.
			name: "committed bundle older than the published one",
			purl: "pkg:npm/stale-fixture@1.5.1",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json":  `{"name": "stale-fixture", "version": "1.5.1", "main": "index.js", "scripts": {"build": "node bundle.js"}, "repository": "fixture/stale"}` + "\n",
					"index.js":      "module.exports = 'v1.5.1';\n",
					"bundle.js":     "const fs = require('fs');\nfs.writeFileSync('bundle.min.js', '/*min*/' + fs.readFileSync('index.js', 'utf8').trim());\n",
					"bundle.min.js": "/*min*/module.exports = 'v1.4.0';",
				}
				dir, commit := f.repo("stale", files, "v1.5.1")
				f.npmRun(dir, "run", "build")
				return f.npmPack(dir), commit, nil
			},
			evidence: "tag:v1.5.1", strategy: "npm-build-pack",
		},
		{
			// focus-visible: "prepublishOnly": "npm test", whose test script builds first.
			name: "test script that builds before testing",
			purl: "pkg:npm/testbuild-fixture@5.2.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{"name": "testbuild-fixture", "version": "5.2.0", "files": ["dist"], "scripts": {"build": "node build.js && cp {LICENSE,NOTICE}.txt dist/", "test": "npm run build && node -e \"process.exit(4)\"", "prepublishOnly": "npm run test"}, "repository": "fixture/testbuild"}` + "\n",
					"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/fv.js', '// built\\n');\n",
					"LICENSE.txt":  "MIT\n",
					"NOTICE.txt":   "notice\n", // the build copies both with a brace expansion, as macOS's sh (bash) does
					".gitignore":   "dist/\n",
				}
				dir, commit := f.repo("testbuild", files, "v5.2.0")
				f.npmRun(dir, "exec", "--", "node", "build.js")
				writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"LICENSE.txt": "MIT\n", "NOTICE.txt": "notice\n"})
				return f.npmPack(dir), commit, nil
			},
			evidence: "tag:v5.2.0", strategy: "npm-build-pack",
		},
		{
			// deepmerge: rollup's commonjs plugin names the module after its directory.
			name: "build output naming the clone's directory",
			purl: "pkg:npm/dirname-fixture@1.0.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{"name": "dirname-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"build": "node build.js"}, "repository": "fixture/dirname"}` + "\n",
					"build.js":     "const path = require('path'), fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/index.js', 'var ' + path.basename(__dirname) + '_1 = 1;\\n');\n",
					".gitignore":   "dist/\n",
				}
				dir, commit := f.repo("dirname", files, "v1.0.0")
				f.npmRun(dir, "run", "build")
				return f.npmPack(dir), commit, nil
			},
			evidence: "tag:v1.0.0", strategy: "npm-build-pack",
		},
		{
			name: "no tags: commit that set the version",
			purl: "pkg:npm/untagged-fixture@3.1.4",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{"name": "untagged-fixture", "version": "3.1.4", "repository": "https://github.com/fixture/untagged"}` + "\n",
					"index.js":     "module.exports = 314;\n",
				}
				dir, commit := f.repo("untagged", files, "")
				tgz := f.npmPack(dir)
				f.commitFile(dir, "CHANGELOG.md", "later work\n")
				return tgz, commit, nil
			},
			evidence: "manifest_history", strategy: "npm-pack",
		},
		{
			name: "gitHead from the registry",
			purl: "pkg:npm/githead-fixture@0.0.1",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{"name": "githead-fixture", "version": "0.0.1", "repository": "github:fixture/githead"}` + "\n",
					"index.js":     "module.exports = 1;\n",
				}
				dir, commit := f.repo("githead", files, "")
				return f.npmPack(dir), commit, []registrytest.PublishOption{registrytest.WithGitHead(commit)}
			},
			evidence: "gitHead", strategy: "npm-pack",
		},
		{
			name: "semantic-release placeholder version found by content",
			purl: "pkg:npm/semrel-fixture@2.5.0",
			setup: func(f *fixture) ([]byte, string, []registrytest.PublishOption) {
				files := map[string]string{
					"package.json": `{
  "name": "semrel-fixture",
  "version": "0.0.0-development",
  "repository": "git+https://github.com/fixture/semrel.git"
}
`,
					"index.js": "module.exports = 'semrel';\n",
					"lib.js":   "exports.x = 1;\n",
				}
				dir, commit := f.repo("semrel", files, "")
				f.npmRun(dir, "version", "2.5.0", "--no-git-tag-version")
				tgz := f.npmPack(dir)
				f.git(dir, "checkout", "--", "package.json")
				f.commitFile(dir, "lib.js", "exports.x = 2;\n")
				return tgz, commit, nil
			},
			evidence: "content_search", strategy: "npm-pack",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			tgz, commit, opts := c.setup(f)
			f.reg.Publish(tgz, opts...)
			code, res := f.rebuildJSON(c.purl)
			if code != 0 || !res.Verdict.Success() {
				t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
			}
			if res.Source.Ref != commit {
				t.Errorf("commit %s, want %s", res.Source.Ref, commit)
			}
			if !strings.HasPrefix(res.Source.Evidence, c.evidence) {
				t.Errorf("evidence %q, want %q", res.Source.Evidence, c.evidence)
			}
			if res.Strategy != c.strategy {
				t.Errorf("strategy %q, want %q", res.Strategy, c.strategy)
			}
			if res.Source.Dir != c.dir {
				t.Errorf("dir %q, want %q", res.Source.Dir, c.dir)
			}
			if code, out, errb := f.vouch("verify", c.purl); code != 0 {
				t.Errorf("verify: exit %d\n%s%s", code, out, errb)
			}
		})
	}
}

func TestBuildFailureIsAttested(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "broken-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node -e \"console.error('release must run with RELEASE=1'); process.exit(7)\""}, "repository": "fixture/broken"}` + "\n",
		"dist/x.js":    "1;\n",
	}
	dir, _ := f.repo("broken", files, "1.0.0")
	tgz := f.npmPack(dir)
	// The published tarball has a file the source cannot produce, so a build is needed.
	tgz = repackAdd(t, tgz, "package/dist/generated.js", "generated;\n")
	f.reg.Publish(tgz)
	code, res := f.rebuildJSON("pkg:npm/broken-fixture@1.0.0")
	if code != 3 || res.Verdict != verdict.BuildFailed || res.Reason != verdict.ReasonBuildCommand {
		t.Fatalf("exit %d verdict %s reason %s, want 3 build_failed build_command_failed: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(res.Message, "prepublishOnly") || !strings.Contains(res.Message, `its output ends: "release must run with RELEASE=1"`) {
		t.Errorf("message %q does not say which step failed and why", res.Message)
	}
	if res.Attestation == "" || res.BuildLog == "" {
		t.Errorf("failure not attested (%q) or log not kept (%q)", res.Attestation, res.BuildLog)
	}
}

// Without a lockfile and without registry times, a mismatch of a build says dependency drift
// may be the cause and how a maintainer would rule it out.
func TestMismatchNamesDependencyDrift(t *testing.T) {
	f := newFixture(t)
	f.reg.WithoutPublishTimes()
	files := map[string]string{
		"package.json": `{"name": "drift-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js"}, "repository": "fixture/drift"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = 1;\\n');\n",
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("drift", files, "v1.0.0")
	f.npmRun(dir, "run", "prepublishOnly")
	if err := os.WriteFile(filepath.Join(dir, "dist", "index.js"), []byte("module.exports = 2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/drift-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Reason != verdict.ReasonContentMismatch {
		t.Fatalf("exit %d verdict %s (%s), want 1 mismatch content_mismatch: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(res.Message, "dependency drift") || !strings.Contains(res.Message, "lockfile") {
		t.Errorf("message %q does not name dependency drift", res.Message)
	}
	// TypeScript's release dates are known: the install sees only those before the commit.
	commitTime := strings.TrimSpace(f.git(dir, "log", "-1", "--format=%cI", "v1.0.0"))
	ct, err := time.Parse(time.RFC3339, commitTime)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := f.vouch("infer", "pkg:npm/drift-fixture@1.0.0"); code != 0 || !strings.Contains(out, "toolchain_era: \""+ct.UTC().Format(time.RFC3339)+"\"") {
		t.Errorf("infer (exit %d) does not set toolchain_era to the commit's time %s:\n%s", code, ct.UTC().Format(time.RFC3339), out)
	}
}

// A lockfile names the registry host it was resolved against: here a dependency's published
// npm-shrinkwrap.json pins its own dependency to a tarball on registry.yarnpkg.com (which
// serves npm's tarballs). The build fetches it from the configured registry instead, still
// checked against the pinned integrity.
func TestLockfileOnAnotherRegistryHost(t *testing.T) {
	f := newFixture(t)
	inner := filepath.Join(f.root, "inner")
	writeFiles(t, inner, map[string]string{
		"package.json": `{"name": "lockdep-inner", "version": "1.3.0", "main": "index.js"}` + "\n",
		"index.js":     "module.exports = 'from 1.3.0';\n",
	})
	pub := f.reg.Publish(f.npmPack(inner))
	yarnURL := "https://registry.yarnpkg.com" + strings.TrimPrefix(pub.TarballURL, f.reg.URL())
	outer := filepath.Join(f.root, "outer")
	writeFiles(t, outer, map[string]string{
		"package.json": `{"name": "lockdep-outer", "version": "2.0.0", "main": "index.js", "dependencies": {"lockdep-inner": "^1.0.0"}}` + "\n",
		"index.js":     "module.exports = require('lockdep-inner');\n",
		"npm-shrinkwrap.json": `{"name": "lockdep-outer", "version": "2.0.0", "lockfileVersion": 3, "requires": true, "packages": {` +
			`"": {"name": "lockdep-outer", "version": "2.0.0", "dependencies": {"lockdep-inner": "^1.0.0"}}, ` +
			`"node_modules/lockdep-inner": {"version": "1.3.0", "resolved": "` + yarnURL + `", "integrity": "` + pub.Integrity + `"}}}` + "\n",
	})
	f.reg.Publish(f.npmPack(outer))
	files := map[string]string{
		"package.json": `{"name": "yarnhost-fixture", "version": "0.4.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js"}, "devDependencies": {"lockdep-outer": "^2.0.0"}, "repository": "fixture/yarnhost"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = ' + JSON.stringify(require('lockdep-outer')) + ';\\n');\n",
		".gitignore":   "dist/\nnode_modules/\n",
	}
	dir, commit := f.repo("yarnhost", files, "v0.4.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "module.exports = \"from 1.3.0\";\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/yarnhost-fixture@0.4.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Source.Ref != commit {
		t.Errorf("commit %s, want %s", res.Source.Ref, commit)
	}
}

// A test tool that is a git dependency (the build reaches registries only) does not stop a
// rebuild: the install is retried without the devDependencies only test scripts use, and
// package.json is packed as it is in the repository.
func TestGitDependencyOfATestTool(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "gitdep-fixture", "version": "3.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js", "test": "git-tester test/"}, "devDependencies": {"git-tester": "git+https://127.0.0.1:1/git-tester.git"}, "repository": "fixture/gitdep"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = 3;\\n');\n",
		".gitignore":   "dist/\nnode_modules/\n",
	}
	dir, commit := f.repo("gitdep", files, "v3.0.0")
	f.npmRun(dir, "run", "prepublishOnly")
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/gitdep-fixture@3.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Source.Ref != commit {
		t.Errorf("commit %s, want %s", res.Source.Ref, commit)
	}
	log, err := os.ReadFile(res.BuildLog)
	if err != nil || !strings.Contains(string(log), "retrying without the devDependencies only test and lint scripts use, or that no publish script uses: git-tester") {
		t.Errorf("the build log does not show the retry (%v):\n%s", err, log)
	}

	// When the build itself needs the git dependency, the failure names it.
	pj := strings.NewReplacer(`"prepublishOnly": "node build.js"`, `"prepublishOnly": "git-tester && node build.js"`,
		"gitdep-fixture", "gitdep2-fixture", "fixture/gitdep", "fixture/gitdep2").Replace(files["package.json"])
	files["package.json"] = pj
	dir, _ = f.repo("gitdep2", files, "v3.0.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "module.exports = 3;\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res = f.rebuildJSON("pkg:npm/gitdep2-fixture@3.0.0")
	if code == 0 || res.Reason != verdict.ReasonInstallFailed || !strings.Contains(res.Message, "git dependencies could not be fetched (https://127.0.0.1:1/git-tester.git)") {
		t.Errorf("exit %d verdict %s (%s): %s", code, res.Verdict, res.Reason, res.Message)
	}
}

// A published file that the repository has with other contents, and that no script makes:
// the mismatch says the package was not published from the commit's tree.
func TestMismatchNamesUncommittedChanges(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "dirty-fixture", "version": "1.0.0", "repository": "fixture/dirty"}` + "\n",
		"index.js":     "module.exports = 1;\n",
		"AUTHORS.md":   "- Ann\n- Bob\n",
	}
	dir, _ := f.repo("dirty", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"AUTHORS.md": "- Ann\n"}) // the publisher's tree
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/dirty-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Strategy != "npm-pack" {
		t.Fatalf("exit %d verdict %s strategy %s, want 1 mismatch npm-pack: %s", code, res.Verdict, res.Strategy, res.Message)
	}
	if !strings.Contains(res.Message, "no script generates them (AUTHORS.md): the package was published from uncommitted changes") {
		t.Errorf("message %q does not name the uncommitted file", res.Message)
	}
}

// A package with a build (terser-webpack-plugin 2.3.8) whose changelog was edited after the
// release commit: the build leaves the committed file as it is, so the mismatch names the
// publisher's working tree, not the build.
func TestMismatchNamesEditsTheBuildDidNotMake(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "edited-fixture", "version": "1.0.0", "files": ["dist", "CHANGELOG.md"], "scripts": {"prepublishOnly": "node build.js"}, "repository": "fixture/edited"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = 1;\\n');\n",
		"CHANGELOG.md": "# 1.0.0\n\n* update a dependency\n",
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("edited", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"CHANGELOG.md": "# 1.0.0\n\n* security update\n", "dist/index.js": "module.exports = 1;\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/edited-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Strategy != "npm-build-pack" {
		t.Fatalf("exit %d verdict %s strategy %s, want 1 mismatch npm-build-pack: %s", code, res.Verdict, res.Strategy, res.Message)
	}
	if !strings.Contains(res.Message, "1 file the build left as committed differs in the registry's artifact (package/CHANGELOG.md): the publisher's working tree had edits") {
		t.Errorf("message %q does not name the edited file", res.Message)
	}
}

// A generated file differs and nothing else does (prop-types 15.8.1: its UMD bundle was built
// before the fix its published sources have): the mismatch says the publisher's build made it
// otherwise, not that the sources differ.
func TestMismatchOnlyInGeneratedFiles(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json":      `{"name": "stale-fixture", "version": "1.0.0", "files": ["dist", "index.js"], "scripts": {"prepublishOnly": "node build.js"}, "repository": "fixture/stale"}` + "\n",
		"package-lock.json": `{"name": "stale-fixture", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "stale-fixture", "version": "1.0.0"}}}` + "\n",
		"index.js":          "module.exports = 2;\n",
		"build.js":          "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').copyFileSync('index.js', 'dist/bundle.js');\n",
		".gitignore":        "dist/\n",
	}
	dir, _ := f.repo("stale", files, "v1.0.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"bundle.js": "module.exports = 1;\n"}) // built before the fix
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/stale-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch {
		t.Fatalf("exit %d verdict %s, want 1 mismatch: %s", code, res.Verdict, res.Message)
	}
	if !strings.Contains(res.Message, "only files the build generates differ (package/dist/bundle.js), and the published files that are in the repository match the commit") {
		t.Errorf("message %q does not say only generated files differ", res.Message)
	}
}

// Only package.json differs (koa-router 7.4.0: a devDependency and a script edited before
// publishing): the mismatch says so, and does not blame dependency drift.
func TestMismatchOnlyInTheManifest(t *testing.T) {
	f := newFixture(t)
	f.reg.WithoutPublishTimes()
	pj := `{"name": "manifest-fixture", "version": "7.4.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js", "test": "mocha"}, "repository": "fixture/manifest"}` + "\n"
	files := map[string]string{
		"package.json": pj,
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = 1;\\n');\n",
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("manifest", files, "v7.4.0")
	f.npmRun(dir, "run", "prepublishOnly")
	writeFiles(t, dir, map[string]string{"package.json": strings.Replace(pj, `"test": "mocha"`, `"test": "mocha test/**/*.js"`, 1)})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/manifest-fixture@7.4.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Reason != verdict.ReasonContentMismatch {
		t.Fatalf("exit %d verdict %s (%s), want 1 mismatch content_mismatch: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(res.Message, "only the manifest differs") || strings.Contains(res.Message, "dependency drift") {
		t.Errorf("message %q", res.Message)
	}
}

// A published file no commit ever had (lodash 4.17.21's flake.nix, bcrypt 5.1.1's
// test-docker.sh): the mismatch says it was never committed.
func TestMismatchNamesNeverCommittedFiles(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "flake-fixture", "version": "1.0.0", "repository": "fixture/flake"}` + "\n",
		"index.js":     "module.exports = 1;\n",
	}
	dir, _ := f.repo("flake", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"flake.nix": "{ }\n"}) // the publisher's tree
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/flake-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Reason != verdict.ReasonFileSetMismatch {
		t.Fatalf("exit %d verdict %s (%s), want 1 mismatch file_set_mismatch: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(res.Message, "never committed to the repository: 1 of the files only the registry's artifact has (package/flake.nix)") {
		t.Errorf("message %q does not name the file no commit has", res.Message)
	}
}

// Published from a Windows checkout (chart.js 2.9.4): the text files carry CR LF. The rebuild
// checks out the same way, so they come out as published rather than only equivalent.
func TestWindowsCheckout(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "windows-fixture", "version": "1.0.0", "repository": "fixture/windows"}` + "\n",
		"index.js":     "module.exports = 1;\n",
		"README.md":    "# windows\n\ntext\n",
		"LICENSE":      "MIT\n",
	}
	dir, _ := f.repo("windows", files, "v1.0.0")
	crlf := map[string]string{}
	for _, p := range []string{"index.js", "README.md", "LICENSE"} {
		crlf[p] = strings.ReplaceAll(files[p], "\n", "\r\n")
	}
	writeFiles(t, dir, crlf) // what Git for Windows checks out
	f.reg.Publish(f.npmPack(dir))

	code, out, errb := f.vouch("infer", "pkg:npm/windows-fixture@1.0.0")
	if code != 0 || !strings.Contains(out, "lineEndings: crlf") {
		t.Fatalf("infer: exit %d, want location.lineEndings: crlf\n%s\n%s", code, out, errb)
	}
	code, res := f.rebuildJSON("pkg:npm/windows-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s", code, res.Verdict, res.Reason, res.Message)
	}
	if slices.Contains(res.Stabilizers, "text-line-endings") {
		t.Errorf("stabilizers %v: the CR LF checkout should have made the line endings equal", res.Stabilizers)
	}
}

// lerna publish writes "gitHead" into package.json before packing: the rebuild writes the
// commit it checked out there too.
func TestGitHeadAnnotation(t *testing.T) {
	f := newFixture(t)
	pj := "{\n  \"name\": \"lerna-fixture\",\n  \"version\": \"1.0.0\",\n  \"repository\": \"fixture/lerna\"\n}\n"
	dir, commit := f.repo("lerna", map[string]string{"package.json": pj, "index.js": "module.exports = 1;\n"}, "v1.0.0")
	writeFiles(t, dir, map[string]string{"package.json": strings.Replace(pj, "\"\n}", "\",\n  \"gitHead\": \""+commit+"\"\n}", 1)})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/lerna-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s", code, res.Verdict, res.Reason, res.Message)
	}
}

// The publisher's tree ignored files the commit publishes (moment 2.29.4's .npmignore was not
// the commit's): the mismatch says the publisher's file selection differed.
func TestMismatchNamesFilesThePublisherLeftOut(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "ignore-fixture", "version": "1.0.0", "repository": "fixture/ignore"}` + "\n",
		"index.js":     "module.exports = 1;\n",
		"Gruntfile.js": "module.exports = function () {};\n",
	}
	dir, _ := f.repo("ignore", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{".npmignore": "Gruntfile.js\n"}) // the publisher's tree
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/ignore-fixture@1.0.0")
	if code != 1 || res.Verdict != verdict.Mismatch || res.Reason != verdict.ReasonFileSetMismatch {
		t.Fatalf("exit %d verdict %s (%s), want 1 mismatch file_set_mismatch: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(res.Message, "the publisher left out 1 file the repository has at the commit (package/Gruntfile.js)") {
		t.Errorf("message %q does not name the file the publisher left out", res.Message)
	}
}

// A lockfile package.json has outgrown (async 2.6.4: dependencies added without updating
// package-lock.json): npm ci refuses it, so the install falls back to npm install.
func TestLockfileOutOfStep(t *testing.T) {
	f := newFixture(t)
	f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name": "dep-fixture", "version": "1.0.0", "main": "index.js"}`,
		"index.js":     "module.exports = function shout(s) { return s.toUpperCase(); };\n",
	}))
	files := map[string]string{
		"package.json": `{"name": "stale-lock-fixture", "version": "1.0.0", "files": ["dist"],
  "scripts": {"prepublishOnly": "node build.js"},
  "devDependencies": {"dep-fixture": "^1.0.0"}, "repository": "fixture/stale-lock"}
`,
		"package-lock.json": `{"name": "stale-lock-fixture", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "stale-lock-fixture", "version": "1.0.0"}}}
`,
		"build.js":   "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', JSON.stringify(require('dep-fixture')('built')) + ';\\n');\n",
		".gitignore": "node_modules/\ndist/\n",
	}
	dir, _ := f.repo("stale-lock", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"dist/index.js": "\"BUILT\";\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/stale-lock-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		log, _ := os.ReadFile(res.BuildLog)
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if log, err := os.ReadFile(res.BuildLog); err != nil || !strings.Contains(string(log), "package-lock.json is out of step with package.json") {
		t.Errorf("the build log does not say the install fell back to npm install (%v)", err)
	}
}

// esbuild < 0.13 fetches its binary in its install script, which the install does not run
// (dependencies' scripts are off): the rebuild runs that one afterwards.
func TestBinaryToolInstallScript(t *testing.T) {
	f := newFixture(t)
	f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name": "esbuild", "version": "0.11.23", "scripts": {"postinstall": "node install.js"}}`,
		"install.js":   "require('fs').writeFileSync(__dirname + '/bin-installed', 'yes');\n",
	}))
	files := map[string]string{
		"package.json": `{"name": "esbuilt-fixture", "version": "1.0.0", "files": ["dist"],
  "scripts": {"build": "node build.js"}, "devDependencies": {"esbuild": "0.11.23"}, "repository": "fixture/esbuilt"}
`,
		"build.js":   "const fs = require('fs');\nfs.readFileSync(require.resolve('esbuild/bin-installed'));\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/index.js', 'built\\n');\n",
		".gitignore": "node_modules/\ndist/\n",
	}
	dir, _ := f.repo("esbuilt", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"dist/index.js": "built\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/esbuilt-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		log, _ := os.ReadFile(res.BuildLog)
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
}

// A Yarn 1 lockfile pins what the publisher's yarn installed; npm 6 (the publisher's npm, by
// _npmVersion) ignores it and would install the newest dependencies, so npm ≥ 7 installs them.
func TestYarnLockWithOldNPM(t *testing.T) {
	f := newFixture(t)
	hostNPM, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal(err)
	}
	// The registry's npm 6: a stand-in that installs as npm 6 does, without reading yarn.lock
	// (the host's npm with --no-package-lock) and refusing npm 7's lockfiles, and otherwise
	// runs the host's npm.
	npm6 := filepath.Join(f.root, "npm6-pkg")
	writeFiles(t, npm6, map[string]string{
		"package.json": `{"name": "npm", "version": "6.14.18"}` + "\n",
		"bin/npm-cli.js": "const args = process.argv.slice(2);\n" +
			"if (args[0] === 'install') args.push('--no-package-lock');\n" +
			"if (args[0] === 'ci' && JSON.parse(require('fs').readFileSync('package-lock.json', 'utf8')).lockfileVersion >= 2) { console.error('npm 6: lockfileVersion 2 is not supported here'); process.exit(1); }\n" +
			"const r = require('child_process').spawnSync(" + strconv.Quote(hostNPM) + ", args, {stdio: 'inherit'});\n" +
			"process.exit(r.status === null ? 1 : r.status);\n",
	})
	f.reg.Publish(f.npmPack(npm6))
	var pinned *registrytest.Published
	for _, v := range []string{"1.0.0", "1.1.0"} {
		p := f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
			"package.json": `{"name": "dep-fixture", "version": "` + v + `", "main": "index.js"}`,
			"index.js":     "module.exports = 'dep " + v + "';\n",
		}))
		if v == "1.0.0" {
			pinned = p
		}
	}
	files := map[string]string{
		"package.json": `{"name": "yarn1-fixture", "version": "1.0.0", "files": ["dist"],
  "scripts": {"prepublishOnly": "node build.js"},
  "devDependencies": {"dep-fixture": "^1.0.0"}, "repository": "fixture/yarn1"}
`,
		"yarn.lock": "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n" +
			"dep-fixture@^1.0.0:\n  version \"1.0.0\"\n  resolved \"" + pinned.TarballURL + "#" + pinned.Shasum + "\"\n  integrity " + pinned.Integrity + "\n",
		"build.js":   "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', JSON.stringify(require('dep-fixture')) + ';\\n');\n",
		".gitignore": "node_modules/\ndist/\n",
	}
	dir, _ := f.repo("yarn1", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"dist/index.js": "\"dep 1.0.0\";\n"})
	f.reg.Publish(f.npmPack(dir), registrytest.WithNpmVersion("6.14.18"))
	code, res := f.rebuildJSON("pkg:npm/yarn1-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if res.Toolchain["npm"] != "6.14.18" || !strings.Contains(string(log), "npm 6.14.18 ignores yarn.lock") {
		t.Errorf("toolchain %v; the build log does not say npm 6 was not used to install:\n%s", res.Toolchain, log)
	}

	// The same with a lockfile npm ≥ 7 wrote (tailwindcss 3.3.5: lockfileVersion 3, workspaces).
	files["package.json"] = strings.NewReplacer("yarn1-fixture", "lock3-fixture", "fixture/yarn1", "fixture/lock3").Replace(files["package.json"])
	delete(files, "yarn.lock")
	files["package-lock.json"] = `{"name": "lock3-fixture", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {` +
		`"": {"name": "lock3-fixture", "version": "1.0.0", "devDependencies": {"dep-fixture": "^1.0.0"}}, ` +
		`"node_modules/dep-fixture": {"version": "1.0.0", "resolved": "` + pinned.TarballURL + `", "integrity": "` + pinned.Integrity + `", "dev": true}}}` + "\n"
	dir, _ = f.repo("lock3", files, "v1.0.0")
	writeFiles(t, dir, map[string]string{"dist/index.js": "\"dep 1.0.0\";\n"})
	f.reg.Publish(f.npmPack(dir), registrytest.WithNpmVersion("6.14.18"))
	code, res = f.rebuildJSON("pkg:npm/lock3-fixture@1.0.0")
	log, _ = os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() || !strings.Contains(string(log), "npm 6.14.18 cannot read package-lock.json's lockfileVersion 3") {
		t.Errorf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
}

// A repository renamed since the release: the release's metadata names a URL that can no
// longer be fetched, and the package's newest release names where it is now.
func TestRepositoryMovedSinceTheRelease(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "moved-fixture", "version": "1.0.0", "main": "index.js", "repository": "fixture/moved"}` + "\n",
		"index.js":     "module.exports = 1;\n",
	}
	dir, commit := f.repo("moved", files, "v1.0.0")
	gone := "git+https://127.0.0.1:1/fixture/old-name.git"
	f.reg.Publish(f.npmPack(dir), registrytest.WithRepository(gone))
	f.git(dir, "checkout", "-q", "-b", "next")
	f.commitFile(dir, "package.json", strings.Replace(files["package.json"], "1.0.0", "1.1.0", 1))
	f.reg.Publish(f.npmPack(dir))

	code, res := f.rebuildJSON("pkg:npm/moved-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s", code, res.Verdict, res.Reason, res.Message)
	}
	if res.Source.Repo != "https://github.com/fixture/moved" || res.Source.Ref != commit {
		t.Errorf("source %s @ %s, want https://github.com/fixture/moved @ %s", res.Source.Repo, res.Source.Ref, commit)
	}

	// Without other metadata naming another repository, the failure names the URL.
	f.commitFile(dir, "package.json", strings.Replace(files["package.json"], "1.0.0", "1.2.0", 1))
	f.reg.Publish(f.npmPack(dir), registrytest.WithRepository(gone))
	code, res = f.rebuildJSON("pkg:npm/moved-fixture@1.2.0")
	if code != 3 || res.Reason != verdict.ReasonCloneFailed || !strings.Contains(res.Message, "127.0.0.1:1/fixture/old-name") {
		t.Errorf("exit %d verdict %s (%s): %s", code, res.Verdict, res.Reason, res.Message)
	}
}

// A monorepo package whose build reads a sibling workspace package's built files: the
// sibling (linked into node_modules as its checkout) is built first.
func TestWorkspaceDependencyBuiltFirst(t *testing.T) {
	f := newFixture(t)
	writer := func(expr string) string {
		return "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', " + expr + ");\n"
	}
	files := map[string]string{
		"package.json":            `{"name": "mono", "private": true, "workspaces": ["packages/*"]}` + "\n",
		".gitignore":              "node_modules/\ndist/\n",
		"packages/a/package.json": `{"name": "ws-a", "version": "1.0.0", "main": "dist/index.js", "dependencies": {"ws-u": "^1.0.0"}, "scripts": {"build": "node build.js"}}` + "\n",
		"packages/a/build.js":     writer(`"module.exports = " + JSON.stringify("a built, " + require('ws-u')) + ";\n"`),
		// Built by what publishing it runs (no build script).
		"packages/u/package.json": `{"name": "ws-u", "version": "1.0.0", "main": "dist/index.js", "scripts": {"prepublishOnly": "node build.js"}}` + "\n",
		"packages/u/build.js":     writer(`"module.exports = 'u built';\n"`),
		"packages/b/package.json": `{"name": "ws-b", "version": "1.0.0", "files": ["dist"], "dependencies": {"ws-a": "^1.0.0"}, "scripts": {"build": "node build.js"}, "repository": {"type": "git", "url": "https://github.com/fixture/mono", "directory": "packages/b"}}` + "\n",
		"packages/b/build.js":     writer(`JSON.stringify(require('ws-a')) + ";\n"`),
		"packages/c/package.json": `{"name": "ws-c", "version": "1.0.0", "scripts": {"build": "exit 1"}}` + "\n",
	}
	dir, commit := f.repo("mono", files, "v1.0.0")
	writeFiles(t, filepath.Join(dir, "packages", "b"), map[string]string{"dist/index.js": "\"a built, u built\";\n"})
	f.reg.Publish(f.npmPack(filepath.Join(dir, "packages", "b")))
	code, res := f.rebuildJSON("pkg:npm/ws-b@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if res.Source.Ref != commit || res.Source.Dir != "packages/b" {
		t.Errorf("source %s in %q, want %s in packages/b", res.Source.Ref, res.Source.Dir, commit)
	}
	// Only what the package depends on is built (ws-c's build would fail).
	if !strings.Contains(string(log), "building the workspace package in packages/u first\n$ npm run prepublishOnly\n") ||
		!strings.Contains(string(log), "building the workspace package in packages/a first\n$ npm run build\n") ||
		strings.Index(string(log), "packages/u first") > strings.Index(string(log), "packages/a first") || strings.Contains(string(log), "packages/c") {
		t.Errorf("the build log does not show packages/u then packages/a, and only them, built first:\n%s", log)
	}
}

// A release script that syncs with the remote first ("git pull --ff-only && ..."), audits the
// dependencies and lints: the rebuild is of the checked-out commit, an audit checks against
// today's advisories and linting makes no files, so all are skipped and the build goes on.
func TestReleaseScriptPullsFirst(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "pull-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "git pull --ff-only && npm run security && npm run lint && node build.js", "security": "npm audit --audit-level=high", "lint": "eslint-that-is-not-installed ."}, "repository": "fixture/pull"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', 'module.exports = ' + JSON.stringify(require('child_process').execSync('git rev-parse --is-inside-work-tree').toString().trim()) + ';\\n');\n",
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("pull", files, "v1.0.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "module.exports = \"true\";\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/pull-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "vouch: skipping git pull") || !strings.Contains(string(log), "vouch: skipping the audit script 'security'") ||
		!strings.Contains(string(log), "vouch: skipping the lint script 'lint'") {
		t.Errorf("the build log does not show the pull, the audit and the lint skipped:\n%s", log)
	}
}

// Release guards: publish scripts that refuse to run unless the maintainers' release process
// set an environment variable (svelte's PUBLISH, rollup 3's ROLLUP_RELEASE === 'releasing')
// are run again with what they check, and only the publish script sees it: the prepare
// script npm pack runs builds only outside a release, as rollup's does.
func TestReleaseGuardWantsAnEnvironmentVariable(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json":             `{"name": "guard-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node check_publish_env.js && node scripts/check-release.js && node build.js publish", "prepare": "node scripts/check-release.js || node build.js prepare"}, "repository": "fixture/guard"}` + "\n",
		"check_publish_env.js":     "if (!process.env.PUBLISH) {\n\tconsole.error('npm publish must be run with the PUBLISH environment variable set');\n\tprocess.exit(1);\n}\n",
		"scripts/check-release.js": "import { env, exit } from 'node:process';\n\nif (env.GUARD_RELEASE !== 'releasing') {\n\texit(1);\n}\n",
		"scripts/package.json":     `{"type": "module"}` + "\n",
		"build.js":                 "const fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\nfs.appendFileSync('dist/index.js', '// ' + process.argv[2] + ' ' + process.env.GUARD_RELEASE + '\\n');\n",
		".gitignore":               "dist/\n",
	}
	dir, _ := f.repo("guard", files, "v1.0.0")
	// The release: the publish script with the guards' variables, then npm pack's prepare,
	// which without them builds again.
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "// publish releasing\n// prepare undefined\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/guard-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "running it again with PUBLISH=true (check_publish_env.js), GUARD_RELEASE=releasing (scripts/check-release.js)") {
		t.Errorf("the build log does not show the guards' variables set:\n%s", log)
	}
}

// A release script that builds before it commits the version bump (rollup's): the bundles'
// license banners name the release commit's parent. The rebuild of the tagged commit names
// the tag's; the two hashes are compared as one, and nothing else is forgiven.
func TestBannerNamesTheCommitBeforeTheRelease(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "banner-fixture", "version": "0.9.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js"}, "repository": "fixture/banner"}` + "\n",
		"build.js": "const fs = require('fs');\nconst sh = (c) => require('child_process').execSync(c).toString().trim();\nfs.mkdirSync('dist', {recursive: true});\n" +
			"fs.writeFileSync('dist/index.js', '/*!\\n * banner-fixture v' + require('./package.json').version + ' - commit ' + sh('git rev-parse HEAD') + ' (' + sh('git rev-parse --short HEAD') + ')\\n */\\nmodule.exports = 42;\\n');\n",
		".gitignore": "dist/\n",
	}
	dir, before := f.repo("banner", files, "")
	// The release: bump the version, build, pack; then commit the bump and tag it.
	writeFiles(t, dir, map[string]string{"package.json": strings.Replace(files["package.json"], "0.9.0", "1.0.0", 1)})
	f.npmRun(dir, "run", "prepublishOnly")
	tgz := f.npmPack(dir)
	f.git(dir, "commit", "-q", "-am", "1.0.0")
	f.git(dir, "tag", "v1.0.0")
	f.reg.Publish(tgz)
	code, res := f.rebuildJSON("pkg:npm/banner-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !slices.Contains(res.Stabilizers, "custom:pre-release-commit") {
		t.Errorf("stabilizers %v, want custom:pre-release-commit", res.Stabilizers)
	}
	if code, out, _ := f.vouch("infer", "pkg:npm/banner-fixture@1.0.0"); code != 0 || !strings.Contains(out, "the published files name commit "+before[:12]) {
		t.Errorf("infer (exit %d) does not explain the stabilizer:\n%s", code, out)
	}
}

// A lerna monorepo (aws-crypto's shape): packages compile in prepublishOnly, depend on each
// other by "file:../util", and the root .gitignore has "build". lerna publish packed each
// directory alone (npm applies the root's ignore rules to a workspace) and wrote the
// sibling's version ("^1.0.0") for the file: specifier, and packed the root's LICENSE into
// the package, which has none; the rebuild does all three.
func TestLernaMonorepoPackage(t *testing.T) {
	f := newFixture(t)
	builder := func(expr string) string {
		return "require('fs').mkdirSync('build', {recursive: true});\nrequire('fs').writeFileSync('build/index.js', " + expr + ");\n"
	}
	files := map[string]string{
		"package.json":               `{"name": "lerna-root", "private": true, "workspaces": ["packages/*"]}` + "\n",
		"lerna.json":                 `{"packages": ["packages/*"], "version": "1.0.0"}` + "\n",
		".gitignore":                 "node_modules/\nbuild\n",
		"LICENSE":                    "MIT License\n",
		"packages/util/package.json": `{"name": "lerna-util", "version": "1.0.0", "main": "build/index.js", "scripts": {"prepublishOnly": "node build.js"}}` + "\n",
		"packages/util/build.js":     builder(`"module.exports = 'util';\n"`),
		"packages/util/.npmignore":   "build.js\n",
		"packages/sha/package.json":  "{\n  \"name\": \"lerna-sha\",\n  \"version\": \"1.0.0\",\n  \"main\": \"./build/index.js\",\n  \"dependencies\": {\n    \"lerna-util\": \"file:../util\"\n  },\n  \"scripts\": {\n    \"prepublishOnly\": \"node build.js\"\n  },\n  \"repository\": {\"type\": \"git\", \"url\": \"https://github.com/fixture/lerna\", \"directory\": \"packages/sha\"}\n}\n",
		"packages/sha/build.js":      builder(`"module.exports = " + JSON.stringify("sha of " + require('lerna-util')) + ";\n"`),
		"packages/sha/.npmignore":    "build.js\n",
	}
	f.repo("lerna", files, "v1.0.0")
	// lerna publish: the package directory alone, its dependency's version written.
	pub := filepath.Join(t.TempDir(), "sha")
	writeFiles(t, pub, map[string]string{
		"package.json":   strings.Replace(files["packages/sha/package.json"], "file:../util", "^1.0.0", 1),
		".npmignore":     "build.js\n",
		"build/index.js": "module.exports = \"sha of util\";\n",
		"LICENSE":        "MIT License\n", // the root's, which lerna packs into packages without one
	})
	f.reg.Publish(f.npmPack(pub))
	code, res := f.rebuildJSON("pkg:npm/lerna-sha@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "lerna-util file:../util → ^1.0.0") || !strings.Contains(string(log), "npm pack --workspaces=false") ||
		!strings.Contains(string(log), "copying the repository root's LICENSE into the package") {
		t.Errorf("the build log does not show the dependency's version written and the directory packed alone:\n%s", log)
	}
}

// source-map 0.7 (in rollup plugins of @popperjs/core's era) takes a Node.js with a global
// fetch (≥ 18) for a browser and throws; the publisher's Node.js had none. The script runs
// again without it, and so does npm pack's prepare.
func TestSourceMapWasmOnNewNode(t *testing.T) {
	f := newFixture(t)
	build := "if (typeof fetch === 'function') {\n\tthrow new Error(\"You must provide the URL of lib/mappings.wasm by calling SourceMapConsumer.initialize({ 'lib/mappings.wasm': ... }) before using SourceMapConsumer\");\n}\n" +
		"require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').appendFileSync('dist/index.js', '// ' + process.argv[2] + '\\n');\n"
	files := map[string]string{
		"package.json": `{"name": "wasm-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js publish", "prepack": "node build.js pack"}, "repository": "fixture/wasm"}` + "\n",
		"build.js":     build,
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("wasm", files, "v1.0.0")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"index.js": "// publish\n// pack\n"})
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/wasm-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "NODE_OPTIONS=--no-experimental-fetch") {
		t.Errorf("the build log does not show the script run again without fetch:\n%s", log)
	}
}

// A package published with yarn publish (vuex 3): Yarn 1 packs CHANGELOG.md whatever
// "files" says, npm does not. Inference finds that Yarn 1's file list is the published one
// and the build packs with it.
func TestPublishedWithYarn1(t *testing.T) {
	f := newFixture(t)
	// The registry's Yarn 1: a stand-in whose pack is npm's plus the changelog, Yarn 1's rule.
	yarn := filepath.Join(f.root, "yarn-pkg")
	writeFiles(t, yarn, map[string]string{
		"package.json": `{"name": "yarn", "version": "1.22.22"}` + "\n",
		"bin/yarn.js": `const { execFileSync } = require('child_process');
const fs = require('fs'), path = require('path'), os = require('os');
const args = process.argv.slice(2);
if (args[0] !== 'pack') { console.error('yarn stand-in: only pack'); process.exit(1); }
const out = args[args.indexOf('--filename') + 1];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yarn-'));
execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp]);
const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', tmp]);
for (const f of fs.readdirSync('.')) if (/^(changes|changelog|history)/i.test(f)) fs.copyFileSync(f, path.join(tmp, 'package', f));
execFileSync('tar', ['czf', out, '-C', tmp, 'package']);
`,
	})
	f.reg.Publish(f.npmPack(yarn))
	files := map[string]string{
		"package.json": `{"name": "yarn-published", "version": "1.0.0", "files": ["index.js"], "repository": "fixture/yarnpub"}` + "\n",
		"index.js":     "module.exports = 1;\n",
		"CHANGELOG.md": "# 1.0.0\n",
		"yarn.lock":    "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n",
	}
	dir, _ := f.repo("yarnpub", files, "v1.0.0")
	f.reg.Publish(repackAdd(t, f.npmPack(dir), "package/CHANGELOG.md", files["CHANGELOG.md"]))
	code, res := f.rebuildJSON("pkg:npm/yarn-published@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		log, _ := os.ReadFile(res.BuildLog)
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if code, out, _ := f.vouch("infer", "pkg:npm/yarn-published@1.0.0"); code != 0 || !strings.Contains(out, "pack: yarn") || !strings.Contains(out, "yarn: 1.22.22") {
		t.Errorf("infer (exit %d) does not pack with Yarn 1:\n%s", code, out)
	}
	// A file list Yarn 1 explains only in part (eslint-plugin-react's prepack writes
	// .npmignore) is not taken for Yarn's.
	files["package.json"] = strings.NewReplacer("yarn-published", "yarn-in-part", "fixture/yarnpub", "fixture/yarnpart").Replace(files["package.json"])
	files["extra.txt"] = "extra\n"
	dir, _ = f.repo("yarnpart", files, "v1.0.0")
	up := repackAdd(t, f.npmPack(dir), "package/CHANGELOG.md", files["CHANGELOG.md"])
	f.reg.Publish(repackAdd(t, up, "package/extra.txt", files["extra.txt"]))
	if code, out, _ := f.vouch("infer", "pkg:npm/yarn-in-part@1.0.0"); code != 0 || strings.Contains(out, "pack: yarn") {
		t.Errorf("infer (exit %d) packs with Yarn 1 a list it does not explain:\n%s", code, out)
	}
}

// A package released by its Makefile (react-modal, async 2): no npm script builds; the
// Makefile's build target does, and its release target publishes a directory.
func TestReleasedByMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is missing: scripts/setup.sh installs it")
	}
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "make-fixture", "version": "1.0.0", "main": "index.js", "repository": "fixture/make"}` + "\n",
		"src/index.js": "module.exports = 'made';\n",
		"Makefile": "VERSION:=$(shell node -p 'require(\"./package.json\").version')\n\n" +
			"build: compile\n\tcp package.json out/\n\ncompile:\n\tmkdir -p out\n\tcp src/index.js out/index.js\n\n" +
			"release: build\n\tgit tag v$(VERSION)\n\tcd out && npm publish --access public\n",
		".gitignore": "out/\n",
	}
	dir, _ := f.repo("make", files, "v1.0.0")
	out := filepath.Join(dir, "out")
	writeFiles(t, out, map[string]string{"package.json": files["package.json"], "index.js": files["src/index.js"]})
	f.reg.Publish(f.npmPack(out))
	code, res := f.rebuildJSON("pkg:npm/make-fixture@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "$ make build") {
		t.Errorf("the build log does not show make build:\n%s", log)
	}
	if code, stdout, _ := f.vouch("infer", "pkg:npm/make-fixture@1.0.0"); code != 0 || !strings.Contains(stdout, "publish_dir: out") || !strings.Contains(stdout, "run: make build") {
		t.Errorf("infer (exit %d) does not run the Makefile's build and pack its directory:\n%s", code, stdout)
	}
}

// Another workspace of the monorepo (a documentation site) has a dependency the install
// cannot fetch: the root's and the package's own dependencies are installed instead.
func TestOtherWorkspaceBreaksTheInstall(t *testing.T) {
	f := newFixture(t)
	f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name": "dep-fixture", "version": "1.0.0", "main": "index.js"}`,
		"index.js":     "module.exports = 'dep';\n",
	}))
	files := map[string]string{
		"package.json":            `{"name": "mono2", "private": true, "workspaces": ["packages/*", "website"]}` + "\n",
		".gitignore":              "node_modules/\ndist/\n",
		"website/package.json":    `{"name": "site", "private": true, "dependencies": {"site-theme": "git+https://127.0.0.1:1/site-theme.git"}}` + "\n",
		"packages/b/package.json": `{"name": "ws2-b", "version": "1.0.0", "files": ["dist"], "devDependencies": {"dep-fixture": "^1.0.0"}, "scripts": {"build": "node build.js"}, "repository": {"type": "git", "url": "https://github.com/fixture/mono2", "directory": "packages/b"}}` + "\n",
		"packages/b/build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/index.js', JSON.stringify(require('dep-fixture')) + ';\\n');\n",
	}
	dir, _ := f.repo("mono2", files, "v1.0.0")
	writeFiles(t, filepath.Join(dir, "packages", "b"), map[string]string{"dist/index.js": "\"dep\";\n"})
	f.reg.Publish(f.npmPack(filepath.Join(dir, "packages", "b")))
	code, res := f.rebuildJSON("pkg:npm/ws2-b@1.0.0")
	log, _ := os.ReadFile(res.BuildLog)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if !strings.Contains(string(log), "installing the root's and packages/b's dependencies only") {
		t.Errorf("the build log does not show the workspace install:\n%s", log)
	}
}
