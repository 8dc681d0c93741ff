//go:build cgo && isal

package archive

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

func TestInflateBackendIsISAL(t *testing.T) {
	if InflateBackend != "isal" {
		t.Fatalf("InflateBackend = %q with the isal tag", InflateBackend)
	}
}

// errClass names what callers can tell apart about an error (the tests also compare the
// messages).
func errClass(err error) string {
	var le *LimitError
	var ue *UnsafeError
	var ce flate.CorruptInputError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &le):
		return fmt.Sprintf("limit %s %q", le.Limit, le.Entry)
	case errors.As(err, &ue):
		return "unsafe " + ue.Reason
	case errors.Is(err, kgzip.ErrHeader):
		return "gzip header"
	case errors.Is(err, kgzip.ErrChecksum):
		return "gzip checksum"
	case errors.As(err, &ce):
		return "corrupt deflate"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return "other: " + err.Error()
}

func innermost(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// gzMember compresses payload as one gzip member at level with header h.
func gzMember(t testing.TB, payload []byte, level int, h gzip.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Header = h
	zw.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHeaderCRC sets FHCRC on a member with a plain 10-byte header.
func withHeaderCRC(m []byte, good bool) []byte {
	out := append([]byte{}, m[:10]...)
	out[3] |= 1 << 1
	c := uint16(crc32.ChecksumIEEE(out))
	if !good {
		c++
	}
	out = binary.LittleEndian.AppendUint16(out, c)
	return append(out, m[10:]...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// backendInputs are gzip files both backends must treat alike: valid, multi-member,
// corrupt, truncated, with trailing bytes, and bombs.
func backendInputs(t testing.TB) map[string][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	text := make([]byte, 300_000)
	for i := range text {
		text[i] = "abcdefgh \n{}();"[r.IntN(15)]
	}
	random := make([]byte, 70_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	tarball := testTar(t)
	in := map[string][]byte{
		"empty payload":      gzMember(t, nil, 6, gzip.Header{}),
		"text":               gzMember(t, text, 6, gzip.Header{Name: "t.txt", Comment: "café", Extra: []byte{'A', 'B', 1, 0, 'x'}}),
		"stored":             gzMember(t, text[:100_000], gzip.NoCompression, gzip.Header{}),
		"huffman only":       gzMember(t, text, gzip.HuffmanOnly, gzip.Header{}),
		"best":               gzMember(t, text, gzip.BestCompression, gzip.Header{}),
		"incompressible":     gzMember(t, random, 6, gzip.Header{}),
		"tar.gz":             gzMember(t, tarball, 6, gzip.Header{}),
		"tar.gz two members": cat(gzMember(t, tarball[:1000], 6, gzip.Header{}), gzMember(t, tarball[1000:], 1, gzip.Header{Name: "second"})),
		"three members, one empty": cat(gzMember(t, text[:5000], 6, gzip.Header{}), gzMember(t, nil, 6, gzip.Header{}),
			gzMember(t, text[5000:9000], 9, gzip.Header{})),
		"header crc":             withHeaderCRC(gzMember(t, text[:1000], 6, gzip.Header{}), true),
		"bad header crc":         withHeaderCRC(gzMember(t, text[:1000], 6, gzip.Header{}), false),
		"bad header crc member2": cat(gzMember(t, text[:1000], 6, gzip.Header{}), withHeaderCRC(gzMember(t, text[:10], 6, gzip.Header{}), false)),
		"trailing garbage":       cat(gzMember(t, text[:1000], 6, gzip.Header{}), []byte("garbage after the member")),
		"trailing zeros 4":       cat(gzMember(t, text[:1000], 6, gzip.Header{}), make([]byte, 4)),
		"trailing zeros 512":     cat(gzMember(t, text[:1000], 6, gzip.Header{}), make([]byte, 512)),
		"trailing magic only":    cat(gzMember(t, text[:1000], 6, gzip.Header{}), []byte{0x1f, 0x8b, 8}),
		"reserved flag member2":  cat(gzMember(t, text[:1000], 6, gzip.Header{}), []byte{0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 3}),
		"unterminated name member2": cat(gzMember(t, text[:1000], 6, gzip.Header{}),
			[]byte{0x1f, 0x8b, 8, 1 << 3, 0, 0, 0, 0, 0, 3, 'a', 'b'}),
		"long name": gzMember(t, text[:10], 6, gzip.Header{Name: string(bytes.Repeat([]byte("n"), 600))}),
		"bomb":      gzMember(t, make([]byte, 8<<20), 9, gzip.Header{}),
	}
	base := gzMember(t, text, 6, gzip.Header{})
	crc := bytes.Clone(base)
	crc[len(crc)-8] ^= 1
	in["bad crc"] = crc
	size := bytes.Clone(base)
	size[len(size)-1] ^= 1
	in["bad isize"] = size
	for _, cut := range []int{1, 5, 9, 10, 11, 20, len(base) / 2, len(base) - 9, len(base) - 8, len(base) - 4, len(base) - 1} {
		in[fmt.Sprintf("cut at %d", cut)] = base[:cut]
	}
	for i, off := range []int{10, 11, 12, 40, 500, len(base) / 3, len(base) / 2, len(base) - 20} {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(base)
			b[off] ^= mask
			in[fmt.Sprintf("flip %d at %d mask %#x", i, off, mask)] = b
		}
	}
	// A stored block whose LEN and NLEN disagree, and a block of the reserved type 3.
	in["bad stored len"] = cat([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, []byte{1, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}, make([]byte, 8))
	in["reserved block type"] = cat([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, []byte{0x07, 0, 0}, make([]byte, 8))
	return in
}

// testTar builds a small tar with a directory, files and a symlink.
func testTar(t testing.TB) []byte {
	t.Helper()
	var files bytes.Buffer
	a := &Archive{Format: FormatTar}
	for i := range 40 {
		a.Entries = append(a.Entries, &Entry{Name: fmt.Sprintf("package/f%02d.js", i), Type: TypeFile, Mode: 0o644,
			Data: bytes.Repeat([]byte(fmt.Sprintf("module.exports = %d;\n", i)), 50+i*20)})
	}
	a.Entries = append(a.Entries, &Entry{Name: "package/lib", Type: TypeDir, Mode: 0o755},
		&Entry{Name: "package/link", Type: TypeSymlink, Linkname: "f01.js", Mode: 0o777})
	if err := a.WriteTar(&files); err != nil {
		t.Fatal(err)
	}
	return files.Bytes()
}

// drain reads r with varying read sizes (as the tar reader does), at most max bytes.
func drain(r io.Reader, max int) ([]byte, error) {
	var out []byte
	sizes := []int{512, 1, 42_000, 7, 1 << 20}
	for i := 0; len(out) < max; i++ {
		p := make([]byte, min(sizes[i%len(sizes)], max-len(out)))
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func compareBackends(t *testing.T, name string, data []byte) {
	t.Helper()
	// The payload reader and header parse.
	zg, ig, errG := openGzipGo(data)
	zi, ii, errI := openGzipISAL(data)
	if fmt.Sprint(errG) != fmt.Sprint(errI) || errClass(errG) != errClass(errI) {
		t.Fatalf("%s: open: go %v, isal %v", name, errG, errI)
	}
	if errG == nil {
		if d := cmp.Diff(ig, ii); d != "" {
			t.Errorf("%s: header info differs (-go +isal):\n%s", name, d)
		}
		outG, errG := drain(zg, 64<<20)
		outI, errI := drain(zi, 64<<20)
		if fmt.Sprint(errG) != fmt.Sprint(errI) {
			t.Errorf("%s: read: go %v, isal %v", name, errG, errI)
		} else if errG == nil && !bytes.Equal(outG, outI) {
			t.Errorf("%s: payloads differ: %d bytes (go) vs %d (isal)", name, len(outG), len(outI))
		}
	}
	if info, err := gzipInfo(data); errG == nil && (err != nil || !cmp.Equal(info, ig)) {
		t.Errorf("%s: gzipInfo = %+v, %v; want %+v", name, info, err, ig)
	}
	// Read, with limits low enough for the bomb.
	for _, lim := range []Limits{DefaultLimits, {MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20}, {MaxEntrySize: 64 << 20, MaxTotalSize: 1 << 20}} {
		ag, errG := read(data, lim, openGzipGo)
		ai, errI := read(data, lim, openGzipISAL)
		// Where ISA-L decoded invalid data leniently (see isalReader) it returned more bytes
		// before the error than the pure-Go decoder, so the error may be met in another
		// step of Read: the cause is still the same error.
		if fmt.Sprint(innermost(errG)) != fmt.Sprint(innermost(errI)) || errClass(errG) != errClass(errI) {
			t.Errorf("%s: Read within %+v: go %v (%s), isal %v (%s)", name, lim, errG, errClass(errG), errI, errClass(errI))
			continue
		}
		if d := cmp.Diff(ag, ai, cmp.Comparer(bytes.Equal)); d != "" {
			t.Errorf("%s: Read within %+v differs (-go +isal):\n%s", name, lim, d)
		}
	}
}

func TestGunzipBackendsAgree(t *testing.T) {
	classes := map[string]int{}
	for name, data := range backendInputs(t) {
		compareBackends(t, name, data)
		_, err := read(data, Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20}, openGzipISAL)
		classes[errClass(err)]++
	}
	// The inputs must reach every outcome, or the test compares less than it claims.
	for _, want := range []string{"ok", "gzip header", "gzip checksum", "corrupt deflate", "unexpected EOF", `limit MaxEntrySize "payload"`} {
		if classes[want] == 0 {
			t.Errorf("no input ends in %q (outcomes: %v)", want, classes)
		}
	}
}

func TestISALReaderFreesState(t *testing.T) {
	z, _, err := openGzipISAL(gzMember(t, []byte("hello"), 6, gzip.Header{}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(z)
	if err != nil || string(out) != "hello" {
		t.Fatalf("ReadAll = %q, %v", out, err)
	}
	zr := z.(*isalReader)
	if zr.st != nil {
		t.Fatal("state not freed at EOF")
	}
	if n, err := zr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v", n, err)
	}
}

func FuzzGunzipBackends(f *testing.F) {
	for _, data := range backendInputs(f) {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareBackends(t, "fuzz", data)
	})
}
