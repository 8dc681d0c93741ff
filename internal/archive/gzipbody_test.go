package archive_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
)

// gz compresses payload with the header fields set (stdlib writer: FNAME, FCOMMENT, FEXTRA).
func gz(t testing.TB, payload []byte, h gzip.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Header = h
	zw.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipBody(t *testing.T) {
	payload := bytes.Repeat([]byte("hello, world\n"), 1000)
	plain := gz(t, payload, gzip.Header{})
	body, ok := archive.GzipBody(plain)
	if !ok || len(body) != len(plain)-10 {
		t.Fatalf("plain header: body %d bytes ok %v, want %d", len(body), ok, len(plain)-10)
	}
	for _, h := range []gzip.Header{
		{Name: "package.tar", ModTime: time.Unix(1e9, 0)},
		{Comment: "built on a Mac", OS: 19},
		{Extra: []byte{'A', 'B', 2, 0, 'x', 'y'}, Name: "n", Comment: "c"},
	} {
		other := gz(t, payload, h)
		ob, ok := archive.GzipBody(other)
		if !ok || !bytes.Equal(ob, body) {
			t.Errorf("header %+v: body differs from the plain stream's (ok %v)", h, ok)
		}
	}
	// An FHCRC header (flag bit 1, two CRC bytes after the fixed fields); the stdlib writer
	// never sets it, so patch one in.
	withCRC := append([]byte{}, plain[:10]...)
	withCRC[3] |= 1 << 1
	withCRC = append(withCRC, 0, 0)
	withCRC = append(withCRC, plain[10:]...)
	if b, ok := archive.GzipBody(withCRC); !ok || !bytes.Equal(b, body) {
		t.Errorf("FHCRC header: ok %v, body equal %v", ok, bytes.Equal(b, body))
	}
	for name, bad := range map[string][]byte{
		"not gzip":        []byte("PK\x03\x04 not gzip at all"),
		"short":           plain[:5],
		"unterminated":    {0x1f, 0x8b, 8, 1 << 3, 0, 0, 0, 0, 0, 3, 'a', 'b'},
		"extra too long":  {0x1f, 0x8b, 8, 1 << 2, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 1},
		"extra len cut":   {0x1f, 0x8b, 8, 1 << 2, 0, 0, 0, 0, 0, 3, 0xff},
		"hcrc past end":   {0x1f, 0x8b, 8, 1 << 1, 0, 0, 0, 0, 0, 3, 0},
		"comment no data": {0x1f, 0x8b, 8, 1 << 4, 0, 0, 0, 0, 0, 3},
	} {
		if _, ok := archive.GzipBody(bad); ok {
			t.Errorf("%s: GzipBody accepted %x", name, bad)
		}
	}
}

func FuzzGzipBody(f *testing.F) {
	f.Add(gz(f, []byte("x"), gzip.Header{Name: "a", Comment: "b", Extra: []byte{1, 2, 0, 0}}))
	f.Add(archivetest.TarGz(f, archivetest.File{Name: "package/a.js", Body: "1"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		body, ok := archive.GzipBody(b)
		if !ok {
			return
		}
		if len(body) > len(b) || !bytes.Equal(body, b[len(b)-len(body):]) {
			t.Fatalf("body is not a suffix of the input")
		}
		// Where the standard reader accepts the header, the same body with a plain header
		// decompresses to the same bytes.
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		want, errA := readCapped(zr)
		plain := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}, body...)
		zr2, err := gzip.NewReader(bytes.NewReader(plain))
		if err != nil {
			t.Fatalf("plain header rejected: %v", err)
		}
		got, errB := readCapped(zr2)
		if (errA == nil) != (errB == nil) || !bytes.Equal(want, got) {
			t.Fatalf("payload depends on the header: %v / %v", errA, errB)
		}
	})
}

func readCapped(zr *gzip.Reader) ([]byte, error) {
	var out bytes.Buffer
	_, err := out.ReadFrom(&cappedReader{r: zr, n: 1 << 20})
	return out.Bytes(), err
}

type cappedReader struct {
	r io.Reader
	n int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.EOF
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func TestCloneIsIndependent(t *testing.T) {
	a, err := archive.Read(archivetest.TarGz(t, archivetest.File{Name: "package/a.js", Body: "1"}, archivetest.File{Name: "package/b.js", Body: "2"}), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Clone()
	c.Entries[0].Name, c.Entries[0].Mode, c.Gzip.OS = "x", 0o777, 99
	c.Entries = c.Entries[:1]
	if a.Entries[0].Name != "package/a.js" || a.Entries[0].Mode == 0o777 || a.Gzip.OS == 99 || len(a.Entries) != 2 {
		t.Fatalf("changing the clone changed the original: %+v", a.Entries[0])
	}
}
