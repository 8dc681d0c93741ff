package stabilize

import (
	"bytes"
	"encoding/json"
	"path"
	"sort"
	"strings"

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
		Apply: func(a *archive.Archive) bool {
			changed := false
			for _, e := range a.Entries {
				if c, ok := compact(e); ok {
					e.Data = c
					changed = true
				}
			}
			return changed
		},
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
