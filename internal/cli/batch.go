package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vouch-dev/vouch/internal/batch"
)

const batchUsage = "usage: vouch batch PACKAGESET.json [--jobs N] [--resume] [--id ID] [--report FILE] [--filter EXPR ...] [--limit N] [--sandbox auto|bwrap|none] [--json]\n       vouch batch --compare OLD.json NEW.json [--json]"

// maxJobs bounds --jobs: every job runs a build with its own processes and work directory.
const maxJobs = 64

func runBatch(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("batch", flag.ContinueOnError)
	jobs := fs.Int("jobs", min(runtime.NumCPU(), 4), "rebuilds to run at the same time")
	resume := fs.Bool("resume", false, "continue the latest batch of this package set (or --id), skipping finished targets")
	id := fs.String("id", "", "batch id to resume (default: the latest batch of the same package set)")
	reportFile := fs.String("report", "", "also write the report to FILE: FILE's stem with .md, .json and .svg")
	var filters multiFlag
	fs.Var(&filters, "filter", "only targets matching: ecosystem=E, name=GLOB, purl=GLOB or GLOB (repeatable; all must match)")
	limit := fs.Int("limit", 0, "only the first N targets (after filtering)")
	sb := fs.String("sandbox", "auto", "isolation: auto, bwrap or none")
	asJSON := fs.Bool("json", false, "print the report (or comparison) as one JSON document")
	compare := fs.Bool("compare", false, "compare two batch reports (JSON): regressions and fixes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *compare {
		if len(pos) != 2 {
			return &UsageError{Msg: batchUsage}
		}
		return runBatchCompare(a, pos[0], pos[1], *asJSON)
	}
	if len(pos) != 1 {
		return &UsageError{Msg: batchUsage}
	}
	if *jobs < 1 || *jobs > maxJobs {
		return &UsageError{Msg: fmt.Sprintf("--jobs must be between 1 and %d", maxJobs)}
	}
	if *limit < 0 {
		return &UsageError{Msg: "--limit must not be negative"}
	}
	if *id != "" && !batch.ValidID(*id) {
		return &UsageError{Msg: fmt.Sprintf("--id %q: letters, digits, '.', '_' and '-' only", *id)}
	}
	if *id != "" && !*resume {
		return &UsageError{Msg: "--id names a batch to resume; use it with --resume"}
	}
	set, raw, err := batch.LoadSet(pos[0])
	if err != nil {
		return err
	}
	items, err := set.Items()
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	flt, err := batch.ParseFilter(filters)
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	items = flt.Apply(items)
	if *limit > 0 && len(items) > *limit {
		items = items[:*limit]
	}
	if len(items) == 0 {
		return &UsageError{Msg: "no targets in the package set match the filters"}
	}

	if err := checkCacheMax(a); err != nil {
		return err
	}
	e, err := a.openEnv()
	if err != nil {
		return err
	}
	defer e.close()
	defer autoPrune(a, e.home)
	batchDir := filepath.Join(e.home, "batches")
	sum := sha256.Sum256(raw)
	setDigest := hex.EncodeToString(sum[:])
	var meta *batch.Meta
	switch {
	case *resume && *id != "":
		if meta, err = batch.LoadMeta(batchDir, *id); err != nil {
			return &UsageError{Msg: err.Error()}
		}
	case *resume:
		if meta, err = batch.Latest(batchDir, setDigest); err != nil {
			return err
		}
		if meta == nil {
			return &UsageError{Msg: "no earlier batch of " + pos[0] + " to resume (the set file's content identifies it)"}
		}
	default:
		abs, _ := filepath.Abs(pos[0])
		if meta, err = batch.NewMeta(batchDir, abs, setDigest, filters, time.Now()); err != nil {
			return fmt.Errorf("creating the batch: %w", err)
		}
	}

	p, err := e.buildPipeline(a, *sb)
	if err != nil {
		return err
	}
	p.Progress = nil // per-phase lines of concurrent rebuilds would interleave
	p.Batch = meta.ID

	done, err := batch.Finished(e.store, meta.ID, items)
	if err != nil {
		return err
	}
	if *resume {
		fmt.Fprintf(a.Stderr, "vouch: resuming batch %s: %d of %d targets already finished\n", meta.ID, len(done), len(items))
	} else {
		fmt.Fprintf(a.Stderr, "vouch: batch %s: %d targets, %d jobs\n", meta.ID, len(items), *jobs)
	}
	pr := newProgressPrinter(a.Stderr)
	initial := batch.Progress{Done: len(done), Total: len(items), Counts: map[string]int{}}
	for _, r := range done {
		initial.Counts[string(r.Verdict)]++
	}
	pr.begin(initial)
	r := &batch.Runner{Rebuilder: p, Jobs: *jobs, Progress: pr.update}
	out, runErr := r.Run(ctx, items, done)
	pr.finish()
	if runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, context.DeadlineExceeded) {
		return runErr
	}

	meta.WallMS += out.Wall.Milliseconds()
	if err := meta.Save(batchDir); err != nil {
		return fmt.Errorf("saving the batch: %w", err)
	}
	rep := batch.NewReport(meta.ID, meta.Set, out.Results, out.Errors, time.Now())
	rep.WallMS, rep.Jobs = meta.WallMS, *jobs
	paths, err := writeReports(rep, filepath.Join(meta.Dir(batchDir), "report"))
	if err != nil {
		return err
	}
	if *reportFile != "" {
		stem := strings.TrimSuffix(*reportFile, filepath.Ext(*reportFile))
		more, err := writeReports(rep, stem)
		if err != nil {
			return err
		}
		paths = append(more, paths...)
	}
	if *asJSON {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printBatchSummary(a.Stdout, rep, paths)
	}
	if runErr != nil {
		fmt.Fprintf(a.Stderr, "vouch: batch %s interrupted: %d of %d targets finished; continue with: vouch batch %s --resume\n",
			meta.ID, len(out.Results), len(items), pos[0])
		return &exitError{130}
	}
	return nil
}

