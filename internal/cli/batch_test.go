package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/batch"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func (f *fixture) writeFile(name, body string) string {
	f.t.Helper()
	p := filepath.Join(f.root, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) runCount() int {
	f.t.Helper()
	st, err := store.Open(f.home)
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs("", 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(runs)
}

// TestBatchEndToEnd runs a package set through the real pipeline against the fake registry:
// one package reproduces, one has no repository, one was tampered with.
func TestBatchEndToEnd(t *testing.T) {
	f := newFixture(t)
	dir, _ := f.repo("left-pad", leftPadFiles, "v1.0.0")
	good := f.npmPack(dir)
	f.reg.Publish(repack(t, good, nil))
	f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name": "orphan-fixture", "version": "2.0.0"}`, "index.js": "1;\n",
	}))
	setFile := f.writeFile("set.json", `{"Count": 3, "Packages": [
		{"Ecosystem": "npm", "Name": "left-pad-fixture", "Versions": ["1.0.0"], "Artifacts": ["left-pad-fixture-1.0.0.tgz"]},
		{"Ecosystem": "npm", "Name": "orphan-fixture", "Versions": ["2.0.0"], "Artifacts": ["orphan-fixture-2.0.0.tgz"]},
		{"Ecosystem": "npm", "Name": "missing-fixture", "Versions": ["1.0.0"]}
	]}`)
	reportStem := filepath.Join(f.root, "out", "report")
	code, out, errb := f.vouch("batch", setFile, "--sandbox", "none", "--jobs", "2", "--json", "--report", reportStem+".md")
	if code != 0 {
		t.Fatalf("batch: exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	var rep batch.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("batch --json printed no report: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, tr := range rep.Targets {
		got[tr.PURL] = tr.Verdict + "/" + tr.Reason
	}
	want := map[string]string{
		"pkg:npm/left-pad-fixture@1.0.0": "equivalent/",
		"pkg:npm/orphan-fixture@2.0.0":   "no_source/no_repo_url",
		"pkg:npm/missing-fixture@1.0.0":  "upstream_error/not_found",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("verdicts (-want +got):\n%s", diff)
	}
	if rep.Total.Reproduced != 1 || rep.Total.Targets != 3 || len(rep.TopFailures) != 2 {
		t.Errorf("report totals %+v, top failures %+v", rep.Total, rep.TopFailures)
	}
	for _, ext := range []string{".md", ".json", ".svg"} {
		if _, err := os.Stat(reportStem + ext); err != nil {
			t.Errorf("report%s not written: %v", ext, err)
		}
	}
	// Results are stored like single rebuilds: attestation and run record with the batch id.
	bundle := filepath.Join(f.home, "attestations", "npm", "left-pad-fixture", "1.0.0", "left-pad-fixture-1.0.0.tgz", "rebuild.intoto.jsonl")
	if _, err := os.Stat(bundle); err != nil {
		t.Errorf("no attestation from the batch: %v", err)
	}
	st, err := store.Open(f.home)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs("pkg:npm/left-pad-fixture@1.0.0", 1)
	st.Close()
	if err != nil || len(runs) != 1 || runs[0].Batch != rep.Batch {
		t.Fatalf("run record %+v (%v), want batch %s", runs, err, rep.Batch)
	}
	if !strings.Contains(errb, "[3/3]") {
		t.Errorf("no plain progress lines on a non-terminal stderr:\n%s", errb)
	}

	// --resume skips what the batch finished: no new run records, same report.
	before := f.runCount()
	code, out, errb = f.vouch("batch", setFile, "--sandbox", "none", "--resume", "--json")
	if code != 0 {
		t.Fatalf("batch --resume: exit %d\n%s", code, errb)
	}
	if n := f.runCount(); n != before {
		t.Errorf("resume of a finished batch recorded %d new runs", n-before)
	}
	if !strings.Contains(errb, "3 of 3 targets already finished") {
		t.Errorf("resume did not say what it skipped:\n%s", errb)
	}
	var again batch.Report
	if err := json.Unmarshal([]byte(out), &again); err != nil || again.Batch != rep.Batch || len(again.Targets) != 3 {
		t.Fatalf("resumed report %+v (%v), want batch %s with 3 targets", again, err, rep.Batch)
	}

	// A new batch of the same set runs everything again (new id).
	code, out, _ = f.vouch("batch", setFile, "--sandbox", "none", "--json", "--filter", "left-pad-*")
	var second batch.Report
	if err := json.Unmarshal([]byte(out), &second); err != nil || code != 0 || second.Batch == rep.Batch || len(second.Targets) != 1 {
		t.Fatalf("second batch exit %d, report %+v (%v)", code, second, err)
	}

	// --compare: old report vs a copy where the reproducing target regressed.
	oldFile := reportStem + ".json"
	rep.Targets[0].Verdict, rep.Targets[0].Reason = "mismatch", "content_mismatch"
	b, _ := json.Marshal(rep)
	newFile := f.writeFile("new.json", string(b))
	code, out, _ = f.vouch("batch", "--compare", oldFile, newFile)
	if code != 1 || !strings.Contains(out, "## Regressions") || !strings.Contains(out, "pkg:npm/left-pad-fixture@1.0.0") {
		t.Fatalf("compare with a regression: exit %d, want 1\n%s", code, out)
	}
	code, out, _ = f.vouch("batch", "--compare", newFile, oldFile, "--json")
	var c batch.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil || code != 0 || len(c.Fixes) != 1 || len(c.Regressions) != 0 {
		t.Fatalf("compare with a fix: exit %d, %+v (%v)", code, c, err)
	}
}

// TestBatchInterrupted: a batch cancelled before it starts records nothing and says how to
// resume; an interrupted rebuild is not recorded (rebuild.Pipeline drops cancelled runs).
func TestBatchInterrupted(t *testing.T) {
	f := newFixture(t)
	dir, _ := f.repo("left-pad", leftPadFiles, "v1.0.0")
	f.reg.Publish(f.npmPack(dir))
	setFile := f.writeFile("set.json", `{"Count": 1, "Packages": [{"Ecosystem": "npm", "Name": "left-pad-fixture", "Versions": ["1.0.0"]}]}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	code := Main(ctx, []string{"batch", setFile, "--sandbox", "none"}, &out, &errb)
	if code != 130 || !strings.Contains(errb.String(), "--resume") {
		t.Fatalf("cancelled batch: exit %d, want 130 with a resume hint\n%s", code, errb.String())
	}
	code = Main(ctx, []string{"rebuild", "pkg:npm/left-pad-fixture@1.0.0", "--sandbox", "none"}, &out, &errb)
	if code != 130 {
		t.Errorf("cancelled rebuild: exit %d, want 130", code)
	}
	if n := f.runCount(); n != 0 {
		t.Errorf("%d runs recorded by interrupted work, want none", n)
	}
	// The interrupted batch resumes and finishes.
	code, _, errb2 := f.vouch("batch", setFile, "--sandbox", "none", "--resume")
	if code != 0 || !strings.Contains(errb2, "0 of 1 targets already finished") || f.runCount() != 1 {
		t.Fatalf("resume after interruption: exit %d, runs %d\n%s", code, f.runCount(), errb2)
	}
}

func TestBatchBadInput(t *testing.T) {
	f := newFixture(t)
	good := f.writeFile("set.json", `{"Count": 1, "Packages": [{"Ecosystem": "npm", "Name": "a", "Versions": ["1.0.0"]}]}`)
	notJSON := f.writeFile("bad.json", `{"Packages": [`)
	badEco := f.writeFile("eco.json", `{"Packages": [{"Ecosystem": "cobol", "Name": "a", "Versions": ["1"]}]}`)
	empty := f.writeFile("empty.json", `{"Count": 0, "Packages": []}`)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no set", []string{"batch"}, "usage"},
		{"missing file", []string{"batch", "/nonexistent/set.json"}, "package set"},
		{"not json", []string{"batch", notJSON}, "not a package set"},
		{"bad ecosystem", []string{"batch", badEco}, "cobol"},
		{"no packages", []string{"batch", empty}, "no packages"},
		{"jobs zero", []string{"batch", good, "--jobs", "0"}, "--jobs"},
		{"bad filter", []string{"batch", good, "--filter", "size=3"}, "unknown key"},
		{"filter matches nothing", []string{"batch", good, "--filter", "zzz"}, "no targets"},
		{"nothing to resume", []string{"batch", good, "--resume"}, "no earlier batch"},
		{"bad id", []string{"batch", good, "--resume", "--id", "../x"}, "--id"},
		{"compare one file", []string{"batch", "--compare", good}, "usage"},
		{"compare non-reports", []string{"batch", "--compare", good, good}, "batch report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := f.vouch(tc.args...)
			if code != 2 || !strings.Contains(errb, tc.msg) {
				t.Fatalf("exit %d, want 2 with %q\nstdout: %s\nstderr: %s", code, tc.msg, out, errb)
			}
		})
	}
	if n := f.runCount(); n != 0 {
		t.Errorf("bad input recorded %d runs", n)
	}
}

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		p    batch.Progress
		want string
	}{
		{batch.Progress{Done: 0, Total: 4, Counts: map[string]int{}}, "[                              ] 0/4 "},
		{batch.Progress{Done: 2, Total: 4, Counts: map[string]int{"equivalent": 1, "error": 1}, ETA: 90 * time.Second},
			"[===============               ] 2/4 equivalent 1, error 1 ETA 1m30s"},
		{batch.Progress{Done: 3, Total: 3, Counts: map[string]int{"mismatch": 2, "identical": 1}}, "[==============================] 3/3 identical 1, mismatch 2"},
	} {
		if got := progressBar(tc.p); got != tc.want {
			t.Errorf("progressBar(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	// Not a terminal: plain lines, no escape sequences.
	var b strings.Builder
	pp := newProgressPrinter(&b)
	pp.begin(batch.Progress{Total: 1})
	tg, _ := target.Parse("pkg:npm/a@1.0.0")
	pp.update(batch.Progress{Item: batch.Item{Target: tg}, Result: &verdict.Result{Verdict: verdict.NoSource, Reason: verdict.ReasonNoRepoURL}, Done: 1, Total: 1, Elapsed: 1500 * time.Millisecond})
	pp.finish()
	if want := "[1/1] pkg:npm/a@1.0.0 no_source (no_repo_url) in 1.5s\n"; b.String() != want {
		t.Errorf("plain progress %q, want %q", b.String(), want)
	}
}
