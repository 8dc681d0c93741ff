package stabilize_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/stabilize"
)

// benchFiles makes n pseudo-random source-like files totalling about size bytes; they
// compress about 4:1, like JavaScript packages.
func benchFiles(n, size int) map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"function", "return", "const", "module", "exports", "require", "this", "value", "if", "else", "=>", "{", "}", "(", ")", ";", "\n"}
	files := make(map[string][]byte, n)
	per := size / n
	for i := range n {
		var b bytes.Buffer
		for b.Len() < per {
			if r.IntN(6) == 0 {
				fmt.Fprintf(&b, "v%d ", r.IntN(5000))
			} else {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
		}
		files[fmt.Sprintf("package/lib/dir%03d/file%05d.js", i%100, i)] = b.Bytes()
	}
	return files
}

func writeTarGz(b *testing.B, path string, files map[string][]byte, names []string, mtime time.Time, level int) int64 {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		d := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(d)), ModTime: mtime}); err != nil {
			b.Fatal(err)
		}
		tw.Write(d)
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return int64(buf.Len())
}

func sortedNames(files map[string][]byte) []string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slicesSort(names)
	return names
}

// BenchmarkCompareTarGz compares a ~50 MB tar.gz with a rebuild that differs in entry order,
// mtimes and compression level (so every stage runs). Throughput is per upstream byte.
func BenchmarkCompareTarGz(b *testing.B) {
	files := benchFiles(5000, 200<<20)
	names := sortedNames(files)
	dir := b.TempDir()
	up, re := filepath.Join(dir, "up.tgz"), filepath.Join(dir, "re.tgz")
	size := writeTarGz(b, up, files, names, stabilize.NPMEpoch, gzip.BestCompression)
	rev := append([]string(nil), names...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	reSize := writeTarGz(b, re, files, rev, time.Now(), gzip.DefaultCompression)
	b.Logf("upstream %.1f MB compressed, rebuild %.1f MB, %d files; inflate backend %q",
		float64(size)/1e6, float64(reSize)/1e6, len(files), archive.InflateBackend)
	b.SetBytes(size)
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		c, err := stabilize.Compare(up, re, stabilize.NPM(), archive.DefaultLimits)
		if err != nil || !c.Equivalent {
			b.Fatalf("Compare = %+v, %v", c, err)
		}
	}
	cpu.report(b, size)
	// Both artifacts are read and inflated: throughput over both compressed files too.
	b.ReportMetric(float64(size+reSize)*float64(b.N)/1e6/(cpuNow()-cpu.start).Seconds(), "both-MB/cpu-s")
}

// BenchmarkCompareZip compares a ~50 MB zip with a rebuild differing in order and times.
func BenchmarkCompareZip(b *testing.B) {
	files := benchFiles(5000, 200<<20)
	names := sortedNames(files)
	dir := b.TempDir()
	write := func(path string, names []string, mtime time.Time) int64 {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mtime})
			if err != nil {
				b.Fatal(err)
			}
			w.Write(files[n])
		}
		zw.Close()
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		return int64(buf.Len())
	}
	up, re := filepath.Join(dir, "up.zip"), filepath.Join(dir, "re.zip")
	size := write(up, names, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	rev := append([]string(nil), names...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	write(re, rev, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	b.Logf("upstream %.1f MB compressed", float64(size)/1e6)
	b.SetBytes(size)
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		c, err := stabilize.Compare(up, re, stabilize.Zip(), archive.DefaultLimits)
		if err != nil || !c.Equivalent {
			b.Fatalf("Compare = %+v, %v", c, err)
		}
	}
	cpu.report(b, size)
}
