// Package stabilize holds named, ordered, documented normalizers ("stabilizers") that remove
// harmless differences between an upstream artifact and its rebuild (design §1.5), and
// Compare, which digests both artifacts raw and after stabilization.
package stabilize

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
)

// Stabilizer is one named normalization.
type Stabilizer struct {
	// Name is a stable identifier ("tar-entry-order"); it appears in results and attestations.
	Name string
	// Description is one sentence for users.
	Description string
	// Apply normalises a in place and reports whether it changed anything.
	Apply func(a *archive.Archive) (changed bool)
	// Differs, if set, reports whether a and b differ in what Apply normalises. Compare
	// evaluates it before Apply and lists the stabilizer only when it held, so that a
	// normalization that changed both artifacts the same way is not reported as needed.
	// Without it, a stabilizer is listed whenever it changed either artifact.
	Differs func(a, b *archive.Archive) bool
}

// NPMEpoch is the fixed mtime npm writes for every tarball entry: pacote
// lib/util/tar-create-options.js sets `mtime: new Date('1985-10-26T08:15:00.000Z')`
// ("a specific date in the 1980s for the benefit of zip, which is confounded by files dated
// at the Unix epoch 0").
var NPMEpoch = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// DOSEpoch is the earliest time an MS-DOS timestamp in a zip can hold (APPNOTE.TXT §4.4.6).
var DOSEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// NPM is the set for npm tarballs (gzip-compressed tar, entries under "package/").
func NPM() []Stabilizer {
	return []Stabilizer{
		GzipLayer(),
		TarHeaderFormat(),
		TarDirectories(),
		TarEntryOrder(),
		TarMtime(NPMEpoch),
		TarOwner(),
		NPMBinModes(),
		FileModes(),
		NPMExecBit(),
		TarPAXRecords(),
		PackageJSONWhitespace(),
		TextLineEndings(),
		SourceMapLineEndings(),
		BannerTimestamp(),
	}
}

// Tar is the generic set for tar and tar.gz artifacts (sdists, crates, ...): the same
// normalizations as NPM with the mtime fixed at the Unix epoch.
func Tar() []Stabilizer {
	return []Stabilizer{
		GzipLayer(),
		TarHeaderFormat(),
		TarDirectories(),
		TarEntryOrder(),
		TarMtime(time.Unix(0, 0).UTC()),
		TarOwner(),
		FileModes(),
	}
}

// Zip is the generic set for zip artifacts (wheels, jars).
func Zip() []Stabilizer {
	return []Stabilizer{
		ZipDirectories(),
		ZipEntryOrder(),
		ZipMtime(),
		ZipExtraFields(),
		ZipAttributes(),
		ZipCompression(),
		ZipComments(),
	}
}

// ForFormat returns Tar() for tar formats, Zip() for zips and nil otherwise.
func ForFormat(f archive.Format) []Stabilizer {
	switch f {
	case archive.FormatTar, archive.FormatTarGz:
		return Tar()
	case archive.FormatZip:
		return Zip()
	case archive.FormatGzip:
		return []Stabilizer{GzipLayer()}
	}
	return nil
}

// GzipLayer drops the gzip layer: the canonical form of a tar.gz is its uncompressed tar, so
// the header (name, mtime, OS byte) and the compression level and implementation (zlib
// versions differ between Node.js releases) stop mattering.
func GzipLayer() Stabilizer {
	return Stabilizer{
		Name:        "gzip-layer",
		Description: "Compare the decompressed content: gzip header fields and compression level are ignored.",
		Apply: func(a *archive.Archive) bool {
			if a.Gzip == nil {
				return false
			}
			a.Gzip = nil
			switch a.Format {
			case archive.FormatTarGz:
				a.Format = archive.FormatTar
			case archive.FormatGzip:
				a.Format = archive.FormatRaw
			}
			return true
		},
		// Compare only calls Differs when the raw files differ: the gzip layer is to blame
		// when the headers differ or when both decompress to the same payload (equal trailers).
		Differs: func(a, b *archive.Archive) bool {
			ga, gb := a.Gzip, b.Gzip
			if ga == nil || gb == nil {
				return ga != gb
			}
			return ga.Name != gb.Name || ga.Comment != gb.Comment || !ga.ModTime.Equal(gb.ModTime) ||
				ga.OS != gb.OS || !bytes.Equal(ga.Extra, gb.Extra) ||
				(ga.TrailerCRC32 == gb.TrailerCRC32 && ga.TrailerSize == gb.TrailerSize)
		},
	}
}

// TarHeaderFormat forgets how headers were encoded (USTAR, PAX, GNU): the canonical
// serialization (archive.WriteTar) chooses its own encoding from the entries' values.
func TarHeaderFormat() Stabilizer {
	return Stabilizer{
		Name:        "tar-header-format",
		Description: "Ignore the tar header encoding (ustar, pax or gnu); only the values in the headers count.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.TarFormat != "" {
					// Plain USTAR is what the canonical form writes when it can; only other
					// encodings count as a change.
					changed = changed || e.TarFormat != "USTAR"
					e.TarFormat = ""
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string { return e.TarFormat }),
	}
}

