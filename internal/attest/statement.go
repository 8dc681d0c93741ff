// Package attest builds, signs and verifies vouch's evidence (design §1.7): in-toto
// Statement v1 documents with SLSA Provenance v1 and Verification Summary (VSA) v1
// predicates, each in a DSSE envelope signed with an ECDSA P-256 key, one envelope per
// line of a JSON Lines bundle ("rebuild.intoto.jsonl").
//
// A bundle holds, in this order, the statements that apply to a run:
//
//   - Rebuild (predicateType PredicateProvenance, buildType BuildTypeRebuild): only when a
//     build ran and produced an artifact. Subject: the rebuilt artifact.
//   - ArtifactEquivalence (PredicateProvenance, BuildTypeArtifactEquivalence): when the
//     comparison ran (identical, equivalent or mismatch). Subject: the upstream artifact.
//   - Verification summary (PredicateVSA): always, for every outcome, negative ones too.
//
// Where consumers find the verdict: the VSA's verificationResult is PASSED (with
// verifiedLevels [SLSA_BUILD_REPRODUCED]) for identical/equivalent and FAILED otherwise; the
// exact verdict, reason code and message are in the annotations of the VSA's (single)
// subject under the keys AnnotationVerdict, AnnotationReason and AnnotationMessage
// ("verdict", "reason", "message"). The VSA predicate proto has no field for them.
package attest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	vsa1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// URIs and names written into statements. The predicate types are the SLSA ones
// (https://slsa.dev/spec/v1.0/provenance, https://slsa.dev/spec/v1.0/verification_summary);
// the build types and the policy are vouch's own and identify the schema of the
// parameters described in this package's documentation.
const (
	PayloadType = "application/vnd.in-toto+json" // in-toto attestation framework, DSSE payloadType

	PredicateProvenance = "https://slsa.dev/provenance/v1"
	PredicateVSA        = "https://slsa.dev/verification_summary/v1"

	// BuildTypeRebuild: externalParameters {purl, ecosystem, package, version, artifact},
	// internalParameters {sandbox, strategy}.
	BuildTypeRebuild = "https://vouch.dev/rebuild/v1"
	// BuildTypeArtifactEquivalence: the comparison of a rebuilt and an upstream artifact,
	// externalParameters as for BuildTypeRebuild.
	BuildTypeArtifactEquivalence = "https://vouch.dev/artifact-equivalence/v1"
	// PolicyReproducible is the VSA policy: the upstream artifact is identical to, or
	// equivalent after documented stabilizers to, an artifact rebuilt from source.
	PolicyReproducible = "https://vouch.dev/policy/reproducible/v1"
	// LevelReproduced is the VSA verifiedLevel of a reproduced artifact.
	LevelReproduced = "SLSA_BUILD_REPRODUCED"

	ResultPassed = "PASSED"
	ResultFailed = "FAILED"

	// Annotation keys on the VSA subject.
	AnnotationVerdict = "verdict"
	AnnotationReason  = "reason"
	AnnotationMessage = "message"
)

// Input is everything one run contributes to its attestations.
type Input struct {
	Target target.Target
	Result *verdict.Result
	// Definition is nil if the pipeline failed before a definition existed.
	Definition *definition.BuildDefinition
	BuildLog   []byte
	Network    []egress.Record
	BuilderID  string
	// InvocationID identifies the run in runDetails.metadata; a random one is made when empty.
	InvocationID      string
	Started, Finished time.Time
}

func (in *Input) validate() error {
	if in.Result == nil {
		return errors.New("attest: no result")
	}
	if in.BuilderID == "" {
		return errors.New("attest: builder ID is required")
	}
	if in.Result.Artifact == "" {
		return errors.New("attest: result names no artifact")
	}
	return in.Target.Validate()
}

