package npm

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vouch-dev/vouch/internal/cache"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Artifact is a downloaded tarball whose digest matched the registry's.
type Artifact struct {
	Path string
	URL  string
	// Hex digests of the file.
	SHA256 string
	SHA512 string
	SHA1   string
	Size   int64
}

// expected is the set of digests a tarball must have (raw bytes per algorithm).
type expected map[string][]byte

// sriAlgorithms are the Subresource Integrity algorithms npm writes
// (https://w3c.github.io/webappsec-subresource-integrity/#hash-functions) plus sha1,
// which old npm versions put into "integrity" too.
var sriAlgorithms = map[string]int{"sha512": sha512.Size, "sha384": sha512.Size384, "sha256": sha256.Size, "sha1": sha1.Size}

// expectedDigests reads dist.integrity and dist.shasum. Every algorithm stated must match.
func expectedDigests(d Dist) (expected, error) {
	exp := expected{}
	for _, tok := range strings.Fields(d.Integrity) {
		alg, b64, ok := strings.Cut(tok, "-")
		if !ok {
			continue
		}
		size, known := sriAlgorithms[alg]
		if !known {
			continue // unknown algorithms are ignored, as SRI specifies
		}
		b64, _, _ = strings.Cut(b64, "?") // SRI options
		sum, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sum) != size {
			return nil, fmt.Errorf("malformed integrity %q", tok)
		}
		if prev, dup := exp[alg]; dup && subtle.ConstantTimeCompare(prev, sum) != 1 {
			return nil, fmt.Errorf("integrity lists two different %s digests", alg)
		}
		exp[alg] = sum
	}
	if d.Shasum != "" {
		sum, err := hex.DecodeString(strings.ToLower(d.Shasum))
		if err != nil || len(sum) != sha1.Size {
			return nil, fmt.Errorf("malformed shasum %q", d.Shasum)
		}
		if prev, dup := exp["sha1"]; dup && subtle.ConstantTimeCompare(prev, sum) != 1 {
			return nil, fmt.Errorf("integrity and shasum disagree on the sha1 digest")
		}
		exp["sha1"] = sum
	}
	if len(exp) == 0 {
		return nil, errors.New("no integrity or shasum in dist")
	}
	return exp, nil
}

type hashes struct {
	h    map[string]hash.Hash
	size int64
}

func newHashes() *hashes {
	return &hashes{h: map[string]hash.Hash{"sha512": sha512.New(), "sha384": sha512.New384(), "sha256": sha256.New(), "sha1": sha1.New()}}
}

func (h *hashes) Write(p []byte) (int, error) {
	for _, x := range h.h {
		x.Write(p)
	}
	h.size += int64(len(p))
	return len(p), nil
}

// check compares the computed digests with exp and returns the algorithm that differs.
func (h *hashes) check(exp expected) (string, bool) {
	for _, alg := range []string{"sha512", "sha384", "sha256", "sha1"} {
		want, ok := exp[alg]
		if ok && subtle.ConstantTimeCompare(want, h.h[alg].Sum(nil)) != 1 {
			return alg, false
		}
	}
	return "", true
}

