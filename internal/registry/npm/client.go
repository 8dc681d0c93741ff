// Package npm is a client of the npm registry: packuments, version documents and verified
// tarball downloads (design §1.1). Every failure is a *verdict.Error with verdict
// upstream_error.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// DefaultRegistry is the public npm registry.
const DefaultRegistry = "https://registry.npmjs.org"

// EnvRegistry overrides the registry URL (design §2).
const EnvRegistry = "VOUCH_NPM_REGISTRY"

const (
	// DefaultMaxMetadataSize bounds a packument. The largest public packuments are in the
	// tens of MiB (e.g. @types/node); 256 MiB leaves room without inviting exhaustion.
	DefaultMaxMetadataSize = 256 << 20
	// DefaultMaxArtifactSize bounds a tarball download. npm itself rejects tarballs over
	// a few hundred MiB; 1 GiB is generous.
	DefaultMaxArtifactSize = 1 << 30
	// DefaultAttempts is the number of tries of one request (first try + retries).
	DefaultAttempts = 4
	// DefaultTimeout bounds one attempt (headers and body).
	DefaultTimeout = 5 * time.Minute
	// DefaultBackoff is the wait before the first retry; it doubles each retry, with jitter.
	DefaultBackoff = 500 * time.Millisecond
	userAgent      = "vouch"
)

// Client talks to one npm registry. It is safe for concurrent use.
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

// WithHTTPClient sets the HTTP client (transport, proxy, TLS roots).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h != nil {
			c.http = h
		}
	}
}

// WithCacheDir keeps downloaded tarballs in dir, keyed by sha512; a cached copy is used only
// after it verifies again against the registry's digests.
func WithCacheDir(dir string) Option { return func(c *Client) { c.cacheDir = dir } }

// WithAttempts sets how many times a request is tried (at least 1).
func WithAttempts(n int) Option {
	return func(c *Client) { c.attempts = max(n, 1) }
}

// WithBackoff sets the wait before the first retry (it doubles each retry, plus jitter).
func WithBackoff(d time.Duration) Option {
	return func(c *Client) { c.backoff = max(d, 0) }
}

// WithTimeout bounds each attempt of a request, body included.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithMaxMetadataSize bounds a packument body in bytes.
func WithMaxMetadataSize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxMetadata = n
		}
	}
}

// WithMaxArtifactSize bounds a tarball in bytes.
func WithMaxArtifactSize(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxArtifact = n
		}
	}
}

// New returns a client of the registry at baseURL (e.g. https://registry.npmjs.org).
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

// FromEnv returns a client of $VOUCH_NPM_REGISTRY, or of the public registry.
func FromEnv(opts ...Option) *Client {
	base := os.Getenv(EnvRegistry)
	if base == "" {
		base = DefaultRegistry
	}
	return New(base, opts...)
}

// BaseURL is the registry URL this client uses.
func (c *Client) BaseURL() string { return c.base }

// PackageURL is the packument URL of name: scoped names are escaped as @scope%2fname,
// the form the registry documents.
func (c *Client) PackageURL(name string) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	if scope, rest, ok := strings.Cut(name, "/"); ok {
		return c.base + "/" + "@" + url.PathEscape(scope[1:]) + "%2f" + url.PathEscape(rest), nil
	}
	return c.base + "/" + url.PathEscape(name), nil
}

// validName rejects names no registry serves, before they reach a URL.
// Rules from https://github.com/npm/validate-npm-package-name (loosened for old names).
func validName(name string) error {
	bad := func(why string) error {
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "npm package name %q: %s", name, why)
	}
	if name == "" || len(name) > 214 {
		return bad("empty or longer than 214 characters")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '\\' || r == '%' || r == '?' || r == '#' {
			return bad("contains a character not allowed in package names")
		}
	}
	scope, rest, scoped := strings.Cut(name, "/")
	if scoped {
		if !strings.HasPrefix(scope, "@") || len(scope) < 2 || rest == "" || strings.Contains(rest, "/") {
			return bad("only scoped names (@scope/name) may contain a slash")
		}
		if scope == "@." || scope == "@.." || rest == "." || rest == ".." {
			return bad("dot segments are not names")
		}
		return nil
	}
	if strings.HasPrefix(name, "@") || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return bad("not a valid package name")
	}
	return nil
}

