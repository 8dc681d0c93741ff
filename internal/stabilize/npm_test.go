package stabilize

import (
	"strings"
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

func TestNPMBinModes(t *testing.T) {
	mk := func(bin string, mode int64) *archive.Archive {
		return &archive.Archive{Entries: []*archive.Entry{
			{Name: "package/package.json", Type: archive.TypeFile, Mode: 0o644, Data: []byte(`{"name":"x","bin":` + bin + `}`)},
			{Name: "package/bin.js", Type: archive.TypeFile, Mode: mode},
			{Name: "package/lib.js", Type: archive.TypeFile, Mode: 0o644},
		}}
	}
	for _, bin := range []string{`"./bin.js"`, `{"x":"bin.js"}`} {
		a := mk(bin, 0o644)
		if !NPMBinModes().Apply(a) || a.Entries[1].Mode != 0o755 || a.Entries[2].Mode != 0o644 {
			t.Errorf("bin %s: modes %o %o", bin, a.Entries[1].Mode, a.Entries[2].Mode)
		}
		if NPMBinModes().Apply(mk(bin, 0o755)) {
			t.Errorf("bin %s: an executable bin file was changed", bin)
		}
	}
	escaping := mk(`"../../etc/passwd"`, 0o644)
	if NPMBinModes().Apply(escaping) {
		t.Errorf("a bin path outside the package matched an entry")
	}
}

func TestNPMExecBit(t *testing.T) {
	mk := func(libMode, binMode int64) *archive.Archive {
		return &archive.Archive{Entries: []*archive.Entry{
			{Name: "package/package.json", Type: archive.TypeFile, Mode: 0o644, Data: []byte(`{"name":"x","bin":{"x":"cli.js"}}`)},
			{Name: "package/cli.js", Type: archive.TypeFile, Mode: binMode},
			{Name: "package/LICENSE", Type: archive.TypeFile, Mode: libMode},
			{Name: "package/lib", Type: archive.TypeDir, Mode: 0o755},
		}}
	}
	s := NPMExecBit()
	windows, linux := mk(0o755, 0o755), mk(0o644, 0o755)
	if !s.Differs(windows, linux) || !s.Differs(linux, windows) {
		t.Fatal("Differs = false for an executable LICENSE against a plain one")
	}
	if !s.Apply(windows) || s.Apply(linux) {
		t.Fatal("Apply must change the side with the extra executable bit only")
	}
	for _, a := range []*archive.Archive{windows, linux} {
		if a.Entries[1].Mode != 0o755 || a.Entries[2].Mode != 0o644 || a.Entries[3].Mode != 0o755 {
			t.Errorf("modes after Apply: bin %o, LICENSE %o, dir %o", a.Entries[1].Mode, a.Entries[2].Mode, a.Entries[3].Mode)
		}
	}
	// A bin file's bit is left to npm-bin-mode and file-mode: a bin that is not executable
	// on one side is not this stabilizer's difference.
	if s.Differs(mk(0o644, 0o755), mk(0o644, 0o644)) {
		t.Error("Differs = true for a difference in a bin file's mode")
	}
}

func TestTextLineEndings(t *testing.T) {
	mk := func(files ...string) *archive.Archive {
		a := &archive.Archive{Format: archive.FormatTar}
		for i := 0; i < len(files); i += 2 {
			a.Entries = append(a.Entries, &archive.Entry{Name: files[i], Type: archive.TypeFile, Data: []byte(files[i+1])})
		}
		return a
	}
	s := TextLineEndings()
	win := mk("package/index.js", "const a = `x\r\ny`;\r\nmodule.exports = a;\r\n", "package/LICENSE", "MIT\r\n")
	linux := mk("package/index.js", "const a = `x\ny`;\nmodule.exports = a;\n", "package/LICENSE", "MIT\n")
	if !s.Differs(win, linux) {
		t.Fatal("Differs = false for CR LF against LF")
	}
	if !s.Apply(win) || s.Apply(linux) {
		t.Fatal("Apply must change the CR LF side only")
	}
	for i := range win.Entries {
		if diff := cmp.Diff(string(linux.Entries[i].Data), string(win.Entries[i].Data)); diff != "" {
			t.Errorf("%s after Apply (-want +got):\n%s", win.Entries[i].Name, diff)
		}
	}
	if s.Differs(mk("package/a.js", "x\r\n"), mk("package/a.js", "y\r\n")) {
		t.Error("Differs = true when both sides use CR LF")
	}
	// Binary files, lone CRs and other content changes stay differences.
	for _, tc := range []struct{ name, body string }{
		{"NUL byte", "a\r\n\x00b\r\n"},
		{"invalid UTF-8", "a\r\n\xff\xfe\r\n"},
		{"lone CR", "a\rb"},
	} {
		a := mk("package/f.bin", tc.body)
		if s.Apply(a) || string(a.Entries[0].Data) != tc.body {
			t.Errorf("%s: changed to %q", tc.name, a.Entries[0].Data)
		}
	}
	a, b := mk("package/a.js", "x = 1;\r\n"), mk("package/a.js", "x = 2;\n")
	s.Apply(a)
	s.Apply(b)
	if string(a.Entries[0].Data) == string(b.Entries[0].Data) {
		t.Error("a content change hidden behind line endings")
	}
}

func TestSourceMapLineEndings(t *testing.T) {
	mk := func(name, body string) *archive.Archive {
		return &archive.Archive{Format: archive.FormatTar, Entries: []*archive.Entry{{Name: name, Type: archive.TypeFile, Data: []byte(body)}}}
	}
	s := SourceMapLineEndings()
	win := mk("package/dist/a.js.map", `{"version":3,"sources":["a.ts"],"sourcesContent":["let a = 1;\r\nexport { a };\r\n"],"mappings":"AAAA"}`)
	linux := mk("package/dist/a.js.map", `{"version":3,"sources":["a.ts"],"sourcesContent":["let a = 1;\nexport { a };\n"],"mappings":"AAAA"}`)
	if !s.Differs(win, linux) {
		t.Fatal("Differs = false for escaped CR LF against LF")
	}
	if !s.Apply(win) || s.Apply(linux) {
		t.Fatal("Apply must change the CR LF side only")
	}
	if diff := cmp.Diff(string(linux.Entries[0].Data), string(win.Entries[0].Data)); diff != "" {
		t.Errorf("after Apply (-want +got):\n%s", diff)
	}
	// An escaped backslash before r is text, not a CR; other files, non-JSON and content
	// changes are left alone.
	for _, tc := range []struct{ name, body string }{
		{"package/a.js.map", `{"sourcesContent":["C:\\r\n"]}`},
		{"package/a.js", `{"sourcesContent":["x\r\n"]}`},
		{"package/a.js.map", `not json \r\n`},
	} {
		a := mk(tc.name, tc.body)
		if s.Apply(a) || string(a.Entries[0].Data) != tc.body {
			t.Errorf("%s %q: changed to %q", tc.name, tc.body, a.Entries[0].Data)
		}
	}
	a, b := mk("package/a.map", `{"sourcesContent":["x = 1;\r\n"]}`), mk("package/a.map", `{"sourcesContent":["x = 2;\n"]}`)
	s.Apply(a)
	s.Apply(b)
	if string(a.Entries[0].Data) == string(b.Entries[0].Data) {
		t.Error("a content change hidden behind line endings")
	}
}

func TestBannerTimestamp(t *testing.T) {
	mk := func(name, body string) *archive.Archive {
		return &archive.Archive{Format: archive.FormatTar, Entries: []*archive.Entry{{Name: name, Type: archive.TypeFile, Data: []byte(body)}}}
	}
	banner := func(stamp string) string {
		return "#!/usr/bin/env node\n/*\n  @license\n\tRollup.js v2.79.1\n\t" + stamp + " - commit 69ff418\n*/\n'use strict';\nconst built = 'x';\n"
	}
	s := BannerTimestamp()
	for _, pair := range [][2]string{
		{"Thu, 22 Sep 2022 04:55:29 GMT", "Thu, 22 Sep 2022 04:52:57 GMT"},
		{"2022-09-22T04:55:29.123Z", "2022-09-22T04:52:57.000Z"},
		{"Thu Sep 22 2022 04:55:29 GMT+0000 (Coordinated Universal Time)", "Thu Sep 22 2022 04:52:57 GMT+0000 (Coordinated Universal Time)"},
	} {
		up, re := mk("package/dist/bin/rollup", banner(pair[0])), mk("package/dist/bin/rollup", banner(pair[1]))
		if !s.Differs(up, re) {
			t.Fatalf("%s: Differs = false", pair[0])
		}
		if !s.Apply(up) || !s.Apply(re) {
			t.Fatalf("%s: Apply changed nothing", pair[0])
		}
		if diff := cmp.Diff(string(up.Entries[0].Data), string(re.Entries[0].Data)); diff != "" {
			t.Errorf("%s: after Apply (-upstream +rebuild):\n%s", pair[0], diff)
		}
		if !strings.Contains(string(up.Entries[0].Data), "const built = 'x';") {
			t.Errorf("%s: code changed: %q", pair[0], up.Entries[0].Data)
		}
	}
	// Times outside the leading comment, and other banner changes, still count.
	for _, tc := range [][2]string{
		{"/* v1 */\nconst t = 'Thu, 22 Sep 2022 04:55:29 GMT';\n", "/* v1 */\nconst t = 'Thu, 22 Sep 2022 04:52:57 GMT';\n"},
		{"const x = 1; /* Thu, 22 Sep 2022 04:55:29 GMT */\n", "const x = 1; /* Thu, 22 Sep 2022 04:52:57 GMT */\n"},
		{"/* Rollup.js v2.79.1 Thu, 22 Sep 2022 04:55:29 GMT */\n", "/* Rollup.js v2.79.2 Thu, 22 Sep 2022 04:55:29 GMT */\n"},
	} {
		up, re := mk("package/a.js", tc[0]), mk("package/a.js", tc[1])
		s.Apply(up)
		s.Apply(re)
		if string(up.Entries[0].Data) == string(re.Entries[0].Data) {
			t.Errorf("%q and %q made equal", tc[0], tc[1])
		}
	}
}
