package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

var (
	upSHA   = strings.Repeat("a1", 32)
	rebSHA  = strings.Repeat("b2", 32)
	otherSH = strings.Repeat("c3", 32)
)

type fixture struct {
	store   *store.Store
	signer  *attest.Signer
	keys    []*attest.PublicKey
	untrust *attest.Signer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := attest.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	u, err := attest.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: st, signer: s, keys: []*attest.PublicKey{s.Public()}, untrust: u}
}

func mustTarget(t *testing.T, purl string) target.Target {
	t.Helper()
	tg, err := target.Parse(purl)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// put stores a real signed bundle for purl/artifact with verdict v, signed by s.
func (f *fixture) put(t *testing.T, s *attest.Signer, purl, artifact string, v verdict.Verdict, r verdict.Reason, msg string) {
	t.Helper()
	tg := mustTarget(t, purl)
	res := &verdict.Result{PURL: tg.PURL(), Artifact: artifact, Verdict: v, Reason: r, Message: msg,
		Upstream: &verdict.Upstream{URL: "https://registry.example/" + artifact, SHA256: upSHA}}
	switch v {
	case verdict.Identical:
		res.Rebuild = &verdict.Rebuilt{SHA256: upSHA}
	case verdict.Equivalent, verdict.Mismatch:
		res.Rebuild = &verdict.Rebuilt{SHA256: rebSHA}
	}
	b, err := attest.Bundle(s, attest.Input{Target: tg, Result: res, BuilderID: "https://vouch.dev/builder/test"})
	if err != nil {
		t.Fatal(err)
	}
	up := upSHA
	if v == verdict.UpstreamError {
		up = ""
	}
	if _, err := f.store.PutBundle(tg, artifact, b, up, ""); err != nil {
		t.Fatal(err)
	}
}

type outcome struct {
	Status  string
	Exit    int
	Verdict verdict.Verdict
	Reason  verdict.Reason
	Failed  []string
}

func summarize(r *Report) outcome {
	o := outcome{Status: r.Status, Exit: r.ExitCode(), Verdict: r.Verdict, Reason: r.Reason}
	for _, c := range r.Checks {
		if !c.OK {
			o.Failed = append(o.Failed, c.Name)
		}
	}
	return o
}

func TestArtifact(t *testing.T) {
	f := newFixture(t)
	f.put(t, f.signer, "pkg:npm/ok@1.0.0", "ok-1.0.0.tgz", verdict.Identical, "", "")
	f.put(t, f.signer, "pkg:npm/%40scope/eq@2.0.0", "eq-2.0.0.tgz", verdict.Equivalent, "", "")
	f.put(t, f.signer, "pkg:npm/bad@1.0.0", "bad-1.0.0.tgz", verdict.Mismatch, verdict.ReasonContentMismatch, "dist/index.js differs")
	f.put(t, f.signer, "pkg:npm/broken@1.0.0", "broken-1.0.0.tgz", verdict.BuildFailed, verdict.ReasonBuildCommand, "npm run build exited 2")
	f.put(t, f.signer, "pkg:npm/poisoned@1.0.0", "poisoned-1.0.0.tgz", verdict.UpstreamError, verdict.ReasonDigestMismatch, "integrity mismatch")
	f.put(t, f.untrust, "pkg:npm/stranger@1.0.0", "stranger-1.0.0.tgz", verdict.Identical, "", "")
	// A valid bundle of another package stored at this package's place.
	other := mustTarget(t, "pkg:npm/ok@1.0.0")
	b, _, err := f.store.GetBundle(other, "ok-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutBundle(mustTarget(t, "pkg:npm/copycat@1.0.0"), "ok-1.0.0.tgz", b, upSHA, ""); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, purl, artifact, sha string
		want                      outcome
		problem                   string
	}{
		{"identical", "pkg:npm/ok@1.0.0", "ok-1.0.0.tgz", upSHA,
			outcome{StatusVerified, 0, verdict.Identical, "", nil}, ""},
		{"equivalent scoped", "pkg:npm/%40scope/eq@2.0.0", "eq-2.0.0.tgz", strings.ToUpper(upSHA),
			outcome{StatusVerified, 0, verdict.Equivalent, "", nil}, ""},
		{"tampered artifact", "pkg:npm/ok@1.0.0", "ok-1.0.0.tgz", otherSH,
			outcome{StatusFailed, 1, verdict.Identical, "", []string{CheckDigest}}, "the artifact is not the one that was rebuilt"},
		{"rebuilt digest is not upstream", "pkg:npm/bad@1.0.0", "bad-1.0.0.tgz", rebSHA,
			outcome{StatusFailed, 1, verdict.Mismatch, verdict.ReasonContentMismatch, []string{CheckDigest, CheckSummary}}, "the artifact is not the one that was rebuilt"},
		{"mismatch", "pkg:npm/bad@1.0.0", "bad-1.0.0.tgz", upSHA,
			outcome{StatusFailed, 1, verdict.Mismatch, verdict.ReasonContentMismatch, []string{CheckSummary}}, "mismatch (content_mismatch): dist/index.js differs"},
		{"build failed", "pkg:npm/broken@1.0.0", "broken-1.0.0.tgz", upSHA,
			outcome{StatusFailed, 1, verdict.BuildFailed, verdict.ReasonBuildCommand, []string{CheckSummary}}, "build_failed (build_command_failed): npm run build exited 2"},
		{"upstream error", "pkg:npm/poisoned@1.0.0", "poisoned-1.0.0.tgz", upSHA,
			outcome{StatusFailed, 1, verdict.UpstreamError, verdict.ReasonDigestMismatch, []string{CheckDigest, CheckSummary}}, "upstream_error (digest_mismatch): integrity mismatch"},
		{"untrusted key", "pkg:npm/stranger@1.0.0", "stranger-1.0.0.tgz", upSHA,
			outcome{StatusFailed, 1, "", "", []string{CheckSignatures}}, "no valid signature by a trusted key"},
		{"bundle of another package", "pkg:npm/copycat@1.0.0", "ok-1.0.0.tgz", upSHA,
			outcome{StatusFailed, 1, verdict.Identical, "", []string{CheckTarget}}, "is about pkg:npm/ok@1.0.0, not pkg:npm/copycat@1.0.0"},
		{"missing", "pkg:npm/absent@1.0.0", "absent-1.0.0.tgz", upSHA,
			outcome{StatusNoEvidence, 3, "", "", []string{CheckEvidence}}, "no attestation"},
	}
	sources := map[string]Source{"store": StoreSource{f.store}}
	srv := httptest.NewServer(http.FileServer(http.Dir(f.store.AttestationRoot())))
	defer srv.Close()
	sources["http"] = HTTPSource{BaseURL: srv.URL + "/", Client: srv.Client()}

	for srcName, src := range sources {
		for _, tc := range tests {
			t.Run(srcName+"/"+tc.name, func(t *testing.T) {
				r, err := Artifact(context.Background(), src, mustTarget(t, tc.purl), tc.artifact, tc.sha, f.keys)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, summarize(r)); diff != "" {
					t.Errorf("outcome (-want +got):\n%s\nchecks: %+v", diff, r.Checks)
				}
				if !strings.Contains(r.Problem, tc.problem) {
					t.Errorf("problem %q does not say %q", r.Problem, tc.problem)
				}
				if (r.Status == StatusVerified) != (r.Problem == "") {
					t.Errorf("status %s with problem %q", r.Status, r.Problem)
				}
				if r.Attestation == "" || !strings.HasSuffix(r.Attestation, "/rebuild.intoto.jsonl") {
					t.Errorf("attestation location %q", r.Attestation)
				}
				if r.Status == StatusVerified && !cmp.Equal(r.KeyIDs, []string{f.signer.KeyID()}) {
					t.Errorf("key IDs %v", r.KeyIDs)
				}
			})
		}
	}
}

