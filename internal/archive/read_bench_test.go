package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
)

// BenchmarkReadTarGz reads (decompresses, checks, loads) a ~55 MB tar.gz of 5000
// JavaScript-like files (200 MB unpacked). Throughput is per compressed byte; MB/cpu-s
// divides by the process's CPU time, which a busy machine does not inflate.
func BenchmarkReadTarGz(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"function", "return", "const", "module", "exports", "require", "this", "value", "if", "else", "=>", "{", "}", "(", ")", ";", "\n"}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for i := range 5000 {
		var body bytes.Buffer
		for body.Len() < (200<<20)/5000 {
			if r.IntN(6) == 0 {
				fmt.Fprintf(&body, "v%d ", r.IntN(5000))
			} else {
				body.WriteString(words[r.IntN(len(words))])
				body.WriteByte(' ')
			}
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("package/lib/f%05d.js", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(body.Len())})
		tw.Write(body.Bytes())
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	data := gz.Bytes()
	b.Logf("%.1f MB compressed; inflate backend %q", float64(len(data))/1e6, archive.InflateBackend)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu0 := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for b.Loop() {
		a, err := archive.Read(data, archive.DefaultLimits)
		if err != nil || len(a.Entries) != 5000 {
			b.Fatal(err)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	used := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - cpu0
	b.ReportMetric(float64(len(data))*float64(b.N)/1e6/used.Seconds(), "MB/cpu-s")
}
