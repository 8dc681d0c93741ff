package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// ReportVersion is the version of the report's JSON form.
const ReportVersion = 1

// Report summarises a batch. JSON is its canonical form; Markdown and SVG render it.
type Report struct {
	Version int    `json:"version"`
	Batch   string `json:"batch"`
	Set     string `json:"set,omitempty"`
	// Generated is when the report was made (RFC 3339).
	Generated string `json:"generated"`
	// WallMS is the wall-clock time of all runs of the batch (an interrupted run and its
	// resumptions added up).
	WallMS int64 `json:"wall_ms,omitempty"`
	// Jobs is the concurrency of the last run.
	Jobs int `json:"jobs,omitempty"`
	// Total covers every target; Ecosystems one ecosystem each; Groups one (ecosystem, strategy) each.
	Total      Group   `json:"total"`
	Ecosystems []Group `json:"ecosystems"`
	Groups     []Group `json:"groups"`
	// TopFailures are the most frequent (verdict, reason) pairs of failed targets.
	TopFailures []Failure `json:"top_failures"`
	// Errors are targets that ended without a verdict.
	Errors []ItemError `json:"errors,omitempty"`
	// Targets lists every result, in set order.
	Targets []TargetResult `json:"targets"`
}

// Group is the statistics of a set of targets.
type Group struct {
	Ecosystem string `json:"ecosystem"`
	// Strategy is the build strategy; "" in per-ecosystem and total groups, NoStrategy for
	// targets that failed before one was chosen.
	Strategy string `json:"strategy,omitempty"`
	Targets  int    `json:"targets"`
	// Verdicts counts targets per verdict; Reasons per "verdict/reason" of failures.
	Verdicts map[string]int `json:"verdicts"`
	Reasons  map[string]int `json:"reasons"`
	// Reproduced counts identical + equivalent; SuccessRate is Reproduced / Targets.
	Reproduced  int     `json:"reproduced"`
	SuccessRate float64 `json:"success_rate"`
	// PhasesMS are timing percentiles per phase (resolve, source, build, compare, attest,
	// total), over the targets that reached the phase.
	PhasesMS map[string]Percentiles `json:"phases_ms"`
}

// NoStrategy groups targets that failed before a build strategy was chosen.
const NoStrategy = "(none)"

// Percentiles of a phase's duration (nearest-rank), in milliseconds.
type Percentiles struct {
	N    int   `json:"n"`
	P50  int64 `json:"p50"`
	P90  int64 `json:"p90"`
	P99  int64 `json:"p99"`
	Max  int64 `json:"max"`
	Mean int64 `json:"mean"`
}

// Failure is one (verdict, reason) pair with examples.
type Failure struct {
	Verdict  string    `json:"verdict"`
	Reason   string    `json:"reason"`
	Count    int       `json:"count"`
	Examples []Example `json:"examples"`
}

// Example is one target of a failure reason.
type Example struct {
	PURL    string `json:"purl"`
	Message string `json:"message,omitempty"`
}

// TargetResult is one target's line in the report.
type TargetResult struct {
	PURL      string          `json:"purl"`
	Ecosystem string          `json:"ecosystem"`
	Strategy  string          `json:"strategy,omitempty"`
	Verdict   string          `json:"verdict"`
	Reason    string          `json:"reason,omitempty"`
	Message   string          `json:"message,omitempty"`
	TimingsMS verdict.Timings `json:"timings_ms"`
	TotalMS   int64           `json:"total_ms"`
}

// Phases are the timing phases in pipeline order; "total" is their sum.
var Phases = []string{"resolve", "source", "build", "compare", "attest", "total"}

// MaxExamples is how many examples a top failure keeps.
const MaxExamples = 3

// NewReport summarises results (in set order) and errors.
func NewReport(id, set string, results []*verdict.Result, errs []ItemError, now time.Time) *Report {
	r := &Report{Version: ReportVersion, Batch: id, Set: set, Generated: now.UTC().Format(time.RFC3339), Errors: errs,
		TopFailures: []Failure{}, Targets: []TargetResult{}}
	if r.Errors == nil {
		r.Errors = []ItemError{}
	}
	for _, res := range results {
		r.Targets = append(r.Targets, targetResult(res))
	}
	r.summarise()
	return r
}

func targetResult(res *verdict.Result) TargetResult {
	tr := TargetResult{PURL: res.PURL, Strategy: res.Strategy, Verdict: string(res.Verdict), Reason: string(res.Reason),
		Message: firstLine(res.Message+diffHint(res.Diff), 300), TimingsMS: res.TimingsMS}
	if t, err := target.Parse(res.PURL); err == nil {
		tr.Ecosystem = string(t.Ecosystem)
	}
	if tr.Strategy == "" {
		tr.Strategy = NoStrategy
	}
	tm := res.TimingsMS
	tr.TotalMS = tm.Resolve + tm.Source + tm.Build + tm.Compare + tm.Attest
	return tr
}

