package npm

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func TestInstallProblems(t *testing.T) {
	for _, c := range []struct {
		name         string
		out          string
		missing, git []string
	}{
		{
			name: "npm 404 on a tarball and a packument",
			out: "npm warn deprecated x@1\nnpm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/@babel%2fcli - Not found\n" +
				"npm error 404\nnpm error 404  '@babel/cli@7.23.0' is not in this registry.\n" +
				"npm error 404 Not Found - GET https://registry.npmjs.org/less/-/less-3.13.1.tgz - Not found\n",
			missing: []string{"@babel/cli", "@babel/cli@7.23.0", "less@3.13.1"},
		},
		{
			name: "yarn berry",
			out: "➤ YN0035: │ @babel/cli@npm:8.0.0-alpha.2: The remote server failed to provide the requested resource\n" +
				"➤ YN0035: │   Response Code: 404 (Not Found)\n➤ YN0035: │   Request Method: GET\n" +
				"➤ YN0035: │   Request URL: https://registry.npmjs.org/@babel/cli/-/cli-8.0.0-alpha.2.tgz\n" +
				"➤ YN0013: │ 805 had to be fetched\n➤ YN0000: │ Request URL: https://registry.npmjs.org/unrelated/-/unrelated-1.0.0.tgz\n",
			missing: []string{"@babel/cli@8.0.0-alpha.2"},
		},
		{
			name:    "git dependency",
			out:     "npm error code 128\nnpm error An unknown git error occurred\nnpm error command git --no-replace-objects ls-remote ssh://git@github.com/jkroso/v8-argv.git\nnpm error ssh: Could not resolve hostname github.com\n",
			git:     []string{"ssh://git@github.com/jkroso/v8-argv.git"},
			missing: nil,
		},
		{
			name:    "GitHub tarball dependency",
			out:     "npm ERR! code E403\nnpm ERR! 403 403 Forbidden - GET https://api.github.com/repos/browserify/browserify/tarball/9ff7c55cc67a7ddbc64f8e7270bcd75fcc72ce2f\nnpm ERR! 403 In most cases\n",
			git:     []string{"https://github.com/browserify/browserify"},
			missing: nil,
		},
		{
			name:    "no matching version",
			out:     "npm error code ETARGET\nnpm error notarget No matching version found for @less/test-data@^3.13.0.\nnpm error notarget In most cases you\n",
			missing: []string{"@less/test-data@^3.13.0"},
		},
		{name: "other failure", out: "npm error code ERESOLVE\nnpm error 404 reasons to fail\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			missing, git := installProblems([]byte(c.out))
			if diff := cmp.Diff(c.missing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.git, git); diff != "" {
				t.Errorf("git (-want +got):\n%s", diff)
			}
		})
	}

	exit := &sandbox.ExitError{Code: 1}
	err := installFailure(exit, "npm ci", []byte("npm error 404 Not Found - GET https://registry.npmjs.org/a/-/a-1.0.0.tgz - Not found\n"))
	ve, ok := verdict.As(err)
	if !ok || ve.Verdict != verdict.BuildFailed || ve.Reason != verdict.ReasonInstallFailed || !strings.Contains(ve.Msg, "does not serve 1 of the packages it needs (HTTP 404 or no matching version: a@1.0.0)") {
		t.Errorf("installFailure = %v", err)
	}
	if !errors.Is(err, exit) {
		t.Errorf("installFailure does not wrap the exit error")
	}
	if err := installFailure(nil, "npm ci", nil); err != nil {
		t.Errorf("installFailure(nil) = %v", err)
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{n: 10}
	var all bytes.Buffer
	for i := 0; i < 100; i++ {
		s := strings.Repeat(string(rune('a'+i%26)), i%7)
		w.Write([]byte(s))
		all.WriteString(s)
	}
	if got, want := string(w.Bytes()), all.String()[all.Len()-10:]; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

func TestTestOnlyDevDeps(t *testing.T) {
	m := &manifest{
		Scripts: map[string]string{
			"prepublishOnly": "safe-publish-latest && npm run dist",
			"dist":           "mkdirp dist && browserify --standalone Qs lib/index.js > dist/qs.js",
			"prebuild":       "rimraf dist",
			"build":          "rollup -c",
			"pretest":        "npm run --silent readme && npm run lint",
			"test":           "npm run tests-only",
			"tests-only":     "nyc tape 'test/**/*.js' && browserify test/x.js",
			"readme":         "evalmd README.md",
			"lint":           "eslint --ext=js,mjs .",
		},
		DevDeps: map[string]any{
			"browserify": "^16", "mkdirp": "^0.5", "evalmd": "^0.0.19", "nyc": "^10", "tape": "^5",
			"eslint": "8", "@ljharb/eslint-config": "^21", "safe-publish-latest": "^2", "rimraf": "^3",
			"rollup": "^2", "@rollup/plugin-node-resolve": "^13",
		},
	}
	got := testOnlyDevDeps(m, []string{"prepack", "prepare", "postpack", "prepublishOnly"})
	// build (and its prebuild) is not a publish script here, but no test script uses rollup
	// or rimraf: kept, as are dependencies no script names (config files may load them).
	// browserify is used by both.
	want := []string{"eslint", "evalmd", "nyc", "tape"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := testOnlyDevDeps(m, []string{"prepublishOnly", "test"}); len(got) != 0 {
		t.Errorf("with test a publish script: %v, want none", got)
	}
}

func TestUnusedGitDevDeps(t *testing.T) {
	m := &manifest{
		Scripts: map[string]string{
			"prepublish":   "node scripts/prepublish",
			"build":        "npm run build:bundle",
			"build:bundle": "gulp --gulpfile scripts/gulpfile.js && browserify lib > dist/x.js",
			"docs":         "jsdoc -c config/jsdoc.json",
		},
		DevDeps: map[string]any{
			"jaguarjs-jsdoc": "github:dcodeIO/jaguarjs-jsdoc",                            // a theme only the jsdoc config names
			"browserify":     "git+https://github.com/browserify/browserify.git#9ff7c55", // the build needs it
			"gulp":           "^4",
		},
	}
	failed := []string{"ssh://git@github.com/dcodeIO/jaguarjs-jsdoc.git", "https://github.com/browserify/browserify"}
	got := unusedGitDevDeps(m, []string{"prepublish", "build"}, failed)
	if diff := cmp.Diff([]string{"jaguarjs-jsdoc"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for u, want := range map[string]string{
		"ssh://git@github.com/dcodeIO/jaguarjs-jsdoc.git": "dcodeIO/jaguarjs-jsdoc",
		"git@github.com:o/r.git":                          "o/r",
		"https://github.com/o/r/tarball/x":                "o/r",
		"https://gitlab.com/o/r":                          "",
	} {
		if got := githubRepo(u); got != want {
			t.Errorf("githubRepo(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestLastWords(t *testing.T) {
	out := "\n> svelte@3.59.2 prepublishOnly\n> node check_publish_env.js && npm run build\n\n" +
		"npm publish must be run with the PUBLISH environment variable set\n" +
		"npm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! A complete log of this run can be found in:\n"
	if got, want := lastWords([]byte(out), 2), "npm publish must be run with the PUBLISH environment variable set"; got != want {
		t.Errorf("lastWords = %q, want %q", got, want)
	}
	tsc := "\x1b[96msrc/a.ts\x1b[0m(1,2): error TS2307: Cannot find module 'x'.\nsrc/b.ts(3,4): error TS1005: ',' expected.\nnpm error Lifecycle script `build` failed\n"
	if got, want := lastWords([]byte(tsc), 2), "src/a.ts(1,2): error TS2307: Cannot find module 'x'. / src/b.ts(3,4): error TS1005: ',' expected."; got != want {
		t.Errorf("lastWords = %q, want %q", got, want)
	}
	if got := lastWords([]byte("npm ERR! code 1\n\n"), 2); got != "" {
		t.Errorf("lastWords of boilerplate only = %q, want empty", got)
	}
}
