package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// layout writes a cache like vouch's, each entry of the given size and age.
func layout(t *testing.T, now time.Time, entries map[string]struct {
	size int
	age  time.Duration
}) string {
	t.Helper()
	root := t.TempDir()
	for rel, e := range entries {
		p := filepath.Join(root, filepath.FromSlash(rel))
		file := p
		if strings.HasSuffix(rel, ".git") || strings.Contains(rel, "toolchains/") {
			file = filepath.Join(p, "objects", "pack", "data")
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, make([]byte, e.size), 0o644); err != nil {
			t.Fatal(err)
		}
		when := now.Add(-e.age)
		for q := file; ; q = filepath.Dir(q) {
			if err := os.Chtimes(q, when, when); err != nil {
				t.Fatal(err)
			}
			if q == p {
				break
			}
		}
	}
	return root
}

func TestPrune(t *testing.T) {
	now := time.Now()
	type e = struct {
		size int
		age  time.Duration
	}
	root := layout(t, now, map[string]e{
		"git/github.com/a/old.git":          {4000, 72 * time.Hour},
		"git/github.com/a/old.git.lock":     {0, 72 * time.Hour},
		"git/github.com/b/recent.git":       {4000, 2 * time.Hour},
		"git/github.com/c/inuse.git":        {4000, time.Minute},
		"artifacts/npm/x-1.0.0.tgz":         {1000, 48 * time.Hour},
		"artifacts/npm/x-1.0.0.tgz.diff.js": {500, 30 * time.Hour},
		"toolchains/npm/6.14.18":            {3000, 24 * time.Hour},
		"toolchains/npm/10.9.9":             {3000, 10 * time.Minute},
	})
	// A fetch stamp younger than the mirror dates its use.
	stamp := filepath.Join(root, "git/github.com/b/recent.git.fetched")
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stamp, now.Add(-3*time.Hour), now.Add(-90*time.Minute)); err != nil {
		t.Fatal(err)
	}

	entries, err := Entries(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		rel, _ := filepath.Rel(root, en.Path)
		names = append(names, filepath.ToSlash(rel))
	}
	want := []string{
		"git/github.com/a/old.git", "artifacts/npm/x-1.0.0.tgz", "artifacts/npm/x-1.0.0.tgz.diff.js",
		"toolchains/npm/6.14.18", "git/github.com/b/recent.git", "toolchains/npm/10.9.9", "git/github.com/c/inuse.git",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("entries, least recently used first (-want +got):\n%s", diff)
	}

	// 19500 bytes; a 9000-byte limit evicts the four oldest (8500 bytes) and the mirror
	// used 90 minutes ago; the two used within the hour stay.
	r, err := Prune(root, 9000, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Before != 19500 || r.After != 7000 || len(r.Evicted) != 5 || r.Kept != 0 {
		t.Fatalf("report %+v", r)
	}
	for _, gone := range []string{"git/github.com/a/old.git", "git/github.com/b/recent.git", "git/github.com/b/recent.git.fetched", "toolchains/npm/6.14.18", "artifacts/npm/x-1.0.0.tgz"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", gone, err)
		}
	}
	for _, kept := range []string{"git/github.com/c/inuse.git/objects/pack/data", "toolchains/npm/10.9.9/objects/pack/data", "git/github.com/a/old.git.lock"} {
		if _, err := os.Stat(filepath.Join(root, kept)); err != nil {
			t.Errorf("%s evicted: %v", kept, err)
		}
	}

	// Over the limit with only recent entries left: nothing more goes, and the report says so.
	r, err = Prune(root, 1000, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Evicted) != 0 || r.Kept != 2 || r.After != 7000 {
		t.Errorf("report %+v, want the 2 recent entries kept", r)
	}

	if r, err := Prune(filepath.Join(root, "missing"), 0, 0, now); err != nil || r.Before != 0 {
		t.Errorf("missing cache: %+v, %v", r, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "20GiB": 20 << 30, "500M": 500 << 20, "1.5G": 3 << 29, "2 kb": 2048, "0": 0, "7B": 7,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1G", "lots", "1X", "1e30T"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
}
