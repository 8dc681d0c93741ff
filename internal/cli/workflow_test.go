package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A package its CI workflow publishes from a directory the build makes (the typestack
// packages: several npm scripts, LICENSE copied in, package.json written by jq, then
// `npm publish ./build`). No package script makes build/, so the rebuild runs the workflow's
// build commands and packs the directory it published.
func TestPublishedByWorkflow(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq is needed (scripts/setup.sh installs it)")
	}
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{
  "name": "workflow-fixture",
  "version": "1.0.0",
  "main": "./cjs/index.js",
  "scripts": {
    "build:cjs": "mkdir -p build/cjs && cp src/index.js build/cjs/index.js",
    "build:types": "mkdir -p build/types && echo 'export {};' > build/types/index.d.ts",
    "lint:check": "exit 1",
    "test:ci": "exit 1"
  },
  "devDependencies": {},
  "repository": "fixture/workflow"
}
`,
		"src/index.js": "module.exports = 'built';\n",
		"LICENSE":      "MIT\n",
		".github/workflows/cd.yml": `name: CD
on:
  release:
    types: [created]
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci --ignore-scripts
      - run: npm run lint:check
      - run: npm run test:ci
      - run: |
          npm run build:cjs
          npm run build:types
      - run: echo "LICENSE_FILE=LICENSE" >> $GITHUB_ENV
      - run: cp $LICENSE_FILE build/LICENSE
      - run: echo "//registry.npmjs.org/:_authToken=${{ secrets.NPM_TOKEN }}" > .npmrc
      - run: jq 'del(.devDependencies) | del(.scripts)' package.json > build/package.json
      - run: npm publish ./build --access public
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_PUBLISH_TOKEN }}
`,
		".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    steps:\n      - run: npm test\n",
	}
	_, commit := f.repo("workflow", files, "v1.0.0")
	// What the workflow published.
	pub := filepath.Join(f.root, "published")
	writeFiles(t, pub, map[string]string{
		"package.json":     "{\n  \"name\": \"workflow-fixture\",\n  \"version\": \"1.0.0\",\n  \"main\": \"./cjs/index.js\",\n  \"repository\": \"fixture/workflow\"\n}\n",
		"cjs/index.js":     files["src/index.js"],
		"types/index.d.ts": "export {};\n",
		"LICENSE":          "MIT\n",
	})
	f.reg.Publish(f.npmPack(pub))

	code, out, errb := f.vouch("infer", "pkg:npm/workflow-fixture@1.0.0")
	_, run, _ := strings.Cut(out, "run: |-\n")
	run, _, _ = strings.Cut(run, "tests:")
	if code != 0 || !strings.Contains(out, "publish_dir: build") || !strings.Contains(run, "npm run build:cjs\n") ||
		strings.Contains(run, "lint:check") || strings.Contains(run, "test:ci") || strings.Contains(run, "_authToken") || strings.Contains(run, "npm ci") {
		t.Fatalf("infer: exit %d; want the build commands without installs, checks, tests and credentials:\n%s\n%s", code, out, errb)
	}
	code, res := f.rebuildJSON("pkg:npm/workflow-fixture@1.0.0")
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, res.BuildLog)
	}
	if res.Source.Ref != commit || res.Strategy != "npm-build-pack" {
		t.Errorf("source %s strategy %s, want %s npm-build-pack", res.Source.Ref, res.Strategy, commit)
	}
	log, err := os.ReadFile(res.BuildLog)
	if err != nil || !strings.Contains(string(log), "$ jq 'del(.devDependencies) | del(.scripts)' package.json > build/package.json") {
		t.Errorf("the build log does not show the workflow's commands (%v):\n%s", err, log)
	}
}
