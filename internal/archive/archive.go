// Package archive reads and writes tar, gzip and zip archives from untrusted input, with
// bounded resources and path checks. Every check on untrusted archive input in vouch lives
// here (conventions: "Caps on every untrusted input ... the checks live in one place").
package archive

import (
	"bytes"
	"fmt"
	"time"
)

// Limits bounds what Read accepts. Sizes are decompressed sizes, counted while streaming:
// sizes claimed by headers are never trusted.
type Limits struct {
	// MaxEntries is the maximum number of entries in one archive.
	MaxEntries int
	// MaxEntrySize is the maximum decompressed size of one entry.
	MaxEntrySize int64
	// MaxTotalSize is the maximum decompressed size of the whole archive stream.
	MaxTotalSize int64
	// MaxDepth is the maximum nesting of archives inside archives that callers recursing
	// into entries (internal/diff) may descend; Read itself reads one level.
	MaxDepth int
	// MaxNameLen is the maximum length in bytes of an entry name or link target.
	MaxNameLen int
}

// DefaultLimits are generous for real packages (the largest npm tarballs are a few hundred
// MiB unpacked) and small enough to stop decompression bombs.
var DefaultLimits = Limits{
	MaxEntries:   100_000,
	MaxEntrySize: 512 << 20,
	MaxTotalSize: 2 << 30,
	MaxDepth:     4,
	MaxNameLen:   4096,
}

// Format is the container format of an artifact.
type Format string

const (
	FormatTar   Format = "tar"
	FormatTarGz Format = "tar.gz"
	FormatZip   Format = "zip"
	// FormatGzip is a gzip stream whose payload is not a tar.
	FormatGzip Format = "gzip"
	// FormatRaw is anything else (a single opaque file).
	FormatRaw Format = "raw"
)

// PayloadName is the name of the single entry that holds the content of a FormatGzip or
// FormatRaw archive. It is fixed (not the gzip header's file name) so that two payloads
// are compared with each other whatever their headers say.
const PayloadName = "payload"

// EntryType is the kind of an entry.
type EntryType string

const (
	TypeFile     EntryType = "file"
	TypeDir      EntryType = "dir"
	TypeSymlink  EntryType = "symlink"
	TypeHardlink EntryType = "hardlink"
	TypeOther    EntryType = "other"
)

// Entry is one member of an archive.
type Entry struct {
	// Name is the cleaned slash-separated path, relative, without a trailing slash.
	Name string
	Type EntryType
	// Mode holds the permission bits (and setuid/setgid/sticky), not the file type.
	Mode    int64
	ModTime time.Time
	UID     int
	GID     int
	Uname   string
	Gname   string
	// Linkname is the target of a symlink (relative to the entry's directory) or of a
	// hardlink (an archive path).
	Linkname string
	Data     []byte

	// Tar only.
	// TarTypeflag is the raw tar type flag (useful for TypeOther entries).
	TarTypeflag byte
	// TarFormat is the header encoding the entry was read with ("USTAR", "PAX", "GNU", ...),
	// "" once normalised. The canonical serialization picks its own encoding.
	TarFormat string
	// PAX holds PAX records other than those for standard header fields (for example
	// SCHILY.xattr.*), or the records of a global header entry.
	PAX map[string]string

	// Zip only.
	Method         uint16
	Extra          []byte
	Comment        string
	ExternalAttrs  uint32
	CreatorVersion uint16
	// CompressedSize is the stored size as read (informational; WriteZip ignores it).
	CompressedSize int64
}

// GzipInfo is the header of a gzip layer (RFC 1952 §2.3).
type GzipInfo struct {
	Name    string
	Comment string
	ModTime time.Time
	OS      byte
	Extra   []byte
	// TrailerCRC32 and TrailerSize are the last member's trailer: CRC-32 and length mod 2^32
	// of the payload (RFC 1952 §2.3.1). Equal trailers mean (almost surely) equal payloads.
	TrailerCRC32 uint32
	TrailerSize  uint32
}

// Archive is a parsed artifact.
type Archive struct {
	Format  Format
	Entries []*Entry
	// Gzip is the gzip header, nil if the artifact was not gzipped (or once normalised).
	Gzip *GzipInfo
	// Comment is the zip archive comment.
	Comment string
}

// Clone returns a copy of a whose entries can be changed (by stabilizers) without touching
// a's. Entry data and PAX maps are shared: they are replaced, never modified in place.
func (a *Archive) Clone() *Archive {
	c := *a
	if a.Gzip != nil {
		g := *a.Gzip
		c.Gzip = &g
	}
	c.Entries = make([]*Entry, len(a.Entries))
	for i, e := range a.Entries {
		ce := *e
		c.Entries[i] = &ce
	}
	return &c
}

// Lookup returns the entry named name, or nil.
func (a *Archive) Lookup(name string) *Entry {
	for _, e := range a.Entries {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Detect names the format of data by its magic bytes. A gzip stream is FormatTarGz when
// its decompressed payload starts with a tar header, FormatGzip otherwise.
func Detect(data []byte) Format {
	switch {
	case isGzip(data):
		head, err := gunzipHead(data, 512)
		if err == nil && isTar(head) {
			return FormatTarGz
		}
		return FormatGzip
	case isZip(data):
		return FormatZip
	case isTar(data):
		return FormatTar
	default:
		return FormatRaw
	}
}

// isGzip: ID1 ID2 CM=8 (deflate), RFC 1952 §2.3.1.
func isGzip(b []byte) bool { return len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

// isZip: local file header "PK\x03\x04" or, for an empty archive, the end of central
// directory record "PK\x05\x06" (APPNOTE.TXT §4.3.7, §4.3.16).
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// isTar recognises a POSIX ustar / GNU magic at offset 257, or, for v7 tars without a magic,
// a valid header checksum (POSIX.1-2017 pax "ustar Interchange Format").
func isTar(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	magic := b[257:263]
	if bytes.Equal(magic, []byte("ustar\x00")) || bytes.Equal(magic, []byte("ustar ")) {
		return true
	}
	return tarChecksumOK(b[:512])
}

func tarChecksumOK(h []byte) bool {
	var stored int64
	field := bytes.Trim(h[148:156], " \x00")
	if len(field) == 0 {
		return false
	}
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		stored = stored*8 + int64(c-'0')
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == stored && h[0] != 0
}

// UnsafeError reports an archive entry that must not be trusted: an absolute path, a ".."
// component, a NUL byte, a link escaping the archive root, a duplicate name.
type UnsafeError struct {
	Entry  string
	Reason string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("unsafe archive entry %q: %s", e.Entry, e.Reason)
}

// ExitCode is 2: the input is invalid (design §1.5).
func (e *UnsafeError) ExitCode() int { return 2 }

// LimitError reports input over one of the Limits.
type LimitError struct {
	// Limit names the Limits field ("MaxEntries", "MaxEntrySize", ...).
	Limit string
	// Entry is the entry being read when the limit was reached, if any.
	Entry string
	Max   int64
}

func (e *LimitError) Error() string {
	if e.Entry != "" {
		return fmt.Sprintf("archive over limit %s (%d) at entry %q", e.Limit, e.Max, e.Entry)
	}
	return fmt.Sprintf("archive over limit %s (%d)", e.Limit, e.Max)
}

// ExitCode is 2: the input is invalid (design §1.5).
func (e *LimitError) ExitCode() int { return 2 }