// Packument fetches the full registry document of name.
func (c *Client) Packument(ctx context.Context, name string) (*Packument, error) {
	u, err := c.PackageURL(name)
	if err != nil {
		return nil, err
	}
	var p Packument
	err = c.get(ctx, name, u, "application/json", func(resp *http.Response) error {
		if resp.ContentLength > c.maxMetadata {
			return verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata,
				"npm metadata of %s at %s: %d bytes exceeds the limit of %d", name, redact(u), resp.ContentLength, c.maxMetadata)
		}
		lr := &limitedReader{r: resp.Body, n: c.maxMetadata}
		dec := json.NewDecoder(lr)
		if err := dec.Decode(&p); err != nil {
			if lr.exceeded {
				return verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata,
					"npm metadata of %s at %s exceeds the limit of %d bytes", name, redact(u), c.maxMetadata)
			}
			if lr.err != nil && isTransient(lr.err) {
				// The transfer broke off; the document itself may be fine.
				return retryable{lr.err}
			}
			return verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata,
				"decoding npm metadata of %s at %s: %w", name, redact(u), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.Name != "" && p.Name != name {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata,
			"npm metadata at %s names package %q, not %q", redact(u), p.Name, name)
	}
	for v, doc := range p.Versions {
		if t, err := time.Parse(time.RFC3339, p.Time[v]); err == nil {
			doc.PublishedAt = t
		}
		if doc.Version == "" {
			doc.Version = v
		}
		if doc.Name == "" {
			doc.Name = name
		}
	}
	return &p, nil
}

// Version fetches the document of name@version from the packument (so that its publish
// time is known).
func (c *Client) Version(ctx context.Context, name, version string) (*Version, error) {
	p, err := c.Packument(ctx, name)
	if err != nil {
		return nil, err
	}
	v, ok := p.Versions[version]
	if !ok {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound,
			"npm package %s has no version %q", name, version)
	}
	if v.Name != name || v.Version != version {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata,
			"npm metadata of %s@%s describes %s@%s", name, version, v.Name, v.Version)
	}
	return v, nil
}

// retryable marks an error worth another attempt.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// get performs GET u with retries and hands a 200 response to fn. fn may return a
// retryable error (e.g. the body broke off) to try again.
func (c *Client) get(ctx context.Context, pkg, u, accept string, fn func(*http.Response) error) error {
	var last error
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, attempt, last); err != nil {
				return verdict.Errorf(verdict.UpstreamError, verdict.ReasonRegistry,
					"fetching %s for %s: %w (after %v)", redact(u), pkg, err, last)
			}
		}
		err := c.once(ctx, pkg, u, accept, fn)
		if err == nil {
			return nil
		}
		var r retryable
		if !errors.As(err, &r) {
			return err
		}
		last = r.err
		if ctx.Err() != nil {
			break
		}
	}
	return verdict.Errorf(verdict.UpstreamError, verdict.ReasonRegistry,
		"fetching %s for %s: %v (%d attempts)", redact(u), pkg, last, c.attempts)
}

type httpStatus struct {
	code       int
	retryAfter time.Duration
}

func (h httpStatus) Error() string {
	return fmt.Sprintf("HTTP %d %s", h.code, http.StatusText(h.code))
}

func (c *Client) once(ctx context.Context, pkg, u, accept string, fn func(*http.Response) error) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonRegistry, "fetching %s for %s: %v", redact(u), pkg, redactErr(err))
	}
	req.Header.Set("User-Agent", userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		err = redactErr(err)
		if ctx.Err() == nil && isTransient(err) {
			return retryable{err}
		}
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonRegistry, "fetching %s for %s: %v", redact(u), pkg, err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "fetching %s for %s: HTTP 404 (not found)", redact(u), pkg)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryable{httpStatus{code: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}}
	default:
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonRegistry, "fetching %s for %s: %v", redact(u), pkg, httpStatus{code: resp.StatusCode})
	}
	err = fn(resp)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		// The per-attempt timeout fired while reading the body.
		return retryable{fmt.Errorf("timeout after %v: %w", c.timeout, err)}
	}
	return err
}

// maxRetryAfter caps a server's Retry-After so a hostile registry cannot park us.
const maxRetryAfter = 30 * time.Second

func parseRetryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(s); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}

func (c *Client) sleep(ctx context.Context, attempt int, last error) error {
	d := c.backoff << (attempt - 1)
	if c.backoff > 0 {
		d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	}
	var hs httpStatus
	if errors.As(last, &hs) && hs.retryAfter > d {
		d = hs.retryAfter
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isTransient reports network failures worth retrying: timeouts, resets, truncated bodies.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded)
}

// limitedReader fails once more than n bytes are read.
type limitedReader struct {
	r        io.Reader
	n        int64
	exceeded bool
	err      error // the underlying reader's error other than io.EOF
}

var errTooLarge = errors.New("response exceeds the size limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.exceeded = true
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	l.n -= int64(n)
	if l.n < 0 {
		l.exceeded = true
		return n, errTooLarge
	}
	return n, err
}

// redact removes credentials from a URL for messages.
func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.User == nil {
		if err != nil {
			if i := strings.Index(u, "@"); i >= 0 && strings.Contains(u[:i], "://") {
				return u[:strings.Index(u, "://")+3] + "REDACTED@" + u[i+1:]
			}
		}
		return u
	}
	pu.User = url.User("REDACTED")
	return pu.String()
}

// redactErr strips credentials from the URL inside a *url.Error.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	return err
}
