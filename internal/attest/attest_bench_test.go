package attest

import (
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// benchInput is the input of an equivalent npm rebuild with a typical network log (40
// registry requests).
func benchInput(b *testing.B) Input {
	tg, err := target.Parse("pkg:npm/is-number@7.0.0")
	if err != nil {
		b.Fatal(err)
	}
	res := &verdict.Result{
		PURL: tg.PURL(), Artifact: artifact, Verdict: verdict.Equivalent,
		Upstream:         &verdict.Upstream{URL: "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz", SHA256: upSHA256, SHA512: upSHA512},
		Source:           &verdict.Source{Repo: "https://github.com/jonschlinkert/is-number", Ref: commit},
		Strategy:         "npm-pack",
		Sandbox:          "bwrap",
		Toolchain:        map[string]string{"node": "20.20.2", "npm": "10.8.2"},
		Rebuild:          &verdict.Rebuilt{SHA256: rebSHA256},
		StabilizedSHA256: stabSHA,
		Stabilizers:      []string{"gzip-layer", "tar-mtime"},
	}
	var network []egress.Record
	for range 40 {
		network = append(network, egress.Record{Method: "GET", URL: "https://registry.npmjs.org/left-pad", Status: 200, Size: 1000, SHA256: netSHA})
	}
	return Input{
		Target: tg, Result: res, BuildLog: make([]byte, 64<<10), Network: network, BuilderID: builderID,
		Definition: &definition.BuildDefinition{APIVersion: definition.APIVersion, PURL: tg.PURL(), Artifact: artifact,
			Location: definition.Location{Repo: res.Source.Repo, Ref: commit}, Strategy: definition.Strategy{Name: "npm-pack"}, Toolchain: res.Toolchain},
		Started: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Finished: time.Date(2024, 5, 1, 10, 5, 0, 0, time.UTC),
	}
}

// BenchmarkBundleSign creates and signs a rebuild's bundle (three statements, three ECDSA
// P-256 signatures). Reports bundles/s.
func BenchmarkBundleSign(b *testing.B) {
	s, err := Generate(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput(b)
	for b.Loop() {
		if _, err := Bundle(s, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

// BenchmarkBundleVerify parses and verifies a bundle against one trusted key. Reports bundles/s.
func BenchmarkBundleVerify(b *testing.B) {
	s, err := Generate(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := Bundle(s, benchInput(b))
	if err != nil {
		b.Fatal(err)
	}
	keys := []*PublicKey{s.Public()}
	for b.Loop() {
		if _, err := VerifyBundle(bundle, keys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}
