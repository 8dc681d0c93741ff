// Package verify is the consumer side of vouch (design §1.8): it finds the signed bundle of
// an artifact, checks every signature against trusted keys, checks that the artifact is the
// one the attestations are about, and reports what the verification summary says.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// ErrNoEvidence is returned by a Source that has no bundle for the artifact.
var ErrNoEvidence = errors.New("no attestation found")

// Source finds the attestation bundle of one artifact. location names where it was found
// (a path or URL), also when the bundle is absent.
type Source interface {
	Bundle(ctx context.Context, t target.Target, artifact string) (bundle []byte, location string, err error)
}

// StoreSource reads bundles from a local store.
type StoreSource struct{ *store.Store }

var _ Source = StoreSource{}

// Bundle implements Source.
func (s StoreSource) Bundle(_ context.Context, t target.Target, artifact string) ([]byte, string, error) {
	b, path, err := s.GetBundle(t, artifact)
	if errors.Is(err, store.ErrNotFound) {
		return nil, path, fmt.Errorf("%s: %w", path, ErrNoEvidence)
	}
	return b, path, err
}

// HTTPSource reads bundles from a `vouch serve` instance or any static mirror of the
// attestation tree: GET {BaseURL}/{target.StoreDir(artifact)}/rebuild.intoto.jsonl.
type HTTPSource struct {
	BaseURL string
	// Client defaults to a client with DefaultHTTPTimeout.
	Client *http.Client
}

var _ Source = HTTPSource{}

// DefaultHTTPTimeout bounds one bundle download when the caller's context has no deadline
// and no Client is given.
const DefaultHTTPTimeout = 60 * time.Second

// BundleURL is where the bundle of an artifact lives under base.
func BundleURL(base string, t target.Target, artifact string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bad attestation server URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("bad attestation server URL %q: want http(s)://host[/path]", base)
	}
	if err := t.Validate(); err != nil {
		return "", err
	}
	if artifact == "" || artifact == "." || artifact == ".." || strings.ContainsAny(artifact, "/\\") {
		return "", fmt.Errorf("artifact %q is not a plain file name", artifact)
	}
	var segs []string
	for _, s := range strings.Split(attest.StoreURI(t, artifact), "/") {
		segs = append(segs, url.PathEscape(s))
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + strings.Join(segs, "/"), nil
}

