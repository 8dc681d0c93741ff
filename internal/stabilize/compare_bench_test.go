package stabilize_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
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
	for b.Loop() {
		c, err := stabilize.Compare(up, re, stabilize.NPM(), archive.DefaultLimits)
		if err != nil || !c.Equivalent || c.Identical {
			b.Fatalf("Compare = %+v, %v", c, err)
		}
	}
}
