// Package registrytest holds in-process fake package registries for tests: real HTTP
// servers (httptest) that serve what the real registries serve, closely enough for vouch's
// clients and for the real package managers.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// NPM is a fake npm registry.
type NPM struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	pkgs     map[string]*npmPackage
	failNext int
	requests []Request
	noTimes  bool
}

// WithoutPublishTimes makes packuments look like a mirror's: no time.created or
// time.modified, so clients cannot trust the per-version times.
func (n *NPM) WithoutPublishTimes() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noTimes = true
}

// Request is one request the fake saw.
type Request struct {
	Method string
	// Path is the escaped path as sent (e.g. /@scope%2fname).
	Path   string
	Accept string
	// Status is the status code the fake answered.
	Status int
}

type npmPackage struct {
	name     string
	versions map[string]*npmVersion
	order    []string // publish order
}

type npmVersion struct {
	doc     map[string]any
	tarball []byte // as served
	time    time.Time
}

// Published describes a version the fake now serves.
type Published struct {
	Name, Version string
	TarballURL    string
	Integrity     string // sha512 SRI of the original tarball
	Shasum        string // hex sha1 of the original tarball
	// Tarball is the original tarball (before any corruption option).
	Tarball []byte
}

// NewNPM starts a fake npm registry, closed when the test ends.
func NewNPM(t testing.TB) *NPM {
	t.Helper()
	n := &NPM{t: t, pkgs: map[string]*npmPackage{}}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.srv.Close)
	return n
}

// URL is the registry's base URL (no trailing slash).
func (n *NPM) URL() string { return n.srv.URL }

// Client is an HTTP client for the fake.
func (n *NPM) Client() *http.Client { return n.srv.Client() }

// Requests returns the requests seen so far.
func (n *NPM) Requests() []Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Request(nil), n.requests...)
}

// FailNext makes the next k requests answer 500.
func (n *NPM) FailNext(k int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failNext = k
}

// PublishOption changes how a version is published.
type PublishOption func(*publishConfig)

type publishConfig struct {
	fields  map[string]any
	drop    []string
	time    time.Time
	corrupt bool
	dist    map[string]any
}

// WithRepository sets the version's "repository" (a string or an object such as
// map[string]string{"type": "git", "url": ..., "directory": ...}).
func WithRepository(v any) PublishOption { return WithField("repository", v) }

// WithGitHead sets "gitHead".
func WithGitHead(commit string) PublishOption { return WithField("gitHead", commit) }

// WithNpmVersion sets "_npmVersion".
func WithNpmVersion(v string) PublishOption { return WithField("_npmVersion", v) }

// WithField sets any top-level field of the version document.
func WithField(key string, v any) PublishOption {
	return func(c *publishConfig) { c.fields[key] = v }
}

// WithoutField removes a top-level field of the version document (e.g. "repository" taken
// from package.json).
func WithoutField(key string) PublishOption {
	return func(c *publishConfig) { c.drop = append(c.drop, key) }
}

// WithDistField sets a field of "dist"; a nil value removes it (e.g. "integrity").
func WithDistField(key string, v any) PublishOption {
	return func(c *publishConfig) { c.dist[key] = v }
}

// WithPublishTime sets the version's entry in "time".
func WithPublishTime(t time.Time) PublishOption { return func(c *publishConfig) { c.time = t } }

// WithCorruptTarball serves a tarball that differs from the one the digests describe.
func WithCorruptTarball() PublishOption { return func(c *publishConfig) { c.corrupt = true } }

// Publish adds a version, reading its name and version from the tarball's
// package/package.json. Its "time" defaults to a fixed instant plus one minute per version.
// A tarball without a readable package.json fails the test.
func (n *NPM) Publish(tarball []byte, opts ...PublishOption) *Published {
	t := n.t
	t.Helper()
	manifest, err := readPackageJSON(tarball)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	name, _ := manifest["name"].(string)
	version, _ := manifest["version"].(string)
	if name == "" || version == "" {
		t.Fatalf("registrytest: package.json lacks name or version")
	}
	cfg := &publishConfig{fields: map[string]any{}, dist: map[string]any{}}
	for _, o := range opts {
		o(cfg)
	}

	s512 := sha512.Sum512(tarball)
	s1 := sha1.Sum(tarball)
	pub := &Published{
		Name: name, Version: version,
		TarballURL: n.URL() + tarballPath(name, version),
		Integrity:  "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		Shasum:     hex.EncodeToString(s1[:]),
		Tarball:    tarball,
	}
	doc := map[string]any{}
	for k, v := range manifest {
		doc[k] = v
	}
	doc["_id"] = name + "@" + version
	dist := map[string]any{
		"tarball":   pub.TarballURL,
		"integrity": pub.Integrity,
		"shasum":    pub.Shasum,
	}
	for k, v := range cfg.dist {
		if v == nil {
			delete(dist, k)
		} else {
			dist[k] = v
		}
	}
	doc["dist"] = dist
	for k, v := range cfg.fields {
		doc[k] = v
	}
	for _, k := range cfg.drop {
		delete(doc, k)
	}
	served := tarball
	if cfg.corrupt {
		served = append([]byte(nil), tarball...)
		served[len(served)/2] ^= 0xff
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.pkgs[name]
	if p == nil {
		p = &npmPackage{name: name, versions: map[string]*npmVersion{}}
		n.pkgs[name] = p
	}
	when := cfg.time
	if when.IsZero() {
		when = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(len(p.order)) * time.Minute)
	}
	if _, dup := p.versions[version]; !dup {
		p.order = append(p.order, version)
	}
	p.versions[version] = &npmVersion{doc: doc, tarball: served, time: when}
	return pub
}

