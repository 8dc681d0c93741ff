package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func TestBadInputExitCodes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"no command", nil, 2, ""},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"not a purl", []string{"rebuild", "is-number@7.0.0"}, 2, `starts with "pkg:"`},
		{"malformed purl", []string{"rebuild", "pkg:npm/"}, 2, "invalid package reference"},
		{"unknown ecosystem", []string{"rebuild", "pkg:rubygems/rails@7.0.0"}, 2, "unsupported ecosystem"},
		{"missing version", []string{"infer", "pkg:npm/is-number"}, 2, "missing version"},
		{"traversal in name", []string{"rebuild", "pkg:npm/%2e%2e@1.0.0"}, 2, "not a valid name"},
		{"extra args", []string{"rebuild", "pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0"}, 2, "usage"},
		{"unknown flag", []string{"rebuild", "pkg:npm/a@1.0.0", "--frob"}, 2, "flag provided but not defined"},
		{"bad sandbox", []string{"rebuild", "pkg:npm/a@1.0.0", "--sandbox", "docker"}, 2, "sandbox"},
		{"missing definition file", []string{"rebuild", "pkg:npm/a@1.0.0", "--definition", "/nonexistent.yaml"}, 2, "invalid build definition"},
		{"diff missing file", []string{"diff", "/nonexistent-a", "/nonexistent-b"}, 2, "not a readable file"},
		{"diff bad format", []string{"diff", "a", "b", "--format", "pdf"}, 2, "--format"},
		{"verify unknown file", []string{"verify", "/nonexistent.tgz"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := f.vouch(tc.args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, out, errb)
			}
			if tc.msg != "" && !strings.Contains(errb, tc.msg) {
				t.Errorf("stderr %q does not mention %q", errb, tc.msg)
			}
			if code == 2 && out != "" && len(tc.args) > 0 {
				t.Errorf("usage error printed to stdout: %q", out)
			}
		})
	}
}