// TarDirectories drops directory entries: npm pack writes only files (npm-packlist lists
// files), while other packers add a directory entry per directory.
func TarDirectories() Stabilizer {
	return Stabilizer{
		Name:        "tar-directories",
		Description: "Drop directory entries; the files' paths imply them.",
		Apply:       dropDirs,
		Differs:     dirsDiffer,
	}
}

// TarEntryOrder sorts entries by name (byte order); packers list files in file system or
// manifest order.
func TarEntryOrder() Stabilizer {
	return Stabilizer{
		Name:        "tar-entry-order",
		Description: "Sort archive entries by path.",
		Apply:       sortEntries,
		Differs:     orderDiffers,
	}
}

// TarMtime sets every entry's modification time to t.
func TarMtime(t time.Time) Stabilizer {
	return Stabilizer{
		Name:        "tar-mtime",
		Description: "Set every entry's modification time to " + t.UTC().Format(time.RFC3339) + ".",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if !e.ModTime.Equal(t) {
					e.ModTime, changed = t, true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string { return e.ModTime.UTC().Format(time.RFC3339Nano) }),
	}
}

// TarOwner clears owner and group ids and names, as npm does (pacote's tar options set
// node-tar's `portable: true`, which omits them).
func TarOwner() Stabilizer {
	return Stabilizer{
		Name:        "tar-owner",
		Description: "Clear owner and group (uid, gid, uname, gname).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.UID != 0 || e.GID != 0 || e.Uname != "" || e.Gname != "" {
					e.UID, e.GID, e.Uname, e.Gname = 0, 0, "", ""
					changed = true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string {
			return strings.Join([]string{itoa(e.UID), itoa(e.GID), e.Uname, e.Gname}, "\x00")
		}),
	}
}

// FileModes sets file modes to 0644, or 0755 when any execute bit is set, and directories
// to 0755 (npm: node-tar's portable mode and npm's own mode fixing keep only the executable
// bit meaningful; umask differences between machines change the rest).
func FileModes() Stabilizer {
	return Stabilizer{
		Name:        "file-mode",
		Description: "Normalise permissions to 0644, or 0755 for executables and directories.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if m := canonicalMode(e); m != e.Mode {
					e.Mode, changed = m, true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string { return itoa(int(e.Mode)) }),
	}
}

func canonicalMode(e *archive.Entry) int64 {
	switch e.Type {
	case archive.TypeDir:
		return 0o755
	case archive.TypeSymlink:
		return 0o777
	}
	if e.Mode&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// ZipDirectories drops directory entries of a zip.
func ZipDirectories() Stabilizer {
	return Stabilizer{
		Name:        "zip-directories",
		Description: "Drop zip directory entries; the files' paths imply them.",
		Apply:       dropDirs,
		Differs:     dirsDiffer,
	}
}

// ZipEntryOrder sorts zip entries by name.
func ZipEntryOrder() Stabilizer {
	return Stabilizer{
		Name:        "zip-entry-order",
		Description: "Sort zip entries by path.",
		Apply:       sortEntries,
		Differs:     orderDiffers,
	}
}

// ZipMtime sets every entry's time to the DOS epoch.
func ZipMtime() Stabilizer {
	return Stabilizer{
		Name:        "zip-mtime",
		Description: "Set every zip entry's modification time to 1980-01-01T00:00:00 (the MS-DOS epoch).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if !e.ModTime.Equal(DOSEpoch) {
					e.ModTime, changed = DOSEpoch, true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string { return e.ModTime.UTC().Format(time.RFC3339Nano) }),
	}
}

// ZipExtraFields drops extra fields (extended timestamps 0x5455, Unix uid/gid 0x7875,
// alignment padding from zipalign/jar tools; APPNOTE.TXT §4.5).
func ZipExtraFields() Stabilizer {
	return Stabilizer{
		Name:        "zip-extra-fields",
		Description: "Drop zip extra fields (extended timestamps, Unix owners, alignment padding).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if len(e.Extra) > 0 {
					e.Extra, changed = nil, true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string { return string(e.Extra) }),
	}
}