// diffHint names the first differing paths of a mismatch, so that the report says where.
func diffHint(d *verdict.DiffSummary) string {
	if d == nil {
		return ""
	}
	var parts []string
	for _, l := range []struct {
		what  string
		paths []string
	}{{"only upstream", d.OnlyUpstream}, {"only rebuild", d.OnlyRebuild}, {"changed", d.Changed}} {
		if len(l.paths) > 0 {
			more := ""
			if len(l.paths) > 2 {
				more = fmt.Sprintf(" +%d", len(l.paths)-2)
			}
			parts = append(parts, l.what+": "+strings.Join(l.paths[:min(2, len(l.paths))], ", ")+more)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// summarise computes the groups and top failures from r.Targets.
func (r *Report) summarise() {
	r.Total = group("", "", r.Targets)
	byEco := map[string][]TargetResult{}
	byGroup := map[[2]string][]TargetResult{}
	for _, t := range r.Targets {
		byEco[t.Ecosystem] = append(byEco[t.Ecosystem], t)
		k := [2]string{t.Ecosystem, t.Strategy}
		byGroup[k] = append(byGroup[k], t)
	}
	r.Ecosystems = []Group{}
	for _, e := range sortedKeys(byEco) {
		r.Ecosystems = append(r.Ecosystems, group(e, "", byEco[e]))
	}
	keys := make([][2]string, 0, len(byGroup))
	for k := range byGroup {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	r.Groups = []Group{}
	for _, k := range keys {
		r.Groups = append(r.Groups, group(k[0], k[1], byGroup[k]))
	}

	fails := map[[2]string]*Failure{}
	for _, t := range r.Targets {
		if verdict.Verdict(t.Verdict).Success() {
			continue
		}
		k := [2]string{t.Verdict, t.Reason}
		f := fails[k]
		if f == nil {
			f = &Failure{Verdict: t.Verdict, Reason: t.Reason, Examples: []Example{}}
			fails[k] = f
		}
		f.Count++
		if len(f.Examples) < MaxExamples {
			f.Examples = append(f.Examples, Example{PURL: t.PURL, Message: t.Message})
		}
	}
	for _, f := range fails {
		r.TopFailures = append(r.TopFailures, *f)
	}
	sort.Slice(r.TopFailures, func(i, j int) bool {
		a, b := r.TopFailures[i], r.TopFailures[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Verdict != b.Verdict {
			return a.Verdict < b.Verdict
		}
		return a.Reason < b.Reason
	})
}

func group(eco, strategy string, ts []TargetResult) Group {
	g := Group{Ecosystem: eco, Strategy: strategy, Targets: len(ts), Verdicts: map[string]int{}, Reasons: map[string]int{},
		PhasesMS: map[string]Percentiles{}}
	phase := map[string][]int64{}
	for _, t := range ts {
		g.Verdicts[t.Verdict]++
		v := verdict.Verdict(t.Verdict)
		if v.Success() {
			g.Reproduced++
		} else {
			g.Reasons[t.Verdict+"/"+t.Reason]++
		}
		tm := t.TimingsMS
		phase["resolve"] = append(phase["resolve"], tm.Resolve)
		phase["total"] = append(phase["total"], t.TotalMS)
		if v != verdict.UpstreamError {
			phase["source"] = append(phase["source"], tm.Source)
		}
		if t.Strategy != NoStrategy {
			phase["build"] = append(phase["build"], tm.Build)
		}
		if v.Success() || v == verdict.Mismatch {
			phase["compare"] = append(phase["compare"], tm.Compare)
		}
		if v != verdict.UpstreamError {
			phase["attest"] = append(phase["attest"], tm.Attest)
		}
	}
	if g.Targets > 0 {
		g.SuccessRate = math.Round(float64(g.Reproduced)/float64(g.Targets)*10000) / 10000
	}
	for p, xs := range phase {
		g.PhasesMS[p] = percentiles(xs)
	}
	return g
}

// percentiles uses the nearest-rank method: the p-th percentile is the smallest value with
// at least p% of the values at or below it.
func percentiles(xs []int64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(p float64) int64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	var sum int64
	for _, x := range s {
		sum += x
	}
	return Percentiles{N: len(s), P50: rank(50), P90: rank(90), P99: rank(99), Max: s[len(s)-1], Mean: sum / int64(len(s))}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func firstLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// WriteJSON writes the report's canonical JSON form.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// MaxReportSize bounds a report file read by LoadReport.
const MaxReportSize = 256 << 20

// LoadReport reads a report written by WriteJSON.
func LoadReport(file string) (*Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &ReportError{File: file, Msg: err.Error()}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxReportSize+1))
	if err != nil {
		return nil, &ReportError{File: file, Msg: err.Error()}
	}
	if len(b) > MaxReportSize {
		return nil, &ReportError{File: file, Msg: "too large"}
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &ReportError{File: file, Msg: "not a batch report: " + err.Error()}
	}
	if r.Version != ReportVersion || r.Targets == nil {
		return nil, &ReportError{File: file, Msg: fmt.Sprintf("not a version %d batch report", ReportVersion)}
	}
	for _, t := range r.Targets {
		if t.PURL == "" || t.Verdict == "" {
			return nil, &ReportError{File: file, Msg: "a target without purl or verdict"}
		}
	}
	return &r, nil
}

// ReportError is an unusable report file (exit code 2).
type ReportError struct{ File, Msg string }

func (e *ReportError) Error() string { return fmt.Sprintf("batch report %s: %s", e.File, e.Msg) }

// ExitCode is 2: invalid input.
func (e *ReportError) ExitCode() int { return 2 }

// verdictOrder lists verdicts best first (tables, charts).
var verdictOrder = []string{
	string(verdict.Identical), string(verdict.Equivalent), string(verdict.Mismatch),
	string(verdict.BuildFailed), string(verdict.NoSource), string(verdict.UpstreamError),
}

// WriteMarkdown renders the report; chart, when not "", is the SVG's path relative to the
// Markdown file.
func (r *Report) WriteMarkdown(w io.Writer, chart string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vouch batch %s\n\n", r.Batch)
	if r.Set != "" {
		fmt.Fprintf(&b, "Package set: `%s`. ", r.Set)
	}
	fmt.Fprintf(&b, "Generated %s.", r.Generated)
	if r.WallMS > 0 {
		fmt.Fprintf(&b, " Wall clock %s (all runs of the batch), %d jobs.", fmtMS(r.WallMS), r.Jobs)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "**%d of %d targets reproduced (%.1f%%)**", r.Total.Reproduced, r.Total.Targets, 100*r.Total.SuccessRate)
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "; %d ended without a verdict (see Errors)", len(r.Errors))
	}
	b.WriteString(".\n\n")
	if chart != "" {
		fmt.Fprintf(&b, "![verdicts and time distribution](%s)\n\n", chart)
	}

	b.WriteString("## Verdicts\n\n| ecosystem | strategy | targets | ")
	b.WriteString(strings.Join(verdictOrder, " | "))
	b.WriteString(" | success |\n|---|---|---:|")
	b.WriteString(strings.Repeat("---:|", len(verdictOrder)+1))
	b.WriteString("\n")
	row := func(g Group, eco, strat string) {
		fmt.Fprintf(&b, "| %s | %s | %d |", eco, strat, g.Targets)
		for _, v := range verdictOrder {
			fmt.Fprintf(&b, " %d |", g.Verdicts[v])
		}
		fmt.Fprintf(&b, " %.1f%% |\n", 100*g.SuccessRate)
	}
	for _, g := range r.Groups {
		row(g, g.Ecosystem, "`"+g.Strategy+"`")
	}
	for _, g := range r.Ecosystems {
		row(g, "**"+g.Ecosystem+"**", "all")
	}
	row(r.Total, "**all**", "all")

	b.WriteString("\n## Timings (ms, p50 / p90 / max)\n\n| ecosystem | strategy | ")
	b.WriteString(strings.Join(Phases, " | "))
	b.WriteString(" |\n|---|---|")
	b.WriteString(strings.Repeat("---:|", len(Phases)))
	b.WriteString("\n")
	trow := func(g Group, eco, strat string) {
		fmt.Fprintf(&b, "| %s | %s |", eco, strat)
		for _, p := range Phases {
			pc := g.PhasesMS[p]
			if pc.N == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %d / %d / %d |", pc.P50, pc.P90, pc.Max)
		}
		b.WriteString("\n")
	}
	for _, g := range r.Groups {
		trow(g, g.Ecosystem, "`"+g.Strategy+"`")
	}
	trow(r.Total, "**all**", "all")

	if len(r.TopFailures) > 0 {
		b.WriteString("\n## Top failure reasons\n\n| verdict | reason | targets | examples |\n|---|---|---:|---|\n")
		for _, f := range r.TopFailures {
			var ex []string
			for _, e := range f.Examples {
				s := "`" + e.PURL + "`"
				if e.Message != "" {
					s += ": " + mdEscape(firstLine(e.Message, 120))
				}
				ex = append(ex, s)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", f.Verdict, orDash(f.Reason), f.Count, strings.Join(ex, "<br>"))
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Errors (no verdict)\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- `%s`: %s\n", e.PURL, mdEscape(firstLine(e.Err, 200)))
		}
	}
	b.WriteString("\n## Targets\n\n| target | verdict | reason | strategy | total |\n|---|---|---|---|---:|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", t.PURL, t.Verdict, orDash(t.Reason), t.Strategy, fmtMS(t.TotalMS))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func fmtMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}
