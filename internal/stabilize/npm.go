package stabilize

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/vouch-dev/vouch/internal/archive"
)

// TarPAXRecords drops non-standard PAX records. npm 2–4 packed with fstream/node-tar, which
// wrote the packing machine's inode, device and link counts (SCHILY.*) and a copy of
// package.json (NODETAR.*) into every header; npm ≥5 writes none, and node-tar ignores them
// on extraction, so they never reach an installed package.
func TarPAXRecords() Stabilizer {
	return Stabilizer{
		Name:        "tar-pax-records",
		Description: "Ignore non-standard PAX header records (packer bookkeeping such as NODETAR.* and SCHILY.ino).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if len(e.PAX) > 0 {
					e.PAX = nil
					changed = true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string {
			keys := make([]string, 0, len(e.PAX))
			for k, v := range e.PAX {
				keys = append(keys, k+"="+v)
			}
			sort.Strings(keys)
			return strings.Join(keys, "\x00")
		}),
	}
}

// TextLineEndings turns CR LF line endings into LF in text files. Packages published from a
// Windows checkout (core.autocrlf=true), or built by tools that write the platform's line
// ending (TypeScript's newLine default), differ from a Linux rebuild only in these:
// JavaScript reads CR LF as one line terminator and normalises it to LF inside template
// literals (ECMA-262 §12.3, §13.2.8.3), and JSON, Markdown and TypeScript declarations do not
// care either. Files with a NUL byte or invalid UTF-8 are binary and left alone, as are lone
// CRs.
func TextLineEndings() Stabilizer {
	crlf := []byte("\r\n")
	isCRLFText := func(e *archive.Entry) bool {
		return e.Type == archive.TypeFile && bytes.Contains(e.Data, crlf) &&
			bytes.IndexByte(e.Data, 0) < 0 && utf8.Valid(e.Data)
	}
	return Stabilizer{
		Name:        "text-line-endings",
		Description: "Ignore CR LF versus LF line endings in text files (a Windows checkout or build).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if isCRLFText(e) {
					e.Data = bytes.ReplaceAll(e.Data, crlf, crlf[1:])
					changed = true
				}
			}
			return changed
		},
		Differs: entryDiffers(func(e *archive.Entry) string {
			if isCRLFText(e) {
				return "crlf"
			}
			return ""
		}),
	}
}

// SourceMapLineEndings turns the escaped CR LF of a source map's embedded sources
// ("sourcesContent": ["line\r\n..."]) into an escaped LF. A source map is JSON, so a
// Windows build escapes its sources' line endings where TextLineEndings cannot see them;
// they are debugging data, and the lines (and so the mappings) are the same. Only files
// named *.map that are JSON objects are read; an escaped backslash before "r" is not an
// escaped CR.
func SourceMapLineEndings() Stabilizer {
	normalize := func(e *archive.Entry) ([]byte, bool) {
		if e.Type != archive.TypeFile || !strings.HasSuffix(e.Name, ".map") || !bytes.Contains(e.Data, []byte(`\r\n`)) {
			return nil, false
		}
		if d := bytes.TrimLeft(e.Data, " \t\r\n"); len(d) == 0 || d[0] != '{' || !json.Valid(e.Data) {
			return nil, false
		}
		out := make([]byte, 0, len(e.Data))
		changed := false
		for i := 0; i < len(e.Data); i++ {
			c := e.Data[i]
			if c != '\\' || i+1 >= len(e.Data) {
				out = append(out, c)
				continue
			}
			if e.Data[i+1] == 'r' && i+3 < len(e.Data) && e.Data[i+2] == '\\' && e.Data[i+3] == 'n' {
				out = append(out, '\\', 'n')
				i += 3
				changed = true
				continue
			}
			out = append(out, c, e.Data[i+1]) // an escape pair, \\ included
			i++
		}
		return out, changed
	}
	return Stabilizer{
		Name:        "source-map-line-endings",
		Description: "Ignore CR LF versus LF line endings in the sources embedded in source maps (a Windows build).",
		Apply:       rewriteData(normalize),
		Differs: entryDiffers(func(e *archive.Entry) string {
			if _, ok := normalize(e); ok {
				return "crlf"
			}
			return ""
		}),
	}
}

