package npm_test

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/registry/npm"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func tarball(t *testing.T, name, version string, extra ...string) []byte {
	t.Helper()
	m := map[string]any{"name": name, "version": version}
	for i := 0; i+1 < len(extra); i += 2 {
		var v any
		if err := json.Unmarshal([]byte(extra[i+1]), &v); err != nil {
			t.Fatal(err)
		}
		m[extra[i]] = v
	}
	pj, _ := json.Marshal(m)
	return registrytest.NPMTarball(t, map[string]string{"package.json": string(pj), "index.js": "module.exports = 42\n"})
}

func newClient(reg *registrytest.NPM, opts ...npm.Option) *npm.Client {
	opts = append([]npm.Option{npm.WithBackoff(time.Millisecond), npm.WithHTTPClient(reg.Client())}, opts...)
	return npm.New(reg.URL(), opts...)
}

func wantReason(t *testing.T, err error, r verdict.Reason) *verdict.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", r)
	}
	ve, ok := verdict.As(err)
	if !ok {
		t.Fatalf("error %v is not a *verdict.Error", err)
	}
	if ve.Verdict != verdict.UpstreamError || ve.Reason != r {
		t.Fatalf("got %s/%s (%v), want upstream_error/%s", ve.Verdict, ve.Reason, err, r)
	}
	return ve
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestScopedPackageVersionAndDownload(t *testing.T) {
	reg := registrytest.NewNPM(t)
	tgz := tarball(t, "@acme/widget", "1.2.3", "scripts", `{"build":"tsc","weird":7}`, "workspaces", `["packages/*"]`)
	published := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	reg.Publish(tarball(t, "@acme/widget", "1.0.0"))
	reg.Publish(tgz, registrytest.WithPublishTime(published), registrytest.WithNpmVersion("10.8.2"),
		registrytest.WithGitHead("0123456789abcdef0123456789abcdef01234567"))
	c := newClient(reg)
	ctx := context.Background()

	p, err := c.Packument(ctx, "@acme/widget")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"latest": "1.2.3"}, p.DistTags); diff != "" {
		t.Errorf("dist-tags (-want +got):\n%s", diff)
	}
	if len(p.Versions) != 2 {
		t.Errorf("got %d versions, want 2", len(p.Versions))
	}

	v, err := c.Version(ctx, "@acme/widget", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "@acme/widget" || v.Version != "1.2.3" || v.NpmVersion != "10.8.2" ||
		v.GitHead != "0123456789abcdef0123456789abcdef01234567" || !v.PublishedAt.Equal(published) || !v.Workspaces {
		t.Errorf("unexpected version document: %+v", v)
	}
	if diff := cmp.Diff(map[string]string{"build": "tsc"}, v.Scripts); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
	var raw map[string]any
	if err := json.Unmarshal(v.Raw, &raw); err != nil || raw["_id"] != "@acme/widget@1.2.3" {
		t.Errorf("Raw = %s (%v)", v.Raw, err)
	}

	dir := t.TempDir()
	a, err := c.Download(ctx, v, dir)
	if err != nil {
		t.Fatal(err)
	}
	s256, s512 := sha256.Sum256(tgz), sha512.Sum512(tgz)
	want := &npm.Artifact{
		Path: filepath.Join(dir, "widget-1.2.3.tgz"), URL: v.Dist.Tarball,
		SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:]), SHA1: v.Dist.Shasum,
		Size: int64(len(tgz)),
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("artifact (-want +got):\n%s", diff)
	}
	got, _ := os.ReadFile(a.Path)
	if string(got) != string(tgz) {
		t.Error("downloaded file differs from the published tarball")
	}
	var paths []string
	for _, r := range reg.Requests() {
		paths = append(paths, r.Path)
	}
	wantPaths := []string{"/@acme%2fwidget", "/@acme%2fwidget", "/@acme/widget/-/widget-1.2.3.tgz"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range reg.Requests() {
		if r.Status != http.StatusOK {
			t.Errorf("request %s answered %d", r.Path, r.Status)
		}
	}
}