// writeReports writes stem.json, stem.md and stem.svg and returns their paths.
func writeReports(rep *batch.Report, stem string) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(stem), 0o755); err != nil {
		return nil, fmt.Errorf("writing the report: %w", err)
	}
	svgPath := stem + ".svg"
	var js, md, svg bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return nil, err
	}
	if err := rep.WriteMarkdown(&md, filepath.Base(svgPath)); err != nil {
		return nil, err
	}
	if err := rep.WriteSVG(&svg); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		path string
		b    []byte
	}{{stem + ".md", md.Bytes()}, {stem + ".json", js.Bytes()}, {svgPath, svg.Bytes()}} {
		if err := os.WriteFile(f.path, f.b, 0o644); err != nil {
			return nil, fmt.Errorf("writing the report: %w", err)
		}
		paths = append(paths, f.path)
	}
	return paths, nil
}

func printBatchSummary(w io.Writer, rep *batch.Report, paths []string) {
	t := rep.Total
	fmt.Fprintf(w, "batch %s: %d of %d targets reproduced (%.1f%%)\n", rep.Batch, t.Reproduced, t.Targets, 100*t.SuccessRate)
	for _, v := range []string{"identical", "equivalent", "mismatch", "build_failed", "no_source", "upstream_error"} {
		if n := t.Verdicts[v]; n > 0 {
			fmt.Fprintf(w, "  %-15s %d\n", v, n)
		}
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(w, "  %-15s %d (no verdict)\n", "error", len(rep.Errors))
	}
	if len(rep.TopFailures) > 0 {
		fmt.Fprintln(w, "top failure reasons:")
		for i, f := range rep.TopFailures {
			if i == 5 {
				break
			}
			ex := ""
			if len(f.Examples) > 0 {
				ex = " e.g. " + f.Examples[0].PURL
			}
			fmt.Fprintf(w, "  %4d  %s/%s%s\n", f.Count, f.Verdict, f.Reason, ex)
		}
	}
	if pc := t.PhasesMS["total"]; pc.N > 0 {
		fmt.Fprintf(w, "time per target: p50 %s, p90 %s, max %s; wall clock %s (all runs of the batch), %d jobs\n",
			msStr(pc.P50), msStr(pc.P90), msStr(pc.Max), msStr(rep.WallMS), rep.Jobs)
	}
	for _, p := range paths {
		fmt.Fprintf(w, "report: %s\n", p)
	}
}

func runBatchCompare(a *App, oldFile, newFile string, asJSON bool) error {
	old, err := batch.LoadReport(oldFile)
	if err != nil {
		return err
	}
	nw, err := batch.LoadReport(newFile)
	if err != nil {
		return err
	}
	c := batch.Compare(old, nw)
	if asJSON {
		err = writeJSON(a.Stdout, c)
	} else {
		err = c.WriteMarkdown(a.Stdout)
	}
	if err != nil {
		return err
	}
	if len(c.Regressions) > 0 {
		return &exitError{ExitFailed}
	}
	return nil
}

// progressPrinter shows the batch's progress on stderr: a redrawn bar on a terminal, one
// line per finished target otherwise.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	drawn bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, tty: isTerminal(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (pp *progressPrinter) update(p batch.Progress) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	what := ""
	switch {
	case p.Err != nil:
		what = "error: " + oneLine(p.Err.Error(), 160)
	case p.Result.Reason != "":
		what = string(p.Result.Verdict) + " (" + string(p.Result.Reason) + ")"
	default:
		what = string(p.Result.Verdict)
	}
	line := fmt.Sprintf("[%d/%d] %s %s in %s", p.Done, p.Total, p.Item.PURL(), what, msStr(p.Elapsed.Milliseconds()))
	if !pp.tty {
		fmt.Fprintln(pp.w, line)
		return
	}
	// The finished target's line scrolls up; the bar is redrawn below it.
	fmt.Fprintf(pp.w, "\r\033[K%s\n%s", line, progressBar(p))
	pp.drawn = true
}

// begin draws the bar before the first target finishes (terminal only).
func (pp *progressPrinter) begin(p batch.Progress) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.tty {
		fmt.Fprint(pp.w, progressBar(p))
		pp.drawn = true
	}
}

func (pp *progressPrinter) finish() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.tty && pp.drawn {
		fmt.Fprint(pp.w, "\n")
	}
}

func progressBar(p batch.Progress) string {
	const width = 30
	fill := 0
	if p.Total > 0 {
		fill = width * p.Done / p.Total
	}
	var counts []string
	for _, v := range []string{"identical", "equivalent", "mismatch", "build_failed", "no_source", "upstream_error", batch.ErrorVerdict} {
		if n := p.Counts[v]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", v, n))
		}
	}
	eta := ""
	if p.ETA > 0 {
		eta = " ETA " + p.ETA.Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d %s%s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.Done, p.Total, strings.Join(counts, ", "), eta)
}

func oneLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