func tarballPath(name, version string) string {
	base := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		base = name[i+1:]
	}
	return "/" + name + "/-/" + base + "-" + version + ".tgz"
}

// packument renders the full document of p.
func (p *npmPackage) packument(noTimes bool) map[string]any {
	versions := map[string]any{}
	times := map[string]any{}
	var created, modified time.Time
	for i, v := range p.order {
		pv := p.versions[v]
		versions[v] = pv.doc
		times[v] = pv.time.UTC().Format(time.RFC3339Nano)
		if i == 0 || pv.time.Before(created) {
			created = pv.time
		}
		if pv.time.After(modified) {
			modified = pv.time
		}
	}
	if !noTimes {
		times["created"] = created.UTC().Format(time.RFC3339Nano)
		times["modified"] = modified.UTC().Format(time.RFC3339Nano)
	}
	latest := p.order[len(p.order)-1]
	doc := map[string]any{
		"_id":       p.name,
		"name":      p.name,
		"versions":  versions,
		"time":      times,
		"dist-tags": map[string]any{"latest": latest},
	}
	if r, ok := p.versions[latest].doc["repository"]; ok {
		doc["repository"] = r
	}
	return doc
}

func (n *NPM) serve(w http.ResponseWriter, r *http.Request) {
	status, body, ctype := n.route(r)
	n.mu.Lock()
	n.requests = append(n.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Accept: r.Header.Get("Accept"), Status: status})
	n.mu.Unlock()
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (n *NPM) route(r *http.Request) (int, []byte, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failNext > 0 {
		n.failNext--
		return http.StatusInternalServerError, []byte(`{"error":"injected failure"}`), "application/json"
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return http.StatusMethodNotAllowed, nil, ""
	}
	notFound := []byte(`{"error":"Not found"}`)
	// npm escapes the scope separator ("@scope%2fname"); treat it as a slash.
	esc := strings.NewReplacer("%2f", "/", "%2F", "/").Replace(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	p, err := url.PathUnescape(esc)
	if err != nil {
		return http.StatusNotFound, notFound, "application/json"
	}
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		pkg := n.pkgs[name]
		if pkg == nil {
			return http.StatusNotFound, notFound, "application/json"
		}
		for v, pv := range pkg.versions {
			if tarballPath(name, v) == "/"+name+"/-/"+file {
				return http.StatusOK, pv.tarball, "application/octet-stream"
			}
		}
		return http.StatusNotFound, notFound, "application/json"
	}
	segs := strings.Split(p, "/")
	name, rest := segs[0], segs[1:]
	if strings.HasPrefix(name, "@") && len(segs) >= 2 {
		name, rest = segs[0]+"/"+segs[1], segs[2:]
	}
	pkg := n.pkgs[name]
	if pkg == nil || len(rest) > 1 {
		return http.StatusNotFound, notFound, "application/json"
	}
	var doc any = pkg.packument(n.noTimes)
	if len(rest) == 1 {
		v := rest[0]
		if v == "latest" {
			v = pkg.order[len(pkg.order)-1]
		}
		pv := pkg.versions[v]
		if pv == nil {
			return http.StatusNotFound, notFound, "application/json"
		}
		doc = pv.doc
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return http.StatusInternalServerError, nil, ""
	}
	return http.StatusOK, b, "application/json"
}

// readPackageJSON reads package/package.json from a gzipped tarball. npm accepts any
// top-level directory name; the first */package.json at depth one is used.
func readPackageJSON(tgz []byte) (map[string]any, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("tarball has no package/package.json")
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/")
		if len(parts) != 2 || parts[1] != "package.json" || h.Typeflag != tar.TypeReg {
			continue
		}
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&m); err != nil {
			return nil, fmt.Errorf("package.json: %w", err)
		}
		return m, nil
	}
}

// NPMTarball builds a gzipped npm tarball with files under package/ (as npm pack lays
// them out), in sorted order with fixed metadata.
func NPMTarball(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	mtime := time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC) // npm pack's fixed mtime
	for _, name := range names {
		body := files[name]
		h := &tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