func TestNotFound(t *testing.T) {
	reg := registrytest.NewNPM(t)
	reg.Publish(tarball(t, "present", "1.0.0"))
	c := newClient(reg)
	ctx := context.Background()
	_, err := c.Version(ctx, "absent", "1.0.0")
	ve := wantReason(t, err, verdict.ReasonNotFound)
	if !strings.Contains(ve.Msg, "absent") || !strings.Contains(ve.Msg, reg.URL()) {
		t.Errorf("message %q should name the package and URL", ve.Msg)
	}
	_, err = c.Version(ctx, "present", "9.9.9")
	wantReason(t, err, verdict.ReasonNotFound)
	_, err = c.Packument(ctx, "bad/name")
	wantReason(t, err, verdict.ReasonNotFound)
	if n := len(reg.Requests()); n != 2 {
		t.Errorf("got %d requests, want 2 (404s are not retried, bad names not sent)", n)
	}
}

func TestRetry(t *testing.T) {
	reg := registrytest.NewNPM(t)
	reg.Publish(tarball(t, "flaky", "1.0.0"))
	c := newClient(reg)
	ctx := context.Background()

	reg.FailNext(1)
	if _, err := c.Version(ctx, "flaky", "1.0.0"); err != nil {
		t.Fatalf("500 then 200: %v", err)
	}
	var statuses []int
	for _, r := range reg.Requests() {
		statuses = append(statuses, r.Status)
	}
	if diff := cmp.Diff([]int{500, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	reg.FailNext(100)
	_, err := c.Packument(ctx, "flaky")
	wantReason(t, err, verdict.ReasonRegistry)
	if n := len(reg.Requests()) - 2; n != npm.DefaultAttempts {
		t.Errorf("got %d attempts, want %d", n, npm.DefaultAttempts)
	}

	// A cancelled context stops the retries.
	reg.FailNext(100)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = npm.New(reg.URL(), npm.WithBackoff(time.Hour)).Packument(cctx, "flaky")
	wantReason(t, err, verdict.ReasonRegistry)
}

func TestDownloadFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("integrity mismatch", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		reg.Publish(tarball(t, "evil", "1.0.0"), registrytest.WithCorruptTarball())
		c := newClient(reg)
		v, err := c.Version(ctx, "evil", "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		_, err = c.Download(ctx, v, dir)
		ve := wantReason(t, err, verdict.ReasonDigestMismatch)
		if !strings.Contains(ve.Msg, "sha512") {
			t.Errorf("message %q should name the algorithm", ve.Msg)
		}
		if got := dirEntries(t, dir); len(got) != 0 {
			t.Errorf("left files behind: %v", got)
		}
	})
	t.Run("shasum only", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		pub := reg.Publish(tarball(t, "old", "0.1.0"), registrytest.WithDistField("integrity", nil))
		reg.Publish(tarball(t, "old", "0.2.0"), registrytest.WithDistField("integrity", nil), registrytest.WithCorruptTarball())
		c := newClient(reg)
		v, err := c.Version(ctx, "old", "0.1.0")
		if err != nil {
			t.Fatal(err)
		}
		if v.Dist.Integrity != "" {
			t.Fatalf("integrity %q should be absent", v.Dist.Integrity)
		}
		a, err := c.Download(ctx, v, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if a.SHA1 != pub.Shasum {
			t.Errorf("sha1 %s, want %s", a.SHA1, pub.Shasum)
		}
		v2, err := c.Version(ctx, "old", "0.2.0")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Download(ctx, v2, t.TempDir())
		ve := wantReason(t, err, verdict.ReasonDigestMismatch)
		if !strings.Contains(ve.Msg, "sha1") {
			t.Errorf("message %q should name sha1", ve.Msg)
		}
	})
	t.Run("every listed algorithm must match", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		tgz := tarball(t, "multi", "1.0.0")
		s256 := sha256.Sum256([]byte("something else"))
		pub := reg.Publish(tgz)
		// Re-publish with a wrong sha256 next to the right sha512.
		reg.Publish(tgz, registrytest.WithDistField("integrity", pub.Integrity+" sha256-"+b64(s256[:])))
		c := newClient(reg)
		v, _ := c.Version(ctx, "multi", "1.0.0")
		_, err := c.Download(ctx, v, t.TempDir())
		wantReason(t, err, verdict.ReasonDigestMismatch)
	})
	t.Run("no digest", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		reg.Publish(tarball(t, "nodigest", "1.0.0"), registrytest.WithDistField("integrity", nil), registrytest.WithDistField("shasum", nil))
		c := newClient(reg)
		v, _ := c.Version(ctx, "nodigest", "1.0.0")
		_, err := c.Download(ctx, v, t.TempDir())
		wantReason(t, err, verdict.ReasonBadMetadata)
	})
	t.Run("non-http tarball URL", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		reg.Publish(tarball(t, "local", "1.0.0"), registrytest.WithDistField("tarball", "file:///etc/passwd"))
		c := newClient(reg)
		v, _ := c.Version(ctx, "local", "1.0.0")
		_, err := c.Download(ctx, v, t.TempDir())
		wantReason(t, err, verdict.ReasonBadMetadata)
	})
	t.Run("truncated download", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		pub := reg.Publish(tarball(t, "cut", "1.0.0"))
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			w.Header().Set("Content-Length", "100000")
			w.Write(pub.Tarball[:len(pub.Tarball)/2])
		}))
		defer srv.Close()
		c := newClient(reg)
		v, _ := c.Version(ctx, "cut", "1.0.0")
		v.Dist.Tarball = srv.URL + "/cut/-/cut-1.0.0.tgz"
		dir := t.TempDir()
		_, err := c.Download(ctx, v, dir)
		wantReason(t, err, verdict.ReasonRegistry)
		if hits != npm.DefaultAttempts {
			t.Errorf("got %d attempts, want %d", hits, npm.DefaultAttempts)
		}
		if got := dirEntries(t, dir); len(got) != 0 {
			t.Errorf("left files behind: %v", got)
		}
	})
	t.Run("oversized tarball", func(t *testing.T) {
		reg := registrytest.NewNPM(t)
		reg.Publish(tarball(t, "big", "1.0.0"))
		c := newClient(reg, npm.WithMaxArtifactSize(10))
		v, _ := c.Version(ctx, "big", "1.0.0")
		dir := t.TempDir()
		_, err := c.Download(ctx, v, dir)
		wantReason(t, err, verdict.ReasonBadMetadata)
		if got := dirEntries(t, dir); len(got) != 0 {
			t.Errorf("left files behind: %v", got)
		}
	})
}

