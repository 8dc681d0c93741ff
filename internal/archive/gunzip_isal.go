//go:build cgo && isal

package archive

/*
#cgo LDFLAGS: -lisal
#include <stdlib.h>
#include <isa-l/igzip_lib.h>

typedef struct {
	int ret;
	uint32_t consumed, produced, back, crc, total;
	int finished;
} vouch_inflate_result;

static struct inflate_state *vouch_inflate_new(void) {
	struct inflate_state *s = malloc(sizeof *s);
	if (s != NULL) {
		isal_inflate_init(s);
		s->crc_flag = ISAL_GZIP_NO_HDR;
	}
	return s;
}

static void vouch_inflate_reset(struct inflate_state *s) {
	isal_inflate_reset(s);
	s->crc_flag = ISAL_GZIP_NO_HDR;
}

// vouch_inflate inflates raw deflate data from in into out. The state keeps no pointer to
// either buffer after it returns (cgo rules): the caller passes the rest of its input on
// every call. back is, once the deflate stream is finished, how many whole bytes the bit
// buffer read past its end (they belong to the gzip trailer).
static vouch_inflate_result vouch_inflate(struct inflate_state *s, uint8_t *in, uint32_t in_len,
		uint8_t *out, uint32_t out_len) {
	vouch_inflate_result r = {0};
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	r.ret = isal_inflate(s);
	r.consumed = in_len - s->avail_in;
	r.produced = out_len - s->avail_out;
	r.finished = s->block_state == ISAL_BLOCK_FINISH;
	if (r.finished && s->read_in_length > 0) {
		r.back = s->read_in_length / 8;
	}
	r.crc = s->crc;
	r.total = s->total_out;
	s->next_in = NULL;
	s->next_out = NULL;
	return r;
}
*/
import "C"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"
)

// InflateBackend names the gzip decompressor this build uses: "go" (klauspost/compress),
// or "isal" (Intel ISA-L through cgo) when built with -tags isal.
const InflateBackend = "isal"

// openGzip is the backend Read uses.
func openGzip(data []byte) (io.Reader, *GzipInfo, error) { return openGzipISAL(data) }

// gzipInfo parses the first member's header without decompressing anything.
func gzipInfo(data []byte) (*GzipInfo, error) {
	h, _, err := parseGzipHeader(data)
	if err != nil {
		return nil, fmt.Errorf("reading gzip header: %w", err)
	}
	info := h.info()
	setTrailer(info, data)
	return info, nil
}

// maxChunk bounds one call's input and output (ISA-L counts them in uint32).
const maxChunk = 1 << 30

// isalReader decompresses a gzip file with ISA-L's raw-deflate decoder: the member headers
// and trailers are parsed here, as klauspost/compress/gzip parses them. On any error
// (invalid or cut deflate data, a bad trailer or member header) it hands over to the pure-Go
// decoder for the rest of the file, after skipping what it already returned, so that the
// error is exactly the pure-Go backend's. Errors end a Read, so this costs nothing on valid
// input.
//
// One difference remains: ISA-L decodes blocks whose Huffman codes are incomplete, which
// zlib and the pure-Go decoder reject as corrupt. Such a stream ends in an error here too
// (through the hand-over), unless its trailer's CRC-32 and size match ISA-L's reading of
// it, which no compressor writes: it would have to be crafted.
type isalReader struct {
	data    []byte
	pos     int   // next unconsumed input byte
	out     int64 // bytes returned so far
	st      *C.struct_inflate_state
	cleanup runtime.Cleanup
	err     error
	slow    io.Reader // the pure-Go reader, once handed over to
}

func openGzipISAL(data []byte) (io.Reader, *GzipInfo, error) {
	h, n, err := parseGzipHeader(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading gzip header: %w", err)
	}
	info := h.info()
	setTrailer(info, data)
	st := C.vouch_inflate_new()
	if st == nil {
		return nil, nil, errors.New("reading gzip: cannot allocate the inflate state")
	}
	z := &isalReader{data: data, pos: n, st: st}
	z.cleanup = runtime.AddCleanup(z, func(st *C.struct_inflate_state) { C.free(unsafe.Pointer(st)) }, st)
	return z, info, nil
}

// free releases the C state at once (the cleanup is the backstop for abandoned readers).
func (z *isalReader) free() {
	if z.st != nil {
		z.cleanup.Stop()
		C.free(unsafe.Pointer(z.st))
		z.st = nil
	}
}

// fail records the reader's final error.
func (z *isalReader) fail(err error) error {
	z.err = err
	z.free()
	return err
}

func (z *isalReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.slow != nil {
		n, err := z.slow.Read(p)
		if err != nil {
			z.err = err
		}
		return n, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), maxChunk)]
	for {
		in := z.data[z.pos:]
		inLen := min(len(in), maxChunk)
		var inPtr *C.uint8_t
		if inLen > 0 {
			inPtr = (*C.uint8_t)(unsafe.Pointer(&in[0]))
		}
		r := C.vouch_inflate(z.st, inPtr, C.uint32_t(inLen), (*C.uint8_t)(unsafe.Pointer(&p[0])), C.uint32_t(len(p)))
		z.pos += int(r.consumed)
		n := int(r.produced)
		switch {
		case r.ret < 0 || (n == 0 && r.consumed == 0 && r.finished == 0):
			// Invalid deflate data, or no progress although there is room for output (the
			// input ends inside the stream): let the pure-Go decoder say which error it is.
			// This call's output is dropped; the pure-Go decoder reproduces it.
			return z.handOver(p)
		case r.finished != 0:
			z.pos -= int(r.back)
			if err := z.nextMember(uint32(r.crc), uint32(r.total)); err == io.EOF {
				z.out += int64(n)
				return n, z.fail(err)
			} else if err != nil {
				// A bad trailer or next header. ISA-L also accepts some invalid deflate
				// data (incomplete Huffman codes) that the pure-Go decoder rejects, which
				// then shows as a bad trailer: the pure-Go decoder names the error.
				return z.handOver(p)
			}
			z.out += int64(n)
			if n > 0 {
				return n, nil
			}
		case n > 0:
			z.out += int64(n)
			return n, nil
		}
	}
}