// ZipAttributes normalises "version made by" and external attributes to Unix with
// 0644/0755 permissions (APPNOTE.TXT §4.4.2, §4.4.15): tools on different hosts write
// MS-DOS or Unix attributes for the same file.
func ZipAttributes() Stabilizer {
	return Stabilizer{
		Name:        "zip-attributes",
		Description: "Normalise zip creator version and external attributes to Unix 0644/0755.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				m := canonicalMode(e)
				attrs := zipAttrs(e.Type, m)
				const creator = 3 << 8 // Unix; the low byte is written by archive/zip.
				if e.Mode != m || e.ExternalAttrs != attrs || e.CreatorVersion&0xff00 != creator {
					e.Mode, e.ExternalAttrs, e.CreatorVersion = m, attrs, creator
					changed = true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string {
			return itoa(int(e.Mode)) + "/" + itoa(int(e.ExternalAttrs)) + "/" + itoa(int(e.CreatorVersion>>8))
		}),
	}
}

// zipAttrs are Unix mode bits in the high 16 bits, with the MS-DOS directory bit 0x10 for
// directories (as archive/zip FileHeader.SetMode writes them).
func zipAttrs(t archive.EntryType, perm int64) uint32 {
	const sIFREG, sIFDIR, sIFLNK = 0o100000, 0o40000, 0o120000
	switch t {
	case archive.TypeDir:
		return uint32(sIFDIR|perm)<<16 | 0x10
	case archive.TypeSymlink:
		return uint32(sIFLNK|perm) << 16
	}
	return uint32(sIFREG|perm) << 16
}

// ZipCompression compares stored content: entries are written uncompressed (method 0), so
// deflate levels and implementations stop mattering.
func ZipCompression() Stabilizer {
	return Stabilizer{
		Name:        "zip-compression",
		Description: "Ignore the zip compression method and level; the uncompressed content is compared.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.Method != 0 {
					e.Method, changed = 0, true
				}
			}
			return changed
		},
		// The method differs, or the same content was deflated to a different size (another
		// level or implementation).
		Differs: entryDiffers(func(e *archive.Entry) string {
			if e.Method == 0 {
				return "0"
			}
			return itoa(int(e.Method)) + "/" + itoa(len(e.Data)) + "/" + itoa(int(e.CompressedSize))
		}),
	}
}

// ZipComments clears the archive comment and per-entry comments.
func ZipComments() Stabilizer {
	return Stabilizer{
		Name:        "zip-comment",
		Description: "Clear the zip archive comment and entry comments.",
		Apply: func(a *archive.Archive) bool {
			changed := a.Comment != ""
			a.Comment = ""
			for _, e := range a.Entries {
				if e.Comment != "" {
					e.Comment, changed = "", true
				}
			}
			return changed
		},
		Differs: func(a, b *archive.Archive) bool {
			return a.Comment != b.Comment || entryDiffers(func(e *archive.Entry) string { return e.Comment })(a, b)
		},
	}
}

func dropDirs(a *archive.Archive) bool {
	n := len(a.Entries)
	a.Entries = slices.DeleteFunc(a.Entries, func(e *archive.Entry) bool { return e.Type == archive.TypeDir })
	return len(a.Entries) != n
}

func dirsDiffer(a, b *archive.Archive) bool {
	dirs := func(x *archive.Archive) []string {
		var out []string
		for _, e := range x.Entries {
			if e.Type == archive.TypeDir {
				out = append(out, e.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	return !slices.Equal(dirs(a), dirs(b))
}

func sortEntries(a *archive.Archive) bool {
	less := func(x, y *archive.Entry) int { return strings.Compare(x.Name, y.Name) }
	if slices.IsSortedFunc(a.Entries, less) {
		return false
	}
	slices.SortStableFunc(a.Entries, less)
	return true
}

// orderDiffers reports whether the entries both archives share appear in different orders.
func orderDiffers(a, b *archive.Archive) bool {
	inB := make(map[string]bool, len(b.Entries))
	for _, e := range b.Entries {
		inB[e.Name] = true
	}
	var common []string
	for _, e := range a.Entries {
		if inB[e.Name] {
			common = append(common, e.Name)
		}
	}
	inA := make(map[string]bool, len(common))
	for _, n := range common {
		inA[n] = true
	}
	i := 0
	for _, e := range b.Entries {
		if inA[e.Name] {
			if common[i] != e.Name {
				return true
			}
			i++
		}
	}
	return false
}

// entryDiffers compares key for every entry name present in both archives.
func entryDiffers(key func(*archive.Entry) string) func(a, b *archive.Archive) bool {
	return func(a, b *archive.Archive) bool {
		keys := make(map[string]string, len(a.Entries))
		for _, e := range a.Entries {
			keys[e.Name] = key(e)
		}
		for _, e := range b.Entries {
			if k, ok := keys[e.Name]; ok && k != key(e) {
				return true
			}
		}
		return false
	}
}

// rewriteData is an Apply that replaces each entry's data with what rewrite returns when it
// reports a change.
func rewriteData(rewrite func(*archive.Entry) ([]byte, bool)) func(*archive.Archive) bool {
	return func(a *archive.Archive) bool {
		changed := false
		for _, e := range a.Entries {
			if d, ok := rewrite(e); ok {
				e.Data = d
				changed = true
			}
		}
		return changed
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
