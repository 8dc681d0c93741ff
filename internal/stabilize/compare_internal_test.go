package stabilize

import (
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
)

func digestOf(t *testing.T, a *archive.Archive) string {
	t.Helper()
	d, err := Digest(a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCanonicallyEqual checks the shortcut CompareBytes takes to digest once: a change to
// anything Digest serializes must make it say unequal, and archives it calls equal must have
// equal digests.
func TestCanonicallyEqual(t *testing.T) {
	base := func(f archive.Format) *archive.Archive {
		return &archive.Archive{
			Format: f,
			Gzip:   &archive.GzipInfo{Name: "n", ModTime: time.Unix(5, 0).UTC(), OS: 3},
			Entries: []*archive.Entry{
				{Name: "package/a.js", Type: archive.TypeFile, Mode: 0o644, ModTime: NPMEpoch, Data: []byte("a"), PAX: map[string]string{"k": "v"}},
				{Name: "package/dir", Type: archive.TypeDir, Mode: 0o755, ModTime: NPMEpoch},
				{Name: "package/l", Type: archive.TypeSymlink, Mode: 0o777, ModTime: NPMEpoch, Linkname: "a.js"},
			},
		}
	}
	mutations := map[string]func(a *archive.Archive){
		"format":         func(a *archive.Archive) { a.Format = archive.FormatGzip },
		"comment":        func(a *archive.Archive) { a.Comment = "c" },
		"gzip dropped":   func(a *archive.Archive) { a.Gzip = nil },
		"gzip name":      func(a *archive.Archive) { a.Gzip.Name = "m" },
		"gzip comment":   func(a *archive.Archive) { a.Gzip.Comment = "m" },
		"gzip mtime":     func(a *archive.Archive) { a.Gzip.ModTime = time.Unix(6, 0).UTC() },
		"gzip os":        func(a *archive.Archive) { a.Gzip.OS = 19 },
		"gzip extra":     func(a *archive.Archive) { a.Gzip.Extra = []byte{1} },
		"entry dropped":  func(a *archive.Archive) { a.Entries = a.Entries[:2] },
		"order":          func(a *archive.Archive) { a.Entries[0], a.Entries[2] = a.Entries[2], a.Entries[0] },
		"name":           func(a *archive.Archive) { a.Entries[0].Name = "package/b.js" },
		"type":           func(a *archive.Archive) { a.Entries[1].Type = archive.TypeOther },
		"mode":           func(a *archive.Archive) { a.Entries[0].Mode = 0o755 },
		"mtime":          func(a *archive.Archive) { a.Entries[0].ModTime = NPMEpoch.Add(time.Second) },
		"mtime sub-sec":  func(a *archive.Archive) { a.Entries[0].ModTime = NPMEpoch.Add(time.Millisecond) },
		"mtime location": func(a *archive.Archive) { a.Entries[0].ModTime = NPMEpoch.In(time.FixedZone("x", 3600)) },
		"uid":            func(a *archive.Archive) { a.Entries[0].UID = 1 },
		"gid":            func(a *archive.Archive) { a.Entries[0].GID = 1 },
		"uname":          func(a *archive.Archive) { a.Entries[0].Uname = "u" },
		"gname":          func(a *archive.Archive) { a.Entries[0].Gname = "g" },
		"linkname":       func(a *archive.Archive) { a.Entries[2].Linkname = "b.js" },
		"pax value":      func(a *archive.Archive) { a.Entries[0].PAX = map[string]string{"k": "w"} },
		"pax dropped":    func(a *archive.Archive) { a.Entries[0].PAX = nil },
		"data":           func(a *archive.Archive) { a.Entries[0].Data = []byte("b") },
		"data longer":    func(a *archive.Archive) { a.Entries[0].Data = []byte("ab") },
		"zip method":     func(a *archive.Archive) { a.Entries[0].Method = 8 },
		"zip extra":      func(a *archive.Archive) { a.Entries[0].Extra = []byte{1, 2, 0, 0} },
		"zip comment":    func(a *archive.Archive) { a.Entries[0].Comment = "c" },
		"zip attrs":      func(a *archive.Archive) { a.Entries[0].ExternalAttrs = 1 << 16 },
		"zip creator":    func(a *archive.Archive) { a.Entries[0].CreatorVersion = 3 << 8 },
	}
	for _, f := range []archive.Format{archive.FormatTarGz, archive.FormatZip, archive.FormatRaw} {
		a := base(f)
		if !canonicallyEqual(a, a.Clone()) {
			t.Fatalf("%s: an archive and its clone are not equal", f)
		}
		// Equal values in separate memory are equal too.
		c := base(f)
		if !canonicallyEqual(a, c) || digestOf(t, a) != digestOf(t, c) {
			t.Fatalf("%s: equal archives: canonicallyEqual %v", f, canonicallyEqual(a, c))
		}
		for name, mutate := range mutations {
			b := base(f)
			mutate(b)
			if canonicallyEqual(a, b) {
				t.Errorf("%s, %s: the change is not seen", f, name)
			}
		}
	}
	// Only the fields the serializations ignore may differ.
	a, b := base(archive.FormatTarGz), base(archive.FormatTarGz)
	b.Entries[0].TarFormat, b.Entries[0].CompressedSize = "GNU", 42
	b.Gzip.TrailerCRC32 = 7
	if !canonicallyEqual(a, b) || digestOf(t, a) != digestOf(t, b) {
		t.Errorf("ignored fields: canonicallyEqual %v", canonicallyEqual(a, b))
	}
}

// TestCompareDigestsOnce: when the stabilized archives are equal, the digests CompareBytes
// reports (computed once) are each side's own Digest; when they differ, each its own.
func TestCompareDigestsOnce(t *testing.T) {
	up := archivetest.TarGz(t, archivetest.File{Name: "package/a.js", Body: "1"}, archivetest.File{Name: "package/b.js", Body: "2"})
	same := archivetest.TarGz(t, archivetest.File{Name: "package/b.js", Body: "2", ModTime: time.Unix(1e9, 0)}, archivetest.File{Name: "package/a.js", Body: "1"})
	other := archivetest.TarGz(t, archivetest.File{Name: "package/a.js", Body: "1"}, archivetest.File{Name: "package/b.js", Body: "3"})
	for name, tc := range map[string]struct {
		rebuild []byte
		equiv   bool
	}{"equivalent": {same, true}, "different": {other, false}} {
		c, err := CompareBytes(up, tc.rebuild, NPM(), archive.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if c.Equivalent != tc.equiv || c.StabilizedUpstreamSHA256 != digestOf(t, c.Upstream) || c.StabilizedRebuildSHA256 != digestOf(t, c.Rebuild) {
			t.Errorf("%s: %+v", name, c)
		}
	}
}