func (h *hashes) artifact(p, u string) *Artifact {
	return &Artifact{
		Path: p, URL: u, Size: h.size,
		SHA256: hex.EncodeToString(h.h["sha256"].Sum(nil)),
		SHA512: hex.EncodeToString(h.h["sha512"].Sum(nil)),
		SHA1:   hex.EncodeToString(h.h["sha1"].Sum(nil)),
	}
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// fileName is the local name of v's tarball: the URL's last segment when it is a plain
// file name, else name-version.tgz (scope dropped, as npm names tarballs).
func fileName(v *Version, u *url.URL) string {
	if base := path.Base(u.Path); safeFileName.MatchString(base) && len(base) <= 255 {
		return base
	}
	n := v.Name
	if i := strings.LastIndex(n, "/"); i >= 0 {
		n = n[i+1:]
	}
	f := n + "-" + v.Version + ".tgz"
	if !safeFileName.MatchString(f) {
		f = "package.tgz"
	}
	return f
}

// Download fetches v's tarball into dir and verifies it against dist.integrity (every
// listed algorithm) and dist.shasum. A file that fails verification is removed.
func (c *Client) Download(ctx context.Context, v *Version, dir string) (*Artifact, error) {
	pkg := v.Name + "@" + v.Version
	fail := func(r verdict.Reason, format string, args ...any) error {
		e := fmt.Errorf(format, args...)
		return &verdict.Error{Verdict: verdict.UpstreamError, Reason: r, Msg: "npm tarball of " + pkg + ": " + e.Error(), Err: errors.Unwrap(e)}
	}
	u, err := url.Parse(v.Dist.Tarball)
	if err != nil || v.Dist.Tarball == "" {
		return nil, fail(verdict.ReasonBadMetadata, "bad tarball URL %q", redact(v.Dist.Tarball))
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fail(verdict.ReasonBadMetadata, "tarball URL %s is not http(s)", redact(v.Dist.Tarball))
	}
	shown := redact(v.Dist.Tarball)
	exp, err := expectedDigests(v.Dist)
	if err != nil {
		return nil, fail(verdict.ReasonBadMetadata, "%v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	dst := filepath.Join(dir, fileName(v, u))

	if a, ok := c.fromCache(exp, dst, v.Dist.Tarball); ok {
		return a, nil
	}

	var art *Artifact
	err = c.get(ctx, pkg, v.Dist.Tarball, "application/octet-stream", func(resp *http.Response) error {
		if resp.ContentLength > c.maxArtifact {
			return fail(verdict.ReasonBadMetadata, "%s is %d bytes, over the limit of %d", shown, resp.ContentLength, c.maxArtifact)
		}
		tmp, err := os.CreateTemp(dir, ".download-*")
		if err != nil {
			return fmt.Errorf("downloading %s: %w", shown, err)
		}
		defer os.Remove(tmp.Name()) // no-op after the rename
		h := newHashes()
		lr := &limitedReader{r: resp.Body, n: c.maxArtifact}
		_, err = io.Copy(io.MultiWriter(tmp, h), lr)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		switch {
		case lr.exceeded:
			return fail(verdict.ReasonBadMetadata, "%s exceeds the limit of %d bytes", shown, c.maxArtifact)
		case err != nil && isTransient(err):
			return retryable{fmt.Errorf("reading body: %w", err)}
		case err != nil:
			return fail(verdict.ReasonRegistry, "downloading %s: %w", shown, err)
		}
		if alg, ok := h.check(exp); !ok {
			return fail(verdict.ReasonDigestMismatch, "%s does not match its registry %s digest", shown, alg)
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return fmt.Errorf("downloading %s: %w", shown, err)
		}
		art = h.artifact(dst, v.Dist.Tarball)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.toCache(art)
	return art, nil
}

func (c *Client) cachePath(sha512hex string) string {
	return filepath.Join(c.cacheDir, "sha512", sha512hex[:2], sha512hex+".tgz")
}

// fromCache copies a cached tarball to dst if one exists for exp's sha512 and it still
// verifies against every expected digest.
func (c *Client) fromCache(exp expected, dst, u string) (*Artifact, bool) {
	want, ok := exp["sha512"]
	if c.cacheDir == "" || !ok {
		return nil, false
	}
	src, err := os.Open(c.cachePath(hex.EncodeToString(want)))
	if err != nil {
		return nil, false
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".cached-*")
	if err != nil {
		return nil, false
	}
	defer os.Remove(tmp.Name())
	h := newHashes()
	_, err = io.Copy(io.MultiWriter(tmp, h), &limitedReader{r: src, n: c.maxArtifact})
	if cerr := tmp.Close(); err != nil || cerr != nil {
		return nil, false
	}
	if _, ok := h.check(exp); !ok {
		os.Remove(src.Name()) // a corrupted cache entry is useless
		return nil, false
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, false
	}
	cache.Touch(src.Name()) // the cache evicts least recently used entries
	return h.artifact(dst, u), true
}

// toCache stores a verified artifact; failures only cost a later download.
func (c *Client) toCache(a *Artifact) {
	if c.cacheDir == "" {
		return
	}
	p := c.cachePath(a.SHA512)
	if _, err := os.Stat(p); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	src, err := os.Open(a.Path)
	if err != nil {
		return
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".store-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err != nil || cerr != nil {
		return
	}
	os.Rename(tmp.Name(), p)
}