// handOver continues with the pure-Go decoder from the start of the file, skipping the
// bytes already returned, and reads p from it.
func (z *isalReader) handOver(p []byte) (int, error) {
	z.free()
	g, err := gzip.NewReader(bytes.NewReader(z.data))
	if err != nil {
		return 0, z.fail(err)
	}
	if _, err := io.CopyN(io.Discard, g, z.out); err != nil {
		if err == io.EOF {
			// The pure-Go decoder ends before ISA-L's output did (lenient decoding): never
			// accept such a stream.
			err = io.ErrUnexpectedEOF
		}
		return 0, z.fail(err)
	}
	z.slow = g
	return z.Read(p)
}

// nextMember checks the trailer of the member that just ended (RFC 1952 §2.3.1) and starts
// the next member, if any (io.EOF when none follows).
func (z *isalReader) nextMember(crc, size uint32) error {
	rest := z.data[z.pos:]
	if len(rest) < 8 {
		return io.ErrUnexpectedEOF
	}
	if binary.LittleEndian.Uint32(rest) != crc || binary.LittleEndian.Uint32(rest[4:]) != size {
		return gzip.ErrChecksum
	}
	z.pos += 8
	if z.pos == len(z.data) {
		return io.EOF
	}
	_, n, err := parseGzipHeader(z.data[z.pos:])
	if err != nil {
		return err
	}
	z.pos += n
	C.vouch_inflate_reset(z.st)
	return nil
}

// gzipHeader is one member's header (RFC 1952 §2.3).
type gzipHeader struct {
	name, comment string
	mtime         uint32
	os            byte
	extra         []byte
}

func (h *gzipHeader) info() *GzipInfo {
	info := &GzipInfo{Name: h.name, Comment: h.comment, ModTime: time.Unix(int64(h.mtime), 0).UTC(), OS: h.os}
	if len(h.extra) > 0 {
		info.Extra = append([]byte(nil), h.extra...)
	}
	return info
}

// parseGzipHeader parses the member header at the start of b and returns its length. It
// accepts and rejects what klauspost/compress/gzip's Reader.readHeader does, with the same
// errors: io.EOF for empty input, io.ErrUnexpectedEOF for a cut fixed part, extra field or
// header CRC, gzip.ErrHeader for a wrong magic, reserved flags, a bad header CRC or a name
// or comment of 512 bytes or more, and (as that reader does) io.EOF for a name or comment
// cut before its terminating NUL.
func parseGzipHeader(b []byte) (gzipHeader, int, error) {
	const (
		flagHdrCrc  = 1 << 1
		flagExtra   = 1 << 2
		flagName    = 1 << 3
		flagComment = 1 << 4
		maxString   = 512
	)
	var h gzipHeader
	if len(b) == 0 {
		return h, 0, io.EOF
	}
	if len(b) < 10 {
		return h, 0, io.ErrUnexpectedEOF
	}
	if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		return h, 0, gzip.ErrHeader
	}
	flg := b[3]
	h.mtime = binary.LittleEndian.Uint32(b[4:8])
	h.os = b[9]
	i := 10
	if flg&flagExtra != 0 {
		if len(b) < i+2 {
			return h, 0, io.ErrUnexpectedEOF
		}
		n := int(binary.LittleEndian.Uint16(b[i:]))
		i += 2
		if len(b) < i+n {
			return h, 0, io.ErrUnexpectedEOF
		}
		h.extra = b[i : i+n]
		i += n
	}
	readString := func() (string, error) {
		for j := 0; ; j++ {
			if j >= maxString {
				return "", gzip.ErrHeader
			}
			if i+j >= len(b) {
				return "", io.EOF
			}
			if b[i+j] == 0 {
				s := latin1(b[i : i+j])
				i += j + 1
				return s, nil
			}
		}
	}
	var err error
	if flg&flagName != 0 {
		if h.name, err = readString(); err != nil {
			return h, 0, err
		}
	}
	if flg&flagComment != 0 {
		if h.comment, err = readString(); err != nil {
			return h, 0, err
		}
	}
	if flg&flagHdrCrc != 0 {
		if len(b) < i+2 {
			return h, 0, io.ErrUnexpectedEOF
		}
		if binary.LittleEndian.Uint16(b[i:]) != uint16(crc32.ChecksumIEEE(b[:i])) {
			return h, 0, gzip.ErrHeader
		}
		i += 2
	}
	if flg>>5 != 0 {
		return h, 0, gzip.ErrHeader
	}
	return h, i, nil
}

// latin1 decodes ISO 8859-1 (RFC 1952 §2.3.1).
func latin1(b []byte) string {
	for _, c := range b {
		if c > 0x7f {
			r := make([]rune, len(b))
			for k, v := range b {
				r[k] = rune(v)
			}
			return string(r)
		}
	}
	return string(b)
}
