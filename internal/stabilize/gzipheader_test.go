package stabilize_test

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/stabilize"
)

// regzip recompresses tgz's payload with the header h at level.
func regzip(t *testing.T, tgz []byte, h gzip.Header, level int) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	var payload bytes.Buffer
	if _, err := payload.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, level)
	zw.Header = h
	zw.Write(payload.Bytes())
	zw.Close()
	return out.Bytes()
}

// TestCompareSameGzipBody: artifacts whose compressed bytes are equal and whose gzip headers
// differ (the OS byte of a tarball packed on macOS, an mtime) take the one-decompression path;
// the outcome must be what decompressing both gives.
func TestCompareSameGzipBody(t *testing.T) {
	tgz := archivetest.TarGz(t,
		archivetest.File{Name: "package/package.json", Body: `{"name":"x","version":"1.0.0"}`},
		archivetest.File{Name: "package/index.js", Body: "module.exports = 1;\n"})
	up := regzip(t, tgz, gzip.Header{OS: 3}, gzip.DefaultCompression)
	re := regzip(t, tgz, gzip.Header{OS: 19, ModTime: time.Unix(1.7e9, 0), Name: "x.tar"}, gzip.DefaultCompression)
	if bu, _ := archive.GzipBody(up); !bytes.Equal(bu, mustBody(t, re)) {
		t.Fatal("fixture: bodies differ")
	}
	// Same content compressed at another level: the two-decompression path.
	slow := regzip(t, tgz, gzip.Header{OS: 19, ModTime: time.Unix(1.7e9, 0), Name: "x.tar"}, gzip.BestCompression)

	for _, set := range [][]stabilize.Stabilizer{stabilize.NPM(), nil} {
		fast, err := stabilize.CompareBytes(up, re, set, archive.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := stabilize.CompareBytes(up, slow, set, archive.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		ignore := cmpopts.IgnoreFields(stabilize.Comparison{}, "RebuildSHA256", "Upstream", "Rebuild")
		if diff := cmp.Diff(ref, fast, ignore); diff != "" {
			t.Errorf("set of %d: fast path differs from decompressing both (-slow +fast):\n%s", len(set), diff)
		}
		if fast.Identical {
			t.Errorf("different files reported identical")
		}
		if len(set) > 0 && (!fast.Equivalent || !cmp.Equal(fast.Applied, []string{"gzip-layer"})) {
			t.Errorf("NPM set: equivalent %v applied %v, want equivalent by gzip-layer", fast.Equivalent, fast.Applied)
		}
		if len(set) == 0 && fast.Equivalent {
			t.Errorf("without stabilizers the gzip headers still count; got equivalent")
		}
		// The stabilizers changed the rebuild's copy, not the upstream archive.
		if fast.Upstream == fast.Rebuild {
			t.Errorf("both sides share one archive")
		}
	}
}

func mustBody(t *testing.T, b []byte) []byte {
	t.Helper()
	body, ok := archive.GzipBody(b)
	if !ok {
		t.Fatal("not gzip")
	}
	return body
}
