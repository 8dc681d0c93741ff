package diff_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vouch-dev/vouch/internal/diff"
)

// BenchmarkDiffLargeMismatch diffs a ~20 MB tar.gz against a copy in which 300 of 2000 text
// files have one changed line. Throughput is per upstream (compressed) byte.
func BenchmarkDiffLargeMismatch(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const nfiles = 2000
	bodies := make([][]byte, nfiles)
	for i := range bodies {
		var buf bytes.Buffer
		for buf.Len() < 25<<10 {
			fmt.Fprintf(&buf, "const v%d = %d; // %x\n", r.IntN(1000), r.IntN(1e6), r.Uint32())
		}
		bodies[i] = buf.Bytes()
	}
	write := func(path string, change bool) int64 {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		for i, body := range bodies {
			if change && i%6 == 0 && i/6 < 300 {
				body = append(append([]byte(nil), body[:len(body)/2]...), append([]byte("// changed\n"), body[len(body)/2:]...)...)
			}
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("package/src/f%04d.js", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
			tw.Write(body)
		}
		tw.Close()
		zw.Close()
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		return int64(out.Len())
	}
	dir := b.TempDir()
	pa, pb := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz")
	size := write(pa, false)
	write(pb, true)
	b.Logf("upstream %.1f MB compressed", float64(size)/1e6)
	b.SetBytes(size)
	for b.Loop() {
		n, err := diff.Files(pa, pb, diff.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s := n.Summary(0); s.Differences != 300 {
			b.Fatalf("%d differences, want 300", s.Differences)
		}
	}
}