// bannerTimestamp matches the build times bundlers write into license banners: RFC 1123
// ("Thu, 22 Sep 2022 04:55:29 GMT"), ISO 8601 ("2022-09-22T04:55:29.123Z") and JavaScript's
// Date.prototype.toString ("Thu Sep 22 2022 04:55:29 GMT+0000 (Coordinated Universal Time)").
var bannerTimestamp = regexp.MustCompile(
	`(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC|[+-]\d{4})` +
		`|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?` +
		`|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4}(?: \([^)\n]*\))?`)

// leadingComment is the span of a text file's first block comment, after an optional "#!"
// line and whitespace: where bundlers put the license banner.
func leadingComment(data []byte) (start, end int, ok bool) {
	i := 0
	if bytes.HasPrefix(data, []byte("#!")) {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return 0, 0, false
		}
		i = nl + 1
	}
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	if !bytes.HasPrefix(data[i:], []byte("/*")) {
		return 0, 0, false
	}
	e := bytes.Index(data[i+2:], []byte("*/"))
	if e < 0 {
		return 0, 0, false
	}
	return i, i + 2 + e + 2, true
}

// BannerTimestamp replaces build times in the leading block comment of text files (the
// license banner: "Rollup.js v2.79.1 / Thu, 22 Sep 2022 04:55:29 GMT - commit 69ff418") with
// a fixed string. The rebuild's clock is the release commit's, while the publisher built
// minutes or days later; a comment does not change what the code does. Times anywhere else
// in a file still count.
func BannerTimestamp() Stabilizer {
	stamps := func(e *archive.Entry) (start, end int, found [][]byte) {
		if e.Type != archive.TypeFile || len(e.Data) == 0 || bytes.IndexByte(e.Data[:min(len(e.Data), 8000)], 0) >= 0 {
			return 0, 0, nil
		}
		start, end, ok := leadingComment(e.Data)
		if !ok || !utf8.Valid(e.Data[start:end]) {
			return 0, 0, nil
		}
		return start, end, bannerTimestamp.FindAll(e.Data[start:end], -1)
	}
	fixed := []byte("<build time>")
	return Stabilizer{
		Name:        "banner-timestamp",
		Description: "Ignore build times in the license banner comment at the top of text files (bundlers write the time they ran).",
		Apply: rewriteData(func(e *archive.Entry) ([]byte, bool) {
			start, end, found := stamps(e)
			if len(found) == 0 {
				return nil, false
			}
			banner := bannerTimestamp.ReplaceAll(e.Data[start:end], fixed)
			d := make([]byte, 0, len(e.Data)-(end-start)+len(banner))
			return append(append(append(d, e.Data[:start]...), banner...), e.Data[end:]...), true
		}),
		Differs: entryDiffers(func(e *archive.Entry) string {
			_, _, found := stamps(e)
			return string(bytes.Join(found, []byte{0}))
		}),
	}
}

// PackageJSONWhitespace removes insignificant whitespace from the top-level package.json
// (json.Compact keeps key order and values): indentation and line endings do not change
// what npm reads, and editors and release tools reformat the file.
func PackageJSONWhitespace() Stabilizer {
	compact := func(e *archive.Entry) ([]byte, bool) {
		if e.Type != archive.TypeFile || !isTopLevelManifest(e.Name) {
			return nil, false
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Data); err != nil {
			return nil, false
		}
		return buf.Bytes(), !bytes.Equal(buf.Bytes(), e.Data)
	}
	return Stabilizer{
		Name:        "package-json-whitespace",
		Description: "Ignore whitespace and indentation in package.json; keys, order and values still count.",
		Apply:       rewriteData(compact),
		Differs: entryDiffers(func(e *archive.Entry) string {
			if e.Type == archive.TypeFile && isTopLevelManifest(e.Name) {
				return string(e.Data)
			}
			return ""
		}),
	}
}

