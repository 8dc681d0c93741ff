package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

var (
	sha256A = strings.Repeat("a", 64)
	sha256B = strings.Repeat("b", 64)
	sha512A = strings.Repeat("c", 128)
)

func openStore(t *testing.T, root string) *Store {
	t.Helper()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustTarget(t *testing.T, purl string) target.Target {
	t.Helper()
	tg, err := target.Parse(purl)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// bundle returns a real signed bundle for tg with the given verdict.
func bundle(t *testing.T, tg target.Target, artifact string, v verdict.Verdict) []byte {
	t.Helper()
	s, err := attest.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Bundle(s, attest.Input{
		Target:    tg,
		Result:    &verdict.Result{PURL: tg.PURL(), Artifact: artifact, Verdict: v, Reason: verdict.ReasonNoRepoURL},
		BuilderID: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutGetFind(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	tests := []struct {
		purl, artifact, wantRel string
	}{
		{"pkg:npm/is-number@7.0.0", "is-number-7.0.0.tgz", "npm/is-number/7.0.0/is-number-7.0.0.tgz"},
		{"pkg:npm/%40babel/core@7.24.0", "core-7.24.0.tgz", "npm/@babel/core/7.24.0/core-7.24.0.tgz"},
		{"pkg:maven/org.slf4j/slf4j-api@2.0.13", "slf4j-api-2.0.13.jar", "maven/org.slf4j~slf4j-api/2.0.13/slf4j-api-2.0.13.jar"},
	}
	for _, tc := range tests {
		t.Run(tc.purl, func(t *testing.T) {
			tg := mustTarget(t, tc.purl)
			b := bundle(t, tg, tc.artifact, verdict.NoSource)
			path, err := s.PutBundle(tg, tc.artifact, b, sha256A, sha512A)
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(root, "attestations", filepath.FromSlash(tc.wantRel), "rebuild.intoto.jsonl")
			if path != want {
				t.Errorf("path %s, want %s", path, want)
			}
			got, gotPath, err := s.GetBundle(tg, tc.artifact)
			if err != nil || gotPath != path || !bytes.Equal(got, b) {
				t.Errorf("GetBundle = %d bytes, %s, %v", len(got), gotPath, err)
			}
		})
	}
	refs, err := s.FindByDigest(strings.ToUpper(sha256A))
	if err != nil {
		t.Fatal(err)
	}
	var wantRefs []Ref
	for _, tc := range tests {
		tg := mustTarget(t, tc.purl)
		wantRefs = append(wantRefs, Ref{PURL: tg.PURL(), Artifact: tc.artifact,
			Path: filepath.Join(root, "attestations", filepath.FromSlash(tc.wantRel), "rebuild.intoto.jsonl")})
	}
	// Sorted by purl.
	wantRefs[0], wantRefs[2] = wantRefs[2], wantRefs[0]
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("FindByDigest (-want +got):\n%s", diff)
	}

	// Re-storing replaces the file and the index entry.
	tg := mustTarget(t, tests[0].purl)
	b2 := bundle(t, tg, tests[0].artifact, verdict.BuildFailed)
	if _, err := s.PutBundle(tg, tests[0].artifact, b2, sha256B, ""); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetBundle(tg, tests[0].artifact); !bytes.Equal(got, b2) {
		t.Error("second PutBundle did not replace the bundle")
	}
	if refs, _ := s.FindByDigest(sha256B); len(refs) != 1 || refs[0].PURL != tg.PURL() {
		t.Errorf("FindByDigest(new digest) = %v", refs)
	}
	if refs, _ := s.FindByDigest(sha256A); len(refs) != 2 {
		t.Errorf("FindByDigest(old digest) = %v, want the 2 others", refs)
	}
	if refs, err := s.FindByDigest(strings.Repeat("0", 64)); err != nil || len(refs) != 0 {
		t.Errorf("FindByDigest(unknown) = %v, %v", refs, err)
	}
	if _, err := s.FindByDigest("not-a-digest"); err == nil {
		t.Error("FindByDigest accepted a bad digest")
	}

	_, _, err = s.GetBundle(mustTarget(t, "pkg:npm/absent@1.0.0"), "absent-1.0.0.tgz")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("GetBundle(absent) = %v, want ErrNotFound", err)
	}
	if _, err := s.PutBundle(tg, tests[0].artifact, []byte("garbage\n"), "", ""); err == nil {
		t.Error("PutBundle accepted a garbage bundle")
	}

	// The index survives reopening (and reopening does not re-migrate).
	s.Close()
	s2 := openStore(t, root)
	if refs, err := s2.FindByDigest(sha256B); err != nil || len(refs) != 1 {
		t.Errorf("after reopen: %v, %v", refs, err)
	}
}

func TestAtomicWrite(t *testing.T) {
	s := openStore(t, t.TempDir())
	tg := mustTarget(t, "pkg:npm/is-number@7.0.0")
	const art = "is-number-7.0.0.tgz"
	old := bundle(t, tg, art, verdict.NoSource)
	path, err := s.PutBundle(tg, art, old, sha256A, "")
	if err != nil {
		t.Fatal(err)
	}
	newer := bundle(t, tg, art, verdict.BuildFailed)
	boom := errors.New("disk on fire")
	var sawTemp bool
	testHookBeforeRename = func(tmp string) error {
		// The new content is complete in the temp file while the old file is still in place.
		got, _ := os.ReadFile(tmp)
		cur, _ := os.ReadFile(path)
		sawTemp = bytes.Equal(got, newer) && bytes.Equal(cur, old) && filepath.Dir(tmp) == filepath.Dir(path)
		return boom
	}
	t.Cleanup(func() { testHookBeforeRename = nil })
	if _, err := s.PutBundle(tg, art, newer, sha256B, ""); !errors.Is(err, boom) {
		t.Fatalf("PutBundle = %v, want the injected failure", err)
	}
	if !sawTemp {
		t.Error("hook did not see a complete temp file beside the old bundle")
	}
	got, _, err := s.GetBundle(tg, art)
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("after failed write: %d bytes, %v; want the old bundle", len(got), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"rebuild.intoto.jsonl"}, names); diff != "" {
		t.Errorf("directory after failed write (-want +got):\n%s", diff)
	}
	if refs, _ := s.FindByDigest(sha256B); len(refs) != 0 {
		t.Errorf("failed write was indexed: %v", refs)
	}
}

func TestHostileNames(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	good := mustTarget(t, "pkg:npm/x@1.0.0")
	b := bundle(t, good, "x-1.0.0.tgz", verdict.NoSource)
	tests := []struct {
		name     string
		tg       target.Target
		artifact string
	}{
		{"dotdot artifact", good, ".."},
		{"traversal artifact", good, "../../../../etc/passwd"},
		{"absolute artifact", good, "/etc/passwd"},
		{"backslash artifact", good, `..\..\x`},
		{"empty artifact", good, ""},
		{"nul artifact", good, "a\x00b"},
		{"dotdot name", target.Target{Ecosystem: target.NPM, Name: "..", Version: "1.0.0"}, "a.tgz"},
		{"dotdot version", target.Target{Ecosystem: target.NPM, Name: "x", Version: ".."}, "a.tgz"},
		{"slash version", target.Target{Ecosystem: target.NPM, Name: "x", Version: "../../../tmp"}, "a.tgz"},
		{"dotdot maven group", target.Target{Ecosystem: target.Maven, Namespace: "..", Name: "x", Version: "1"}, "a.jar"},
		{"npm scope traversal", target.Target{Ecosystem: target.NPM, Namespace: "../..", Name: "x", Version: "1"}, "a.tgz"},
		{"empty ecosystem", target.Target{Name: "x", Version: "1"}, "a.tgz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := s.PutBundle(tc.tg, tc.artifact, b, "", ""); err == nil {
				t.Errorf("PutBundle wrote %s", p)
			}
			if _, _, err := s.GetBundle(tc.tg, tc.artifact); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("GetBundle = %v, want a refusal", err)
			}
		})
	}
	// Nothing was written outside the attestation tree.
	var stray []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(filepath.Base(p), "vouch.db") {
			stray = append(stray, p)
		}
		return nil
	})
	if len(stray) != 0 {
		t.Errorf("files written: %v", stray)
	}
	if _, err := os.Stat(filepath.Join(root, DatabaseFile)); err != nil {
		t.Errorf("database not at the store root: %v", err)
	}

	// A symbolic link inside the tree cannot lead writes outside it.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "attestations", "npm")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PutBundle(good, "x-1.0.0.tgz", b, "", ""); err == nil {
		t.Errorf("PutBundle followed a symlink out of the store to %s", p)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written through the symlink: %v", entries)
	}
}

