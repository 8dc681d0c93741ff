package batch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/vouch-dev/vouch/internal/atomicfile"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Rebuilder runs one rebuild and records it (rebuild.Pipeline). It returns a complete Result
// for every verdict; an error means no verdict (bad input, an unwritable store, interruption).
type Rebuilder interface {
	Rebuild(ctx context.Context, t target.Target, def *definition.BuildDefinition) (*verdict.Result, error)
}

// RunLister lists stored run records, newest first (store.Store).
type RunLister interface {
	Runs(purl string, limit int) ([]*verdict.Result, error)
}

// Runner rebuilds items with at most Jobs at a time.
type Runner struct {
	Rebuilder Rebuilder
	// Jobs is the number of concurrent rebuilds (at least 1).
	Jobs int
	// Progress, if set, is called after each finished item, never concurrently.
	Progress func(Progress)
}

// Progress is the state of a running batch after one more item finished.
type Progress struct {
	Item Item
	// Result is the item's result; nil when Err is set.
	Result *verdict.Result
	Err    error
	// Elapsed is the item's wall-clock time.
	Elapsed time.Duration
	// Done counts finished items, resumed ones included; Total is all items.
	Done, Total int
	// Counts are verdicts so far ("error" counts items without a verdict).
	Counts map[string]int
	// ETA estimates the remaining time from this run's pace (0 until known).
	ETA time.Duration
}

// ItemError is an item that ended without a verdict.
type ItemError struct {
	PURL string `json:"purl"`
	Err  string `json:"error"`
}

// Outcome is what a Run produced.
type Outcome struct {
	// Results are the verdicts in item order, resumed ones included.
	Results []*verdict.Result
	// Resumed counts items skipped because a previous run of the batch finished them.
	Resumed int
	// Errors are items without a verdict.
	Errors []ItemError
	// Wall is this run's wall-clock time.
	Wall time.Duration
}

// ErrorVerdict is the Counts key of items without a verdict.
const ErrorVerdict = "error"

// Run rebuilds every item not already in finished (PURL → result of an earlier run of the
// same batch). On cancellation it stops starting items, waits for the running ones (which
// the Rebuilder abandons without recording) and returns the outcome so far with ctx's error:
// nothing finished is lost, and Finished finds it again.
func (r *Runner) Run(ctx context.Context, items []Item, finished map[string]*verdict.Result) (*Outcome, error) {
	start := time.Now()
	jobs := max(r.Jobs, 1)
	out := &Outcome{}
	results := make([]*verdict.Result, len(items))
	counts := map[string]int{}
	var todo []int
	for i, it := range items {
		if res, ok := finished[it.PURL()]; ok {
			results[i] = res
			counts[string(res.Verdict)]++
			out.Resumed++
			continue
		}
		todo = append(todo, i)
	}

	var mu sync.Mutex
	done, newDone := out.Resumed, 0
	report := func(i int, res *verdict.Result, err error, elapsed time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return // interrupted, not finished
			}
			out.Errors = append(out.Errors, ItemError{PURL: items[i].PURL(), Err: err.Error()})
			counts[ErrorVerdict]++
		} else {
			results[i] = res
			counts[string(res.Verdict)]++
		}
		done++
		newDone++
		p := Progress{Item: items[i], Result: res, Err: err, Elapsed: elapsed, Done: done, Total: len(items), Counts: copyCounts(counts)}
		if left := len(todo) - newDone; left > 0 {
			p.ETA = time.Duration(float64(time.Since(start)) / float64(newDone) * float64(left))
		}
		if r.Progress != nil {
			r.Progress(p)
		}
	}

	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, max(len(todo), 1)) {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				res, err := r.Rebuilder.Rebuild(ctx, items[i].Target, nil)
				if err == nil && res == nil {
					err = errors.New("rebuild returned no result")
				}
				report(i, res, err, time.Since(t0))
			}
		})
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, res := range results {
		if res != nil {
			out.Results = append(out.Results, res)
		}
	}
	sort.SliceStable(out.Errors, func(a, b int) bool { return out.Errors[a].PURL < out.Errors[b].PURL })
	out.Wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("batch interrupted: %w", err)
	}
	return out, nil
}

func copyCounts(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Finished returns the newest recorded result of each item that a run of batch id finished.
func Finished(l RunLister, id string, items []Item) (map[string]*verdict.Result, error) {
	want := make(map[string]bool, len(items))
	for _, it := range items {
		want[it.PURL()] = true
	}
	runs, err := l.Runs("", 0)
	if err != nil {
		return nil, fmt.Errorf("reading the batch's run records: %w", err)
	}
	out := map[string]*verdict.Result{}
	for _, r := range runs { // newest first
		if r.Batch != id || !want[r.PURL] {
			continue
		}
		if _, ok := out[r.PURL]; !ok {
			out[r.PURL] = r
		}
	}
	return out, nil
}

// Meta describes one batch run; it is kept in DIR/<id>/batch.json.
type Meta struct {
	ID string `json:"id"`
	// Set is the package set file as given; SetSHA256 its content digest (how --resume finds
	// the batch of a set).
	Set       string   `json:"set"`
	SetSHA256 string   `json:"set_sha256"`
	Filters   []string `json:"filters,omitempty"`
	Created   string   `json:"created"`
	// WallMS is the wall-clock time of all runs of the batch so far (resumed ones added).
	WallMS int64 `json:"wall_ms,omitempty"`
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidID reports whether id can name a batch (and its directory).
func ValidID(id string) bool { return idRE.MatchString(id) }

// NewMeta creates and saves the metadata of a new batch under dir.
func NewMeta(dir, set, setSHA256 string, filters []string, now time.Time) (*Meta, error) {
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	m := &Meta{
		ID:      now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]),
		Set:     set,
		Filters: filters, SetSHA256: setSHA256, Created: now.UTC().Format(time.RFC3339),
	}
	return m, m.Save(dir)
}

// Save writes the metadata to dir/<id>/batch.json.
func (m *Meta) Save(dir string) error {
	if !ValidID(m.ID) {
		return fmt.Errorf("saving batch: invalid id %q", m.ID)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, m.ID, "batch.json"), b)
}

// Dir is the directory of the batch's files under dir.
func (m *Meta) Dir(dir string) string { return filepath.Join(dir, m.ID) }

// LoadMeta reads the metadata of batch id.
func LoadMeta(dir, id string) (*Meta, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%q is not a batch id", id)
	}
	b, err := os.ReadFile(filepath.Join(dir, id, "batch.json"))
	if err != nil {
		return nil, fmt.Errorf("reading batch %s: %w", id, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading batch %s: %w", id, err)
	}
	return &m, nil
}

// Latest returns the most recently created batch of the set with this digest, or nil.
func Latest(dir, setSHA256 string) (*Meta, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing batches: %w", err)
	}
	var best *Meta
	for _, e := range ents {
		if !e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		m, err := LoadMeta(dir, e.Name())
		if err != nil || m.SetSHA256 != setSHA256 {
			continue
		}
		if best == nil || m.Created > best.Created || m.Created == best.Created && m.ID > best.ID {
			best = m
		}
	}
	return best, nil
}

func writeFile(dst string, b []byte) error { return atomicfile.Write(dst, b) }