func (in *Input) invocationID() string {
	if in.InvocationID != "" {
		return in.InvocationID
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	in.InvocationID = hex.EncodeToString(b[:])
	return in.InvocationID
}

// compared reports whether the compare step ran.
func compared(r *verdict.Result) bool {
	switch r.Verdict {
	case verdict.Identical, verdict.Equivalent, verdict.Mismatch:
		return r.Upstream != nil && r.Upstream.SHA256 != "" && r.Rebuild != nil && r.Rebuild.SHA256 != ""
	}
	return false
}

func built(r *verdict.Result) bool { return r.Rebuild != nil && r.Rebuild.SHA256 != "" }

// RebuildStatement is the SLSA provenance of the rebuilt artifact, or nil if no artifact was built.
func RebuildStatement(in Input) (*ita1.Statement, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	r := in.Result
	if !built(r) {
		return nil, nil
	}
	deps := []*ita1.ResourceDescriptor{}
	if src := sourceOf(in); src != nil {
		rd := &ita1.ResourceDescriptor{
			Name:   "source",
			Uri:    "git+" + src.Repo,
			Digest: map[string]string{"gitCommit": src.Ref},
		}
		if src.Evidence == "sdist" {
			// The source is the registry's own sdist (PyPI wheel-from-sdist): a file named by
			// URL and sha256, not a repository commit.
			rd.Uri, rd.Digest = src.Repo, map[string]string{"sha256": src.Ref}
			rd.Annotations = mustStruct(map[string]any{"kind": "sdist"})
		}
		if src.Dir != "" {
			rd.Annotations = mustStruct(map[string]any{"dir": src.Dir})
		}
		deps = append(deps, rd)
	}
	tc := r.Toolchain
	if len(tc) == 0 && in.Definition != nil {
		tc = in.Definition.Toolchain
	}
	for _, name := range definition.SortedKeys(tc) {
		deps = append(deps, &ita1.ResourceDescriptor{
			Name:        name,
			Annotations: mustStruct(map[string]any{"kind": "toolchain", "version": tc[name]}),
		})
	}
	for _, rec := range in.Network {
		if rec.SHA256 == "" {
			continue
		}
		deps = append(deps, &ita1.ResourceDescriptor{
			Uri:    rec.URL,
			Digest: map[string]string{"sha256": rec.SHA256},
		})
	}

	var byproducts []*ita1.ResourceDescriptor
	if in.Definition != nil {
		defJSON, err := in.Definition.JSON()
		if err != nil {
			return nil, fmt.Errorf("encoding build definition: %w", err)
		}
		byproducts = append(byproducts, &ita1.ResourceDescriptor{
			Name:      "build-definition.json",
			MediaType: "application/json",
			Content:   defJSON,
			Digest:    map[string]string{"sha256": sha256Hex(defJSON)},
		})
	}
	byproducts = append(byproducts, &ita1.ResourceDescriptor{
		Name:   "build.log",
		Digest: map[string]string{"sha256": sha256Hex(in.BuildLog)},
	})
	netLog, err := NetworkLog(in.Network)
	if err != nil {
		return nil, err
	}
	byproducts = append(byproducts, &ita1.ResourceDescriptor{
		Name:      "network.log.json",
		MediaType: "application/json",
		Digest:    map[string]string{"sha256": sha256Hex(netLog)},
	})
	var denied []any
	for _, rec := range in.Network {
		if rec.Denied {
			denied = append(denied, map[string]any{"method": rec.Method, "url": rec.URL, "finding": rec.Finding})
		}
	}
	if len(r.Findings) > 0 || len(denied) > 0 {
		findings := make([]any, len(r.Findings))
		for i, f := range r.Findings {
			findings[i] = f
		}
		byproducts = append(byproducts, &ita1.ResourceDescriptor{
			Name:        "findings",
			Annotations: mustStruct(map[string]any{"findings": findings, "deniedRequests": denied}),
		})
	}

	strategy := r.Strategy
	if strategy == "" && in.Definition != nil {
		strategy = in.Definition.Strategy.Name
	}
	pred := &slsa1.Provenance{
		BuildDefinition: &slsa1.BuildDefinition{
			BuildType:            BuildTypeRebuild,
			ExternalParameters:   externalParameters(in),
			InternalParameters:   mustStruct(map[string]any{"sandbox": r.Sandbox, "strategy": strategy}),
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa1.RunDetails{
			Builder:    &slsa1.Builder{Id: in.BuilderID},
			Metadata:   metadata(&in),
			Byproducts: byproducts,
		},
	}
	subject := &ita1.ResourceDescriptor{Name: r.Artifact, Digest: map[string]string{"sha256": r.Rebuild.SHA256}}
	return statement(subject, PredicateProvenance, pred)
}

// EquivalenceStatement is the comparison of rebuilt and upstream artifacts, or nil if the
// comparison did not run.
func EquivalenceStatement(in Input) (*ita1.Statement, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	r := in.Result
	if !compared(r) {
		return nil, nil
	}
	upstream := upstreamDigest(r)
	deps := []*ita1.ResourceDescriptor{
		{Name: "rebuild/" + r.Artifact, Digest: map[string]string{"sha256": r.Rebuild.SHA256}},
		{Name: "upstream/" + r.Artifact, Uri: r.Upstream.URL, Digest: upstream},
	}
	var byproducts []*ita1.ResourceDescriptor
	if r.StabilizedSHA256 != "" {
		byproducts = append(byproducts, &ita1.ResourceDescriptor{
			Name:   "stabilized/" + r.Artifact,
			Digest: map[string]string{"sha256": r.StabilizedSHA256},
		})
	}
	stabs := make([]any, len(r.Stabilizers))
	for i, s := range r.Stabilizers {
		stabs[i] = s
	}
	byproducts = append(byproducts, &ita1.ResourceDescriptor{
		Name:        "stabilizers",
		Annotations: mustStruct(map[string]any{"applied": stabs}),
	})
	byproducts = append(byproducts, &ita1.ResourceDescriptor{
		Name:        "comparison",
		Annotations: mustStruct(map[string]any{"verdict": string(r.Verdict), "reason": string(r.Reason)}),
	})
	if r.Verdict == verdict.Mismatch && r.Diff != nil {
		d := *r.Diff
		d.Path = "" // a local path means nothing to consumers
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encoding diff summary: %w", err)
		}
		byproducts = append(byproducts, &ita1.ResourceDescriptor{
			Name:      "diff-summary.json",
			MediaType: "application/json",
			Content:   b,
			Digest:    map[string]string{"sha256": sha256Hex(b)},
		})
	}
	pred := &slsa1.Provenance{
		BuildDefinition: &slsa1.BuildDefinition{
			BuildType:            BuildTypeArtifactEquivalence,
			ExternalParameters:   externalParameters(in),
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa1.RunDetails{
			Builder:    &slsa1.Builder{Id: in.BuilderID},
			Metadata:   metadata(&in),
			Byproducts: byproducts,
		},
	}
	subject := &ita1.ResourceDescriptor{Name: r.Artifact, Digest: upstream}
	return statement(subject, PredicateProvenance, pred)
}

// InputAttestation names a statement the VSA is based on: uri relative to the store root
// and the sha256 of the DSSE payload (the serialized statement).
type InputAttestation struct {
	URI    string
	SHA256 string
}

// VSAStatement is the verification summary of any outcome.
func VSAStatement(in Input, inputs []InputAttestation) (*ita1.Statement, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	r := in.Result
	ann := mustStruct(map[string]any{
		AnnotationVerdict: string(r.Verdict),
		AnnotationReason:  string(r.Reason),
		AnnotationMessage: r.Message,
	})
	purl := in.Target.PURL()
	subject := &ita1.ResourceDescriptor{Uri: purl, Annotations: ann}
	// An upstream_error digest is that of something the registry's own digest did not
	// vouch for (design §1.1: reported, never attested), so it is not used as the subject.
	if r.Upstream != nil && r.Upstream.SHA256 != "" && r.Verdict != verdict.UpstreamError {
		subject = &ita1.ResourceDescriptor{Name: r.Artifact, Digest: upstreamDigest(r), Annotations: ann}
	}
	result, levels := ResultFailed, []string(nil)
	if r.Verdict.Success() {
		result, levels = ResultPassed, []string{LevelReproduced}
	}
	when := in.Finished
	if when.IsZero() {
		when = time.Now()
	}
	pred := &vsa1.VerificationSummary{
		Verifier:           &vsa1.VerificationSummary_Verifier{Id: in.BuilderID},
		TimeVerified:       timestamppb.New(when.UTC()),
		ResourceUri:        purl,
		Policy:             &vsa1.VerificationSummary_Policy{Uri: PolicyReproducible},
		VerificationResult: result,
		VerifiedLevels:     levels,
		SlsaVersion:        "1.0",
	}
	for _, ia := range inputs {
		pred.InputAttestations = append(pred.InputAttestations, &vsa1.VerificationSummary_InputAttestation{
			Uri:    ia.URI,
			Digest: map[string]string{"sha256": ia.SHA256},
		})
	}
	return statement(subject, PredicateVSA, pred)
}

type source struct{ Repo, Ref, Dir, Evidence string }

func sourceOf(in Input) *source {
	if s := in.Result.Source; s != nil && s.Repo != "" && s.Ref != "" {
		return &source{s.Repo, s.Ref, s.Dir, s.Evidence}
	}
	if d := in.Definition; d != nil && d.Location.Repo != "" && d.Location.Ref != "" {
		return &source{d.Location.Repo, d.Location.Ref, d.Location.Dir, d.Location.Evidence}
	}
	return nil
}

func upstreamDigest(r *verdict.Result) map[string]string {
	d := map[string]string{"sha256": r.Upstream.SHA256}
	if r.Upstream.SHA512 != "" {
		d["sha512"] = r.Upstream.SHA512
	}
	return d
}

func externalParameters(in Input) *structpb.Struct {
	return mustStruct(map[string]any{
		"purl":      in.Target.PURL(),
		"ecosystem": string(in.Target.Ecosystem),
		"package":   in.Target.PackageName(),
		"version":   in.Target.Version,
		"artifact":  in.Result.Artifact,
	})
}

func metadata(in *Input) *slsa1.BuildMetadata {
	m := &slsa1.BuildMetadata{InvocationId: in.invocationID()}
	if !in.Started.IsZero() {
		m.StartedOn = timestamppb.New(in.Started.UTC())
	}
	if !in.Finished.IsZero() {
		m.FinishedOn = timestamppb.New(in.Finished.UTC())
	}
	return m
}

// NetworkLog is the canonical JSON form of a build's network log, whose sha256 the Rebuild
// statement records: encoding/json of the records in order (nil encodes as []).
func NetworkLog(recs []egress.Record) ([]byte, error) {
	if recs == nil {
		recs = []egress.Record{}
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("encoding network log: %w", err)
	}
	return b, nil
}

// StoreURI is where a bundle lives relative to an attestation store root or mirror.
func StoreURI(t target.Target, artifact string) string {
	return path.Join(t.StoreDir(artifact), BundleFile)
}

func statement(subject *ita1.ResourceDescriptor, predicateType string, pred proto.Message) (*ita1.Statement, error) {
	b, err := protojson.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("encoding predicate: %w", err)
	}
	var st structpb.Struct
	if err := protojson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("encoding predicate: %w", err)
	}
	return &ita1.Statement{
		Type:          ita1.StatementTypeUri,
		Subject:       []*ita1.ResourceDescriptor{subject},
		PredicateType: predicateType,
		Predicate:     &st,
	}, nil
}

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		// Only called with strings, []any of strings and maps of those.
		panic(fmt.Sprintf("attest: building struct: %v", err))
	}
	return s
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
