package source

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/verdict"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		raw, repo, dir string
	}{
		// Forms seen in real package.json "repository" values.
		{"git+https://github.com/lodash/lodash.git", "https://github.com/lodash/lodash", ""},
		{"https://github.com/expressjs/express", "https://github.com/expressjs/express", ""},
		{"https://github.com/expressjs/express/", "https://github.com/expressjs/express", ""},
		{"git://github.com/isaacs/node-glob.git", "https://github.com/isaacs/node-glob", ""},
		{"git+ssh://git@github.com/npm/cli.git", "https://github.com/npm/cli", ""},
		{"ssh://git@github.com/npm/cli.git", "https://github.com/npm/cli", ""},
		{"ssh://git@github.com:22/npm/cli.git", "https://github.com/npm/cli", ""},
		{"git@github.com:facebook/react.git", "https://github.com/facebook/react", ""},
		{"git@gitlab.com:group/sub/proj.git", "https://gitlab.com/group/sub/proj", ""},
		{"github:sindresorhus/is", "https://github.com/sindresorhus/is", ""},
		{"gitlab:inkscape/inkscape", "https://gitlab.com/inkscape/inkscape", ""},
		{"bitbucket:atlassian/atlaskit", "https://bitbucket.org/atlassian/atlaskit", ""},
		{"sindresorhus/is-number", "https://github.com/sindresorhus/is-number", ""},
		{"jonschlinkert/is-number#readme", "https://github.com/jonschlinkert/is-number", ""},
		{"https://github.com/babel/babel/tree/main/packages/babel-core", "https://github.com/babel/babel", "packages/babel-core"},
		{"https://github.com/babel/babel/tree/master/packages/babel-core/", "https://github.com/babel/babel", "packages/babel-core"},
		{"https://github.com/o/r/blob/main/packages/x/README.md", "https://github.com/o/r", "packages/x"},
		{"https://github.com/o/r/blob/main/README.md", "https://github.com/o/r", ""},
		{"https://github.com/o/r/tree/main", "https://github.com/o/r", ""},
		{"https://github.com/o/r#readme", "https://github.com/o/r", ""},
		{"git+https://github.com/o/r.git#v2-branch", "https://github.com/o/r", ""},
		{"https://www.github.com/o/r", "https://github.com/o/r", ""},
		{"http://github.com/o/r.git", "https://github.com/o/r", ""},
		{"HTTPS://GitHub.COM/Owner/Repo.git", "https://github.com/Owner/Repo", ""},
		{"git+https://git@github.com/o/r.git", "https://github.com/o/r", ""},
		{"github.com/o/r", "https://github.com/o/r", ""},
		{"  https://github.com/o/r  ", "https://github.com/o/r", ""},
		{"https://github.com/o/r/issues", "https://github.com/o/r", ""},
		{"https://gitlab.com/group/sub/proj/-/tree/main/pkg", "https://gitlab.com/group/sub/proj", "pkg"},
		{"https://bitbucket.org/o/r/src/master/packages/y", "https://bitbucket.org/o/r", "packages/y"},
		{"https://codeberg.org/o/r/src/branch/main/lib", "https://codeberg.org/o/r", "lib"},
		{"https://git.example.org/scm/team/project.git", "https://git.example.org/scm/team/project", ""},
		{"https://git.example.org:8443/team/project", "https://git.example.org:8443/team/project", ""},
		{"https://github.com/o/r/tree/main/../../etc", "https://github.com/o/r", ""},
		{"https://github.com/o/r.js", "https://github.com/o/r.js", ""},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			repo, dir, err := Canonicalize(tc.raw)
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if diff := cmp.Diff([]string{tc.repo, tc.dir}, []string{repo, dir}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanonicalizeRefused(t *testing.T) {
	tests := []struct {
		raw    string
		reason verdict.Reason
	}{
		{"", verdict.ReasonNoRepoURL},
		{"   ", verdict.ReasonNoRepoURL},
		{"ext::sh -c touch% /tmp/pwned", verdict.ReasonUnsupportedRepo},
		{"ext::sh", verdict.ReasonUnsupportedRepo},
		{"fd::17", verdict.ReasonUnsupportedRepo},
		{"file:///etc", verdict.ReasonUnsupportedRepo},
		{"file:../x", verdict.ReasonUnsupportedRepo},
		{"-uhttps://github.com/o/r", verdict.ReasonUnsupportedRepo},
		{"--upload-pack=touch /tmp/x", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o/r evil", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o\x00/r", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o/r\tx", verdict.ReasonUnsupportedRepo},
		{"svn://svn.example.org/repo", verdict.ReasonUnsupportedRepo},
		{"ftp://example.org/o/r", verdict.ReasonUnsupportedRepo},
		{"https://-oProxyCommand=x/o/r", verdict.ReasonUnsupportedRepo},
		{"ssh://-oProxyCommand=touch/o/r", verdict.ReasonUnsupportedRepo},
		{"https://user:token@github.com/o/r.git", verdict.ReasonUnsupportedRepo},
		{"https://ghp_abcdef@github.com/o/r.git", verdict.ReasonUnsupportedRepo},
		{"git+ssh://git@evil.example.com/o/r.git", verdict.ReasonUnsupportedRepo},
		{"me@evil.example.com:o/r.git", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o", verdict.ReasonUnsupportedRepo},
		{"https://github.com/-o/r", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o/..", verdict.ReasonUnsupportedRepo},
		{"https://github.com/o/r%2f..", verdict.ReasonUnsupportedRepo},
		{"https://localhost/o/r", verdict.ReasonUnsupportedRepo},
		{"gist:11081aaa281", verdict.ReasonUnsupportedRepo},
		{"npm:other", verdict.ReasonUnsupportedRepo},
		{"just-a-name", verdict.ReasonUnsupportedRepo},
		{`https://github.com\o\r`, verdict.ReasonUnsupportedRepo},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			repo, _, err := Canonicalize(tc.raw)
			if err == nil {
				t.Fatalf("accepted as %q", repo)
			}
			ve, ok := verdict.As(err)
			if !ok || ve.Verdict != verdict.NoSource || ve.Reason != tc.reason {
				t.Fatalf("got %v, want no_source/%s", err, tc.reason)
			}
			if strings.Contains(err.Error(), "token") && strings.Contains(tc.raw, "user:token") {
				t.Errorf("message leaks the credential: %v", err)
			}
		})
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		"git+https://github.com/o/r.git", "git@github.com:o/r.git", "github:o/r", "o/r",
		"https://github.com/o/r/tree/main/packages/x", "ext::sh", "-x", "https://u:p@h.com/o/r",
		"ssh://git@github.com:22/o/r", "https://gitlab.com/a/b/-/blob/main/c/d.md", "http://a.b/c#d?e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		repo, dir, err := Canonicalize(raw)
		if err != nil {
			if _, ok := verdict.As(err); !ok {
				t.Fatalf("error %v is not a *verdict.Error", err)
			}
			return
		}
		if !strings.HasPrefix(repo, "https://") || strings.HasSuffix(repo, "/") || strings.HasSuffix(repo, ".git") {
			t.Fatalf("%q -> %q: not canonical", raw, repo)
		}
		for _, r := range repo + dir {
			if r <= ' ' || r == 0x7f {
				t.Fatalf("%q -> %q %q: whitespace or control character", raw, repo, dir)
			}
		}
		host := strings.SplitN(strings.TrimPrefix(repo, "https://"), "/", 2)[0]
		if host != strings.ToLower(host) || strings.HasPrefix(host, "-") {
			t.Fatalf("%q -> host %q", raw, host)
		}
		if strings.HasPrefix(dir, "/") || dir == ".." || strings.HasPrefix(dir, "../") || strings.Contains(dir, "/../") {
			t.Fatalf("%q -> dir %q escapes", raw, dir)
		}
		again, dir2, err := Canonicalize(repo)
		if err != nil || again != repo || dir2 != "" {
			t.Fatalf("%q -> %q is not a fixed point: %q %q %v", raw, repo, again, dir2, err)
		}
	})
}

func TestTagCandidates(t *testing.T) {
	got := TagCandidates("@acme/widget", "1.2.3")
	want := []string{
		"1.2.3-npm", "v1.2.3-npm", "v1.2.3", "1.2.3", "@acme/widget@1.2.3", "widget@1.2.3",
		"@acme/widget-v1.2.3", "@acme/widget-1.2.3", "@acme/widget_v1.2.3", "@acme/widget@v1.2.3", "@acme/widget/v1.2.3",
		"widget-v1.2.3", "widget-1.2.3", "widget_v1.2.3", "widget@v1.2.3", "widget/v1.2.3",
		"release-1.2.3", "release/1.2.3", "version-1.2.3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMatchTags(t *testing.T) {
	tags := map[string]string{
		"v1.2.3": "a", "1.2.3": "b", "Widget-1.2.3": "c", "widget@1.2.3": "d", "v1.2.30": "e",
		"v1.2.3-beta": "f", "release/1.2.3": "g", "v1.2.4": "h", "V1.2.3": "i", "other@1.2.3": "j",
	}
	got := MatchTags(tags, "widget", "1.2.3")
	want := []string{"v1.2.3", "V1.2.3", "1.2.3", "widget@1.2.3", "Widget-1.2.3", "release/1.2.3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := MatchTags(tags, "widget", "1.2.3-BETA"); len(got) != 0 {
		t.Errorf("version part must match case-sensitively, got %v", got)
	}
}

func TestIsPlaceholderVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"0.0.0-development": true, "0.0.0-semantic-release": true, "0.0.0": true, "": true,
		"1.0.0": false, "0.1.0": false, "2.0.0-beta.1": false,
	} {
		if got := IsPlaceholderVersion(v); got != want {
			t.Errorf("IsPlaceholderVersion(%q) = %v", v, got)
		}
	}
}