func b64(b []byte) string {
	s, _ := json.Marshal(b) // encoding/json writes []byte as standard base64
	return strings.Trim(string(s), `"`)
}

func TestRepositoryForms(t *testing.T) {
	reg := registrytest.NewNPM(t)
	reg.Publish(tarball(t, "strrepo", "1.0.0"), registrytest.WithRepository("github:acme/strrepo"))
	reg.Publish(tarball(t, "objrepo", "1.0.0"), registrytest.WithRepository(map[string]string{
		"type": "git", "url": "git+https://github.com/acme/mono.git", "directory": "packages/objrepo"}))
	reg.Publish(tarball(t, "norepo", "1.0.0"))
	reg.Publish(tarball(t, "oddrepo", "1.0.0"), registrytest.WithRepository(42))
	c := newClient(reg)
	tests := []struct {
		name string
		want *npm.Repository
	}{
		{"strrepo", &npm.Repository{URL: "github:acme/strrepo"}},
		{"objrepo", &npm.Repository{Type: "git", URL: "git+https://github.com/acme/mono.git", Directory: "packages/objrepo"}},
		{"norepo", nil},
		{"oddrepo", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Version(context.Background(), tc.name, "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, v.Repository); diff != "" {
				t.Errorf("repository (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOversizedMetadata(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.NewNPM(t)
	reg.Publish(tarball(t, "large", "1.0.0", "description", `"`+strings.Repeat("x", 4096)+`"`))
	_, err := newClient(reg, npm.WithMaxMetadataSize(1024)).Packument(ctx, "large")
	wantReason(t, err, verdict.ReasonBadMetadata)

	// Without Content-Length the limit applies while streaming.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name":"large","versions":{},"x":"`))
		w.(http.Flusher).Flush()
		for range 100 {
			w.Write([]byte(strings.Repeat("y", 1024)))
		}
		w.Write([]byte(`"}`))
	}))
	defer srv.Close()
	_, err = npm.New(srv.URL, npm.WithMaxMetadataSize(8192)).Packument(ctx, "large")
	wantReason(t, err, verdict.ReasonBadMetadata)
	if _, err := npm.New(srv.URL).Packument(ctx, "large"); err != nil {
		t.Errorf("within the default limit: %v", err)
	}
}

func TestBadJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"name":"x","versions":`))
	}))
	defer srv.Close()
	_, err := npm.New(srv.URL).Packument(context.Background(), "x")
	wantReason(t, err, verdict.ReasonBadMetadata)
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.NewNPM(t)
	reg.Publish(tarball(t, "cached", "1.0.0"))
	cache := t.TempDir()
	c := newClient(reg, npm.WithCacheDir(cache))
	v, err := c.Version(ctx, "cached", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Download(ctx, v, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The registry is down: the verified cache entry serves.
	reg.FailNext(1000)
	second, err := c.Download(ctx, v, t.TempDir())
	if err != nil {
		t.Fatalf("download from cache: %v", err)
	}
	if second.SHA512 != first.SHA512 || second.Path == first.Path {
		t.Errorf("cache copy %+v vs %+v", second, first)
	}
	// A corrupted cache entry is not used.
	entry := filepath.Join(cache, "sha512", first.SHA512[:2], first.SHA512+".tgz")
	if err := os.WriteFile(entry, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.Download(ctx, v, t.TempDir())
	wantReason(t, err, verdict.ReasonRegistry) // fell through to the (failing) registry
	reg.FailNext(0)
	if _, err := c.Download(ctx, v, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(entry); string(b) == "garbage" {
		t.Error("cache entry not repaired")
	}
}

func TestUserAgent(t *testing.T) {
	var ua, accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua, accept = r.Header.Get("User-Agent"), r.Header.Get("Accept")
		w.Write([]byte(`{"name":"x","versions":{}}`))
	}))
	defer srv.Close()
	if _, err := npm.New(srv.URL).Packument(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if ua != "vouch" || accept != "application/json" {
		t.Errorf("User-Agent %q, Accept %q", ua, accept)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(npm.EnvRegistry, "http://127.0.0.1:9/reg/")
	if got := npm.FromEnv().BaseURL(); got != "http://127.0.0.1:9/reg" {
		t.Errorf("FromEnv base %q", got)
	}
	t.Setenv(npm.EnvRegistry, "")
	if got := npm.FromEnv().BaseURL(); got != npm.DefaultRegistry {
		t.Errorf("default base %q", got)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	c := npm.New("http://user:s3cret@127.0.0.1:1", npm.WithAttempts(1))
	_, err := c.Packument(context.Background(), "x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v must exist and not contain the password", err)
	}
}

func FuzzPackument(f *testing.F) {
	f.Add([]byte(`{"name":"a","versions":{"1.0.0":{"name":"a","version":"1.0.0","repository":"github:a/b","dist":{"tarball":"https://r/a/-/a-1.0.0.tgz","integrity":"sha512-AA==","fileCount":"x"}}},"time":{"unpublished":{"time":"x"},"1.0.0":"2020-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"versions":{"1":{"repository":[{"url":"x"}],"scripts":{"a":1}}},"dist-tags":{"latest":3}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p npm.Packument
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		for _, v := range p.Versions {
			if v == nil {
				t.Fatal("nil version")
			}
		}
	})
}
