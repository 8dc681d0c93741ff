package pypi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// Artifact is a downloaded file whose sha256 matched the index's.
type Artifact struct {
	Path   string
	URL    string
	SHA256 string
	Size   int64
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+!-]*$`)

// Download fetches f into dir (or the client's cache) and checks it against the index's
// sha256. A file without a sha256 is refused: nothing could show it is the published one.
func (c *Client) Download(ctx context.Context, f File, dir string) (*Artifact, error) {
	want, err := hex.DecodeString(f.SHA256())
	if err != nil || len(want) != sha256.Size {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "%s has no valid sha256 digest in the index", f.Filename)
	}
	if !safeFileName.MatchString(f.Filename) {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "unsafe file name %q", f.Filename)
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "%s: unsupported URL %q", f.Filename, f.URL)
	}
	if c.cacheDir != "" {
		dir = filepath.Join(c.cacheDir, hex.EncodeToString(want[:8]))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	dst := filepath.Join(dir, f.Filename)
	if a, ok := verifyFile(dst, want); ok {
		a.URL = f.URL
		return a, nil
	}
	var last error
	for attempt := 0; attempt < c.attempts; attempt++ {
		a, err, retry := c.fetchTo(ctx, f.URL, dst, want)
		if err == nil {
			return a, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	if ve, ok := verdict.As(last); ok {
		return nil, ve
	}
	return nil, registryError(f.URL, last)
}

func verifyFile(p string, want []byte) (*Artifact, bool) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil || subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return nil, false
	}
	return &Artifact{Path: p, SHA256: hex.EncodeToString(want), Size: n}, true
}

func (c *Client) fetchTo(ctx context.Context, u, dst string, want []byte) (*Artifact, error, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err, false
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err, true
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		he := &httpError{URL: u, Status: resp.StatusCode}
		if resp.StatusCode == http.StatusNotFound {
			return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonNotFound, "downloading", he), false
		}
		return nil, he, resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".dl-")
	if err != nil {
		return nil, err, false
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, c.maxArtifact+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err, true
	}
	if n > c.maxArtifact {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "%s is larger than %d bytes", u, c.maxArtifact), false
	}
	got := h.Sum(nil)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonDigestMismatch,
			"%s: sha256 %s does not match the index's %s", filepath.Base(dst), hex.EncodeToString(got), hex.EncodeToString(want)), false
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, err, false
	}
	return &Artifact{Path: dst, URL: u, SHA256: hex.EncodeToString(got), Size: n}, nil, false
}
