package stabilize

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/archive"
)

func TestPackageJSONWhitespace(t *testing.T) {
	tabs := "{\n\t\"name\": \"x\",\n\t\"version\": \"1.0.0\"\r\n}\n"
	spaces := "{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\"\n}\n"
	reordered := "{\n  \"version\": \"1.0.0\",\n  \"name\": \"x\"\n}\n"
	mk := func(name, body string) *archive.Archive {
		return &archive.Archive{Format: archive.FormatTar, Entries: []*archive.Entry{{Name: name, Type: archive.TypeFile, Data: []byte(body)}}}
	}
	s := PackageJSONWhitespace()
	a, b := mk("package/package.json", tabs), mk("package/package.json", spaces)
	if !s.Differs(a, b) || !s.Apply(a) || !s.Apply(b) {
		t.Fatal("whitespace difference not handled")
	}
	if diff := cmp.Diff(string(a.Entries[0].Data), string(b.Entries[0].Data)); diff != "" {
		t.Errorf("compacted forms differ:\n%s", diff)
	}
	c, d := mk("package/package.json", spaces), mk("package/package.json", reordered)
	s.Apply(c)
	s.Apply(d)
	if string(c.Entries[0].Data) == string(d.Entries[0].Data) {
		t.Errorf("key order must still count")
	}
	nested := mk("package/lib/package.json", tabs)
	if s.Apply(nested) {
		t.Errorf("only the top-level manifest is normalised")
	}
	broken := mk("package/package.json", "{ not json")
	if s.Apply(broken) {
		t.Errorf("invalid JSON must be left alone")
	}
}

func TestTarPAXRecords(t *testing.T) {
	a := &archive.Archive{Entries: []*archive.Entry{{Name: "package/a", Type: archive.TypeFile, PAX: map[string]string{"SCHILY.ino": "1", "NODETAR.depth": "1"}}}}
	b := &archive.Archive{Entries: []*archive.Entry{{Name: "package/a", Type: archive.TypeFile}}}
	s := TarPAXRecords()
	if !s.Differs(a, b) {
		t.Fatal("PAX difference not seen")
	}
	if !s.Apply(a) || s.Apply(b) || a.Entries[0].PAX != nil {
		t.Fatal("PAX records not dropped")
	}
	if s.Differs(a, b) {
		t.Error("still differs after stabilization")
	}
}
