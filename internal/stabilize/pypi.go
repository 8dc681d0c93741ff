package stabilize

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vouch-dev/vouch/internal/archive"
)

// PyPIWheel is the set for wheels (PEP 427 zips): the generic zip set, core metadata
// headers in a canonical order, and RECORD regenerated — last, since it restates the
// digests of the (normalised) files.
func PyPIWheel() []Stabilizer {
	return append(Zip(), ZipSpecVersion(), CoreMetadata(), WheelRecord())
}

// PyPISdist is the set for source distributions (PEP 625 .tar.gz): the generic tar set,
// core metadata headers in a canonical order and SOURCES.txt sorted.
func PyPISdist() []Stabilizer {
	return append(Tar(), CoreMetadata(), EggInfoSources())
}

// PyPI picks the wheel or sdist set by the artifact's file name.
func PyPI(artifact string) []Stabilizer {
	if strings.HasSuffix(artifact, ".whl") {
		return PyPIWheel()
	}
	if strings.HasSuffix(artifact, ".zip") {
		return append(Zip(), CoreMetadata(), EggInfoSources())
	}
	return PyPISdist()
}

// ZipSpecVersion sets the low byte of every entry's "version made by" (the APPNOTE version
// the writer claims, 0x00 from Python's zipfile, 0x14 from others; APPNOTE.TXT §4.4.2) to
// 20. The canonical zip writer (archive/zip) writes its own value there, so this never
// changes a digest; it keeps the byte out of diffs.
func ZipSpecVersion() Stabilizer {
	return Stabilizer{
		Name:        "zip-spec-version",
		Description: "Set the zip spec version byte of \"version made by\" to 2.0 (diff noise only; digests never depend on it).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.CreatorVersion&0xff != 20 {
					e.CreatorVersion, changed = e.CreatorVersion&0xff00|20, true
				}
			}
			return changed
		},
		Differs: func(a, b *archive.Archive) bool { return false },
	}
}

// WheelRecord rewrites *.dist-info/RECORD from the archive's own files, sorted by path
// (https://packaging.python.org/en/latest/specifications/recording-installed-packages/#the-record-file):
// RECORD only restates the other entries' digests and sizes, which are compared anyway, so
// its row order, line endings and quoting stop mattering. Signature files (RECORD.jws,
// RECORD.p7s) are not listed, as the specification says.
func WheelRecord() Stabilizer {
	return Stabilizer{
		Name:        "wheel-record",
		Description: "Regenerate *.dist-info/RECORD from the wheel's files, sorted by path.",
		Apply: func(a *archive.Archive) bool {
			rec := recordEntry(a)
			if rec == nil {
				return false
			}
			out := renderRecord(a, rec.Name)
			if bytes.Equal(out, rec.Data) {
				return false
			}
			rec.Data = out
			return true
		},
		Differs: func(a, b *archive.Archive) bool {
			ra, rb := recordEntry(a), recordEntry(b)
			if ra == nil || rb == nil {
				return ra != rb
			}
			return !bytes.Equal(ra.Data, rb.Data)
		},
	}
}

func recordEntry(a *archive.Archive) *archive.Entry {
	for _, e := range a.Entries {
		dir, base := path.Split(e.Name)
		if base == "RECORD" && e.Type == archive.TypeFile && strings.Count(dir, "/") == 1 && strings.HasSuffix(dir, ".dist-info/") {
			return e
		}
	}
	return nil
}

func renderRecord(a *archive.Archive, recName string) []byte {
	var rows []string
	for _, e := range a.Entries {
		if e.Type != archive.TypeFile || e.Name == recName || e.Name == recName+".jws" || e.Name == recName+".p7s" {
			continue
		}
		sum := sha256.Sum256(e.Data)
		rows = append(rows, csvField(e.Name)+",sha256="+base64.RawURLEncoding.EncodeToString(sum[:])+","+strconv.Itoa(len(e.Data)))
	}
	rows = append(rows, csvField(recName)+",,")
	slices.Sort(rows)
	return []byte(strings.Join(rows, "\n") + "\n")
}

