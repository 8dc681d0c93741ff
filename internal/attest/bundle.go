package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	vsa1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// BundleFile is the file name of a bundle in the store layout (OSS Rebuild's name).
const BundleFile = "rebuild.intoto.jsonl"

// Limits on bundles read from untrusted places.
const (
	MaxBundleSize       = 16 << 20
	MaxBundleLines      = 64
	maxSignaturesPerEnv = 16
)

// Errors of bundle parsing and verification; match with errors.Is. The returned error is a
// *BundleError saying which line failed.
var (
	ErrMalformed     = errors.New("malformed attestation bundle")
	ErrPayloadType   = errors.New("unexpected DSSE payload type")
	ErrSignature     = errors.New("no valid signature by a trusted key")
	ErrStatement     = errors.New("invalid attestation statement")
	ErrNoTrustedKeys = errors.New("no trusted keys given")
)

// BundleError locates a problem in a bundle. Line is 1-based; 0 means the bundle as a whole.
type BundleError struct {
	Line int
	Err  error
}

func (e *BundleError) Error() string {
	if e.Line == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *BundleError) Unwrap() error { return e.Err }

func bundleErr(line int, kind error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if msg == "" {
		return &BundleError{Line: line, Err: kind}
	}
	return &BundleError{Line: line, Err: fmt.Errorf("%w: %s", kind, msg)}
}

// Bundle signs the statements that apply to in (Rebuild, ArtifactEquivalence, VSA, in that
// order) and returns them as JSON Lines, one DSSE envelope per line.
func Bundle(s *Signer, in Input) ([]byte, error) {
	if s == nil {
		return nil, errors.New("attest: no signer")
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	in.invocationID() // one ID shared by every statement of the run
	signer, err := dsse.NewEnvelopeSigner(envelopeSigner{s})
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	rebuild, err := RebuildStatement(in)
	if err != nil {
		return nil, fmt.Errorf("building rebuild statement: %w", err)
	}
	equiv, err := EquivalenceStatement(in)
	if err != nil {
		return nil, fmt.Errorf("building equivalence statement: %w", err)
	}
	var buf bytes.Buffer
	var inputs []InputAttestation
	uri := StoreURI(in.Target, in.Result.Artifact)
	for _, st := range []*ita1.Statement{rebuild, equiv} {
		if st == nil {
			continue
		}
		payload, err := signLine(&buf, signer, st)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, InputAttestation{URI: fmt.Sprintf("%s#L%d", uri, len(inputs)+1), SHA256: sha256Hex(payload)})
	}
	vsa, err := VSAStatement(in, inputs)
	if err != nil {
		return nil, fmt.Errorf("building verification summary: %w", err)
	}
	if _, err := signLine(&buf, signer, vsa); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func signLine(buf *bytes.Buffer, signer *dsse.EnvelopeSigner, st *ita1.Statement) ([]byte, error) {
	payload, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	env, err := signer.SignPayload(context.Background(), PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("signing statement: %w", err)
	}
	line, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	buf.Write(line)
	buf.WriteByte('\n')
	return payload, nil
}

// ParseBundle splits a JSON Lines bundle into DSSE envelopes, checking only their shape
// (no signature checks): at most MaxBundleSize bytes and MaxBundleLines envelopes; blank
// lines are ignored.
func ParseBundle(data []byte) ([]*dsse.Envelope, error) {
	if len(data) > MaxBundleSize {
		return nil, bundleErr(0, ErrMalformed, "larger than %d bytes", MaxBundleSize)
	}
	var envs []*dsse.Envelope
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		n := i + 1
		if len(envs) == MaxBundleLines {
			return nil, bundleErr(n, ErrMalformed, "more than %d envelopes", MaxBundleLines)
		}
		env, err := parseEnvelope(line)
		if err != nil {
			return nil, &BundleError{Line: n, Err: err}
		}
		envs = append(envs, env)
	}
	if len(envs) == 0 {
		return nil, bundleErr(0, ErrMalformed, "no envelopes")
	}
	return envs, nil
}

