package registrytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// PyPI is a fake Python package index: the JSON API (project and per-version documents),
// the Simple API (PEP 691 JSON when asked for, PEP 503 HTML otherwise) and the files.
type PyPI struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	projects map[string]*pypiProject
	requests []Request
	// NoVersionJSON makes /pypi/<name>/<version>/json answer 404, as some mirrors do.
	noVersionJSON bool
	// htmlOnly makes the Simple API ignore PEP 691 content negotiation.
	htmlOnly bool
	// noJSONAPI makes every /pypi/... endpoint answer 404 (a Simple-only mirror).
	noJSONAPI bool
}

type pypiProject struct {
	name     string // as published
	versions map[string]*pypiVersion
}

type pypiVersion struct {
	info  map[string]any
	files []*pypiFile
}

type pypiFile struct {
	name     string
	data     []byte // as served
	sha256   string // as stated
	uploaded time.Time
}

// PyPIFile is a published file.
type PyPIFile struct {
	Name, Version, Filename string
	URL                     string
	SHA256                  string
}

// NewPyPI starts a fake index, closed when the test ends.
func NewPyPI(t testing.TB) *PyPI {
	t.Helper()
	p := &PyPI{t: t, projects: map[string]*pypiProject{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the index's base URL (VOUCH_PYPI_URL); the Simple API is at URL()+"/simple/".
func (p *PyPI) URL() string { return p.srv.URL }

// Requests returns the requests seen so far.
func (p *PyPI) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// ServeVersionJSON switches the per-version JSON endpoint on (default) or off.
func (p *PyPI) ServeVersionJSON(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noVersionJSON = !on
}

// ServeJSONAPI switches the JSON API on (default) or off, leaving only the Simple API.
func (p *PyPI) ServeJSONAPI(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noJSONAPI = !on
}

// SimpleHTMLOnly makes the Simple API always answer PEP 503 HTML.
func (p *PyPI) SimpleHTMLOnly(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.htmlOnly = on
}

// PyPIOption changes how a file is published.
type PyPIOption func(*pypiPublish)

type pypiPublish struct {
	info     map[string]any
	uploaded time.Time
	corrupt  bool
}

// WithProjectURLs sets info.project_urls.
func WithProjectURLs(m map[string]string) PyPIOption {
	return func(c *pypiPublish) { c.info["project_urls"] = m }
}

// WithInfo sets any info field (home_page, description, ...).
func WithInfo(key string, v any) PyPIOption { return func(c *pypiPublish) { c.info[key] = v } }

// WithUploadTime sets the file's upload time.
func WithUploadTime(t time.Time) PyPIOption { return func(c *pypiPublish) { c.uploaded = t } }

// Corrupted serves bytes that do not match the stated sha256.
func Corrupted() PyPIOption { return func(c *pypiPublish) { c.corrupt = true } }

var pypiNormRE = regexp.MustCompile(`[-_.]+`)

func pypiNormalize(n string) string { return strings.ToLower(pypiNormRE.ReplaceAllString(n, "-")) }

// Publish adds a file of name@version. Info options apply to the version (last one wins).
func (p *PyPI) Publish(name, version, filename string, data []byte, opts ...PyPIOption) PyPIFile {
	p.t.Helper()
	cfg := &pypiPublish{info: map[string]any{}, uploaded: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, o := range opts {
		o(cfg)
	}
	sum := sha256.Sum256(data)
	f := &pypiFile{name: filename, data: data, sha256: hex.EncodeToString(sum[:]), uploaded: cfg.uploaded}
	if cfg.corrupt {
		f.data = append(append([]byte(nil), data...), 0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := pypiNormalize(name)
	proj := p.projects[key]
	if proj == nil {
		proj = &pypiProject{name: name, versions: map[string]*pypiVersion{}}
		p.projects[key] = proj
	}
	v := proj.versions[version]
	if v == nil {
		v = &pypiVersion{info: map[string]any{}}
		proj.versions[version] = v
	}
	for k, val := range cfg.info {
		v.info[k] = val
	}
	v.files = append(v.files, f)
	return PyPIFile{Name: name, Version: version, Filename: filename, URL: p.fileURL(f), SHA256: f.sha256}
}

// PublishDir publishes every wheel and sdist in dir (a wheelhouse), with names and versions
// read from the file names.
func (p *PyPI) PublishDir(dir string) {
	p.t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		p.t.Fatalf("reading %s: %v", dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		var name, version string
		switch {
		case strings.HasSuffix(n, ".whl"):
			parts := strings.Split(n, "-")
			if len(parts) < 5 {
				continue
			}
			name, version = parts[0], parts[1]
		case strings.HasSuffix(n, ".tar.gz"):
			base := strings.TrimSuffix(n, ".tar.gz")
			i := strings.LastIndex(base, "-")
			if i <= 0 {
				continue
			}
			name, version = base[:i], base[i+1:]
		default:
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			p.t.Fatalf("reading %s: %v", n, err)
		}
		p.Publish(name, version, n, data)
	}
}

func (p *PyPI) fileURL(f *pypiFile) string {
	return p.srv.URL + "/files/" + f.sha256[:16] + "/" + f.name
}

func (p *PyPI) record(r *http.Request, status int) {
	p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Accept: r.Header.Get("Accept"), Status: status})
}

func (p *PyPI) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	status, ctype, body := p.route(r)
	p.record(r, status)
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	w.Write(body)
}

func (p *PyPI) route(r *http.Request) (int, string, []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	notFound := func() (int, string, []byte) { return http.StatusNotFound, "text/plain", []byte("not found\n") }
	switch {
	case len(parts) >= 3 && parts[0] == "pypi" && parts[len(parts)-1] == "json":
		proj := p.projects[pypiNormalize(parts[1])]
		if proj == nil || p.noJSONAPI {
			return notFound()
		}
		if len(parts) == 3 {
			return p.jsonDoc(proj, "")
		}
		if len(parts) == 4 && !p.noVersionJSON {
			if _, ok := proj.versions[parts[2]]; ok {
				return p.jsonDoc(proj, parts[2])
			}
		}
		return notFound()
	case len(parts) == 2 && parts[0] == "simple":
		proj := p.projects[parts[1]] // PEP 503: normalised names only
		if proj == nil {
			if p.projects[pypiNormalize(parts[1])] != nil {
				return http.StatusMovedPermanently, "", nil
			}
			return notFound()
		}
		if !p.htmlOnly && strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
			return p.simpleJSON(proj)
		}
		return p.simpleHTML(proj)
	case len(parts) == 3 && parts[0] == "files":
		for _, proj := range p.projects {
			for _, v := range proj.versions {
				for _, f := range v.files {
					if f.sha256[:16] == parts[1] && f.name == parts[2] {
						return http.StatusOK, "application/octet-stream", f.data
					}
				}
			}
		}
		return notFound()
	}
	return notFound()
}

// fileDoc is a file in the JSON API. The project document writes URLs relative to itself,
// as some mirrors do; the version document writes them absolute.
func (p *PyPI) fileDoc(f *pypiFile, relative bool) map[string]any {
	u := p.fileURL(f)
	if relative {
		u = "../../files/" + f.sha256[:16] + "/" + f.name
	}
	ptype := "sdist"
	pyver := "source"
	if strings.HasSuffix(f.name, ".whl") {
		ptype = "bdist_wheel"
		pyver = strings.Split(f.name, "-")[2]
	}
	return map[string]any{
		"filename": f.name, "url": u, "packagetype": ptype, "python_version": pyver,
		"digests": map[string]string{"sha256": f.sha256}, "size": len(f.data),
		"upload_time":          f.uploaded.Format("2006-01-02T15:04:05"),
		"upload_time_iso_8601": f.uploaded.Format("2006-01-02T15:04:05.000000Z"),
		"yanked":               false,
	}
}

func sortedVersions(proj *pypiProject) []string {
	var vs []string
	for v := range proj.versions {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return vs
}

func (p *PyPI) info(proj *pypiProject, version string) map[string]any {
	info := map[string]any{"name": proj.name, "version": version, "home_page": "", "project_urls": nil, "description": ""}
	for k, v := range proj.versions[version].info {
		info[k] = v
	}
	return info
}

func (p *PyPI) jsonDoc(proj *pypiProject, version string) (int, string, []byte) {
	vs := sortedVersions(proj)
	latest := version
	if latest == "" {
		latest = vs[len(vs)-1]
	}
	var urls []any
	for _, f := range proj.versions[latest].files {
		urls = append(urls, p.fileDoc(f, version == ""))
	}
	doc := map[string]any{"info": p.info(proj, latest), "urls": urls}
	if version == "" {
		rel := map[string]any{}
		for _, v := range vs {
			var fs []any
			for _, f := range proj.versions[v].files {
				fs = append(fs, p.fileDoc(f, true))
			}
			rel[v] = fs
		}
		doc["releases"] = rel
	}
	b, _ := json.Marshal(doc)
	return http.StatusOK, "application/json", b
}

func (p *PyPI) allFiles(proj *pypiProject) []*pypiFile {
	var out []*pypiFile
	for _, v := range sortedVersions(proj) {
		out = append(out, proj.versions[v].files...)
	}
	return out
}

func (p *PyPI) simpleJSON(proj *pypiProject) (int, string, []byte) {
	var files []any
	for _, f := range p.allFiles(proj) {
		files = append(files, map[string]any{
			"filename": f.name, "url": p.fileURL(f), "hashes": map[string]string{"sha256": f.sha256},
			"upload-time": f.uploaded.Format("2006-01-02T15:04:05.000000Z"), "size": len(f.data), "yanked": false,
		})
	}
	b, _ := json.Marshal(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": pypiNormalize(proj.name), "files": files})
	return http.StatusOK, "application/vnd.pypi.simple.v1+json", b
}

func (p *PyPI) simpleHTML(proj *pypiProject) (int, string, []byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>Links for %s</title></head><body><h1>Links for %s</h1>\n", html.EscapeString(proj.name), html.EscapeString(proj.name))
	for _, f := range p.allFiles(proj) {
		// Relative URLs, as many mirrors write them.
		fmt.Fprintf(&b, "<a href=\"../../files/%s/%s#sha256=%s\">%s</a><br/>\n", f.sha256[:16], html.EscapeString(f.name), f.sha256, html.EscapeString(f.name))
	}
	b.WriteString("</body></html>\n")
	return http.StatusOK, "text/html", []byte(b.String())
}