func TestRuns(t *testing.T) {
	s := openStore(t, t.TempDir())
	mk := func(purl string, v verdict.Verdict, i int) *verdict.Result {
		return &verdict.Result{PURL: purl, Artifact: "a.tgz", Verdict: v, Message: fmt.Sprint(i),
			Upstream: &verdict.Upstream{SHA256: sha256A}, Stabilizers: []string{}}
	}
	var want []*verdict.Result
	for i := range 3 {
		r := mk("pkg:npm/a@1.0.0", verdict.Identical, i)
		id, err := s.PutRun(r)
		if err != nil {
			t.Fatal(err)
		}
		if id <= 0 {
			t.Errorf("id %d", id)
		}
		want = append([]*verdict.Result{r}, want...)
		if _, err := s.PutRun(mk("pkg:npm/b@1.0.0", verdict.Mismatch, i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Runs("pkg:npm/a@1.0.0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Runs (-want +got):\n%s", diff)
	}
	got, err = s.Runs("pkg:npm/a@1.0.0", 2)
	if err != nil || len(got) != 2 || got[0].Message != "2" {
		t.Errorf("Runs limit 2 = %v, %v", got, err)
	}
	if all, err := s.Runs("", 0); err != nil || len(all) != 6 {
		t.Errorf("Runs(all) = %d, %v", len(all), err)
	}
	if _, err := s.PutRun(&verdict.Result{PURL: "not a purl"}); err == nil {
		t.Error("PutRun accepted a bad purl")
	}
}

func TestConcurrentPutRun(t *testing.T) {
	root := t.TempDir()
	// Two handles on one root stand in for two processes.
	stores := []*Store{openStore(t, root), openStore(t, root)}
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	ids := make(chan int64, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range each {
				id, err := s.PutRun(&verdict.Result{PURL: "pkg:npm/c@1.0.0", Artifact: "c.tgz", Verdict: verdict.Identical, Message: fmt.Sprint(w, i)})
				if err != nil {
					errs <- err
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("duplicate id %d", id)
		}
		seen[id] = true
	}
	runs, err := stores[1].Runs("pkg:npm/c@1.0.0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != workers*each || len(seen) != workers*each {
		t.Errorf("%d runs stored, %d ids, want %d", len(runs), len(seen), workers*each)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	root := t.TempDir()
	s := openStore(t, root)
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(root); err == nil {
		s2.Close()
		t.Error("Open accepted a database from a newer vouch")
	}
}
