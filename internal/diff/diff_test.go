package diff_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/diff"
	"github.com/vouch-dev/vouch/internal/verdict"
)

type F = archivetest.File

func read(t testing.TB, data []byte) *archive.Archive {
	t.Helper()
	a, err := archive.Read(data, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestArchives(t *testing.T) {
	jar := func(body string) string {
		return string(archivetest.Zip(t, F{Name: "META-INF/MANIFEST.MF", Body: "Manifest-Version: 1.0\n"}, F{Name: "A.class", Body: body}))
	}
	tests := []struct {
		name string
		a, b []F
		opts diff.Options
		want *diff.Node
	}{
		{
			name: "identical",
			a:    []F{{Name: "p/a", Body: "x"}},
			b:    []F{{Name: "p/a", Body: "x"}},
			want: &diff.Node{Kind: "archive"},
		},
		{
			name: "only in upstream and only in rebuild",
			a:    []F{{Name: "p/a", Body: "x"}, {Name: "p/gone", Body: "g"}},
			b:    []F{{Name: "p/a", Body: "x"}, {Name: "p/new", Type: archive.TypeSymlink, Linkname: "a"}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{
				{Path: "p/gone", Kind: "only_upstream", Details: []string{"file, 1 bytes, sha256 " + hexsum("g")}},
				{Path: "p/new", Kind: "only_rebuild", Details: []string{"symlink -> a"}},
			}},
		},
		{
			name: "metadata only",
			a:    []F{{Name: "p/a", Body: "x", Mode: 0o644, UID: 0}},
			b:    []F{{Name: "p/a", Body: "x", Mode: 0o755, UID: 1000, ModTime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/a", Kind: "metadata", Details: []string{
				"mode 0644 -> 0755", "mtime 2000-01-02T03:04:05Z -> 2020-01-01T00:00:00Z", "owner 0:0 -> 1000:0",
			}}}},
		},
		{
			name: "type change",
			a:    []F{{Name: "p/a", Body: "x"}},
			b:    []F{{Name: "p/a", Type: archive.TypeSymlink, Linkname: "b"}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/a", Kind: "type", Details: []string{"type file -> symlink"}}}},
		},
		{
			name: "text change with unified diff",
			a:    []F{{Name: "p/t.js", Body: "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"}},
			b:    []F{{Name: "p/t.js", Body: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\nthirteen"}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/t.js", Kind: "content", Unified: "" +
				"--- a/p/t.js\n+++ b/p/t.js\n" +
				"@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n" +
				"@@ -10,3 +10,4 @@\n 10\n 11\n 12\n+thirteen\n\\ No newline at end of file\n"}}},
		},
		{
			name: "binary change",
			a:    []F{{Name: "p/b.bin", Body: "\x00\x01\x02"}},
			b:    []F{{Name: "p/b.bin", Body: "\x00\x01\x03\x04"}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/b.bin", Kind: "content", Details: []string{
				"size 3 -> 4",
				sha("sha256 ", "\x00\x01\x02", "\x00\x01\x03\x04"),
			}}}},
		},
		{
			name: "nested jar",
			a:    []F{{Name: "p/lib.jar", Body: jar("one\n")}},
			b:    []F{{Name: "p/lib.jar", Body: jar("two\n")}},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/lib.jar", Kind: "content", Children: []*diff.Node{
				{Path: "p/lib.jar!/A.class", Kind: "content", Unified: "--- a/p/lib.jar!/A.class\n+++ b/p/lib.jar!/A.class\n@@ -1 +1 @@\n-one\n+two\n"},
			}}}},
		},
		{
			name: "depth cap",
			a:    []F{{Name: "p/lib.jar", Body: jar("one\n")}},
			b:    []F{{Name: "p/lib.jar", Body: jar("two\n")}},
			opts: diff.Options{MaxDepth: 1},
			want: &diff.Node{Kind: "archive", Children: []*diff.Node{{Path: "p/lib.jar", Kind: "content", Truncated: true, Details: []string{
				"nested zip archive not expanded (depth limit 1)",
				fmt.Sprintf("size %d -> %d", len(jar("one\n")), len(jar("two\n"))),
				sha("sha256 ", jar("one\n"), jar("two\n")),
			}}}},
		},
		{
			name: "entry cap",
			a:    []F{{Name: "a"}, {Name: "b"}, {Name: "c"}},
			b:    []F{{Name: "z"}},
			opts: diff.Options{MaxEntries: 2},
			want: &diff.Node{Kind: "archive", Truncated: true, Children: []*diff.Node{
				{Path: "a", Kind: "only_upstream", Details: []string{"file, 0 bytes, sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
				{Path: "b", Kind: "only_upstream", Details: []string{"file, 0 bytes, sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := diff.Archives(read(t, archivetest.Tar(t, tc.a...)), read(t, archivetest.Tar(t, tc.b...)), tc.opts)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func sha(prefix, a, b string) string {
	return prefix + hexsum(a) + " -> " + hexsum(b)
}

func TestUnifiedCap(t *testing.T) {
	var a, b strings.Builder
	for i := range 900 {
		fmt.Fprintf(&a, "line %d\n", i)
		fmt.Fprintf(&b, "LINE %d\n", i)
	}
	n := diff.Archives(read(t, archivetest.Tar(t, F{Name: "x", Body: a.String()})), read(t, archivetest.Tar(t, F{Name: "x", Body: b.String()})), diff.Options{MaxUnifiedBytes: 1000})
	c := n.Children[0]
	if !c.Truncated || len(c.Unified) > 1000 || !strings.HasSuffix(c.Unified, "\n") || !strings.HasPrefix(c.Unified, "--- a/x\n+++ b/x\n@@ -1,900 +1,900 @@\n-line 0\n") {
		t.Errorf("capped unified: truncated %v, %d bytes, starts %q", c.Truncated, len(c.Unified), c.Unified[:min(60, len(c.Unified))])
	}
}

func TestSummaryAndRenderers(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz")
	os.WriteFile(a, archivetest.TarGz(t, F{Name: "p/keep", Body: "k"}, F{Name: "p/old", Body: "o"}, F{Name: "p/x.js", Body: "a<b>\n"}), 0o644)
	os.WriteFile(b, archivetest.TarGz(t, F{Name: "p/keep", Body: "k", Mode: 0o600}, F{Name: "p/new", Body: "n"}, F{Name: "p/x.js", Body: "<script>alert(1)</script>\n"}), 0o644)
	n, err := diff.Files(a, b, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := verdict.DiffSummary{Differences: 4, OnlyUpstream: []string{"p/old"}, OnlyRebuild: []string{"p/new"}, Changed: []string{"p/keep", "p/x.js"}}
	if diff := cmp.Diff(want, n.Summary(10)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := n.Summary(1).Changed; len(got) != 1 {
		t.Errorf("Summary(1).Changed = %v", got)
	}

	var text bytes.Buffer
	if err := diff.RenderText(&text, n); err != nil {
		t.Fatal(err)
	}
	wantText := `~ (archive) [archive]
  ~ p/keep [metadata]
      mode 0644 -> 0600
  - p/old [only_upstream]
      file, 1 bytes, sha256 ` + hexsum("o") + `
  ~ p/x.js [content]
      --- a/p/x.js
      +++ b/p/x.js
      @@ -1 +1 @@
      -a<b>
      +<script>alert(1)</script>
  + p/new [only_rebuild]
      file, 1 bytes, sha256 ` + hexsum("n") + `
`
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	var html bytes.Buffer
	if err := diff.RenderHTML(&html, n); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	if strings.Contains(h, "<script>alert") || !strings.Contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(h, "p/new") {
		t.Errorf("html not escaped or incomplete:\n%s", h)
	}

	js, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var back diff.Node
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(n, &back); diff != "" {
		t.Errorf("json round trip (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(js), `"kind":"only_rebuild"`) {
		t.Errorf("json: %s", js)
	}
}

func TestNoDifferences(t *testing.T) {
	a := read(t, archivetest.Tar(t, F{Name: "x", Body: "1"}))
	n := diff.Archives(a, a, diff.Options{})
	var buf bytes.Buffer
	diff.RenderText(&buf, n)
	if buf.String() != "no differences\n" || n.Summary(5).Differences != 0 {
		t.Errorf("text %q summary %+v", buf.String(), n.Summary(5))
	}
}

func TestLineEndingsOnly(t *testing.T) {
	a := read(t, archivetest.Tar(t, F{Name: "package/LICENSE", Body: "MIT\r\nline two\r\n"}))
	b := read(t, archivetest.Tar(t, F{Name: "package/LICENSE", Body: "MIT\nline two\n"}))
	n := diff.Archives(a, b, diff.Options{})
	if len(n.Children) != 1 {
		t.Fatalf("children = %+v, want the LICENSE node", n.Children)
	}
	c := n.Children[0]
	want := []string{"only line endings differ: upstream has 2 CR LF, rebuild has 0"}
	if diff := cmp.Diff(want, c.Details); diff != "" || c.Unified != "" {
		t.Errorf("details (-want +got):\n%s\nunified %q", diff, c.Unified)
	}
}

func TestJSONReindented(t *testing.T) {
	a := read(t, archivetest.Tar(t, F{Name: "package/package.json", Body: `{"name":"x","scripts":{"test":"mocha"},"version":"1.0.0"}`}))
	b := read(t, archivetest.Tar(t, F{Name: "package/package.json", Body: `{"name":"x","scripts":{"test":"gulp test"},"version":"1.0.0"}`}))
	n := diff.Archives(a, b, diff.Options{})
	if len(n.Children) != 1 {
		t.Fatalf("children = %+v", n.Children)
	}
	u := n.Children[0].Unified
	if !strings.Contains(u, "-    \"test\": \"mocha\"\n+    \"test\": \"gulp test\"\n") || strings.Contains(u, "-{") {
		t.Errorf("unified diff does not show the changed key alone:\n%s", u)
	}
}
