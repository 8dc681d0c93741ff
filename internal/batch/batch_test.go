package batch

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

const goodSet = `{"Count": 5, "Updated": "2026-01-08T20:18:49Z", "Packages": [
 {"Ecosystem": "npm", "Name": "lodash", "Versions": ["4.17.21", "3.10.1"], "Artifacts": ["lodash-4.17.21.tgz", "lodash-3.10.1.tgz"]},
 {"Ecosystem": "npm", "Name": "@babel/core", "Versions": ["7.24.0"], "Artifacts": ["core-7.24.0.tgz"]},
 {"Ecosystem": "pypi", "Name": "requests", "Versions": ["2.31.0"], "Artifacts": ["requests-2.31.0-py3-none-any.whl"]},
 {"Ecosystem": "maven", "Name": "org.slf4j:slf4j-api", "Versions": ["2.0.13"]},
 {"Ecosystem": "npm", "Name": "lodash", "Versions": ["4.17.21"]}
]}`

func TestParseSet(t *testing.T) {
	s, err := ParseSet([]byte(goodSet))
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.Items()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.PURL()+" "+it.Artifact)
	}
	want := []string{
		"pkg:npm/lodash@4.17.21 lodash-4.17.21.tgz",
		"pkg:npm/lodash@3.10.1 lodash-3.10.1.tgz",
		"pkg:npm/%40babel/core@7.24.0 core-7.24.0.tgz",
		"pkg:pypi/requests@2.31.0?file_name=requests-2.31.0-py3-none-any.whl requests-2.31.0-py3-none-any.whl",
		"pkg:maven/org.slf4j/slf4j-api@2.0.13 ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestParseSetErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"not json", `{"Packages": [`, "not a package set"},
		{"trailing", `{"Packages": [{"Ecosystem": "npm", "Name": "a", "Versions": ["1.0.0"]}]} {}`, "trailing"},
		{"no packages", `{"Count": 0, "Packages": []}`, "no packages"},
		{"no versions", `{"Packages": [{"Ecosystem": "npm", "Name": "a", "Versions": []}]}`, "no versions"},
		{"bad ecosystem", `{"Packages": [{"Ecosystem": "rubygems", "Name": "rails", "Versions": ["7.0.0"]}]}`, "rubygems"},
		{"artifact count", `{"Packages": [{"Ecosystem": "npm", "Name": "a", "Versions": ["1.0.0", "2.0.0"], "Artifacts": ["a-1.0.0.tgz"]}]}`, "1 artifacts for 2 versions"},
		{"artifact path", `{"Packages": [{"Ecosystem": "npm", "Name": "a", "Versions": ["1.0.0"], "Artifacts": ["../x.tgz"]}]}`, "not a file name"},
		{"traversal name", `{"Packages": [{"Ecosystem": "npm", "Name": "..", "Versions": ["1.0.0"]}]}`, "package 0"},
		{"maven without group", `{"Packages": [{"Ecosystem": "maven", "Name": "slf4j-api", "Versions": ["1"]}]}`, "groupId:artifactId"},
		{"scope without name", `{"Packages": [{"Ecosystem": "npm", "Name": "@babel", "Versions": ["1.0.0"]}]}`, "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSet([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("ParseSet error %v, want one mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestLoadSetErrorIsUsage(t *testing.T) {
	for _, content := range []string{"", "[]", `{"Packages": null}`} {
		p := filepath.Join(t.TempDir(), "set.json")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadSet(p)
		var se *SetError
		if !errors.As(err, &se) || se.ExitCode() != 2 {
			t.Errorf("LoadSet(%q) = %v, want a *SetError with exit code 2", content, err)
		}
	}
	if _, _, err := LoadSet("/nonexistent/set.json"); err == nil {
		t.Error("LoadSet of a missing file succeeded")
	}
}

func FuzzParseSet(f *testing.F) {
	f.Add([]byte(goodSet))
	f.Add([]byte(`{"Packages": [{"Ecosystem": "npm", "Name": "@a/b", "Versions": ["1"]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSet(b)
		if err != nil {
			return
		}
		items, err := s.Items()
		if err != nil {
			t.Fatalf("ParseSet accepted a set whose Items fails: %v", err)
		}
		for _, it := range items {
			if _, err := target.Parse(it.PURL()); err != nil {
				t.Fatalf("item %s does not parse back: %v", it.PURL(), err)
			}
		}
	})
}

func TestFilter(t *testing.T) {
	s, _ := ParseSet([]byte(goodSet))
	items, _ := s.Items()
	for _, tc := range []struct {
		name    string
		filters []string
		want    []string
	}{
		{"none", nil, []string{"pkg:npm/lodash@4.17.21", "pkg:npm/lodash@3.10.1", "pkg:npm/%40babel/core@7.24.0", "pkg:pypi/requests@2.31.0?file_name=requests-2.31.0-py3-none-any.whl", "pkg:maven/org.slf4j/slf4j-api@2.0.13"}},
		{"ecosystem", []string{"ecosystem=maven"}, []string{"pkg:maven/org.slf4j/slf4j-api@2.0.13"}},
		{"bare glob over scope", []string{"@babel/*"}, []string{"pkg:npm/%40babel/core@7.24.0"}},
		{"or within a key", []string{"name=requests", "name=lodash"}, []string{"pkg:npm/lodash@4.17.21", "pkg:npm/lodash@3.10.1", "pkg:pypi/requests@2.31.0?file_name=requests-2.31.0-py3-none-any.whl"}},
		{"and across keys", []string{"lodash", "purl=*@3.*"}, []string{"pkg:npm/lodash@3.10.1"}},
		{"nothing", []string{"ecosystem=cratesio"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range f.Apply(items) {
				got = append(got, it.PURL())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"size=3", "ecosystem=cobol", "name=", "name=[", "purl=a["} {
		if _, err := ParseFilter([]string{bad}); err == nil {
			t.Errorf("ParseFilter(%q) accepted", bad)
		}
	}
}

// fakePipeline answers from a table, records runs with the batch id like rebuild.Pipeline,
// and counts concurrent calls.
type fakePipeline struct {
	batch    string
	verdicts map[string]verdict.Verdict
	// block, if set, is called at the start of every rebuild.
	block func(ctx context.Context, purl string) error

	mu       sync.Mutex
	runs     []*verdict.Result
	calls    []string
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

func (f *fakePipeline) Rebuild(ctx context.Context, t target.Target, _ *definition.BuildDefinition) (*verdict.Result, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, t.PURL())
	f.mu.Unlock()
	if f.block != nil {
		if err := f.block(ctx, t.PURL()); err != nil {
			return nil, err
		}
	}
	v, ok := f.verdicts[t.PURL()]
	if !ok {
		return nil, &target.InvalidError{Input: t.PURL(), Msg: "unsupported"}
	}
	res := &verdict.Result{PURL: t.PURL(), Verdict: v, Batch: f.batch, Strategy: "npm-pack",
		TimingsMS: verdict.Timings{Resolve: 10, Source: 20, Build: 30, Compare: 5, Attest: 1}}
	if !v.Success() {
		res.Reason = verdict.ReasonBuildCommand
	}
	f.mu.Lock()
	f.runs = append(f.runs, res)
	f.mu.Unlock()
	return res, nil
}

// Runs lists recorded runs newest first, like store.Store.
func (f *fakePipeline) Runs(purl string, limit int) ([]*verdict.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*verdict.Result
	for i := len(f.runs) - 1; i >= 0; i-- {
		if purl == "" || f.runs[i].PURL == purl {
			out = append(out, f.runs[i])
		}
	}
	return out, nil
}

func items(t *testing.T, names ...string) []Item {
	t.Helper()
	var out []Item
	for _, n := range names {
		tg, err := target.Parse("pkg:npm/" + n + "@1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Item{Target: tg})
	}
	return out
}

func TestRunnerBoundsConcurrencyAndKeepsOrder(t *testing.T) {
	its := items(t, "a", "b", "c", "d", "e", "f", "g", "h")
	fp := &fakePipeline{batch: "b1", verdicts: map[string]verdict.Verdict{}}
	for i, it := range its {
		fp.verdicts[it.PURL()] = []verdict.Verdict{verdict.Equivalent, verdict.Mismatch}[i%2]
	}
	var release sync.WaitGroup
	release.Add(1)
	var started atomic.Int32
	fp.block = func(ctx context.Context, _ string) error {
		if started.Add(1) == 3 {
			release.Done() // three in flight at once: the bound was reached
		}
		time.Sleep(time.Millisecond)
		return nil
	}
	var progress []Progress
	r := &Runner{Rebuilder: fp, Jobs: 3, Progress: func(p Progress) { progress = append(progress, p) }}
	out, err := r.Run(context.Background(), its, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fp.maxSeen.Load(); got > 3 {
		t.Errorf("%d rebuilds ran at once, want at most 3", got)
	}
	var got []string
	for _, res := range out.Results {
		got = append(got, res.PURL)
	}
	var want []string
	for _, it := range its {
		want = append(want, it.PURL())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results not in item order (-want +got):\n%s", diff)
	}
	if len(progress) != len(its) || progress[len(progress)-1].Done != len(its) {
		t.Fatalf("progress calls %d, last %+v", len(progress), progress[len(progress)-1])
	}
	if diff := cmp.Diff(map[string]int{"equivalent": 4, "mismatch": 4}, progress[len(progress)-1].Counts); diff != "" {
		t.Errorf("final counts (-want +got):\n%s", diff)
	}
}

func TestRunnerErrorsAreReportedNotFatal(t *testing.T) {
	its := items(t, "ok", "unsupported")
	fp := &fakePipeline{verdicts: map[string]verdict.Verdict{its[0].PURL(): verdict.Identical}}
	out, err := (&Runner{Rebuilder: fp, Jobs: 2}).Run(context.Background(), its, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 1 || len(out.Errors) != 1 || out.Errors[0].PURL != its[1].PURL() {
		t.Fatalf("outcome %+v", out)
	}
}

// TestInterruptAndResume cancels a batch while some rebuilds run: the finished ones stay
// recorded, the interrupted ones are not, and a resumed run does only what is left.
func TestInterruptAndResume(t *testing.T) {
	its := items(t, "a", "b", "c", "d", "e", "f")
	fp := &fakePipeline{batch: "b1", verdicts: map[string]verdict.Verdict{}}
	for _, it := range its {
		fp.verdicts[it.PURL()] = verdict.Equivalent
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	fp.block = func(ctx context.Context, purl string) error {
		if n.Add(1) <= 2 {
			return nil // the first two finish
		}
		cancel() // the third is interrupted (Ctrl-C) while running
		<-ctx.Done()
		return ctx.Err()
	}
	out, err := (&Runner{Rebuilder: fp, Jobs: 1}).Run(ctx, its, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error %v, want context.Canceled", err)
	}
	if len(out.Results) != 2 || len(out.Errors) != 0 {
		t.Fatalf("interrupted outcome: %d results %d errors, want 2 and 0 (an interruption is not an error)", len(out.Results), len(out.Errors))
	}

	// Runs of another batch do not count as finished.
	other := &verdict.Result{PURL: its[5].PURL(), Verdict: verdict.Identical, Batch: "b0"}
	fp.runs = append([]*verdict.Result{other}, fp.runs...)
	done, err := Finished(fp, "b1", its)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[its[0].PURL()] == nil || done[its[1].PURL()] == nil {
		t.Fatalf("Finished = %v, want a and b", done)
	}

	fp.block = nil
	fp.calls = nil
	out, err = (&Runner{Rebuilder: fp, Jobs: 2}).Run(context.Background(), its, done)
	if err != nil {
		t.Fatal(err)
	}
	if out.Resumed != 2 || len(out.Results) != 6 {
		t.Fatalf("resumed run: resumed %d results %d, want 2 and 6", out.Resumed, len(out.Results))
	}
	if len(fp.calls) != 4 {
		t.Fatalf("resumed run rebuilt %v, want only the 4 unfinished targets", fp.calls)
	}
	for _, c := range fp.calls {
		if c == its[0].PURL() || c == its[1].PURL() {
			t.Errorf("resumed run rebuilt finished target %s", c)
		}
	}
}

func TestMetaLatest(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := NewMeta(dir, "set.json", "aaa", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMeta(dir, "set.json", "aaa", nil, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMeta(dir, "other.json", "bbb", nil, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := Latest(dir, "aaa")
	if err != nil || got == nil || got.ID != b.ID {
		t.Fatalf("Latest = %+v, %v; want %s (not %s)", got, err, b.ID, a.ID)
	}
	if got, _ := Latest(dir, "ccc"); got != nil {
		t.Errorf("Latest of an unknown set = %+v", got)
	}
	if _, err := LoadMeta(dir, "../etc"); err == nil {
		t.Error("LoadMeta accepted a path as id")
	}
}

func result(purl string, v verdict.Verdict, reason verdict.Reason, strategy string, total int64) *verdict.Result {
	return &verdict.Result{PURL: purl, Verdict: v, Reason: reason, Strategy: strategy, Message: "why " + purl,
		TimingsMS: verdict.Timings{Resolve: 1, Build: total - 1}}
}

func TestReportNumbers(t *testing.T) {
	results := []*verdict.Result{
		result("pkg:npm/a@1", verdict.Identical, "", "npm-pack", 100),
		result("pkg:npm/b@1", verdict.Equivalent, "", "npm-pack", 200),
		result("pkg:npm/c@1", verdict.Mismatch, verdict.ReasonContentMismatch, "npm-pack", 300),
		result("pkg:npm/d@1", verdict.BuildFailed, verdict.ReasonBuildCommand, "npm-build", 400),
		result("pkg:npm/e@1", verdict.NoSource, verdict.ReasonNoGitRef, "", 2),
		result("pkg:npm/f@1", verdict.NoSource, verdict.ReasonNoGitRef, "", 2),
		result("pkg:pypi/g@1", verdict.Equivalent, "", "wheel", 1000),
	}
	results[2].Diff = &verdict.DiffSummary{Differences: 4, OnlyUpstream: []string{"package/a", "package/b", "package/c"}, Changed: []string{"package/x.js"}}
	r := NewReport("b1", "set.json", results, []ItemError{{PURL: "pkg:npm/h@1", Err: "boom"}}, time.Unix(0, 0))
	if r.Total.Targets != 7 || r.Total.Reproduced != 3 || r.Total.SuccessRate != 0.4286 {
		t.Errorf("total %+v", r.Total)
	}
	type row struct {
		Eco, Strategy    string
		Targets, Success int
		Verdicts         map[string]int
	}
	var got []row
	for _, g := range r.Groups {
		got = append(got, row{g.Ecosystem, g.Strategy, g.Targets, g.Reproduced, g.Verdicts})
	}
	want := []row{
		{"npm", "(none)", 2, 0, map[string]int{"no_source": 2}},
		{"npm", "npm-build", 1, 0, map[string]int{"build_failed": 1}},
		{"npm", "npm-pack", 3, 2, map[string]int{"identical": 1, "equivalent": 1, "mismatch": 1}},
		{"pypi", "wheel", 1, 1, map[string]int{"equivalent": 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	npm := r.Ecosystems[0]
	if npm.Ecosystem != "npm" || npm.Targets != 6 || npm.Reasons["no_source/no_git_ref"] != 2 {
		t.Errorf("npm group %+v", npm)
	}
	// Totals 100, 200, 300, 400, 2, 2 ms: nearest-rank p50 = 3rd of 6 sorted = 100, p90 = 6th = 400.
	if diff := cmp.Diff(Percentiles{N: 6, P50: 100, P90: 400, P99: 400, Max: 400, Mean: 167}, npm.PhasesMS["total"]); diff != "" {
		t.Errorf("npm total percentiles (-want +got):\n%s", diff)
	}
	// Build time only counts targets that got a strategy.
	if n := npm.PhasesMS["build"].N; n != 4 {
		t.Errorf("build phase over %d targets, want 4", n)
	}
	wantTop := []Failure{
		{Verdict: "no_source", Reason: "no_git_ref", Count: 2, Examples: []Example{{"pkg:npm/e@1", "why pkg:npm/e@1"}, {"pkg:npm/f@1", "why pkg:npm/f@1"}}},
		{Verdict: "build_failed", Reason: "build_command_failed", Count: 1, Examples: []Example{{"pkg:npm/d@1", "why pkg:npm/d@1"}}},
		{Verdict: "mismatch", Reason: "content_mismatch", Count: 1, Examples: []Example{{"pkg:npm/c@1", "why pkg:npm/c@1 (only upstream: package/a, package/b +1; changed: package/x.js)"}}},
	}
	if diff := cmp.Diff(wantTop, r.TopFailures); diff != "" {
		t.Errorf("top failures (-want +got):\n%s", diff)
	}

	// JSON round trip, Markdown and SVG renderings.
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(p, js.Bytes(), 0o644)
	back, err := LoadReport(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md, "r.svg"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"**3 of 7 targets reproduced (42.9%)**", "| npm | `npm-pack` | 3 | 1 | 1 | 1 | 0 | 0 | 0 | 66.7% |",
		"| no_source | no_git_ref | 2 |", "`pkg:npm/h@1`: boom", "![verdicts and time distribution](r.svg)"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md.String())
		}
	}
	var svg bytes.Buffer
	if err := r.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	rects := checkSVG(t, svg.Bytes())
	// Verdict bars: npm (none) 1 segment, npm-build 1, npm-pack 3, wheel 1, total 5 (one per
	// verdict present) + 6 legend swatches + histogram segments + the background.
	if rects < 1+6+11 {
		t.Errorf("SVG has %d rects", rects)
	}
}

// checkSVG parses the SVG as XML and counts its rect elements.
func checkSVG(t *testing.T, b []byte) int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			n++
		}
	}
	return n
}

func TestCompare(t *testing.T) {
	old := NewReport("old", "", []*verdict.Result{
		result("pkg:npm/a@1", verdict.Equivalent, "", "npm-pack", 1),
		result("pkg:npm/b@1", verdict.BuildFailed, verdict.ReasonBuildCommand, "npm-pack", 1),
		result("pkg:npm/c@1", verdict.NoSource, verdict.ReasonNoGitRef, "", 1),
		result("pkg:npm/d@1", verdict.Identical, "", "npm-pack", 1),
		result("pkg:npm/e@1", verdict.Identical, "", "npm-pack", 1),
		result("pkg:npm/gone@1", verdict.Identical, "", "npm-pack", 1),
	}, nil, time.Unix(0, 0))
	nw := NewReport("new", "", []*verdict.Result{
		result("pkg:npm/a@1", verdict.Mismatch, verdict.ReasonContentMismatch, "npm-pack", 1),
		result("pkg:npm/b@1", verdict.Equivalent, "", "npm-pack", 1),
		result("pkg:npm/c@1", verdict.BuildFailed, verdict.ReasonInstallFailed, "npm-pack", 1),
		result("pkg:npm/d@1", verdict.Equivalent, "", "npm-pack", 1),
		result("pkg:npm/e@1", verdict.Identical, "", "npm-pack", 1),
		result("pkg:npm/new@1", verdict.Identical, "", "npm-pack", 1),
	}, nil, time.Unix(0, 0))
	c := Compare(old, nw)
	want := &Comparison{
		Old: "old", New: "new",
		Regressions:    []Change{{PURL: "pkg:npm/a@1", OldVerdict: "equivalent", NewVerdict: "mismatch", NewReason: "content_mismatch", NewMessage: "why pkg:npm/a@1"}},
		Fixes:          []Change{{PURL: "pkg:npm/b@1", OldVerdict: "build_failed", OldReason: "build_command_failed", NewVerdict: "equivalent", NewMessage: "why pkg:npm/b@1"}},
		Changed:        []Change{{PURL: "pkg:npm/c@1", OldVerdict: "no_source", OldReason: "no_git_ref", NewVerdict: "build_failed", NewReason: "install_failed", NewMessage: "why pkg:npm/c@1"}},
		Unchanged:      2, // d (identical → equivalent is still reproduced) and e
		OnlyOld:        []string{"pkg:npm/gone@1"},
		OnlyNew:        []string{"pkg:npm/new@1"},
		OldSuccessRate: 0.6, NewSuccessRate: 0.6,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	var md bytes.Buffer
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1 regressions, 1 fixes, 1 changed failures, 2 unchanged", "## Regressions", "| `pkg:npm/a@1` | equivalent | mismatch (content_mismatch) |"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md.String())
		}
	}
}

func TestLoadReportErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage.json":   "not json",
		"set.json":       goodSet, // a package set is not a report
		"noverdict.json": `{"version": 1, "targets": [{"purl": "pkg:npm/a@1"}]}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		_, err := LoadReport(p)
		var re *ReportError
		if !errors.As(err, &re) || re.ExitCode() != 2 {
			t.Errorf("LoadReport(%s) = %v, want *ReportError", name, err)
		}
	}
}
