package diff_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/diff"
)

// Pair sizes for BenchmarkDiffVsDiffoscope: about 200 MB of JavaScript-like text in 5000
// files, a ~50 MB tar.gz; the rebuild changes one line in every 100th file.
const (
	pairFiles   = 5000
	pairSize    = 200 << 20
	pairChanged = 50
)

// writeMismatchedPair writes a.tgz and b.tgz into dir (reusing them if present) and returns
// their paths and the names of the files that differ.
func writeMismatchedPair(tb testing.TB, dir string) (string, string, []string) {
	tb.Helper()
	pa, pb := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz")
	var changed []string
	for i := range pairFiles {
		if i%(pairFiles/pairChanged) == 0 {
			changed = append(changed, pairName(i))
		}
	}
	if _, err := os.Stat(pb); err == nil {
		return pa, pb, changed
	}
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"function", "return", "const", "module", "exports", "require", "this", "value", "if", "else", "=>", "{", "}", "(", ")", ";", "\n"}
	var ta, tbuf bytes.Buffer
	wa, wb := tar.NewWriter(&ta), tar.NewWriter(&tbuf)
	mtime := time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)
	for i := range pairFiles {
		var body bytes.Buffer
		for body.Len() < pairSize/pairFiles {
			if r.IntN(6) == 0 {
				fmt.Fprintf(&body, "v%d ", r.IntN(5000))
			} else {
				body.WriteString(words[r.IntN(len(words))])
				body.WriteByte(' ')
			}
		}
		a := body.Bytes()
		b := a
		if i%(pairFiles/pairChanged) == 0 {
			mid := bytes.IndexByte(a[len(a)/2:], '\n') + len(a)/2 + 1
			b = slices.Concat(a[:mid], []byte("injected();\n"), a[mid:])
		}
		for _, x := range []struct {
			w    *tar.Writer
			body []byte
		}{{wa, a}, {wb, b}} {
			if err := x.w.WriteHeader(&tar.Header{Name: pairName(i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(x.body)), ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
				tb.Fatal(err)
			}
			x.w.Write(x.body)
		}
	}
	wa.Close()
	wb.Close()
	for _, x := range []struct {
		path string
		tar  []byte
	}{{pa, ta.Bytes()}, {pb, tbuf.Bytes()}} {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		zw.Write(x.tar)
		zw.Close()
		if err := os.WriteFile(x.path, gz.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return pa, pb, changed
}

func pairName(i int) string { return fmt.Sprintf("package/lib/dir%03d/file%05d.js", i%100, i) }

// BenchmarkDiffVsDiffoscope diffs a ~50 MB mismatched tar.gz pair with vouch (diff.Files, what
// `vouch diff A B` runs) and then once with diffoscope (Debian package) on the same pair,
// checks that both name the same differing files, and reports diffoscope's time and the
// ratio. diffoscope takes minutes: the benchmark runs only with VOUCH_BENCH_DIFFOSCOPE=1.
// VOUCH_BENCH_PAIR_DIR keeps the generated pair for command-line comparisons
// (see README "Benchmarks").
//
//	VOUCH_BENCH_DIFFOSCOPE=1 go test ./internal/diff -run '^$' -bench DiffVsDiffoscope -benchtime 3x -cpu 1
func BenchmarkDiffVsDiffoscope(b *testing.B) {
	if os.Getenv("VOUCH_BENCH_DIFFOSCOPE") == "" {
		b.Skip("set VOUCH_BENCH_DIFFOSCOPE=1 (needs diffoscope on PATH; takes minutes)")
	}
	dscope, err := exec.LookPath("diffoscope")
	if err != nil {
		b.Skip("diffoscope is not installed (apt-get install diffoscope)")
	}
	dir := os.Getenv("VOUCH_BENCH_PAIR_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	pa, pb, changed := writeMismatchedPair(b, dir)
	fi, _ := os.Stat(pa)
	b.Logf("pair: %s, %.1f MB compressed, %d of %d files differ", dir, float64(fi.Size())/1e6, len(changed), pairFiles)
	b.SetBytes(fi.Size())

	var tree *diff.Node
	b.ResetTimer()
	cpu0 := cpuNow()
	for b.Loop() {
		if tree, err = diff.Files(pa, pb, diff.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	vouchPerOp := b.Elapsed() / time.Duration(b.N)
	vouchCPU := (cpuNow() - cpu0) / time.Duration(b.N)
	b.StopTimer()
	sum := tree.Summary(pairFiles)
	got := slices.Sorted(slices.Values(sum.Changed))
	if !slices.Equal(got, changed) || len(sum.OnlyUpstream)+len(sum.OnlyRebuild) != 0 {
		b.Fatalf("vouch names %d changed files (%v...), want %d", len(got), head(got), len(changed))
	}

	out := filepath.Join(b.TempDir(), "diffoscope.json")
	t0 := time.Now()
	cmd := exec.Command(dscope, "--json", out, "--no-progress", pa, pb)
	msg, err := cmd.CombinedOutput()
	dtime := time.Since(t0)
	if code := cmd.ProcessState.ExitCode(); code != 1 { // 1: differences found
		b.Fatalf("diffoscope: exit %d (%v)\n%s", code, err, msg)
	}
	named := diffoscopeFiles(b, out)
	if !slices.Equal(named, changed) {
		b.Fatalf("diffoscope names %d files (%v...), want the %d vouch names", len(named), head(named), len(changed))
	}
	// CPU time (user + system, with the processes diffoscope waited for) is the fairer
	// measure on a busy machine; wall time is reported too.
	dcpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b.ReportMetric(dtime.Seconds(), "diffoscope-s")
	b.ReportMetric(dcpu.Seconds(), "diffoscope-cpu-s")
	b.ReportMetric(vouchCPU.Seconds(), "vouch-cpu-s")
	b.ReportMetric(dtime.Seconds()/vouchPerOp.Seconds(), "x-faster-wall")
	b.ReportMetric(dcpu.Seconds()/vouchCPU.Seconds(), "x-faster-cpu")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// diffoscopeFiles collects the member names diffoscope reports (its JSON output nests
// {source1, source2, details[]}); only names of the generated files count.
func diffoscopeFiles(b *testing.B, path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if s, ok := n["source1"].(string); ok && strings.HasPrefix(s, "package/lib/") {
			seen[s] = true
		}
		if ds, ok := n["details"].([]any); ok {
			for _, d := range ds {
				if m, ok := d.(map[string]any); ok {
					walk(m)
				}
			}
		}
	}
	walk(root)
	return slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
}
