package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// gunzipFunc opens a gzip file (all members, RFC 1952 §2.2) held in data: it parses the
// first member's header and returns a reader of the decompressed payload and the header.
// The reader checks every member's CRC-32 and ISIZE and fails with the same errors whatever
// the backend: gzip.ErrHeader (a bad member header, or trailing bytes that are not one),
// gzip.ErrChecksum, flate.CorruptInputError (invalid deflate data; its offset is where the
// backend noticed) and io.ErrUnexpectedEOF (truncated input). It never decompresses more
// than its caller reads.
type gunzipFunc func(data []byte) (io.Reader, *GzipInfo, error)

// openGzipGo is the pure-Go backend (klauspost/compress), always compiled in; it is the
// default when vouch is built without the isal tag.
func openGzipGo(data []byte) (io.Reader, *GzipInfo, error) {
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("reading gzip header: %w", err)
	}
	info := &GzipInfo{Name: z.Name, Comment: z.Comment, ModTime: z.ModTime, OS: z.OS}
	if z.Extra != nil {
		info.Extra = append([]byte(nil), z.Extra...)
	}
	if !info.ModTime.IsZero() {
		info.ModTime = info.ModTime.UTC()
	}
	setTrailer(info, data)
	return z, info, nil
}

// setTrailer records the last member's trailer (the file's last 8 bytes).
func setTrailer(info *GzipInfo, data []byte) {
	if n := len(data); n >= 18 {
		info.TrailerCRC32 = binary.LittleEndian.Uint32(data[n-8:])
		info.TrailerSize = binary.LittleEndian.Uint32(data[n-4:])
	}
}

// gunzipHead returns up to n bytes of the decompressed payload.
func gunzipHead(data []byte, n int) ([]byte, error) {
	z, _, err := openGzip(data)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	m, err := io.ReadFull(z, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}
