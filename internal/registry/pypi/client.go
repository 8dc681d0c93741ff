// Package pypi is a client of the Python Package Index: release metadata from the JSON API
// (https://docs.pypi.org/api/json/) or, where a mirror does not serve it, the Simple API in
// its PEP 691 JSON or PEP 503 HTML form, and sha256-verified downloads of wheels and sdists
// (design §1.1). Every failure is a *verdict.Error with verdict upstream_error.
package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// DefaultURL is the public index.
const DefaultURL = "https://pypi.org"

// EnvURL overrides the index URL (design §2).
const EnvURL = "VOUCH_PYPI_URL"

const (
	// DefaultMaxMetadataSize bounds one metadata document. The largest JSON API documents
	// (projects with thousands of files, e.g. boto3) are tens of MiB.
	DefaultMaxMetadataSize = 128 << 20
	// DefaultMaxArtifactSize bounds a download; PyPI's default upload limit is 100 MiB
	// (https://docs.pypi.org/project-management/storage-limits/), some projects have more.
	DefaultMaxArtifactSize = 1 << 30
	// DefaultAttempts is the number of tries of one request (first try + retries).
	DefaultAttempts = 4
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = 5 * time.Minute
	// DefaultBackoff is the wait before the first retry; it doubles each retry, with jitter.
	DefaultBackoff = 500 * time.Millisecond
	userAgent      = "vouch"
	// simpleAccept prefers PEP 691 JSON and accepts PEP 503 HTML
	// (https://peps.python.org/pep-0691/#version-format-selection).
	simpleAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)

// Client talks to one index. It is safe for concurrent use.
type Client struct {
	base        string
	http        *http.Client
	cacheDir    string
	attempts    int
	timeout     time.Duration
	backoff     time.Duration
	maxMetadata int64
	maxArtifact int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithCacheDir keeps downloads in dir; a cached copy is used only after it verifies again.
func WithCacheDir(dir string) Option { return func(c *Client) { c.cacheDir = dir } }

// WithAttempts sets how many times a request is tried (at least 1).
func WithAttempts(n int) Option { return func(c *Client) { c.attempts = max(n, 1) } }

// WithBackoff sets the wait before the first retry.
func WithBackoff(d time.Duration) Option { return func(c *Client) { c.backoff = max(d, 0) } }

// WithMaxMetadataSize bounds a metadata body in bytes.
func WithMaxMetadataSize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxMetadata = n
		}
	}
}

// WithMaxArtifactSize bounds a download in bytes.
func WithMaxArtifactSize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxArtifact = n
		}
	}
}

// New returns a client of the index at baseURL (e.g. https://pypi.org).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:        strings.TrimRight(baseURL, "/"),
		http:        &http.Client{},
		attempts:    DefaultAttempts,
		timeout:     DefaultTimeout,
		backoff:     DefaultBackoff,
		maxMetadata: DefaultMaxMetadataSize,
		maxArtifact: DefaultMaxArtifactSize,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// FromEnv returns a client of $VOUCH_PYPI_URL, or of the public index.
func FromEnv(opts ...Option) *Client {
	base := os.Getenv(EnvURL)
	if base == "" {
		base = DefaultURL
	}
	return New(base, opts...)
}

// BaseURL is the index URL this client uses.
func (c *Client) BaseURL() string { return c.base }

// SimpleURL is the PEP 503 base of the index (pip's --index-url).
func (c *Client) SimpleURL() string { return c.base + "/simple/" }

var normRE = regexp.MustCompile(`[-_.]+`)

// Normalize is the PEP 503 normalised project name: lowercase, runs of "-", "_", "."
// become one "-" (https://peps.python.org/pep-0503/#normalized-names).
func Normalize(name string) string { return strings.ToLower(normRE.ReplaceAllString(name, "-")) }

var validName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

func checkName(name string) error {
	if !validName.MatchString(name) {
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "%q is not a valid PyPI project name (PEP 508)", name)
	}
	return nil
}

// httpError is a non-2xx answer.
type httpError struct {
	URL    string
	Status int
}

func (e *httpError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

// get fetches u with retries on network errors, 429 and 5xx, and returns the body (at most
// limit bytes) and the response's Content-Type.
func (c *Client) get(ctx context.Context, u, accept string, limit int64) ([]byte, string, error) {
	var last error
	wait := c.backoff
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			d := wait + time.Duration(rand.Int64N(int64(wait)/2+1))
			select {
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-time.After(d):
			}
			wait *= 2
		}
		body, ct, err, retry := c.try(ctx, u, accept, limit)
		if err == nil {
			return body, ct, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, "", last
}

func (c *Client) try(ctx context.Context, u, accept string, limit int64) ([]byte, string, error, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err, false
	}
	req.Header.Set("User-Agent", userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err, true
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return nil, "", &httpError{URL: u, Status: resp.StatusCode}, retry
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", err, true
	}
	if int64(len(body)) > limit {
		return nil, "", fmt.Errorf("GET %s: body larger than %d bytes", u, limit), false
	}
	return body, resp.Header.Get("Content-Type"), nil, false
}

