package archive

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// WriteTar writes the entries, in order, as an uncompressed tar in a canonical encoding:
// USTAR headers where they can hold the entry, PAX records where they cannot (long names,
// sub-second mtimes, extra PAX records), as archive/tar encodes them. The same entries
// always produce the same bytes, so the output's digest identifies the content.
func (a *Archive) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range a.Entries {
		hdr := &tar.Header{
			Name:       e.Name,
			Mode:       e.Mode,
			ModTime:    e.ModTime,
			Uid:        e.UID,
			Gid:        e.GID,
			Uname:      e.Uname,
			Gname:      e.Gname,
			PAXRecords: e.PAX,
		}
		if e.ModTime.IsZero() {
			hdr.ModTime = time.Unix(0, 0)
		}
		if e.ModTime.Nanosecond() != 0 || len(e.PAX) > 0 {
			hdr.Format = tar.FormatPAX
		}
		var body []byte
		switch e.Type {
		case TypeFile:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
			body = e.Data
		case TypeDir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case TypeSymlink:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.Linkname
		case TypeHardlink:
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = e.Linkname
		default:
			hdr.Typeflag = e.TarTypeflag
			if hdr.Typeflag == tar.TypeXGlobalHeader {
				hdr = &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: e.Name, PAXRecords: e.PAX, Format: tar.FormatPAX}
			} else if hdr.Typeflag == 0 || hdr.Typeflag == tar.TypeReg {
				// A non-tar "other" entry (a zip device or pipe): a FIFO keeps it typed and empty.
				hdr.Typeflag = tar.TypeFifo
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar entry %q: %w", e.Name, err)
		}
		if len(body) > 0 {
			if _, err := tw.Write(body); err != nil {
				return fmt.Errorf("writing tar entry %q: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing tar: %w", err)
	}
	return nil
}

// WriteTarGz writes WriteTar's output gzipped with a fixed header (no name, zero mtime)
// at the default level.
func (a *Archive) WriteTarGz(w io.Writer) error {
	zw := gzip.NewWriter(w)
	if err := a.WriteTar(zw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing gzip: %w", err)
	}
	return nil
}

// WriteZip writes the entries, in order, as a zip with their names, methods, DOS times,
// extra fields, comments, external attributes and creator versions as given (entries without
// zip attributes get them from Mode). Deflated entries are recompressed by compress/flate,
// deterministically for a given Go version. The same entries produce the same bytes.
func (a *Archive) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	if err := zw.SetComment(a.Comment); err != nil {
		return fmt.Errorf("writing zip: %w", err)
	}
	for _, e := range a.Entries {
		fh := &zip.FileHeader{
			Name:           e.Name,
			Comment:        e.Comment,
			Method:         e.Method,
			Extra:          e.Extra,
			ExternalAttrs:  e.ExternalAttrs,
			CreatorVersion: e.CreatorVersion,
		}
		var body []byte
		switch e.Type {
		case TypeDir:
			fh.Name += "/"
		case TypeSymlink:
			body = []byte(e.Linkname)
		default:
			body = e.Data
		}
		if e.ExternalAttrs == 0 && e.CreatorVersion == 0 {
			fh.SetMode(fileMode(e))
			fh.CreatorVersion &^= 0xff // SetMode leaves the spec version to the writer
		}
		// Set the DOS fields, not FileHeader.Modified: Modified would add an extended
		// timestamp field on top of the Extra we keep verbatim.
		//lint:ignore SA1019 see above
		fh.ModifiedDate, fh.ModifiedTime = dosTime(e.ModTime)
		if e.Type == TypeDir {
			fh.Method = zip.Store
		}
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return fmt.Errorf("writing zip entry %q: %w", e.Name, err)
		}
		if _, err := fw.Write(body); err != nil {
			return fmt.Errorf("writing zip entry %q: %w", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing zip: %w", err)
	}
	return nil
}

func fileMode(e *Entry) fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch e.Type {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeOther:
		m |= fs.ModeNamedPipe
	}
	return m
}

// dosTime encodes t's wall clock as MS-DOS date and time (APPNOTE.TXT §4.4.6), clamped to
// the representable range 1980..2107.
func dosTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if t.Year() > 2107 {
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, tm
}
