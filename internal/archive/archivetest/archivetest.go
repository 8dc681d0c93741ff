// Package archivetest builds archives for tests across vouch: well-formed tar, tar.gz and
// zip files, and hostile ones (path traversal, absolute paths, escaping symlinks, gzip
// bombs). It writes headers directly, without the checks of package archive.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
)

// Epoch is the ModTime given to files that do not set one.
var Epoch = time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)

// File describes one entry. Zero fields get defaults: Type file, Mode 0644 (0755 for
// directories), ModTime Epoch.
type File struct {
	Name     string
	Body     string
	Mode     int64
	ModTime  time.Time
	Type     archive.EntryType
	Linkname string
	UID, GID int
	Uname    string
	Gname    string
}

func (f File) defaults() File {
	if f.Type == "" {
		f.Type = archive.TypeFile
	}
	if f.Mode == 0 {
		f.Mode = 0o644
		if f.Type == archive.TypeDir {
			f.Mode = 0o755
		}
	}
	if f.ModTime.IsZero() {
		f.ModTime = Epoch
	}
	return f
}

// Tar returns an uncompressed tar of files, in order. Names are written verbatim.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		f = f.defaults()
		hdr := &tar.Header{
			Name: f.Name, Mode: f.Mode, ModTime: f.ModTime, Linkname: f.Linkname,
			Uid: f.UID, Gid: f.GID, Uname: f.Uname, Gname: f.Gname,
		}
		switch f.Type {
		case archive.TypeFile:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.Body))
		case archive.TypeDir:
			hdr.Typeflag = tar.TypeDir
		case archive.TypeSymlink:
			hdr.Typeflag = tar.TypeSymlink
		case archive.TypeHardlink:
			hdr.Typeflag = tar.TypeLink
		default:
			hdr.Typeflag = tar.TypeFifo
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("archivetest: tar header %q: %v", f.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatalf("archivetest: tar body %q: %v", f.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("archivetest: closing tar: %v", err)
	}
	return buf.Bytes()
}

// Gzip compresses data at level with a zero header (no name, zero mtime).
func Gzip(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatalf("archivetest: gzip: %v", err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatalf("archivetest: gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("archivetest: gzip: %v", err)
	}
	return buf.Bytes()
}

// TarGz returns a gzipped tar of files (default level, zero gzip header).
func TarGz(t testing.TB, files ...File) []byte {
	t.Helper()
	return Gzip(t, Tar(t, files...), gzip.DefaultCompression)
}

// Zip returns a zip of files, in order, deflated, with modification times and Unix modes.
func Zip(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		f = f.defaults()
		fh := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.ModTime}
		mode := fs.FileMode(f.Mode & 0o777)
		body := f.Body
		switch f.Type {
		case archive.TypeDir:
			mode |= fs.ModeDir
			fh.Method = zip.Store
			if len(fh.Name) > 0 && fh.Name[len(fh.Name)-1] != '/' {
				fh.Name += "/"
			}
		case archive.TypeSymlink:
			mode |= fs.ModeSymlink
			body = f.Linkname
		}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatalf("archivetest: zip header %q: %v", f.Name, err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatalf("archivetest: zip body %q: %v", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("archivetest: closing zip: %v", err)
	}
	return buf.Bytes()
}

// TraversalTarGz holds an entry named "package/../../evil" next to a harmless file.
func TraversalTarGz(t testing.TB) []byte {
	t.Helper()
	return TarGz(t, File{Name: "package/ok.txt", Body: "ok"}, File{Name: "package/../../evil", Body: "x"})
}

// AbsoluteTarGz holds an entry with the absolute name "/tmp/evil".
func AbsoluteTarGz(t testing.TB) []byte {
	t.Helper()
	return TarGz(t, File{Name: "/tmp/evil", Body: "x"})
}

// EscapingSymlinkTarGz holds a symlink "package/link" -> "../../etc" and a file written
// through it, "package/link/passwd".
func EscapingSymlinkTarGz(t testing.TB) []byte {
	t.Helper()
	return TarGz(t,
		File{Name: "package/link", Type: archive.TypeSymlink, Linkname: "../../etc"},
		File{Name: "package/link/passwd", Body: "x"},
	)
}

// TraversalZip holds an entry named "../evil".
func TraversalZip(t testing.TB) []byte {
	t.Helper()
	return Zip(t, File{Name: "../evil", Body: "x"})
}

// GzipBomb returns a tar.gz with one file of size zero bytes; it compresses about 1000:1.
// The tar header states the true size, so readers must count while decompressing.
func GzipBomb(t testing.TB, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatalf("archivetest: gzip: %v", err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: Epoch}); err != nil {
		t.Fatalf("archivetest: bomb: %v", err)
	}
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(zeros)))
		if _, err := tw.Write(zeros[:n]); err != nil {
			t.Fatalf("archivetest: bomb: %v", err)
		}
		left -= n
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("archivetest: bomb: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("archivetest: bomb: %v", err)
	}
	return buf.Bytes()
}