func parseEnvelope(line []byte) (*dsse.Envelope, error) {
	if line[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var env dsse.Envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the envelope", ErrMalformed)
	}
	if env.PayloadType == "" || env.Payload == "" {
		return nil, fmt.Errorf("%w: envelope without payloadType or payload", ErrMalformed)
	}
	if len(env.Signatures) == 0 {
		return nil, fmt.Errorf("%w: envelope without signatures", ErrMalformed)
	}
	if len(env.Signatures) > maxSignaturesPerEnv {
		return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformed, maxSignaturesPerEnv)
	}
	for _, s := range env.Signatures {
		if s.Sig == "" {
			return nil, fmt.Errorf("%w: empty signature", ErrMalformed)
		}
	}
	if _, err := env.DecodeB64Payload(); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return &env, nil
}

// Verified is a bundle whose every envelope verified against a trusted key, decoded.
type Verified struct {
	// Rebuild and Equivalence are nil when the bundle has none (no build / no comparison).
	Rebuild, Equivalence *ita1.Statement
	VSA                  *ita1.Statement
	// VerificationResult is the VSA's PASSED or FAILED.
	VerificationResult string
	Verdict            verdict.Verdict
	Reason             verdict.Reason
	Message            string
	// PURL is the VSA's resourceUri; Artifact the artifact name of the statements ("" when
	// the VSA's subject is the PURL alone).
	PURL     string
	Artifact string
	// UpstreamSHA256/512 are the attested upstream digests ("" when none was attested).
	UpstreamSHA256, UpstreamSHA512 string
	// KeyIDs are the trusted keys that signed, sorted.
	KeyIDs []string
}

// VerifyBundle checks that every envelope of the bundle carries an in-toto statement signed
// by at least one of keys, and decodes them. A bundle must contain exactly one VSA and at
// most one Rebuild and one ArtifactEquivalence statement, all about the same package.
func VerifyBundle(data []byte, keys []*PublicKey) (*Verified, error) {
	if len(keys) == 0 {
		return nil, ErrNoTrustedKeys
	}
	envs, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	// One verifier per distinct key: the dsse package prints when two verifiers share an ID.
	seen := map[string]bool{}
	var verifiers []dsse.Verifier
	for _, k := range keys {
		if k == nil || k.Key == nil || seen[k.ID] {
			continue
		}
		seen[k.ID] = true
		verifiers = append(verifiers, envelopeVerifier{k})
	}
	if len(verifiers) == 0 {
		return nil, ErrNoTrustedKeys
	}
	ev, err := dsse.NewEnvelopeVerifier(verifiers...)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	v := &Verified{}
	keyIDs := map[string]bool{}
	for i, env := range envs {
		n := i + 1
		if env.PayloadType != PayloadType {
			return nil, bundleErr(n, ErrPayloadType, "%q, want %q", truncate(env.PayloadType), PayloadType)
		}
		accepted, payload, err := ev.VerifyAndDecode(context.Background(), env)
		if err != nil || len(accepted) == 0 {
			return nil, bundleErr(n, ErrSignature, "")
		}
		for _, a := range accepted {
			keyIDs[a.KeyID] = true
		}
		if err := v.add(payload); err != nil {
			return nil, &BundleError{Line: n, Err: err}
		}
	}
	if v.VSA == nil {
		return nil, bundleErr(0, ErrStatement, "bundle has no verification summary")
	}
	if err := v.crossCheck(); err != nil {
		return nil, &BundleError{Err: err}
	}
	for id := range keyIDs {
		v.KeyIDs = append(v.KeyIDs, id)
	}
	sort.Strings(v.KeyIDs)
	return v, nil
}

func stmtErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrStatement, fmt.Sprintf(format, args...))
}

