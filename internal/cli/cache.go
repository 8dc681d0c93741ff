package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vouch-dev/vouch/internal/cache"
)

// runCache is `vouch cache prune`: evict least recently used cache entries down to a limit.
func runCache(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	maxFlag := fs.String("max", "", "size limit (default $VOUCH_CACHE_MAX, else 20GiB), e.g. 5GiB")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "prune" {
		return &UsageError{Msg: "usage: vouch cache prune [--max SIZE] [--json]"}
	}
	max, _, err := cacheLimit(a, *maxFlag)
	if err != nil {
		return err
	}
	home, err := a.Home()
	if err != nil {
		return err
	}
	r, err := cache.Prune(filepath.Join(home, "cache"), max, cache.DefaultMinAge, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(a.Stdout, "cache: %s before, %s after (limit %s); evicted %d entries", human(r.Before), human(r.After), human(r.Max), len(r.Evicted))
	if r.Kept > 0 {
		fmt.Fprintf(a.Stdout, "; %d entries used within the last %s are over the limit but kept", r.Kept, cache.DefaultMinAge)
	}
	fmt.Fprintln(a.Stdout)
	for _, e := range r.Evicted {
		fmt.Fprintf(a.Stdout, "  - %s (%s, last used %s)\n", e.Path, human(e.Size), e.Used.UTC().Format(time.RFC3339))
	}
	return nil
}

// cacheLimit is the limit from the flag, else VOUCH_CACHE_MAX, else cache.DefaultMax; auto
// reports whether rebuilds and batches prune by themselves (VOUCH_CACHE_MAX=off turns that
// off, and leaves `vouch cache prune` the default limit).
func cacheLimit(a *App, flagValue string) (max int64, auto bool, err error) {
	v, from := flagValue, "--max"
	if v == "" {
		v, from = a.Getenv("VOUCH_CACHE_MAX"), "VOUCH_CACHE_MAX"
	}
	auto = a.Getenv("VOUCH_CACHE_MAX") != "off"
	if v == "" || v == "off" && from == "VOUCH_CACHE_MAX" {
		return cache.DefaultMax, auto, nil
	}
	n, err := cache.ParseSize(v)
	if err != nil {
		return 0, auto, &UsageError{Msg: from + ": " + err.Error()}
	}
	return n, auto, nil
}

// checkCacheMax rejects an invalid VOUCH_CACHE_MAX before any work is done.
func checkCacheMax(a *App) error {
	_, _, err := cacheLimit(a, "")
	return err
}

// autoPrune keeps the cache within its limit after rebuilds. Failures are reported, never
// fatal: the cache is only a cache.
func autoPrune(a *App, home string) {
	max, auto, err := cacheLimit(a, "")
	if err != nil || !auto {
		return // an invalid limit was refused before the run
	}
	r, err := cache.Prune(filepath.Join(home, "cache"), max, cache.DefaultMinAge, time.Now())
	if err != nil {
		fmt.Fprintf(a.Stderr, "vouch: pruning the cache: %v\n", err)
		return
	}
	if len(r.Evicted) > 0 {
		fmt.Fprintf(a.Stderr, "vouch: cache over %s: evicted %d least recently used entries (%s freed)\n", human(max), len(r.Evicted), human(r.Before-r.After))
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