// Bundle implements Source.
func (h HTTPSource) Bundle(ctx context.Context, t target.Target, artifact string) ([]byte, string, error) {
	loc, err := BundleURL(h.BaseURL, t, artifact)
	if err != nil {
		return nil, "", err
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultHTTPTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, loc, fmt.Errorf("fetching %s: %w", loc, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, loc, fmt.Errorf("fetching attestation: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, loc, fmt.Errorf("%s: %w", loc, ErrNoEvidence)
	case resp.StatusCode != http.StatusOK:
		return nil, loc, fmt.Errorf("fetching %s: %s", loc, resp.Status)
	case resp.ContentLength > attest.MaxBundleSize:
		return nil, loc, fmt.Errorf("fetching %s: bundle larger than %d bytes", loc, attest.MaxBundleSize)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, attest.MaxBundleSize+1))
	if err != nil {
		return nil, loc, fmt.Errorf("fetching %s: %w", loc, err)
	}
	if len(b) > attest.MaxBundleSize {
		return nil, loc, fmt.Errorf("fetching %s: bundle larger than %d bytes", loc, attest.MaxBundleSize)
	}
	return b, loc, nil
}

// Status values of a Report.
const (
	StatusVerified   = "verified"
	StatusFailed     = "failed"
	StatusNoEvidence = "no_evidence"
)

// Names of the checks, in the order they run.
const (
	CheckEvidence   = "evidence"
	CheckSignatures = "signatures"
	CheckTarget     = "target"
	CheckDigest     = "artifact_digest"
	CheckSummary    = "verification_summary"
)

// Report is the canonical result of verifying one artifact (the `vouch verify --json` document).
type Report struct {
	PURL           string `json:"purl"`
	Artifact       string `json:"artifact"`
	ArtifactSHA256 string `json:"artifact_sha256"`
	// Status is "verified", "failed" or "no_evidence".
	Status string `json:"status"`
	// Verdict, Reason and Message are what the verification summary attests (when the
	// bundle's signatures verified).
	Verdict verdict.Verdict `json:"verdict,omitempty"`
	Reason  verdict.Reason  `json:"reason,omitempty"`
	Message string          `json:"message,omitempty"`
	// Problem is the first failed check's explanation ("" when verified).
	Problem string `json:"problem,omitempty"`
	// Attestation is where the bundle was looked for (path or URL).
	Attestation string   `json:"attestation,omitempty"`
	KeyIDs      []string `json:"key_ids,omitempty"`
	Checks      []Check  `json:"checks"`
}

// Check is one step of a verification.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ExitCode is the exit status of `vouch verify` (design §1.8): 0 verified, 1 verification
// failed, 3 no evidence found.
func (r *Report) ExitCode() int {
	switch r.Status {
	case StatusVerified:
		return 0
	case StatusNoEvidence:
		return 3
	default:
		return 1
	}
}

func (r *Report) check(name string, ok bool, format string, args ...any) {
	c := Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)}
	r.Checks = append(r.Checks, c)
	if !ok {
		r.Status = StatusFailed
		if r.Problem == "" {
			r.Problem = c.Detail
		}
	}
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Artifact verifies that the artifact of t named artifact, whose content has the sha256
// artifactSHA256 (hex), was reproduced from source according to evidence from src signed
// by one of keys. Verification outcomes, including missing evidence, are in the Report;
// an error means the verification could not be carried out (bad input, the source failed).
func Artifact(ctx context.Context, src Source, t target.Target, artifact, artifactSHA256 string, keys []*attest.PublicKey) (*Report, error) {
	artifactSHA256 = strings.ToLower(artifactSHA256)
	if !sha256RE.MatchString(artifactSHA256) {
		return nil, fmt.Errorf("verifying %s: artifact sha256 %q is not a hex sha256 digest", t.PURL(), artifactSHA256)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("verifying %s: %w", t.PURL(), attest.ErrNoTrustedKeys)
	}
	r := &Report{PURL: t.PURL(), Artifact: artifact, ArtifactSHA256: artifactSHA256, Checks: []Check{}}

	data, loc, err := src.Bundle(ctx, t, artifact)
	r.Attestation = loc
	if errors.Is(err, ErrNoEvidence) {
		r.Status = StatusNoEvidence
		r.Problem = "no attestation for this artifact"
		r.Checks = append(r.Checks, Check{Name: CheckEvidence, OK: false, Detail: fmt.Sprintf("no attestation at %s", loc)})
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", t.PURL(), err)
	}
	r.Status = StatusVerified
	r.check(CheckEvidence, true, "attestation found at %s", loc)

	v, err := attest.VerifyBundle(data, keys)
	if err != nil {
		r.check(CheckSignatures, false, "the attestation does not verify: %v", err)
		return r, nil
	}
	r.KeyIDs = v.KeyIDs
	r.Verdict, r.Reason, r.Message = v.Verdict, v.Reason, v.Message
	r.check(CheckSignatures, true, "every statement is signed by a trusted key (%s)", strings.Join(v.KeyIDs, ", "))

	if at, err := target.Parse(v.PURL); err != nil || !sameTarget(at, t) {
		r.check(CheckTarget, false, "the attestation is about %s, not %s", v.PURL, t.PURL())
	} else if v.Artifact != "" && v.Artifact != artifact {
		r.check(CheckTarget, false, "the attestation is about artifact %s, not %s", v.Artifact, artifact)
	} else {
		r.check(CheckTarget, true, "the attestation is about %s", v.PURL)
	}

	noDigest := v.UpstreamSHA256 == ""
	switch {
	case noDigest:
		// Checked, failed, but explained better by the summary check below.
		r.Checks = append(r.Checks, Check{Name: CheckDigest, OK: false,
			Detail: fmt.Sprintf("the attestation names no artifact digest (the %s run never obtained a trustworthy upstream artifact)", v.Verdict)})
		r.Status = StatusFailed
	case v.UpstreamSHA256 != artifactSHA256:
		r.check(CheckDigest, false, "the artifact is not the one that was rebuilt: its sha256 is %s, the attested upstream sha256 is %s", artifactSHA256, v.UpstreamSHA256)
	default:
		r.check(CheckDigest, true, "sha256 %s matches the attested upstream artifact", artifactSHA256)
	}

	if v.VerificationResult == attest.ResultPassed {
		r.check(CheckSummary, true, "%s: %s (%s)", attest.ResultPassed, v.Verdict, attest.LevelReproduced)
	} else {
		detail := fmt.Sprintf("%s: the rebuild attests %s", v.VerificationResult, v.Verdict)
		if v.Reason != "" {
			detail += fmt.Sprintf(" (%s)", v.Reason)
		}
		if v.Message != "" {
			detail += ": " + v.Message
		}
		r.check(CheckSummary, false, "%s", detail)
	}
	if noDigest && r.Problem == "" {
		r.Problem = r.Checks[len(r.Checks)-2].Detail
	}
	return r, nil
}

// sameTarget compares package identity; qualifiers are not compared (they select the
// artifact, which is compared by name).
func sameTarget(a, b target.Target) bool {
	return a.Ecosystem == b.Ecosystem && a.PackageName() == b.PackageName() && a.Version == b.Version
}
