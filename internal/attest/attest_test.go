package attest

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	vsa1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

const (
	commit    = "0123456789abcdef0123456789abcdef01234567"
	upSHA256  = "1111111111111111111111111111111111111111111111111111111111111111"
	upSHA512  = "22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
	rebSHA256 = "3333333333333333333333333333333333333333333333333333333333333333"
	stabSHA   = "4444444444444444444444444444444444444444444444444444444444444444"
	netSHA    = "5555555555555555555555555555555555555555555555555555555555555555"
	builderID = "https://vouch.dev/builder/test"
	artifact  = "is-number-7.0.0.tgz"
)

func newSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testTarget(t *testing.T) target.Target {
	t.Helper()
	tg, err := target.Parse("pkg:npm/is-number@7.0.0")
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// testInput builds the input of a run that ended with v.
func testInput(t *testing.T, v verdict.Verdict) Input {
	t.Helper()
	tg := testTarget(t)
	res := &verdict.Result{
		PURL:     tg.PURL(),
		Artifact: artifact,
		Verdict:  v,
		Upstream: &verdict.Upstream{URL: "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz", SHA256: upSHA256, SHA512: upSHA512},
		Source:   &verdict.Source{Repo: "https://github.com/jonschlinkert/is-number", Ref: commit, Dir: "pkg"},
		Strategy: "npm-pack",
		Sandbox:  "bwrap",
		Toolchain: map[string]string{
			"node": "20.20.2",
			"npm":  "10.8.2",
		},
		Findings: []string{"hidden remote dependency: https://example.com/x.tgz"},
	}
	def := &definition.BuildDefinition{
		APIVersion: definition.APIVersion,
		PURL:       tg.PURL(),
		Artifact:   artifact,
		Location:   definition.Location{Repo: res.Source.Repo, Ref: commit, Dir: "pkg"},
		Strategy:   definition.Strategy{Name: "npm-pack"},
		Toolchain:  res.Toolchain,
	}
	switch v {
	case verdict.Identical:
		res.Rebuild = &verdict.Rebuilt{SHA256: upSHA256}
	case verdict.Equivalent:
		res.Rebuild = &verdict.Rebuilt{SHA256: rebSHA256}
		res.StabilizedSHA256 = stabSHA
		res.Stabilizers = []string{"tar-mtime", "gzip-header"}
	case verdict.Mismatch:
		res.Rebuild = &verdict.Rebuilt{SHA256: rebSHA256}
		res.Reason = verdict.ReasonContentMismatch
		res.Message = "index.js differs"
		res.Diff = &verdict.DiffSummary{Differences: 1, Changed: []string{"package/index.js"}, Path: "/tmp/local/diff.json"}
	case verdict.BuildFailed:
		res.Reason = verdict.ReasonBuildCommand
		res.Message = "npm pack exited 1"
	case verdict.NoSource:
		res.Reason = verdict.ReasonNoGitRef
		res.Message = "no commit matched 7.0.0"
		res.Source = nil
		def = nil
	case verdict.UpstreamError:
		res.Reason = verdict.ReasonDigestMismatch
		res.Message = "tarball does not match integrity"
		res.Source = nil
		def = nil
	}
	return Input{
		Target:     tg,
		Result:     res,
		Definition: def,
		BuildLog:   []byte("building...\n"),
		Network: []egress.Record{
			{Method: "GET", URL: "https://registry.npmjs.org/left-pad", Status: 200, Size: 10, SHA256: netSHA},
			{Method: "GET", URL: "https://example.com/x.tgz", Status: 403, Denied: true, Finding: "hidden remote dependency"},
		},
		BuilderID:    builderID,
		InvocationID: "run-1",
		Started:      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		Finished:     time.Date(2024, 5, 1, 10, 5, 0, 0, time.UTC),
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	s, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	privPEM, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("private key is not PKCS#8 PEM: %.40q", privPEM)
	}
	if _, err := Generate(dir); !errors.Is(err, ErrKeyExists) {
		t.Errorf("second Generate: %v, want ErrKeyExists", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if !bytes.Equal(privPEM, after) {
		t.Error("second Generate changed the private key")
	}

	// Key ID is sha256 of the PKIX DER.
	block, _ := pem.Decode(s.PublicPEM())
	sum := sha256.Sum256(block.Bytes)
	if got, want := s.KeyID(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("KeyID %s, want %s", got, want)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Errorf("public PEM: %v", err)
	}

	loaded, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("LoadOrCreate existing: created=%v err=%v", created, err)
	}
	if loaded.KeyID() != s.KeyID() {
		t.Errorf("loaded key %s, want %s", loaded.KeyID(), s.KeyID())
	}
	pubs, err := LoadPublicKeys(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(pubs) != 1 || pubs[0].ID != s.KeyID() || !pubs[0].Key.Equal(s.Public().Key) {
		t.Errorf("LoadPublicKeys = %+v", pubs)
	}

	fresh := filepath.Join(t.TempDir(), "keys")
	n, created, err := LoadOrCreate(fresh)
	if err != nil || !created || n.KeyID() == s.KeyID() {
		t.Fatalf("LoadOrCreate new: created=%v err=%v", created, err)
	}

	if _, err := LoadPublicKeys(filepath.Join(dir, PrivateKeyFile)); err == nil {
		t.Error("a private key was accepted as a public key")
	}
	if _, err := LoadSigner(filepath.Join(dir, PublicKeyFile)); err == nil {
		t.Error("a public key was accepted as a private key")
	}
}

type summary struct {
	Lines          int
	Rebuild, Equiv bool
	Result         string
	Verdict        verdict.Verdict
	Reason         verdict.Reason
	Message        string
	PURL           string
	Artifact       string
	Up256, Up512   string
}

func TestRoundTrip(t *testing.T) {
	s := newSigner(t)
	purl := "pkg:npm/is-number@7.0.0"
	tests := []struct {
		v    verdict.Verdict
		want summary
	}{
		{verdict.Identical, summary{3, true, true, ResultPassed, verdict.Identical, "", "", purl, artifact, upSHA256, upSHA512}},
		{verdict.Equivalent, summary{3, true, true, ResultPassed, verdict.Equivalent, "", "", purl, artifact, upSHA256, upSHA512}},
		{verdict.Mismatch, summary{3, true, true, ResultFailed, verdict.Mismatch, verdict.ReasonContentMismatch, "index.js differs", purl, artifact, upSHA256, upSHA512}},
		{verdict.BuildFailed, summary{1, false, false, ResultFailed, verdict.BuildFailed, verdict.ReasonBuildCommand, "npm pack exited 1", purl, artifact, upSHA256, upSHA512}},
		{verdict.NoSource, summary{1, false, false, ResultFailed, verdict.NoSource, verdict.ReasonNoGitRef, "no commit matched 7.0.0", purl, artifact, upSHA256, upSHA512}},
		// A digest the registry did not vouch for is never the subject.
		{verdict.UpstreamError, summary{1, false, false, ResultFailed, verdict.UpstreamError, verdict.ReasonDigestMismatch, "tarball does not match integrity", purl, "", "", ""}},
	}
	for _, tc := range tests {
		t.Run(string(tc.v), func(t *testing.T) {
			b, err := Bundle(s, testInput(t, tc.v))
			if err != nil {
				t.Fatal(err)
			}
			got, err := VerifyBundle(b, []*PublicKey{s.Public()})
			if err != nil {
				t.Fatal(err)
			}
			sum := summary{
				Lines: bytes.Count(b, []byte("\n")), Rebuild: got.Rebuild != nil, Equiv: got.Equivalence != nil,
				Result: got.VerificationResult, Verdict: got.Verdict, Reason: got.Reason, Message: got.Message,
				PURL: got.PURL, Artifact: got.Artifact, Up256: got.UpstreamSHA256, Up512: got.UpstreamSHA512,
			}
			if diff := cmp.Diff(tc.want, sum); diff != "" {
				t.Errorf("verified bundle (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{s.KeyID()}, got.KeyIDs); diff != "" {
				t.Errorf("key IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func lines(b []byte) [][]byte { return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) }

func decodeLine(t *testing.T, line []byte) (*dsse.Envelope, *ita1.Statement) {
	t.Helper()
	var env dsse.Envelope
	if err := json.Unmarshal(line, &env); err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != PayloadType {
		t.Errorf("payloadType %q", env.PayloadType)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	var st ita1.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	return &env, &st
}

func provenance(t *testing.T, st *ita1.Statement) *slsa1.Provenance {
	t.Helper()
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	var p slsa1.Provenance
	if err := protojson.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

type rd struct {
	Name, URI, MediaType string
	Digest               map[string]string
	Annotations          map[string]any
	HasContent           bool
}

func rds(in []*ita1.ResourceDescriptor) []rd {
	var out []rd
	for _, r := range in {
		var ann map[string]any
		if r.GetAnnotations() != nil {
			ann = r.GetAnnotations().AsMap()
		}
		out = append(out, rd{r.GetName(), r.GetUri(), r.GetMediaType(), r.GetDigest(), ann, len(r.GetContent()) > 0})
	}
	return out
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestStatementContents(t *testing.T) {
	s := newSigner(t)
	in := testInput(t, verdict.Mismatch)
	b, err := Bundle(s, in)
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(b)
	if len(ls) != 3 {
		t.Fatalf("%d lines, want 3", len(ls))
	}

	// Rebuild.
	_, st := decodeLine(t, ls[0])
	if st.GetType() != ita1.StatementTypeUri || st.GetPredicateType() != PredicateProvenance {
		t.Errorf("rebuild statement type %q predicate %q", st.GetType(), st.GetPredicateType())
	}
	if diff := cmp.Diff([]rd{{Name: artifact, Digest: map[string]string{"sha256": rebSHA256}}}, rds(st.GetSubject())); diff != "" {
		t.Errorf("rebuild subject (-want +got):\n%s", diff)
	}
	p := provenance(t, st)
	bd := p.GetBuildDefinition()
	if bd.GetBuildType() != BuildTypeRebuild {
		t.Errorf("buildType %q", bd.GetBuildType())
	}
	wantExt := map[string]any{"purl": "pkg:npm/is-number@7.0.0", "ecosystem": "npm", "package": "is-number", "version": "7.0.0", "artifact": artifact}
	if diff := cmp.Diff(wantExt, bd.GetExternalParameters().AsMap()); diff != "" {
		t.Errorf("externalParameters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"sandbox": "bwrap", "strategy": "npm-pack"}, bd.GetInternalParameters().AsMap()); diff != "" {
		t.Errorf("internalParameters (-want +got):\n%s", diff)
	}
	wantDeps := []rd{
		{Name: "source", URI: "git+https://github.com/jonschlinkert/is-number", Digest: map[string]string{"gitCommit": commit}, Annotations: map[string]any{"dir": "pkg"}},
		{Name: "node", Annotations: map[string]any{"kind": "toolchain", "version": "20.20.2"}},
		{Name: "npm", Annotations: map[string]any{"kind": "toolchain", "version": "10.8.2"}},
		{URI: "https://registry.npmjs.org/left-pad", Digest: map[string]string{"sha256": netSHA}},
	}
	if diff := cmp.Diff(wantDeps, rds(bd.GetResolvedDependencies())); diff != "" {
		t.Errorf("resolvedDependencies (-want +got):\n%s", diff)
	}
	rdt := p.GetRunDetails()
	if rdt.GetBuilder().GetId() != builderID || rdt.GetMetadata().GetInvocationId() != "run-1" ||
		!rdt.GetMetadata().GetStartedOn().AsTime().Equal(in.Started) || !rdt.GetMetadata().GetFinishedOn().AsTime().Equal(in.Finished) {
		t.Errorf("runDetails = %v", rdt)
	}
	defJSON, _ := in.Definition.JSON()
	netLog, _ := json.Marshal(in.Network)
	wantBy := []rd{
		{Name: "build-definition.json", MediaType: "application/json", Digest: map[string]string{"sha256": sha(defJSON)}, HasContent: true},
		{Name: "build.log", Digest: map[string]string{"sha256": sha(in.BuildLog)}},
		{Name: "network.log.json", MediaType: "application/json", Digest: map[string]string{"sha256": sha(netLog)}},
		{Name: "findings", Annotations: map[string]any{
			"findings":       []any{"hidden remote dependency: https://example.com/x.tgz"},
			"deniedRequests": []any{map[string]any{"method": "GET", "url": "https://example.com/x.tgz", "finding": "hidden remote dependency"}},
		}},
	}
	if diff := cmp.Diff(wantBy, rds(rdt.GetByproducts())); diff != "" {
		t.Errorf("byproducts (-want +got):\n%s", diff)
	}
	if got := rdt.GetByproducts()[0].GetContent(); !bytes.Equal(got, defJSON) {
		t.Errorf("inline definition %s, want %s", got, defJSON)
	}

	// ArtifactEquivalence.
	_, st = decodeLine(t, ls[1])
	if diff := cmp.Diff([]rd{{Name: artifact, Digest: map[string]string{"sha256": upSHA256, "sha512": upSHA512}}}, rds(st.GetSubject())); diff != "" {
		t.Errorf("equivalence subject (-want +got):\n%s", diff)
	}
	p = provenance(t, st)
	if p.GetBuildDefinition().GetBuildType() != BuildTypeArtifactEquivalence {
		t.Errorf("buildType %q", p.GetBuildDefinition().GetBuildType())
	}
	wantDeps = []rd{
		{Name: "rebuild/" + artifact, Digest: map[string]string{"sha256": rebSHA256}},
		{Name: "upstream/" + artifact, URI: in.Result.Upstream.URL, Digest: map[string]string{"sha256": upSHA256, "sha512": upSHA512}},
	}
	if diff := cmp.Diff(wantDeps, rds(p.GetBuildDefinition().GetResolvedDependencies())); diff != "" {
		t.Errorf("equivalence resolvedDependencies (-want +got):\n%s", diff)
	}
	diffJSON := []byte(`{"differences":1,"changed":["package/index.js"]}`)
	wantBy = []rd{
		{Name: "stabilizers", Annotations: map[string]any{"applied": []any{}}},
		{Name: "comparison", Annotations: map[string]any{"verdict": "mismatch", "reason": "content_mismatch"}},
		{Name: "diff-summary.json", MediaType: "application/json", Digest: map[string]string{"sha256": sha(diffJSON)}, HasContent: true},
	}
	if diff := cmp.Diff(wantBy, rds(p.GetRunDetails().GetByproducts())); diff != "" {
		t.Errorf("equivalence byproducts (-want +got):\n%s", diff)
	}

	// VSA.
	env, st := decodeLine(t, ls[2])
	_ = env
	wantSubj := []rd{{Name: artifact, Digest: map[string]string{"sha256": upSHA256, "sha512": upSHA512},
		Annotations: map[string]any{"verdict": "mismatch", "reason": "content_mismatch", "message": "index.js differs"}}}
	if diff := cmp.Diff(wantSubj, rds(st.GetSubject())); diff != "" {
		t.Errorf("VSA subject (-want +got):\n%s", diff)
	}
	if st.GetPredicateType() != PredicateVSA {
		t.Errorf("VSA predicateType %q", st.GetPredicateType())
	}
	pb, _ := protojson.Marshal(st.GetPredicate())
	var vsa vsa1.VerificationSummary
	if err := protojson.Unmarshal(pb, &vsa); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, ia := range vsa.GetInputAttestations() {
		inputs = append(inputs, ia.GetUri()+" "+ia.GetDigest()["sha256"])
	}
	payload0, _ := mustEnv(t, ls[0]).DecodeB64Payload()
	payload1, _ := mustEnv(t, ls[1]).DecodeB64Payload()
	wantInputs := []string{
		"npm/is-number/7.0.0/" + artifact + "/rebuild.intoto.jsonl#L1 " + sha(payload0),
		"npm/is-number/7.0.0/" + artifact + "/rebuild.intoto.jsonl#L2 " + sha(payload1),
	}
	if diff := cmp.Diff(wantInputs, inputs); diff != "" {
		t.Errorf("inputAttestations (-want +got):\n%s", diff)
	}
	if vsa.GetVerifier().GetId() != builderID || vsa.GetResourceUri() != "pkg:npm/is-number@7.0.0" ||
		vsa.GetPolicy().GetUri() != PolicyReproducible || vsa.GetVerificationResult() != ResultFailed ||
		len(vsa.GetVerifiedLevels()) != 0 || !vsa.GetTimeVerified().AsTime().Equal(in.Finished) {
		t.Errorf("VSA = %v", &vsa)
	}
}

func TestVSAPassedAndPURLSubject(t *testing.T) {
	s := newSigner(t)
	b, err := Bundle(s, testInput(t, verdict.Equivalent))
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(b)
	_, st := decodeLine(t, ls[2])
	pb, _ := protojson.Marshal(st.GetPredicate())
	var vsa vsa1.VerificationSummary
	if err := protojson.Unmarshal(pb, &vsa); err != nil {
		t.Fatal(err)
	}
	if vsa.GetVerificationResult() != ResultPassed || !cmp.Equal(vsa.GetVerifiedLevels(), []string{LevelReproduced}) {
		t.Errorf("VSA result %s levels %v", vsa.GetVerificationResult(), vsa.GetVerifiedLevels())
	}
	// Equivalent: stabilized digest and stabilizers recorded.
	_, eq := decodeLine(t, ls[1])
	got := rds(provenance(t, eq).GetRunDetails().GetByproducts())[:2]
	want := []rd{
		{Name: "stabilized/" + artifact, Digest: map[string]string{"sha256": stabSHA}},
		{Name: "stabilizers", Annotations: map[string]any{"applied": []any{"tar-mtime", "gzip-header"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("equivalent byproducts (-want +got):\n%s", diff)
	}

	b, err = Bundle(s, testInput(t, verdict.UpstreamError))
	if err != nil {
		t.Fatal(err)
	}
	_, st = decodeLine(t, lines(b)[0])
	if diff := cmp.Diff([]rd{{URI: "pkg:npm/is-number@7.0.0", Annotations: map[string]any{
		"verdict": "upstream_error", "reason": "digest_mismatch", "message": "tarball does not match integrity"}}}, rds(st.GetSubject())); diff != "" {
		t.Errorf("purl-only VSA subject (-want +got):\n%s", diff)
	}
}

func mustEnv(t *testing.T, line []byte) *dsse.Envelope {
	t.Helper()
	env, _ := decodeLine(t, line)
	return env
}

func encodeEnv(t *testing.T, env *dsse.Envelope) []byte {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func join(ls [][]byte) []byte { return append(bytes.Join(ls, []byte("\n")), '\n') }

func TestVerifyRejects(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	good, err := Bundle(s, testInput(t, verdict.Identical))
	if err != nil {
		t.Fatal(err)
	}
	keys := []*PublicKey{s.Public()}

	alter := func(i int, f func(env *dsse.Envelope)) []byte {
		ls := lines(good)
		env := mustEnv(t, ls[i])
		f(env)
		ls[i] = encodeEnv(t, env)
		return join(ls)
	}
	tests := []struct {
		name string
		data []byte
		keys []*PublicKey
		want error
	}{
		{"wrong key", good, []*PublicKey{other.Public()}, ErrSignature},
		{"no keys", good, nil, ErrNoTrustedKeys},
		{"altered payload", alter(2, func(env *dsse.Envelope) {
			p, _ := env.DecodeB64Payload()
			p = bytes.Replace(p, []byte("PASSED"), []byte("FAILED"), 1)
			env.Payload = base64.StdEncoding.EncodeToString(p)
		}), keys, ErrSignature},
		{"signature from another line", alter(0, func(env *dsse.Envelope) {
			env.Signatures = mustEnv(t, lines(good)[1]).Signatures
		}), keys, ErrSignature},
		{"payload type", alter(1, func(env *dsse.Envelope) { env.PayloadType = "text/plain" }), keys, ErrPayloadType},
		{"signature garbage", alter(0, func(env *dsse.Envelope) { env.Signatures[0].Sig = "!!!" }), keys, ErrSignature},
		{"truncated mid-line", good[:len(good)-40], keys, ErrMalformed},
		{"truncated at line", join(lines(good)[:2]), keys, ErrStatement},
		{"empty", nil, keys, ErrMalformed},
		{"garbage", []byte("hello world\n"), keys, ErrMalformed},
		{"json array", []byte("[1,2]\n"), keys, ErrMalformed},
		{"empty object", []byte("{}\n"), keys, ErrMalformed},
		{"unknown field", []byte(`{"payloadType":"x","payload":"eA==","signatures":[{"sig":"eA=="}],"evil":1}`), keys, ErrMalformed},
		{"two envelopes on a line", bytes.Replace(good, []byte("}\n{"), []byte("}{"), 1), keys, ErrMalformed},
		{"too many lines", bytes.Repeat(append(lines(good)[0], '\n'), MaxBundleLines+1), keys, ErrMalformed},
		{"too large", make([]byte, MaxBundleSize+1), keys, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := VerifyBundle(tc.data, tc.keys)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyBundle: %v (verified %v), want %v", err, v != nil, tc.want)
			}
			if tc.want != ErrNoTrustedKeys {
				var be *BundleError
				if !errors.As(err, &be) {
					t.Errorf("error %T is not a *BundleError", err)
				}
			}
		})
	}

	// Two keys, one trusted: fine; the trusted one is reported.
	v, err := VerifyBundle(good, []*PublicKey{other.Public(), s.Public(), s.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{s.KeyID()}, v.KeyIDs); diff != "" {
		t.Errorf("key IDs (-want +got):\n%s", diff)
	}
}

func TestVerifyRejectsInconsistentStatements(t *testing.T) {
	s := newSigner(t)
	a, err := Bundle(s, testInput(t, verdict.Identical))
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(t, verdict.Identical)
	in.Target.Version = "7.0.1"
	b, err := Bundle(s, in)
	if err != nil {
		t.Fatal(err)
	}
	// Signed statements spliced from two bundles.
	mixed := join([][]byte{lines(a)[0], lines(a)[1], lines(b)[2]})
	if _, err := VerifyBundle(mixed, []*PublicKey{s.Public()}); !errors.Is(err, ErrStatement) {
		t.Errorf("spliced bundle: %v, want ErrStatement", err)
	}
	dup := join([][]byte{lines(a)[0], lines(a)[0], lines(a)[2]})
	if _, err := VerifyBundle(dup, []*PublicKey{s.Public()}); !errors.Is(err, ErrStatement) {
		t.Errorf("duplicated statement: %v, want ErrStatement", err)
	}
}

func TestBundleInputErrors(t *testing.T) {
	s := newSigner(t)
	in := testInput(t, verdict.Identical)
	in.BuilderID = ""
	if _, err := Bundle(s, in); err == nil {
		t.Error("bundle without builder ID accepted")
	}
	in = testInput(t, verdict.Identical)
	in.Result = nil
	if _, err := Bundle(s, in); err == nil {
		t.Error("bundle without result accepted")
	}
}

func FuzzParseBundle(f *testing.F) {
	s, err := Generate(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	in := Input{
		Target:    target.Target{Ecosystem: target.NPM, Name: "a", Version: "1.0.0"},
		Result:    &verdict.Result{Artifact: "a-1.0.0.tgz", Verdict: verdict.NoSource, Reason: verdict.ReasonNoRepoURL},
		BuilderID: builderID,
	}
	good, err := Bundle(s, in)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"payloadType":"x","payload":"eA==","signatures":[{"keyid":"","sig":"eA=="}]}`))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte(strings.Repeat("{\"a\":", 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		envs, err := ParseBundle(data)
		if err != nil {
			var be *BundleError
			if !errors.As(err, &be) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not a malformed-bundle error", err)
			}
			return
		}
		if len(envs) == 0 || len(envs) > MaxBundleLines {
			t.Fatalf("%d envelopes", len(envs))
		}
		for _, e := range envs {
			if e.PayloadType == "" || len(e.Signatures) == 0 {
				t.Fatalf("accepted incomplete envelope %+v", e)
			}
		}
		// Verifying parseable input must not panic; a verified result always has a VSA.
		if v, err := VerifyBundle(data, []*PublicKey{s.Public()}); err == nil && v.VSA == nil {
			t.Fatal("verified bundle without a verification summary")
		}
	})
}