func TestUpstreamErrorsAreNotAttested(t *testing.T) {
	f := newFixture(t)
	dir, _ := f.repo("left-pad", leftPadFiles, "v1.0.0")
	tgz := f.npmPack(dir)
	f.reg.Publish(tgz, registrytest.WithCorruptTarball())

	for _, tc := range []struct {
		purl   string
		reason verdict.Reason
	}{
		{"pkg:npm/left-pad-fixture@1.0.0", verdict.ReasonDigestMismatch},
		{"pkg:npm/left-pad-fixture@9.9.9", verdict.ReasonNotFound},
		{"pkg:npm/no-such-package@1.0.0", verdict.ReasonNotFound},
	} {
		t.Run(string(tc.reason)+"/"+tc.purl, func(t *testing.T) {
			code, res := f.rebuildJSON(tc.purl)
			if code != 3 || res.Verdict != verdict.UpstreamError || res.Reason != tc.reason {
				t.Fatalf("exit %d verdict %s reason %s, want 3 upstream_error %s (%s)", code, res.Verdict, res.Reason, tc.reason, res.Message)
			}
			if res.Attestation != "" {
				t.Errorf("attested an upstream error: %s", res.Attestation)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(f.home, "attestations", "npm", "left-pad-fixture")); !os.IsNotExist(err) {
		t.Errorf("attestation directory exists after upstream errors: %v", err)
	}
}

func TestNoSourceIsAttestedAsFailure(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name":"orphan-fixture","version":"2.0.0","license":"MIT"}` + "\n",
		"index.js":     "module.exports = 1;\n",
	}
	dir, _ := f.repo("orphan", files, "")
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/orphan-fixture@2.0.0")
	if code != 3 || res.Verdict != verdict.NoSource || res.Reason != verdict.ReasonNoRepoURL {
		t.Fatalf("exit %d verdict %s reason %s, want 3 no_source no_repo_url", code, res.Verdict, res.Reason)
	}
	if res.Attestation == "" {
		t.Fatalf("a no_source outcome must be attested (negative results are published)")
	}
	// verify reports the attested failure.
	code, out, _ := f.vouch("verify", "pkg:npm/orphan-fixture@2.0.0", "--json")
	if code != 1 || !strings.Contains(out, "no_source") {
		t.Fatalf("verify of a no_source package: exit %d, want 1 naming no_source\n%s", code, out)
	}
}

func TestRefusedRepositoryURL(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name":"evil-fixture","version":"1.0.0","repository":"ext::sh -c touch% /tmp/pwned"}` + "\n",
		"index.js":     "1;\n",
	}
	dir, _ := f.repo("evil", files, "")
	f.reg.Publish(f.npmPack(dir))
	code, res := f.rebuildJSON("pkg:npm/evil-fixture@1.0.0")
	if code != 3 || res.Verdict != verdict.NoSource || res.Reason != verdict.ReasonUnsupportedRepo {
		t.Fatalf("exit %d verdict %s reason %s, want 3 no_source unsupported_repo", code, res.Verdict, res.Reason)
	}
}

func TestInferAndEditedDefinition(t *testing.T) {
	f := newFixture(t)
	dir, commit := f.repo("left-pad", leftPadFiles, "v1.0.0")
	f.reg.Publish(f.npmPack(dir))
	purl := "pkg:npm/left-pad-fixture@1.0.0"

	code, out, errb := f.vouch("infer", purl)
	if code != 0 {
		t.Fatalf("infer: exit %d\n%s", code, errb)
	}
	def, err := definition.Parse([]byte(out))
	if err != nil {
		t.Fatalf("infer printed an invalid definition: %v\n%s", err, out)
	}
	if def.Location.Ref != commit || def.Strategy.Name != "npm-pack" || def.Toolchain["npm"] == "" || def.Toolchain["node"] == "" {
		t.Fatalf("inferred %+v", def)
	}
	code, out, _ = f.vouch("infer", purl, "--json")
	var viaJSON definition.BuildDefinition
	if code != 0 || json.Unmarshal([]byte(out), &viaJSON) != nil || viaJSON.Location.Ref != commit {
		t.Fatalf("infer --json: exit %d\n%s", code, out)
	}

	// A user edits the definition: add a file at build time that upstream lacks, and
	// ask for a stabilizer that excludes it, with a reason.
	def.Env = map[string]string{"FIXTURE": "1"}
	def.Stabilizers = []definition.CustomStabilizer{{
		Name: "drop-test", Kind: "exclude", Path: "package/test.js", Reason: "test file differs by design in this fixture",
	}}
	b, _ := def.YAML()
	edited := filepath.Join(f.root, "build.yaml")
	if err := os.WriteFile(edited, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, res := f.rebuildJSON(purl, "--definition", edited)
	if code != 0 || !res.Verdict.Success() {
		t.Fatalf("rebuild --definition: exit %d verdict %s %s", code, res.Verdict, res.Message)
	}
	if res.Source.Evidence != "definition" {
		t.Errorf("evidence %q, want definition", res.Source.Evidence)
	}

	// A definition for another package is refused.
	def.PURL = "pkg:npm/other@1.0.0"
	b, _ = def.YAML()
	_ = os.WriteFile(edited, b, 0o644)
	if code, _, errb := f.vouch("rebuild", purl, "--definition", edited, "--sandbox", "none"); code != 2 {
		t.Fatalf("mismatched definition: exit %d, want 2\n%s", code, errb)
	}
}

// TestUnsafeArchives: a registry tarball with an escaping path or a decompression bomb is an
// upstream error (never attested, nothing written outside the store); `vouch diff` on such a
// file is bad input (exit 2).
func TestUnsafeArchives(t *testing.T) {
	f := newFixture(t)
	manifest := archivetest.File{Name: "package/package.json", Body: `{"name":"evil-tar","version":"1.0.0","repository":"fixture/evil"}`}
	cases := map[string][]byte{
		"traversal": archivetest.TarGz(t, manifest, archivetest.File{Name: "package/../../../escaped.txt", Body: "x"}),
		"absolute":  archivetest.TarGz(t, manifest, archivetest.File{Name: "/tmp/vouch-absolute.txt", Body: "x"}),
		"symlink":   archivetest.TarGz(t, manifest, archivetest.File{Name: "package/link", Type: archive.TypeSymlink, Linkname: "../../../../etc/passwd"}),
	}
	for name, tgz := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(f.root, name+".tgz")
			if err := os.WriteFile(p, tgz, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errb := f.vouch("diff", p, p)
			if code != 2 || !strings.Contains(errb, "unsafe") {
				t.Errorf("diff of a %s archive: exit %d, want 2 with a clear error: %s", name, code, errb)
			}
		})
	}
	_, _ = f.repo("evil", map[string]string{"package.json": `{"name":"evil-tar","version":"1.0.0"}`}, "v1.0.0")
	f.reg.Publish(cases["traversal"])
	code, res := f.rebuildJSON("pkg:npm/evil-tar@1.0.0")
	if code != 3 || res.Verdict != verdict.UpstreamError || res.Reason != verdict.ReasonUnsafeArtifact {
		t.Fatalf("exit %d verdict %s reason %s, want 3 upstream_error unsafe_artifact (%s)", code, res.Verdict, res.Reason, res.Message)
	}
	if res.Attestation != "" {
		t.Errorf("an unsafe upstream artifact was attested")
	}
	if _, err := os.Stat(filepath.Join(f.root, "escaped.txt")); err == nil {
		t.Errorf("an archive entry escaped")
	}

	bomb := filepath.Join(f.root, "bomb.tgz")
	if err := os.WriteFile(bomb, archivetest.GzipBomb(t, 600<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errb := f.vouch("diff", bomb, bomb); code != 2 {
		t.Errorf("diff of a gzip bomb: exit %d, want 2: %s", code, errb)
	}
}

func TestCachePrune(t *testing.T) {
	f := newFixture(t)
	old := filepath.Join(f.home, "cache", "artifacts", "npm", "old-1.0.0.tgz")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	if code, out, errb := f.vouch("cache", "prune", "--max", "lots"); code != ExitUsage {
		t.Errorf("bad --max: exit %d\n%s%s", code, out, errb)
	}
	t.Setenv("VOUCH_CACHE_MAX", "-3")
	if code, _, errb := f.vouch("rebuild", "pkg:npm/x@1.0.0"); code != ExitUsage || !strings.Contains(errb, "VOUCH_CACHE_MAX") {
		t.Errorf("bad VOUCH_CACHE_MAX: exit %d: %s", code, errb)
	}
	// off stops automatic pruning; an explicit prune still works.
	t.Setenv("VOUCH_CACHE_MAX", "off")
	if code, out, errb := f.vouch("cache", "prune"); code != 0 || !strings.Contains(out, "evicted 0 entries") {
		t.Errorf("prune with VOUCH_CACHE_MAX=off: exit %d\n%s%s", code, out, errb)
	}
	t.Setenv("VOUCH_CACHE_MAX", "")
	code, out, errb := f.vouch("cache", "prune", "--max", "1K", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	var r struct {
		Evicted []struct{ Path string } `json:"evicted"`
		After   int64                   `json:"after_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.Evicted) != 1 || r.Evicted[0].Path != old || r.After != 0 {
		t.Errorf("report %s, want %s evicted", out, old)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("%s still there", old)
	}
}
