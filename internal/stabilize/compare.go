package stabilize

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
)

// Comparison is the outcome of comparing an upstream artifact with its rebuild.
type Comparison struct {
	// UpstreamSHA256 and RebuildSHA256 are the raw files' digests (hex).
	UpstreamSHA256 string
	RebuildSHA256  string
	// Identical: the raw files are equal. Nothing else is computed then.
	Identical bool
	// StabilizedUpstreamSHA256 and StabilizedRebuildSHA256 are digests (hex) of the canonical
	// serialization of the stabilized artifacts (see Digest).
	StabilizedUpstreamSHA256 string
	StabilizedRebuildSHA256  string
	// Equivalent: the stabilized digests are equal (also true when Identical).
	Equivalent bool
	// Applied names the stabilizers that removed a difference, in set order.
	Applied []string
	// Upstream and Rebuild are the stabilized archives (for diffing); nil when Identical.
	Upstream, Rebuild *archive.Archive
}

// Compare digests both files, and unless they are identical, reads both within lim,
// applies set in order to each, and digests the results. A stabilizer is listed in Applied
// when it changed something in either artifact and (if it says) the artifacts differed in
// what it normalises. Should the artifacts be equivalent with no stabilizer so listed, the
// difference lay in an encoding the set does not model (tar padding, numeric field
// encoding): then every stabilizer that changed something is listed, so that an equivalent
// verdict always names what it relied on. Unsafe or over-limit input returns the
// *archive.UnsafeError / *archive.LimitError (wrapped).
func Compare(upstreamPath, rebuildPath string, set []Stabilizer, lim archive.Limits) (*Comparison, error) {
	up, err := readLimited(upstreamPath, lim)
	if err != nil {
		return nil, fmt.Errorf("comparing: upstream: %w", err)
	}
	re, err := readLimited(rebuildPath, lim)
	if err != nil {
		return nil, fmt.Errorf("comparing: rebuild: %w", err)
	}
	return CompareBytes(up, re, set, lim)
}

func readLimited(path string, lim archive.Limits) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	max := lim.MaxTotalSize
	if max <= 0 {
		max = archive.DefaultLimits.MaxTotalSize
	}
	if fi.Size() > max {
		return nil, &archive.LimitError{Limit: "MaxTotalSize", Max: max}
	}
	return os.ReadFile(path)
}

// CompareBytes is Compare on artifacts already in memory.
func CompareBytes(upstream, rebuild []byte, set []Stabilizer, lim archive.Limits) (*Comparison, error) {
	su, sr := sha256.Sum256(upstream), sha256.Sum256(rebuild)
	c := &Comparison{
		UpstreamSHA256: hex.EncodeToString(su[:]),
		RebuildSHA256:  hex.EncodeToString(sr[:]),
		Applied:        []string{},
	}
	if su == sr && bytes.Equal(upstream, rebuild) {
		c.Identical, c.Equivalent = true, true
		return c, nil
	}
	var a, b *archive.Archive
	var errA, errB error
	if sameGzipBody(upstream, rebuild) {
		// Only the gzip headers differ: the compressed bytes, hence the payloads, are equal.
		// Decompress once; the rebuild's archive is a copy with its own header.
		if a, errA = archive.Read(upstream, lim); errA == nil {
			b = a.Clone()
			b.Gzip, errB = archive.ReadGzipInfo(rebuild)
		}
	} else {
		// The two sides are independent: read (decompress) them concurrently.
		both(func() { a, errA = archive.Read(upstream, lim) }, func() { b, errB = archive.Read(rebuild, lim) })
	}
	if errA != nil {
		return nil, fmt.Errorf("reading upstream artifact: %w", errA)
	}
	if errB != nil {
		return nil, fmt.Errorf("reading rebuilt artifact: %w", errB)
	}
	var changedAny []string
	for _, s := range set {
		differs := s.Differs == nil || s.Differs(a, b)
		ca := s.Apply(a)
		cb := s.Apply(b)
		if ca || cb {
			changedAny = append(changedAny, s.Name)
			if differs {
				c.Applied = append(c.Applied, s.Name)
			}
		}
	}
	if canonicallyEqual(a, b) {
		// Equal values serialize to equal bytes (Digest is a function of them): hash once.
		// This is the common, reproducible case, and the digests are the same as computed
		// apart.
		c.StabilizedUpstreamSHA256, errA = Digest(a)
		c.StabilizedRebuildSHA256, errB = c.StabilizedUpstreamSHA256, errA
	} else {
		both(func() { c.StabilizedUpstreamSHA256, errA = Digest(a) }, func() { c.StabilizedRebuildSHA256, errB = Digest(b) })
	}
	if errA != nil {
		return nil, fmt.Errorf("digesting upstream artifact: %w", errA)
	}
	if errB != nil {
		return nil, fmt.Errorf("digesting rebuilt artifact: %w", errB)
	}
	c.Equivalent = c.StabilizedUpstreamSHA256 == c.StabilizedRebuildSHA256
	if c.Equivalent && len(c.Applied) == 0 {
		c.Applied = append(c.Applied, changedAny...)
	}
	c.Upstream, c.Rebuild = a, b
	return c, nil
}