// csvField quotes a field as Python's csv module does (QUOTE_MINIMAL).
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// isCoreMetadata reports the files that hold core metadata
// (https://packaging.python.org/en/latest/specifications/core-metadata/): a wheel's
// *.dist-info/METADATA, an sdist's top-level PKG-INFO and its *.egg-info/PKG-INFO.
func isCoreMetadata(name string) bool {
	dir, base := path.Split(name)
	switch base {
	case "METADATA":
		return strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1
	case "PKG-INFO":
		return strings.Count(dir, "/") <= 1 || strings.HasSuffix(dir, ".egg-info/")
	}
	return false
}

// CoreMetadata writes METADATA / PKG-INFO headers in a canonical order: line endings LF,
// headers sorted by field name with the order of repeated fields (Classifier, Requires-Dist)
// kept, the body unchanged. Build backends and their versions emit the same fields in
// different orders; the values, each on its own line, are still compared.
func CoreMetadata() Stabilizer {
	return Stabilizer{
		Name:        "core-metadata-order",
		Description: "Sort METADATA/PKG-INFO header fields by name (keeping repeated fields in order) and use LF line endings.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.Type != archive.TypeFile || !isCoreMetadata(e.Name) {
					continue
				}
				if out := CanonicalMetadata(e.Data); !bytes.Equal(out, e.Data) {
					e.Data, changed = out, true
				}
			}
			return changed
		},
		Differs: func(a, b *archive.Archive) bool {
			data := map[string][]byte{}
			for _, e := range a.Entries {
				if e.Type == archive.TypeFile && isCoreMetadata(e.Name) {
					data[e.Name] = e.Data
				}
			}
			for _, e := range b.Entries {
				if d, ok := data[e.Name]; ok && !bytes.Equal(d, e.Data) {
					return true
				}
			}
			return false
		},
	}
}

// CanonicalMetadata returns core metadata with LF line endings and its header fields sorted
// by lowercase name (stable). Continuation lines stay with their field; the body (after the
// first empty line) is unchanged but for line endings.
func CanonicalMetadata(data []byte) []byte {
	s := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	head, body, hasBody := strings.Cut(s, "\n\n")
	if !hasBody && strings.HasSuffix(head, "\n") {
		head = strings.TrimSuffix(head, "\n")
	}
	type field struct{ key, text string }
	var fields []field
	for _, line := range strings.Split(head, "\n") {
		if len(fields) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			fields[len(fields)-1].text += "\n" + line
			continue
		}
		k, _, _ := strings.Cut(line, ":")
		fields = append(fields, field{key: strings.ToLower(strings.TrimSpace(k)), text: line})
	}
	slices.SortStableFunc(fields, func(x, y field) int { return strings.Compare(x.key, y.key) })
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.text)
		b.WriteByte('\n')
	}
	if hasBody {
		b.WriteByte('\n')
		b.WriteString(body)
	}
	return []byte(b.String())
}

// EggInfoSources sorts the lines of *.egg-info/SOURCES.txt in an sdist: setuptools lists the
// files in the order the file system returned them.
func EggInfoSources() Stabilizer {
	isSources := func(n string) bool {
		dir, base := path.Split(n)
		return base == "SOURCES.txt" && strings.HasSuffix(dir, ".egg-info/")
	}
	return Stabilizer{
		Name:        "egg-info-sources-order",
		Description: "Sort the lines of *.egg-info/SOURCES.txt.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if e.Type != archive.TypeFile || !isSources(e.Name) {
					continue
				}
				lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(e.Data), "\r\n", "\n"), "\n"), "\n")
				slices.Sort(lines)
				out := []byte(strings.Join(lines, "\n") + "\n")
				if !bytes.Equal(out, e.Data) {
					e.Data, changed = out, true
				}
			}
			return changed
		},
		Differs: func(a, b *archive.Archive) bool {
			data := map[string][]byte{}
			for _, e := range a.Entries {
				if isSources(e.Name) {
					data[e.Name] = e.Data
				}
			}
			for _, e := range b.Entries {
				if d, ok := data[e.Name]; ok && !bytes.Equal(d, e.Data) {
					return true
				}
			}
			return false
		},
	}
}