func isNotFound(err error) bool {
	var he *httpError
	return errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusGone)
}

// Release returns a version's metadata and files. It asks the per-version JSON endpoint,
// then the project JSON endpoint (whose "info" describes the latest version: its links are
// used only when the version's own are unavailable), then the Simple API (files only).
func (c *Client) Release(ctx context.Context, name, version string) (*Release, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	norm := Normalize(name)
	vu := c.base + "/pypi/" + url.PathEscape(norm) + "/" + url.PathEscape(version) + "/json"
	body, _, err := c.get(ctx, vu, "application/json", c.maxMetadata)
	if err == nil {
		var doc versionDoc
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonBadMetadata, "parsing "+vu, err)
		}
		if doc.Info.Version != "" && doc.Info.Version != version && normalizeVersion(doc.Info.Version) != normalizeVersion(version) {
			return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "%s describes version %q", vu, doc.Info.Version)
		}
		resolveURLs(vu, doc.URLs)
		r := &Release{Name: name, Version: version, Info: doc.Info, Files: doc.URLs, Source: "json-version"}
		if len(r.Files) == 0 {
			// Some mirrors answer the version endpoint without files; the project has them.
			if p, perr := c.Project(ctx, name); perr == nil {
				r.Files = p.Releases[version]
			}
		}
		return r.finish()
	}
	if !isNotFound(err) {
		return nil, registryError(vu, err)
	}
	p, perr := c.Project(ctx, name)
	if perr == nil {
		files, ok := p.Releases[version]
		if !ok {
			for v, fs := range p.Releases {
				if normalizeVersion(v) == normalizeVersion(version) {
					files, ok = fs, true
				}
			}
		}
		if !ok {
			return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "PyPI project %s has no version %q", name, version)
		}
		r := &Release{Name: name, Version: version, Files: files, Source: "json-project"}
		if normalizeVersion(p.Info.Version) == normalizeVersion(version) {
			r.Info = p.Info
		} else {
			// The project's links are the latest version's: still the best statement of
			// where the project lives, flagged for the evidence.
			r.Info = Info{Name: p.Info.Name, Version: version, HomePage: p.Info.HomePage, ProjectURLs: p.Info.ProjectURLs,
				Description: p.Info.Description, InfoFromLatest: true}
		}
		return r.finish()
	}
	if !isNotFound(perr) {
		if ve, ok := verdict.As(perr); ok && ve.Reason != verdict.ReasonNotFound {
			return nil, perr
		}
	}
	files, serr := c.SimpleFiles(ctx, name)
	if serr != nil {
		return nil, serr
	}
	var mine []File
	for _, f := range files {
		if fv := fileVersion(f.Filename, norm); fv != "" && normalizeVersion(fv) == normalizeVersion(version) {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "PyPI project %s has no files of version %q", name, version)
	}
	r := &Release{Name: name, Version: version, Info: Info{Name: name, Version: version}, Files: mine, Source: "simple"}
	return r.finish()
}

// resolveURLs makes file URLs absolute: some mirrors write them relative to the metadata
// document ("../../packages/...").
func resolveURLs(doc string, files []File) {
	base, err := url.Parse(doc)
	if err != nil {
		return
	}
	for i := range files {
		if ref, err := url.Parse(files[i].URL); err == nil && !ref.IsAbs() {
			files[i].URL = base.ResolveReference(ref).String()
		}
	}
}

func (r *Release) finish() (*Release, error) {
	for i := range r.Files {
		f := &r.Files[i]
		if f.Filename == "" || strings.ContainsAny(f.Filename, "/\\\x00") {
			return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "file with a bad name %q", f.Filename)
		}
		if f.PackageType == "" {
			f.PackageType = packageType(f.Filename)
		}
	}
	return r, nil
}

// Project returns the project JSON document (/pypi/<name>/json).
func (c *Client) Project(ctx context.Context, name string) (*Project, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	u := c.base + "/pypi/" + url.PathEscape(Normalize(name)) + "/json"
	body, _, err := c.get(ctx, u, "application/json", c.maxMetadata)
	if err != nil {
		if isNotFound(err) {
			return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonNotFound, "PyPI project "+name, err)
		}
		return nil, registryError(u, err)
	}
	var p Project
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonBadMetadata, "parsing "+u, err)
	}
	resolveURLs(u, p.URLs)
	for _, files := range p.Releases {
		resolveURLs(u, files)
	}
	return &p, nil
}

func registryError(u string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return verdict.Wrap(verdict.UpstreamError, verdict.ReasonRegistry, "fetching "+u, err)
}

// normalizeVersion is a light PEP 440 normalisation for comparing version strings: lowercase,
// no leading "v", no leading zeros in release segments ("1.01" = "1.1").
func normalizeVersion(v string) string {
	v = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "v")
	parts := strings.Split(v, ".")
	for i, p := range parts {
		t := strings.TrimLeft(p, "0")
		if t == "" && p != "" {
			t = "0"
		}
		if len(t) > 0 && t[0] >= '0' && t[0] <= '9' {
			parts[i] = t
		}
	}
	return strings.Join(parts, ".")
}
