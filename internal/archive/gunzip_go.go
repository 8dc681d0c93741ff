//go:build !(cgo && isal)

package archive

import "io"

// InflateBackend names the gzip decompressor this build uses: "go" (klauspost/compress),
// or "isal" (Intel ISA-L through cgo) when built with -tags isal.
const InflateBackend = "go"

// openGzip is the backend Read uses.
func openGzip(data []byte) (r io.Reader, info *GzipInfo, err error) { return openGzipGo(data) }

// gzipInfo parses the first member's header without decompressing anything.
func gzipInfo(data []byte) (*GzipInfo, error) {
	_, info, err := openGzipGo(data)
	return info, err
}
