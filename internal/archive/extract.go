package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// ExtractTo writes a's entries under dir (created if missing), applying the same path
// checks as Read. All file system access goes through an os.Root, so no entry can write
// outside dir, even through a symlink created by an earlier entry. Files get their
// permission bits (plus owner read/write); TypeOther entries are skipped.
func ExtractTo(a *Archive, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extracting: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extracting: %w", err)
	}
	defer root.Close()
	for _, e := range a.Entries {
		if err := extractEntry(root, e); err != nil {
			return err
		}
	}
	return nil
}

func extractEntry(root *os.Root, e *Entry) error {
	name, err := CleanName(e.Name, 0)
	if err != nil {
		return err
	}
	if name == "." {
		if e.Type == TypeDir {
			return nil
		}
		return &UnsafeError{Entry: e.Name, Reason: "empty name"}
	}
	if parent := path.Dir(name); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
	}
	switch e.Type {
	case TypeDir:
		if err := root.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
	case TypeFile:
		perm := fs.FileMode(e.Mode&0o777) | 0o600
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
		_, werr := f.Write(e.Data)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
		if !e.ModTime.IsZero() {
			if err := root.Chtimes(name, e.ModTime, e.ModTime); err != nil {
				return fmt.Errorf("extracting %q: %w", e.Name, err)
			}
		}
	case TypeSymlink:
		if err := CheckSymlink(name, e.Linkname, 0); err != nil {
			return err
		}
		if err := root.Symlink(e.Linkname, name); err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
	case TypeHardlink:
		target, err := CleanName(e.Linkname, 0)
		if err != nil || target == "." {
			return &UnsafeError{Entry: e.Name, Reason: fmt.Sprintf("hardlink target %q escapes the archive", e.Linkname)}
		}
		if err := root.Link(target, name); err != nil {
			return fmt.Errorf("extracting %q: %w", e.Name, err)
		}
	}
	return nil
}
