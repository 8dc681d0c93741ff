package archive_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
)

var sample = []archivetest.File{
	{Name: "package/", Type: archive.TypeDir},
	{Name: "package/package.json", Body: `{"name":"x"}`, UID: 1000, GID: 1000, Uname: "me", Gname: "us"},
	{Name: "package/bin/cli.js", Body: "#!/usr/bin/env node\n", Mode: 0o755},
	{Name: "package/link", Type: archive.TypeSymlink, Linkname: "bin/cli.js"},
	{Name: "package/hard", Type: archive.TypeHardlink, Linkname: "package/package.json"},
}

// summary keeps the fields compared across formats.
type summary struct {
	Name     string
	Type     archive.EntryType
	Mode     int64
	Linkname string
	Data     string
}

func summarize(a *archive.Archive) []summary {
	var out []summary
	for _, e := range a.Entries {
		out = append(out, summary{e.Name, e.Type, e.Mode, e.Linkname, string(e.Data)})
	}
	return out
}

func TestDetect(t *testing.T) {
	tarData := archivetest.Tar(t, sample...)
	tests := []struct {
		name string
		data []byte
		want archive.Format
	}{
		{"tar", tarData, archive.FormatTar},
		{"tar.gz", archivetest.TarGz(t, sample...), archive.FormatTarGz},
		{"zip", archivetest.Zip(t, archivetest.File{Name: "a", Body: "b"}), archive.FormatZip},
		{"gzip", archivetest.Gzip(t, []byte("hello, not a tar"), gzip.BestSpeed), archive.FormatGzip},
		{"raw", []byte("just text"), archive.FormatRaw},
		{"empty", nil, archive.FormatRaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := archive.Detect(tc.data); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadTarGz(t *testing.T) {
	a, err := archive.Read(archivetest.TarGz(t, sample...), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if a.Format != archive.FormatTarGz || a.Gzip == nil {
		t.Fatalf("Format = %q, Gzip = %v", a.Format, a.Gzip)
	}
	want := []summary{
		{"package", archive.TypeDir, 0o755, "", ""},
		{"package/package.json", archive.TypeFile, 0o644, "", `{"name":"x"}`},
		{"package/bin/cli.js", archive.TypeFile, 0o755, "", "#!/usr/bin/env node\n"},
		{"package/link", archive.TypeSymlink, 0o644, "bin/cli.js", ""},
		{"package/hard", archive.TypeHardlink, 0o644, "package/package.json", ""},
	}
	if diff := cmp.Diff(want, summarize(a)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	pj := a.Lookup("package/package.json")
	if pj.UID != 1000 || pj.Uname != "me" || !pj.ModTime.Equal(archivetest.Epoch) {
		t.Errorf("package.json metadata = %+v", pj)
	}
}

func TestReadZipAndGzipPayload(t *testing.T) {
	z, err := archive.Read(archivetest.Zip(t,
		archivetest.File{Name: "d/", Type: archive.TypeDir},
		archivetest.File{Name: "d/a.txt", Body: "A", Mode: 0o600},
		archivetest.File{Name: "d/l", Type: archive.TypeSymlink, Linkname: "a.txt"},
	), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{
		{"d", archive.TypeDir, 0o755, "", ""},
		{"d/a.txt", archive.TypeFile, 0o600, "", "A"},
		{"d/l", archive.TypeSymlink, 0o644, "a.txt", ""},
	}
	if diff := cmp.Diff(want, summarize(z)); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
	if z.Entries[1].Method != 8 || z.Entries[1].CreatorVersion>>8 != 3 {
		t.Errorf("zip method/creator = %d/%#x", z.Entries[1].Method, z.Entries[1].CreatorVersion)
	}

	g, err := archive.Read(archivetest.Gzip(t, []byte("payload text"), 9), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if g.Format != archive.FormatGzip || len(g.Entries) != 1 || string(g.Entries[0].Data) != "payload text" || g.Entries[0].Name != archive.PayloadName {
		t.Errorf("gzip payload read as %+v", g)
	}
}

func TestReadRejects(t *testing.T) {
	small := archive.Limits{MaxEntries: 3, MaxEntrySize: 1 << 20, MaxTotalSize: 2 << 20, MaxNameLen: 100}
	f := func(name, body string) archivetest.File { return archivetest.File{Name: name, Body: body} }
	tests := []struct {
		name      string
		data      []byte
		wantLimit string // "" means *UnsafeError
		wantEntry string
	}{
		{"dotdot", archivetest.TraversalTarGz(t), "", "package/../../evil"},
		{"absolute", archivetest.AbsoluteTarGz(t), "", "/tmp/evil"},
		{"escaping symlink", archivetest.EscapingSymlinkTarGz(t), "", "package/link"},
		{"absolute symlink", archivetest.TarGz(t, archivetest.File{Name: "l", Type: archive.TypeSymlink, Linkname: "/etc/passwd"}), "", "l"},
		{"escaping hardlink", archivetest.TarGz(t, archivetest.File{Name: "h", Type: archive.TypeHardlink, Linkname: "../x"}), "", "h"},
		{"backslash dotdot", archivetest.Tar(t, f(`a\..\..\evil`, "x")), "", `a\..\..\evil`},
		{"drive letter", archivetest.Tar(t, f(`C:/evil`, "x")), "", "C:/evil"},
		{"duplicate after cleaning", archivetest.TarGz(t, f("package/a", "1"), f("./package//a", "2")), "", "./package//a"},
		{"zip dotdot", archivetest.TraversalZip(t), "", "../evil"},
		{"zip absolute", archivetest.Zip(t, f("/abs", "x")), "", "/abs"},
		{"zip duplicate", archivetest.Zip(t, f("a", "1"), f("a", "2")), "", "a"},
		{"long name", archivetest.TarGz(t, f(strings.Repeat("n", 101), "x")), "MaxNameLen", ""},
		{"too many entries", archivetest.TarGz(t, f("a", ""), f("b", ""), f("c", ""), f("d", "")), "MaxEntries", "d"},
		{"zip too many entries", archivetest.Zip(t, f("a", ""), f("b", ""), f("c", ""), f("d", "")), "MaxEntries", ""},
		{"entry too large", archivetest.TarGz(t, f("big", strings.Repeat("x", 1<<20+1))), "MaxEntrySize", "big"},
		{"zip entry too large", archivetest.Zip(t, f("big", strings.Repeat("x", 1<<20+1))), "MaxEntrySize", "big"},
		{"total too large", archivetest.TarGz(t, f("a", strings.Repeat("x", 1<<20)), f("b", strings.Repeat("y", 1<<20)), f("c", "z")), "MaxTotalSize", ""},
		{"gzip bomb", archivetest.GzipBomb(t, 64<<20), "MaxEntrySize", "bomb"},
		{"gzip payload bomb", archivetest.Gzip(t, make([]byte, 4<<20), 9), "MaxEntrySize", archive.PayloadName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := archive.Read(tc.data, small)
			if err == nil {
				t.Fatalf("Read accepted it: %+v", summarize(a))
			}
			var ue *archive.UnsafeError
			var le *archive.LimitError
			switch {
			case tc.wantLimit == "":
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v (%T), want *UnsafeError", err, err)
				}
				if ue.Entry != tc.wantEntry || ue.ExitCode() != 2 {
					t.Errorf("UnsafeError entry %q exit %d, want %q 2", ue.Entry, ue.ExitCode(), tc.wantEntry)
				}
			default:
				if !errors.As(err, &le) {
					t.Fatalf("err = %v (%T), want *LimitError", err, err)
				}
				if le.Limit != tc.wantLimit || (tc.wantEntry != "" && le.Entry != tc.wantEntry) || le.ExitCode() != 2 {
					t.Errorf("LimitError = %+v, want limit %s entry %q", le, tc.wantLimit, tc.wantEntry)
				}
			}
		})
	}
}

func TestBombWithLyingHeader(t *testing.T) {
	// A bomb bigger than MaxTotalSize but with MaxEntrySize large: the stream count stops it.
	lim := archive.Limits{MaxEntrySize: 1 << 30, MaxTotalSize: 1 << 20}
	_, err := archive.Read(archivetest.GzipBomb(t, 8<<20), lim)
	var le *archive.LimitError
	if !errors.As(err, &le) || le.Limit != "MaxTotalSize" {
		t.Fatalf("err = %v, want MaxTotalSize LimitError", err)
	}
}

func TestWriteTarCanonical(t *testing.T) {
	files := append([]archivetest.File{}, sample...)
	files = append(files, archivetest.File{Name: "package/" + strings.Repeat("long/", 40) + "f", Body: "deep", ModTime: time.Date(2021, 1, 1, 0, 0, 0, 5, time.UTC)})
	a, err := archive.Read(archivetest.TarGz(t, files...), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	if err := a.WriteTar(&b1); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTar(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatal("WriteTar is not deterministic")
	}
	back, err := archive.Read(b1.Bytes(), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(archive.Entry{}, "TarFormat")
	if diff := cmp.Diff(a.Entries, back.Entries, ignore); diff != "" {
		t.Errorf("tar round trip (-orig +back):\n%s", diff)
	}
	// The same entries from a differently encoded source serialise identically.
	var gz bytes.Buffer
	if err := back.WriteTarGz(&gz); err != nil {
		t.Fatal(err)
	}
	again, err := archive.Read(gz.Bytes(), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var b3 bytes.Buffer
	if err := again.WriteTar(&b3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b3.Bytes()) {
		t.Error("canonical tar differs after a tar.gz round trip")
	}
}

func TestWriteZipRoundTrip(t *testing.T) {
	a, err := archive.Read(archivetest.Zip(t,
		archivetest.File{Name: "META-INF/", Type: archive.TypeDir},
		archivetest.File{Name: "META-INF/MANIFEST.MF", Body: "Manifest-Version: 1.0\n"},
		archivetest.File{Name: "run.sh", Body: "#!/bin/sh\n", Mode: 0o755},
		archivetest.File{Name: "l", Type: archive.TypeSymlink, Linkname: "run.sh"},
	), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	a.Comment = "a comment"
	var b1, b2 bytes.Buffer
	if err := a.WriteZip(&b1); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteZip(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatal("WriteZip is not deterministic")
	}
	back, err := archive.Read(b1.Bytes(), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(summarize(a), summarize(back)); diff != "" {
		t.Errorf("zip round trip (-orig +back):\n%s", diff)
	}
	if back.Comment != "a comment" || !back.Entries[1].ModTime.Equal(a.Entries[1].ModTime) || !bytes.Equal(back.Entries[1].Extra, a.Entries[1].Extra) {
		t.Errorf("zip metadata lost: comment %q time %v extra %x", back.Comment, back.Entries[1].ModTime, back.Entries[1].Extra)
	}
}

func TestExtractTo(t *testing.T) {
	a, err := archive.Read(archivetest.TarGz(t, sample...), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := archive.ExtractTo(a, dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "package", "link"))
	if err != nil || string(got) != "#!/usr/bin/env node\n" {
		t.Errorf("through symlink: %q, %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "package/bin/cli.js")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("cli.js mode: %v, %v", fi, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "package/hard")); string(got) != `{"name":"x"}` {
		t.Errorf("hardlink content %q", got)
	}
}

func TestExtractToRejects(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name    string
		entries []*archive.Entry
	}{
		{"dotdot", []*archive.Entry{{Name: "../evil", Type: archive.TypeFile}}},
		{"absolute", []*archive.Entry{{Name: filepath.Join(outside, "evil"), Type: archive.TypeFile}}},
		{"escaping symlink", []*archive.Entry{{Name: "l", Type: archive.TypeSymlink, Linkname: "../" + filepath.Base(outside)}}},
		{"escaping hardlink", []*archive.Entry{{Name: "h", Type: archive.TypeHardlink, Linkname: "../x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := archive.ExtractTo(&archive.Archive{Format: archive.FormatTar, Entries: tc.entries}, t.TempDir())
			var ue *archive.UnsafeError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnsafeError", err)
			}
		})
	}
	// A symlink that passes the lexical check cannot be used to write outside through os.Root.
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "pre")); err != nil {
		t.Fatal(err)
	}
	err := archive.ExtractTo(&archive.Archive{Entries: []*archive.Entry{{Name: "pre/evil", Type: archive.TypeFile, Data: []byte("x")}}}, dir)
	if err == nil {
		t.Error("wrote through a pre-existing escaping symlink")
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
		t.Error("file written outside the extraction root")
	}
}

func FuzzRead(f *testing.F) {
	files := []archivetest.File{
		{Name: "package/a.txt", Body: "hello"},
		{Name: "package/d/", Type: archive.TypeDir},
		{Name: "package/l", Type: archive.TypeSymlink, Linkname: "a.txt"},
	}
	f.Add(archivetest.Tar(f, files...))
	f.Add(archivetest.TarGz(f, files...))
	f.Add(archivetest.Zip(f, files...))
	f.Add(archivetest.TraversalTarGz(f))
	f.Add(archivetest.EscapingSymlinkTarGz(f))
	f.Add(archivetest.TraversalZip(f))
	f.Add(archivetest.Gzip(f, []byte("payload"), 1))
	lim := archive.Limits{MaxEntries: 50, MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxNameLen: 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := archive.Read(data, lim)
		if err != nil {
			return
		}
		if len(a.Entries) > lim.MaxEntries {
			t.Fatalf("%d entries over the limit", len(a.Entries))
		}
		var total int64
		for _, e := range a.Entries {
			total += int64(len(e.Data))
			if clean, err := archive.CleanName(e.Name, lim.MaxNameLen); err != nil || clean != e.Name {
				t.Fatalf("accepted unclean name %q (%q, %v)", e.Name, clean, err)
			}
			if e.Type == archive.TypeSymlink {
				if err := archive.CheckSymlink(e.Name, e.Linkname, lim.MaxNameLen); err != nil {
					t.Fatalf("accepted escaping symlink: %v", err)
				}
			}
		}
		if total > lim.MaxTotalSize || (a.Format != archive.FormatRaw && total > lim.MaxTotalSize) {
			t.Fatalf("total %d over the limit", total)
		}
		switch a.Format {
		case archive.FormatZip:
			_ = a.WriteZip(&bytes.Buffer{})
		default:
			_ = a.WriteTar(&bytes.Buffer{})
		}
	})
}