func TestReportJSON(t *testing.T) {
	f := newFixture(t)
	f.put(t, f.signer, "pkg:npm/ok@1.0.0", "ok-1.0.0.tgz", verdict.Identical, "", "")
	r, err := Artifact(context.Background(), StoreSource{f.store}, mustTarget(t, "pkg:npm/ok@1.0.0"), "ok-1.0.0.tgz", upSHA, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"purl", "artifact", "artifact_sha256", "status", "verdict", "attestation", "key_ids", "checks"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON report lacks %q: %s", k, b)
		}
	}
	if got["status"] != "verified" || len(got["checks"].([]any)) != 5 {
		t.Errorf("JSON report %s", b)
	}
}

func TestArtifactBadInput(t *testing.T) {
	f := newFixture(t)
	tg := mustTarget(t, "pkg:npm/ok@1.0.0")
	if _, err := Artifact(context.Background(), StoreSource{f.store}, tg, "ok-1.0.0.tgz", "xyz", f.keys); err == nil {
		t.Error("bad digest accepted")
	}
	if _, err := Artifact(context.Background(), StoreSource{f.store}, tg, "ok-1.0.0.tgz", upSHA, nil); !errors.Is(err, attest.ErrNoTrustedKeys) {
		t.Errorf("no keys: %v", err)
	}
}

