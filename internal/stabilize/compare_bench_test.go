package stabilize_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/stabilize"
)

// BenchmarkCompareTarGzHeaderOnly compares a ~50 MB tar.gz with a rebuild whose compressed
// bytes are the same and whose gzip header differs (OS byte and mtime, as when the same zlib
// packs on another system): one decompression instead of two. Throughput is per upstream byte.
func BenchmarkCompareTarGzHeaderOnly(b *testing.B) {
	files := benchFiles(5000, 200<<20)
	names := sortedNames(files)
	dir := b.TempDir()
	up, re := filepath.Join(dir, "up.tgz"), filepath.Join(dir, "re.tgz")
	size := writeTarGz(b, up, files, names, stabilize.NPMEpoch, gzip.DefaultCompression)
	data, err := os.ReadFile(up)
	if err != nil {
		b.Fatal(err)
	}
	// Rewrite the header's MTIME (bytes 4-7) and OS (byte 9), RFC 1952 §2.3.
	other := bytes.Clone(data)
	other[4], other[5], other[6], other[7] = byte(time.Now().Unix()), 1, 2, 3
	other[9] = 19
	if err := os.WriteFile(re, other, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		c, err := stabilize.Compare(up, re, stabilize.NPM(), archive.DefaultLimits)
		if err != nil || !c.Equivalent || c.Identical {
			b.Fatalf("Compare = %+v, %v", c, err)
		}
	}
	cpu.report(b, size)
}

// cpuClock measures the process's CPU time (user + system, all threads), which unlike wall
// time does not grow when other processes compete for the machine.
type cpuClock struct{ start, startSys time.Duration }

func startCPU() cpuClock { return cpuClock{cpuNow(), sysNow()} }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sysNow is the system part of cpuNow (page faults of fresh memory, file reads).
func sysNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Stime.Nano())
}

// report adds cpu-ms/op (of which sys-ms/op in the kernel) and MB/cpu-s (bytes per op over
// CPU seconds) to b's results.
func (c cpuClock) report(b *testing.B, bytesPerOp int64) {
	used := cpuNow() - c.start
	n := float64(b.N)
	b.ReportMetric(float64(used.Milliseconds())/n, "cpu-ms/op")
	b.ReportMetric(float64((sysNow()-c.startSys).Milliseconds())/n, "sys-ms/op")
	b.ReportMetric(float64(bytesPerOp)*n/1e6/used.Seconds(), "MB/cpu-s")
}