func (v *Verified) add(payload []byte) error {
	var st ita1.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return stmtErr("%v", err)
	}
	if st.GetType() != ita1.StatementTypeUri {
		return stmtErr("statement type %q, want %q", truncate(st.GetType()), ita1.StatementTypeUri)
	}
	if len(st.GetSubject()) != 1 {
		return stmtErr("want exactly one subject, have %d", len(st.GetSubject()))
	}
	if st.GetPredicate() == nil {
		return stmtErr("no predicate")
	}
	pb, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return stmtErr("%v", err)
	}
	switch st.GetPredicateType() {
	case PredicateProvenance:
		var prov slsa1.Provenance
		if err := protojson.Unmarshal(pb, &prov); err != nil {
			return stmtErr("provenance: %v", err)
		}
		var slot **ita1.Statement
		switch bt := prov.GetBuildDefinition().GetBuildType(); bt {
		case BuildTypeRebuild:
			slot = &v.Rebuild
		case BuildTypeArtifactEquivalence:
			slot = &v.Equivalence
		default:
			return stmtErr("unknown buildType %q", truncate(bt))
		}
		if *slot != nil {
			return stmtErr("two statements of buildType %s", prov.GetBuildDefinition().GetBuildType())
		}
		*slot = &st
	case PredicateVSA:
		if v.VSA != nil {
			return stmtErr("two verification summaries")
		}
		var sum vsa1.VerificationSummary
		if err := protojson.Unmarshal(pb, &sum); err != nil {
			return stmtErr("verification summary: %v", err)
		}
		v.VSA = &st
		v.VerificationResult = sum.GetVerificationResult()
		v.PURL = sum.GetResourceUri()
		subj := st.GetSubject()[0]
		v.Artifact = subj.GetName()
		v.UpstreamSHA256 = subj.GetDigest()["sha256"]
		v.UpstreamSHA512 = subj.GetDigest()["sha512"]
		ann := subj.GetAnnotations().GetFields()
		v.Verdict = verdict.Verdict(ann[AnnotationVerdict].GetStringValue())
		v.Reason = verdict.Reason(ann[AnnotationReason].GetStringValue())
		v.Message = ann[AnnotationMessage].GetStringValue()
		switch {
		case v.VerificationResult != ResultPassed && v.VerificationResult != ResultFailed:
			return stmtErr("verificationResult %q", truncate(v.VerificationResult))
		case v.Verdict == "":
			return stmtErr("verification summary names no verdict")
		case (v.VerificationResult == ResultPassed) != v.Verdict.Success():
			return stmtErr("verificationResult %s contradicts verdict %q", v.VerificationResult, truncate(string(v.Verdict)))
		}
		if _, err := target.Parse(v.PURL); err != nil {
			return stmtErr("resourceUri: %v", err)
		}
	default:
		return stmtErr("unknown predicateType %q", truncate(st.GetPredicateType()))
	}
	return nil
}

// crossCheck makes sure the statements of one bundle describe the same package and artifact.
func (v *Verified) crossCheck() error {
	for _, st := range []*ita1.Statement{v.Rebuild, v.Equivalence} {
		if st == nil {
			continue
		}
		ext := st.GetPredicate().GetFields()["buildDefinition"].GetStructValue().GetFields()["externalParameters"].GetStructValue().GetFields()
		if purl := ext["purl"].GetStringValue(); purl != v.PURL {
			return stmtErr("statements name different packages (%q and %q)", truncate(purl), truncate(v.PURL))
		}
		if v.Artifact != "" && st.GetSubject()[0].GetName() != v.Artifact {
			return stmtErr("statements name different artifacts")
		}
	}
	if v.Equivalence != nil {
		d := v.Equivalence.GetSubject()[0].GetDigest()
		if d["sha256"] != v.UpstreamSHA256 || d["sha512"] != v.UpstreamSHA512 {
			return stmtErr("equivalence and verification summary attest different upstream digests")
		}
	}
	return nil
}

func truncate(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