// Digest is the hex sha256 of a's canonical serialization: archive.WriteTar for tar formats,
// WriteZip for zips, the payload for gzip and raw files. A gzip header still present (the
// set did not drop the layer) is hashed first, length-prefixed, so it still counts.
func Digest(a *archive.Archive) (string, error) {
	h := sha256.New()
	if g := a.Gzip; g != nil {
		writeField(h, []byte("gzip"))
		writeField(h, []byte(g.Name))
		writeField(h, []byte(g.Comment))
		writeField(h, binary.BigEndian.AppendUint64(nil, uint64(g.ModTime.Unix())))
		writeField(h, []byte{g.OS})
		writeField(h, g.Extra)
	}
	var err error
	switch a.Format {
	case archive.FormatZip:
		err = a.WriteZip(h)
	case archive.FormatTar, archive.FormatTarGz:
		err = a.WriteTar(h)
	default:
		for _, e := range a.Entries {
			h.Write(e.Data)
		}
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// canonicallyEqual reports whether a and b hold the same values in everything Digest
// serializes, so that their digests are equal. It errs on the side of false: times are
// compared with their locations (WriteZip encodes the wall clock), and only the fields the
// serializations ignore (Entry.TarFormat, Entry.CompressedSize, the gzip trailer) are left out.
func canonicallyEqual(a, b *archive.Archive) bool {
	if a.Format != b.Format || a.Comment != b.Comment || len(a.Entries) != len(b.Entries) || !gzipEqual(a.Gzip, b.Gzip) {
		return false
	}
	for i, x := range a.Entries {
		if !entryEqual(x, b.Entries[i]) {
			return false
		}
	}
	return true
}

func gzipEqual(x, y *archive.GzipInfo) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.Name == y.Name && x.Comment == y.Comment && timeEqual(x.ModTime, y.ModTime) && x.OS == y.OS &&
		bytes.Equal(x.Extra, y.Extra)
}

func entryEqual(x, y *archive.Entry) bool {
	if x == y {
		return true
	}
	return x.Name == y.Name && x.Type == y.Type && x.Mode == y.Mode && timeEqual(x.ModTime, y.ModTime) &&
		x.UID == y.UID && x.GID == y.GID && x.Uname == y.Uname && x.Gname == y.Gname &&
		x.Linkname == y.Linkname && x.TarTypeflag == y.TarTypeflag && maps.Equal(x.PAX, y.PAX) &&
		x.Method == y.Method && bytes.Equal(x.Extra, y.Extra) && x.Comment == y.Comment &&
		x.ExternalAttrs == y.ExternalAttrs && x.CreatorVersion == y.CreatorVersion && bytes.Equal(x.Data, y.Data)
}

func timeEqual(x, y time.Time) bool { return x.Equal(y) && x.Location() == y.Location() }

// sameGzipBody reports whether both artifacts are gzip streams that differ at most in the
// first member's header.
func sameGzipBody(x, y []byte) bool {
	bx, okx := archive.GzipBody(x)
	by, oky := archive.GzipBody(y)
	return okx && oky && bytes.Equal(bx, by)
}

// both runs f and g concurrently and waits for both.
func both(f, g func()) {
	var wg sync.WaitGroup
	wg.Go(f)
	g()
	wg.Wait()
}

func writeField(h hash.Hash, b []byte) {
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	h.Write(b)
}
