package stabilize_test

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/stabilize"
)

var t2020 = time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)

func find(t *testing.T, set []stabilize.Stabilizer, name string) stabilize.Stabilizer {
	t.Helper()
	for _, s := range set {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stabilizer %q", name)
	return stabilize.Stabilizer{}
}

func TestStabilizers(t *testing.T) {
	file := func(name string, mod func(e *archive.Entry)) *archive.Entry {
		e := &archive.Entry{Name: name, Type: archive.TypeFile, Mode: 0o644, ModTime: stabilize.NPMEpoch, Data: []byte(name)}
		if mod != nil {
			mod(e)
		}
		return e
	}
	dir := func(name string) *archive.Entry {
		return &archive.Entry{Name: name, Type: archive.TypeDir, Mode: 0o755, ModTime: stabilize.NPMEpoch}
	}
	all := append(append(stabilize.NPM(), stabilize.Zip()...), stabilize.Tar()...)
	tests := []struct {
		name, stabilizer string
		in, want         *archive.Archive
		changed          bool
	}{
		{
			name: "gzip layer dropped", stabilizer: "gzip-layer",
			in:      &archive.Archive{Format: archive.FormatTarGz, Gzip: &archive.GzipInfo{Name: "x.tar", OS: 3}},
			want:    &archive.Archive{Format: archive.FormatTar},
			changed: true,
		},
		{
			name: "plain tar untouched", stabilizer: "gzip-layer",
			in:   &archive.Archive{Format: archive.FormatTar},
			want: &archive.Archive{Format: archive.FormatTar},
		},
		{
			name: "gnu header format forgotten", stabilizer: "tar-header-format",
			in:      &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.TarFormat = "GNU" })}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
			changed: true,
		},
		{
			name: "ustar is already canonical", stabilizer: "tar-header-format",
			in:   &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.TarFormat = "USTAR" })}},
			want: &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
		},
		{
			name: "directories dropped, files kept", stabilizer: "tar-directories",
			in:      &archive.Archive{Entries: []*archive.Entry{dir("package"), file("package/a", nil)}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("package/a", nil)}},
			changed: true,
		},
		{
			name: "entries sorted", stabilizer: "tar-entry-order",
			in:      &archive.Archive{Entries: []*archive.Entry{file("b", nil), file("a/z", nil), file("a", nil)}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil), file("a/z", nil), file("b", nil)}},
			changed: true,
		},
		{
			name: "sorted entries untouched", stabilizer: "tar-entry-order",
			in:   &archive.Archive{Entries: []*archive.Entry{file("a", nil), file("b", nil)}},
			want: &archive.Archive{Entries: []*archive.Entry{file("a", nil), file("b", nil)}},
		},
		{
			name: "mtime set to npm epoch, content kept", stabilizer: "tar-mtime",
			in:      &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.ModTime = t2020 }), file("b", nil)}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil), file("b", nil)}},
			changed: true,
		},
		{
			name: "owner cleared", stabilizer: "tar-owner",
			in:      &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.UID, e.GID, e.Uname, e.Gname = 501, 20, "me", "staff" })}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
			changed: true,
		},
		{
			name: "modes by executable bit", stabilizer: "file-mode",
			in: &archive.Archive{Entries: []*archive.Entry{
				file("rw", func(e *archive.Entry) { e.Mode = 0o664 }),
				file("x", func(e *archive.Entry) { e.Mode = 0o744 }),
				file("ok", nil),
			}},
			want: &archive.Archive{Entries: []*archive.Entry{
				file("rw", nil),
				file("x", func(e *archive.Entry) { e.Mode = 0o755 }),
				file("ok", nil),
			}},
			changed: true,
		},
		{
			name: "canonical modes untouched", stabilizer: "file-mode",
			in:   &archive.Archive{Entries: []*archive.Entry{file("x", func(e *archive.Entry) { e.Mode = 0o755 }), dir("d")}},
			want: &archive.Archive{Entries: []*archive.Entry{file("x", func(e *archive.Entry) { e.Mode = 0o755 }), dir("d")}},
		},
		{
			name: "zip times to DOS epoch", stabilizer: "zip-mtime",
			in:      &archive.Archive{Format: archive.FormatZip, Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.ModTime = t2020 })}},
			want:    &archive.Archive{Format: archive.FormatZip, Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.ModTime = stabilize.DOSEpoch })}},
			changed: true,
		},
		{
			name: "zip extra fields dropped", stabilizer: "zip-extra-fields",
			in:      &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.Extra = []byte{0x55, 0x54, 1, 0, 0} })}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
			changed: true,
		},
		{
			name: "zip attributes to unix", stabilizer: "zip-attributes",
			in: &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) {
				e.ExternalAttrs, e.CreatorVersion, e.Mode = 0x20, 0x0014, 0o666 // MS-DOS archive bit
			})}},
			want: &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) {
				e.ExternalAttrs, e.CreatorVersion = 0o100644<<16, 0x0300
			})}},
			changed: true,
		},
		{
			name: "zip stored", stabilizer: "zip-compression",
			in:      &archive.Archive{Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.Method = 8 })}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
			changed: true,
		},
		{
			name: "zip comments cleared", stabilizer: "zip-comment",
			in:      &archive.Archive{Comment: "built by x", Entries: []*archive.Entry{file("a", func(e *archive.Entry) { e.Comment = "c" })}},
			want:    &archive.Archive{Entries: []*archive.Entry{file("a", nil)}},
			changed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := find(t, all, tc.stabilizer)
			if s.Description == "" {
				t.Error("no description")
			}
			if got := s.Apply(tc.in); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
			if diff := cmp.Diff(tc.want, tc.in); diff != "" {
				t.Errorf("after %s (-want +got):\n%s", s.Name, diff)
			}
		})
	}
}

