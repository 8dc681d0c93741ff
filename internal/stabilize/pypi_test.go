package stabilize_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/stabilize"
)

func TestCanonicalMetadata(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"sorted, repeated fields keep their order",
			"Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: b\nClassifier: Z\nRequires-Dist: a\nClassifier: A\n\nbody\n",
			"Classifier: Z\nClassifier: A\nMetadata-Version: 2.1\nName: x\nRequires-Dist: b\nRequires-Dist: a\nVersion: 1\n\nbody\n"},
		{"CRLF and continuation lines",
			"Name: x\r\nDescription: line1\r\n        |line2\r\nAuthor: me\r\n",
			"Author: me\nDescription: line1\n        |line2\nName: x\n"},
		{"no body", "Version: 1\nName: x\n", "Name: x\nVersion: 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(stabilize.CanonicalMetadata([]byte(tc.in)))); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// wheel builds a wheel with the given module body, RECORD row order and metadata order.
func wheel(t *testing.T, module string, reversed bool, when time.Time) []byte {
	meta := "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
	if reversed {
		meta = "Version: 1.0\nName: demo\nMetadata-Version: 2.1\n"
	}
	files := []archivetest.File{
		{Name: "demo/__init__.py", Body: module, ModTime: when},
		{Name: "demo-1.0.dist-info/METADATA", Body: meta, ModTime: when},
		{Name: "demo-1.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\nGenerator: test\n", ModTime: when},
	}
	a := &archive.Archive{Format: archive.FormatZip}
	for _, f := range files {
		a.Entries = append(a.Entries, &archive.Entry{Name: f.Name, Type: archive.TypeFile, Mode: 0o644, Data: []byte(f.Body)})
	}
	// A RECORD as a build backend writes it (rows in file order, CRLF from Python's csv).
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(string(renderRecord(a))), "\n") {
		rows = append(rows, line)
	}
	if reversed {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	files = append(files, archivetest.File{Name: "demo-1.0.dist-info/RECORD", Body: strings.Join(rows, "\r\n") + "\r\n", ModTime: when})
	if reversed {
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
	}
	return archivetest.Zip(t, files...)
}

// renderRecord is WheelRecord's output for a.
func renderRecord(a *archive.Archive) []byte {
	a.Entries = append(a.Entries, &archive.Entry{Name: "demo-1.0.dist-info/RECORD", Type: archive.TypeFile})
	stabilize.WheelRecord().Apply(a)
	rec := a.Entries[len(a.Entries)-1].Data
	a.Entries = a.Entries[:len(a.Entries)-1]
	return rec
}

func TestPyPIWheel(t *testing.T) {
	t1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	up := wheel(t, "x = 1\n", false, t1)
	c, err := stabilize.CompareBytes(up, wheel(t, "x = 1\n", true, t2), stabilize.PyPI("demo-1.0-py3-none-any.whl"), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equivalent || c.Identical {
		t.Fatalf("equivalent=%v identical=%v", c.Equivalent, c.Identical)
	}
	want := []string{"zip-entry-order", "zip-mtime", "zip-extra-fields", "zip-compression", "core-metadata-order", "wheel-record"}
	if diff := cmp.Diff(want, c.Applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	// A changed module is not hidden by the regenerated RECORD.
	c, err = stabilize.CompareBytes(up, wheel(t, "x = 2\n", false, t1), stabilize.PyPI("demo-1.0-py3-none-any.whl"), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if c.Equivalent {
		t.Error("a different module compared equivalent")
	}
}

func TestPyPISdist(t *testing.T) {
	mk := func(order []int, sources string, level int, mtime time.Time) []byte {
		files := []archivetest.File{
			{Name: "demo-1.0/PKG-INFO", Body: "Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0\r\n", ModTime: mtime},
			{Name: "demo-1.0/demo.egg-info/SOURCES.txt", Body: sources, ModTime: mtime},
			{Name: "demo-1.0/demo/__init__.py", Body: "", ModTime: mtime, UID: 1000, Uname: "dev"},
		}
		var out []archivetest.File
		for _, i := range order {
			out = append(out, files[i])
		}
		return archivetest.Gzip(t, archivetest.Tar(t, out...), level)
	}
	a := mk([]int{0, 1, 2}, "b.py\na.py\n", 9, time.Unix(1e9, 0))
	b := mk([]int{2, 1, 0}, "a.py\nb.py\n", 1, time.Unix(2e9, 0))
	c, err := stabilize.CompareBytes(a, b, stabilize.PyPI("demo-1.0.tar.gz"), archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equivalent {
		t.Fatal("sdists differing only in order, times, owners and gzip level are not equivalent")
	}
	want := []string{"tar-entry-order", "tar-mtime", "egg-info-sources-order"}
	if diff := cmp.Diff(want, c.Applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}

func FuzzCanonicalMetadata(f *testing.F) {
	f.Add("Name: a\r\nVersion: 1\r\n\r\nbody")
	f.Add(" leading continuation\nName: x\n")
	f.Fuzz(func(t *testing.T, s string) {
		once := stabilize.CanonicalMetadata([]byte(s))
		if twice := stabilize.CanonicalMetadata(once); string(twice) != string(once) {
			t.Errorf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
	})
}
