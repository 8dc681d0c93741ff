// Package cache bounds the size of vouch's caches ($VOUCH_HOME/cache): bare git mirrors,
// downloaded artifacts with their build logs and diffs, and toolchains. Prune evicts the
// least recently used entries until the cache fits a limit; entries used recently are never
// evicted, so runs in progress keep what they use.
package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultMax is the cache limit when VOUCH_CACHE_MAX is unset.
const DefaultMax int64 = 20 << 30

// DefaultMinAge protects entries used this recently. It is longer than a git mirror's
// freshness window (VOUCH_GIT_MAX_AGE, 10 minutes by default), within which a mirror is
// read without being fetched (and so without its stamp being touched).
const DefaultMinAge = time.Hour

// Entry is one evictable unit: a git mirror (with its stamp), a toolchain version, or a file.
type Entry struct {
	Path string    `json:"path"`
	Size int64     `json:"size"`
	Used time.Time `json:"used"`
}

// Report says what Prune found and did.
type Report struct {
	Before  int64   `json:"before_bytes"`
	After   int64   `json:"after_bytes"`
	Max     int64   `json:"max_bytes"`
	Evicted []Entry `json:"evicted"`
	// Kept counts entries over the limit that were too recently used to evict.
	Kept int `json:"kept_recent"`
}

// Entries lists the evictable units under root (the cache directory), least recently used
// first. Git mirrors are directories named *.git; their ".fetched" stamp (touched on every
// fetch) dates their use, and their ".lock" files are kept. Directories directly under
// toolchains/<tool>/ are one unit each. Every other file is a unit of its own.
func Entries(root string) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			parts := strings.Split(filepath.ToSlash(rel), "/")
			mirror := strings.HasSuffix(d.Name(), ".git") && !strings.HasPrefix(d.Name(), ".")
			toolchain := len(parts) == 3 && parts[0] == "toolchains" && !strings.HasPrefix(d.Name(), ".")
			if !mirror && !toolchain {
				return nil
			}
			e, err := dirEntry(p)
			if err != nil {
				return err
			}
			if mirror {
				if fi, err := os.Stat(p + ".fetched"); err == nil {
					e.Size += fi.Size()
					if fi.ModTime().After(e.Used) {
						e.Used = fi.ModTime()
					}
				}
			}
			out = append(out, e)
			return fs.SkipDir
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".lock") ||
			strings.HasSuffix(p, ".git.fetched") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, Entry{Path: p, Size: fi.Size(), Used: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the cache in %s: %w", root, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Used.Before(out[j].Used) })
	return out, nil
}

// dirEntry sizes a directory tree; its use time is its own mtime, or that of its newest
// top-level entry (a fetch adds packs and updates FETCH_HEAD).
func dirEntry(dir string) (Entry, error) {
	e := Entry{Path: dir}
	if fi, err := os.Stat(dir); err == nil {
		e.Used = fi.ModTime()
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, en := range ents {
			if fi, err := en.Info(); err == nil && fi.ModTime().After(e.Used) {
				e.Used = fi.ModTime()
			}
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				e.Size += fi.Size()
			}
		}
		return nil
	})
	return e, err
}

// Prune evicts least recently used entries under root until the total is at most max.
// Entries used within minAge of now are never evicted (they may belong to a run in
// progress); when only such entries remain, the cache stays over the limit and Report.Kept
// says how many were spared. A missing root is an empty cache.
func Prune(root string, max int64, minAge time.Duration, now time.Time) (*Report, error) {
	entries, err := Entries(root)
	if err != nil {
		return nil, err
	}
	r := &Report{Max: max, Evicted: []Entry{}}
	for _, e := range entries {
		r.Before += e.Size
	}
	total := r.Before
	for _, e := range entries {
		if total <= max {
			break
		}
		if now.Sub(e.Used) < minAge {
			r.Kept++
			continue
		}
		if err := os.RemoveAll(e.Path); err != nil {
			return r, fmt.Errorf("evicting %s: %w", e.Path, err)
		}
		if strings.HasSuffix(e.Path, ".git") {
			_ = os.Remove(e.Path + ".fetched")
		}
		total -= e.Size
		r.Evicted = append(r.Evicted, e)
	}
	r.After = total
	return r, nil
}

// Touch marks path as used now (for entries read without being rewritten).
func Touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// ParseSize reads a size such as 20GiB, 500M, 1.5G or 1048576 (bytes). K, M, G, T and their
// KiB/KB forms are all powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	upper := strings.ToUpper(t)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			upper, mult = strings.TrimSpace(strings.TrimSuffix(upper, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(upper, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 20GiB, 500M or a number of bytes)", s)
	}
	return int64(f * float64(mult)), nil
}