func TestCustom(t *testing.T) {
	set, err := stabilize.Custom([]definition.CustomStabilizer{
		{Name: "no-map", Kind: "exclude", Path: "dist/**/*.map", Reason: "source maps embed absolute paths"},
		{Name: "build-date", Kind: "replace", Path: "*.js", Pattern: `built at \d+`, Replace: "built at X", Reason: "build date banner"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &archive.Archive{Entries: []*archive.Entry{
		{Name: "package/dist/a/x.js.map", Type: archive.TypeFile},
		{Name: "package/dist/x.js.map", Type: archive.TypeFile},
		{Name: "package/src/x.js.map", Type: archive.TypeFile},
		{Name: "package/x.js", Type: archive.TypeFile, Data: []byte("// built at 1700000000\n")},
		{Name: "package/lib/y.js", Type: archive.TypeFile, Data: []byte("// built at 1\n")},
	}}
	if set[0].Name != "custom:no-map" || set[1].Name != "custom:build-date" {
		t.Errorf("names %q %q", set[0].Name, set[1].Name)
	}
	if !set[0].Apply(a) || !set[1].Apply(a) {
		t.Error("custom stabilizers reported no change")
	}
	var got []string
	for _, e := range a.Entries {
		got = append(got, e.Name+": "+string(e.Data))
	}
	want := []string{
		"package/src/x.js.map: ",
		"package/x.js: // built at X\n",
		"package/lib/y.js: // built at 1\n", // "*.js" does not cross directories
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after custom (-want +got):\n%s", diff)
	}
	if set[1].Apply(a) {
		t.Error("second replace changed something")
	}
	for _, bad := range []definition.CustomStabilizer{
		{Name: "", Kind: "exclude", Path: "x"},
		{Name: "k", Kind: "rename", Path: "x"},
		{Name: "p", Kind: "exclude"},
		{Name: "r", Kind: "replace", Path: "x", Pattern: "("},
		{Name: "r", Kind: "replace", Path: "x"},
	} {
		if _, err := stabilize.Custom([]definition.CustomStabilizer{bad}); err == nil {
			t.Errorf("Custom(%+v) accepted", bad)
		}
	}
}

func TestCompare(t *testing.T) {
	base := []archivetest.File{
		{Name: "package/package.json", Body: `{"name":"p","version":"1.0.0"}`, ModTime: stabilize.NPMEpoch},
		{Name: "package/index.js", Body: "module.exports = 1\n", ModTime: stabilize.NPMEpoch},
		{Name: "package/bin/cli", Body: "#!/usr/bin/env node\n", Mode: 0o755, ModTime: stabilize.NPMEpoch},
	}
	with := func(mod func(fs []archivetest.File) []archivetest.File) []archivetest.File {
		fs := append([]archivetest.File(nil), base...)
		return mod(fs)
	}
	upTar := archivetest.Tar(t, base...)
	tests := []struct {
		name           string
		rebuild        []byte
		wantIdentical  bool
		wantEquivalent bool
		wantApplied    []string
	}{
		{"identical", archivetest.Gzip(t, upTar, gzip.DefaultCompression), true, true, []string{}},
		{"compression level only", archivetest.Gzip(t, upTar, gzip.BestSpeed), false, true, []string{"gzip-layer"}},
		{"order and mtime", archivetest.TarGz(t, with(func(fs []archivetest.File) []archivetest.File {
			fs[0].ModTime = t2020
			return []archivetest.File{fs[2], fs[0], fs[1]}
		})...), false, true, []string{"tar-entry-order", "tar-mtime"}},
		{"directories, owners and modes", archivetest.TarGz(t, with(func(fs []archivetest.File) []archivetest.File {
			fs[1].Mode, fs[1].UID, fs[1].Uname = 0o664, 1000, "builder"
			return append([]archivetest.File{{Name: "package/", Type: archive.TypeDir, ModTime: stabilize.NPMEpoch}}, fs...)
		})...), false, true, []string{"tar-directories", "tar-owner", "file-mode"}},
		{"one byte changed", archivetest.TarGz(t, with(func(fs []archivetest.File) []archivetest.File {
			fs[1].Body = "module.exports = 2\n"
			fs[0].ModTime = t2020
			return fs
		})...), false, false, []string{"tar-mtime"}},
		{"file missing", archivetest.TarGz(t, base[:2]...), false, false, []string{}},
	}
	dir := t.TempDir()
	up := filepath.Join(dir, "up.tgz")
	if err := os.WriteFile(up, archivetest.Gzip(t, upTar, gzip.DefaultCompression), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re := filepath.Join(dir, "re"+string(rune('0'+i))+".tgz")
			if err := os.WriteFile(re, tc.rebuild, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := stabilize.Compare(up, re, stabilize.NPM(), archive.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if c.Identical != tc.wantIdentical || c.Equivalent != tc.wantEquivalent {
				t.Errorf("identical %v equivalent %v, want %v %v", c.Identical, c.Equivalent, tc.wantIdentical, tc.wantEquivalent)
			}
			if diff := cmp.Diff(tc.wantApplied, c.Applied); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
			if c.UpstreamSHA256 == "" || (c.UpstreamSHA256 == c.RebuildSHA256) != tc.wantIdentical {
				t.Errorf("raw digests %s %s", c.UpstreamSHA256, c.RebuildSHA256)
			}
			if !tc.wantIdentical {
				if (c.StabilizedUpstreamSHA256 == c.StabilizedRebuildSHA256) != tc.wantEquivalent || len(c.StabilizedUpstreamSHA256) != 64 {
					t.Errorf("stabilized digests %s %s", c.StabilizedUpstreamSHA256, c.StabilizedRebuildSHA256)
				}
				if c.Upstream == nil || c.Rebuild == nil || c.Upstream.Format != archive.FormatTar {
					t.Errorf("stabilized archives not returned: %+v", c.Upstream)
				}
			}
		})
	}
}

func TestCompareUnsafe(t *testing.T) {
	dir := t.TempDir()
	up, re := filepath.Join(dir, "up.tgz"), filepath.Join(dir, "re.tgz")
	os.WriteFile(up, archivetest.TarGz(t, archivetest.File{Name: "package/a", Body: "a"}), 0o644)
	os.WriteFile(re, archivetest.TraversalTarGz(t), 0o644)
	_, err := stabilize.Compare(up, re, stabilize.NPM(), archive.DefaultLimits)
	var ue *archive.UnsafeError
	if !errorsAs(err, &ue) {
		t.Fatalf("err = %v, want *archive.UnsafeError", err)
	}
}

func TestCompareZipAndRaw(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := []archivetest.File{{Name: "a.py", Body: "print(1)\n", ModTime: t2020}, {Name: "b.py", Body: "x=2\n", ModTime: t2020}}
	up := write("up.whl", archivetest.Zip(t, f...))
	f[0].ModTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	re := write("re.whl", archivetest.Zip(t, f[1], f[0]))
	c, err := stabilize.Compare(up, re, stabilize.Zip(), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equivalent {
		t.Fatalf("zip not equivalent: %+v", c)
	}
	if diff := cmp.Diff([]string{"zip-entry-order", "zip-mtime", "zip-extra-fields"}, c.Applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	c, err = stabilize.Compare(write("a.txt", []byte("one")), write("b.txt", []byte("two")), nil, archive.DefaultLimits)
	if err != nil || c.Equivalent || c.Identical {
		t.Errorf("raw files: %+v, %v", c, err)
	}
}