// isTopLevelManifest matches "<dir>/package.json" (npm's "package/" or an old tarball's
// other top directory).
func isTopLevelManifest(name string) bool {
	dir, base := path.Split(name)
	return base == "package.json" && dir != "" && strings.Count(dir, "/") == 1
}

// NPMBinModes marks the files package.json names in "bin" executable. npm links and chmods
// them at install time (npm's bin-links), and npm versions differ in whether pack already
// sets the bit, so the packed mode of a bin file never reaches a user.
func NPMBinModes() Stabilizer {
	return Stabilizer{
		Name:        "npm-bin-mode",
		Description: "Treat files listed in package.json \"bin\" as executable, as npm makes them at install time.",
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, name := range binFiles(a) {
				for _, e := range a.Entries {
					if e.Name == name && e.Type == archive.TypeFile && e.Mode&0o111 != 0o111 {
						e.Mode = e.Mode | 0o755
						changed = true
					}
				}
			}
			return changed
		},
	}
}

// NPMExecBit clears the executable bit of regular files that package.json does not name in
// "bin" (after file-mode, so only 0755 versus 0644 is left). Packages published from Windows
// carry 0755 on every file, since Windows has no such bit and npm writes one; the bit does not
// change what a file contains, and npm makes the "bin" files executable at install time anyway.
// OSS Rebuild's tar-file-mode normalises every mode.
func NPMExecBit() Stabilizer {
	execNotBin := func(a *archive.Archive) func(e *archive.Entry) bool {
		bins := map[string]bool{}
		for _, b := range binFiles(a) {
			bins[b] = true
		}
		return func(e *archive.Entry) bool {
			return e.Type == archive.TypeFile && e.Mode&0o111 != 0 && !bins[e.Name]
		}
	}
	return Stabilizer{
		Name:        "npm-exec-bit",
		Description: "Ignore the executable bit of files that are not package.json \"bin\" entries (Windows publishers mark every file executable).",
		Apply: func(a *archive.Archive) bool {
			changed := false
			isExec := execNotBin(a)
			for _, e := range a.Entries {
				if isExec(e) {
					e.Mode &^= 0o111
					changed = true
				}
			}
			return changed
		},
		Differs: func(a, b *archive.Archive) bool {
			ea, eb := execNotBin(a), execNotBin(b)
			modes := make(map[string]bool, len(a.Entries))
			for _, e := range a.Entries {
				if e.Type == archive.TypeFile {
					modes[e.Name] = ea(e)
				}
			}
			for _, e := range b.Entries {
				if x, ok := modes[e.Name]; ok && x != eb(e) {
					return true
				}
			}
			return false
		},
	}
}

// binFiles lists archive paths of the top-level package.json's "bin" targets.
func binFiles(a *archive.Archive) []string {
	for _, e := range a.Entries {
		if e.Type != archive.TypeFile || !isTopLevelManifest(e.Name) {
			continue
		}
		var m struct {
			Name string          `json:"name"`
			Bin  json.RawMessage `json:"bin"`
		}
		if json.Unmarshal(e.Data, &m) != nil || len(m.Bin) == 0 {
			return nil
		}
		var targets []string
		var one string
		var many map[string]string
		if json.Unmarshal(m.Bin, &one) == nil {
			targets = append(targets, one)
		} else if json.Unmarshal(m.Bin, &many) == nil {
			for _, t := range many {
				targets = append(targets, t)
			}
		}
		dir := path.Dir(e.Name)
		var out []string
		for _, t := range targets {
			p := path.Join(dir, path.Clean("/" + t)[1:])
			out = append(out, p)
		}
		return out
	}
	return nil
}
