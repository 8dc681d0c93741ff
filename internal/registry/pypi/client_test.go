package pypi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Foo_Bar": "foo-bar", "foo.bar": "foo-bar", "FOO--bar__baz": "foo-bar-baz", "requests": "requests", "zope.interface": "zope-interface",
	} {
		if got := pypi.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func newIndex(t *testing.T) (*registrytest.PyPI, *pypi.Client) {
	idx := registrytest.NewPyPI(t)
	c := pypi.New(idx.URL(), pypi.WithBackoff(time.Millisecond), pypi.WithAttempts(2))
	return idx, c
}

func TestRelease(t *testing.T) {
	idx, c := newIndex(t)
	up := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	urls := map[string]string{"Source": "https://github.com/o/foo-bar", "Docs": "https://foo.readthedocs.io"}
	whl := idx.Publish("Foo_Bar", "1.0", "foo_bar-1.0-py3-none-any.whl", []byte("wheel"), registrytest.WithProjectURLs(urls), registrytest.WithUploadTime(up))
	idx.Publish("Foo_Bar", "1.0", "foo_bar-1.0.tar.gz", []byte("sdist"), registrytest.WithUploadTime(up.Add(time.Second)))
	idx.Publish("Foo_Bar", "2.0", "foo_bar-2.0.tar.gz", []byte("sdist2"), registrytest.WithProjectURLs(map[string]string{"Source": "https://github.com/o/moved"}))

	for _, versionJSON := range []bool{true, false} {
		idx.ServeVersionJSON(versionJSON)
		r, err := c.Release(context.Background(), "foo.bar", "1.0")
		if err != nil {
			t.Fatalf("versionJSON=%v: %v", versionJSON, err)
		}
		wantSource := "json-version"
		wantURLs := urls
		if !versionJSON {
			// The project document's info is the latest version's.
			wantSource, wantURLs = "json-project", map[string]string{"Source": "https://github.com/o/moved"}
		}
		if r.Source != wantSource || !cmp.Equal(r.Info.ProjectURLs, wantURLs) || r.Info.InfoFromLatest == versionJSON {
			t.Errorf("versionJSON=%v: source %s urls %v fromLatest %v", versionJSON, r.Source, r.Info.ProjectURLs, r.Info.InfoFromLatest)
		}
		f, ok := r.Select("")
		if !ok || f.Filename != whl.Filename || f.SHA256() != whl.SHA256 || !f.Uploaded().Equal(up) || f.URL != whl.URL {
			t.Errorf("versionJSON=%v: selected %+v (ok %v), want %+v uploaded %v", versionJSON, f, ok, whl, up)
		}
		if sd, ok := r.Select("foo_bar-1.0.tar.gz"); !ok || !sd.IsSdist() {
			t.Errorf("file_name selection: %+v %v", sd, ok)
		}
		if _, ok := r.Select("nope.whl"); ok {
			t.Error("selected a file that does not exist")
		}
	}
	// A mirror with only the Simple API: files, no links.
	idx.ServeJSONAPI(false)
	r, err := c.Release(context.Background(), "Foo_Bar", "1.0")
	if err != nil {
		t.Fatalf("simple only: %v", err)
	}
	var names []string
	for _, f := range r.Files {
		names = append(names, f.Filename+" "+f.SHA256()[:8])
	}
	if want := []string{"foo_bar-1.0-py3-none-any.whl " + whl.SHA256[:8], "foo_bar-1.0.tar.gz " + sha("sdist")[:8]}; r.Source != "simple" || !cmp.Equal(want, names) {
		t.Errorf("simple only: source %s files %v, want %v", r.Source, names, want)
	}
	idx.ServeJSONAPI(true)

	_, err = c.Release(context.Background(), "foo-bar", "3.0")
	if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNotFound {
		t.Errorf("missing version: %v", err)
	}
	_, err = c.Release(context.Background(), "nothere", "1.0")
	if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNotFound {
		t.Errorf("missing project: %v", err)
	}
	_, err = c.Release(context.Background(), "../etc", "1.0")
	if _, ok := verdict.As(err); !ok {
		t.Errorf("bad name accepted: %v", err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSelectPrefersPureWheel(t *testing.T) {
	files := func(names ...string) []pypi.File {
		var out []pypi.File
		for _, n := range names {
			out = append(out, pypi.File{Filename: n})
		}
		return out
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"a-1.tar.gz", "a-1-py2.py3-none-any.whl", "a-1-py3-none-any.whl"}, "a-1-py3-none-any.whl"},
		{[]string{"a-1.tar.gz", "a-1-py2.py3-none-any.whl"}, "a-1-py2.py3-none-any.whl"},
		{[]string{"a-1-cp311-cp311-manylinux_2_17_x86_64.whl", "a-1.tar.gz"}, "a-1.tar.gz"},
		{[]string{"a-1.zip"}, "a-1.zip"},
		{[]string{"a-1-cp311-cp311-win_amd64.whl"}, ""},
	} {
		r := &pypi.Release{Files: files(tc.files...)}
		got, _ := r.Select("")
		if got.Filename != tc.want {
			t.Errorf("Select(%v) = %q, want %q", tc.files, got.Filename, tc.want)
		}
	}
}

func TestSimpleFiles(t *testing.T) {
	idx, c := newIndex(t)
	pub := idx.Publish("my.pkg", "0.1", "my_pkg-0.1.tar.gz", []byte("x"))
	for _, htmlOnly := range []bool{false, true} {
		idx.SimpleHTMLOnly(htmlOnly)
		files, err := c.SimpleFiles(context.Background(), "My_Pkg")
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files[0].Filename != pub.Filename || files[0].SHA256() != pub.SHA256 || files[0].URL != pub.URL {
			t.Errorf("htmlOnly=%v: %+v, want %+v", htmlOnly, files, pub)
		}
	}
	reqs := idx.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/simple/my-pkg/" || !strings.Contains(last.Accept, "application/vnd.pypi.simple.v1+json") {
		t.Errorf("request %+v: want the normalised name and PEP 691 negotiation", last)
	}
}

func TestDownload(t *testing.T) {
	idx, c := newIndex(t)
	good := idx.Publish("p", "1", "p-1.tar.gz", []byte("content"))
	idx.Publish("q", "1", "q-1.tar.gz", []byte("content"), registrytest.Corrupted())
	r, err := c.Release(context.Background(), "p", "1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, err := c.Download(context.Background(), r.Files[0], dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a.Path); string(b) != "content" || a.SHA256 != good.SHA256 || a.Size != 7 {
		t.Errorf("downloaded %+v", a)
	}
	q, err := c.Release(context.Background(), "q", "1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Download(context.Background(), q.Files[0], dir)
	if ve, ok := verdict.As(err); !ok || ve.Verdict != verdict.UpstreamError || ve.Reason != verdict.ReasonDigestMismatch {
		t.Errorf("corrupted download: %v", err)
	}
	noDigest := r.Files[0]
	noDigest.Digests = nil
	if _, err := c.Download(context.Background(), noDigest, dir); err == nil {
		t.Error("a file without sha256 was accepted")
	}
	bad := r.Files[0]
	bad.URL = "file:///etc/passwd"
	if _, err := c.Download(context.Background(), bad, dir); err == nil {
		t.Error("a file: URL was fetched")
	}
}

func FuzzParseSimpleHTML(f *testing.F) {
	f.Add(`<a href="../../files/ab/x-1.tar.gz#sha256=00ff" data-yanked="">x-1.tar.gz</a>`)
	f.Add(`<A HREF='https://e.com/y-1-py3-none-any.whl'>y</A><a>`)
	f.Fuzz(func(t *testing.T, s string) {
		base, _ := url.Parse("https://example.com/simple/x/")
		for _, f := range pypi.ParseSimpleHTML([]byte(s), base) {
			if strings.Contains(f.URL, "#") {
				t.Errorf("fragment kept in %q", f.URL)
			}
		}
	})
}