func TestHTTPSource(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.EscapedPath())
		switch {
		case strings.Contains(r.URL.Path, "/error/"):
			http.Error(w, "boom", http.StatusInternalServerError)
		case strings.Contains(r.URL.Path, "/huge/"):
			w.Write([]byte(strings.Repeat("x", attest.MaxBundleSize+10)))
		case strings.Contains(r.URL.Path, "/found-"):
			w.Write([]byte("bundle\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := HTTPSource{BaseURL: srv.URL + "/mirror", Client: srv.Client()}
	ctx := context.Background()

	b, loc, err := h.Bundle(ctx, mustTarget(t, "pkg:npm/%40sc/found@1.0.0+build"), "found-1.0.0.tgz")
	if err != nil || string(b) != "bundle\n" {
		t.Fatalf("found: %q, %v", b, err)
	}
	if want := srv.URL + "/mirror/npm/@sc/found/1.0.0+build/found-1.0.0.tgz/rebuild.intoto.jsonl"; loc != want {
		t.Errorf("location %s, want %s", loc, want)
	}
	if _, _, err := h.Bundle(ctx, mustTarget(t, "pkg:maven/org.ex/found@1.0"), "found-1.0.jar"); err != nil {
		t.Errorf("maven: %v", err)
	}
	if _, _, err := h.Bundle(ctx, mustTarget(t, "pkg:npm/missing@1.0.0"), "missing-1.0.0.tgz"); !errors.Is(err, ErrNoEvidence) {
		t.Errorf("404: %v, want ErrNoEvidence", err)
	}
	if _, _, err := h.Bundle(ctx, mustTarget(t, "pkg:npm/error@1.0.0"), "error-1.0.0.tgz"); err == nil || errors.Is(err, ErrNoEvidence) {
		t.Errorf("500: %v, want a failure that is not ErrNoEvidence", err)
	}
	if _, _, err := h.Bundle(ctx, mustTarget(t, "pkg:npm/huge@1.0.0"), "huge-1.0.0.tgz"); err == nil {
		t.Error("oversized bundle accepted")
	}
	if _, _, err := h.Bundle(ctx, mustTarget(t, "pkg:npm/found@1.0.0"), "../../x"); err == nil {
		t.Error("artifact with a path accepted")
	}
	if _, _, err := (HTTPSource{BaseURL: "file:///etc"}).Bundle(ctx, mustTarget(t, "pkg:npm/found@1.0.0"), "a.tgz"); err == nil {
		t.Error("file:// base URL accepted")
	}
	want := []string{
		"/mirror/npm/@sc/found/1.0.0+build/found-1.0.0.tgz/rebuild.intoto.jsonl",
		"/mirror/maven/org.ex~found/1.0/found-1.0.jar/rebuild.intoto.jsonl",
		"/mirror/npm/missing/1.0.0/missing-1.0.0.tgz/rebuild.intoto.jsonl",
		"/mirror/npm/error/1.0.0/error-1.0.0.tgz/rebuild.intoto.jsonl",
		"/mirror/npm/huge/1.0.0/huge-1.0.0.tgz/rebuild.intoto.jsonl",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("requested paths (-want +got):\n%s", diff)
	}
}
