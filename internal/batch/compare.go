package batch

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// Comparison is what changed between two batch reports.
type Comparison struct {
	Old string `json:"old"`
	New string `json:"new"`
	// Regressions reproduced in Old and not in New; Fixes the reverse.
	Regressions []Change `json:"regressions"`
	Fixes       []Change `json:"fixes"`
	// Changed are targets that failed in both, with another verdict or reason.
	Changed []Change `json:"changed"`
	// Unchanged counts targets with the same verdict and reason in both.
	Unchanged int `json:"unchanged"`
	// OnlyOld and OnlyNew are targets present in one report only.
	OnlyOld []string `json:"only_old"`
	OnlyNew []string `json:"only_new"`
	// OldSuccessRate and NewSuccessRate are over the targets present in both reports.
	OldSuccessRate float64 `json:"old_success_rate"`
	NewSuccessRate float64 `json:"new_success_rate"`
}

// Change is one target's outcome in both reports.
type Change struct {
	PURL       string `json:"purl"`
	OldVerdict string `json:"old_verdict"`
	OldReason  string `json:"old_reason,omitempty"`
	NewVerdict string `json:"new_verdict"`
	NewReason  string `json:"new_reason,omitempty"`
	NewMessage string `json:"new_message,omitempty"`
}

// Compare finds regressions and fixes from old to new. Identical and equivalent both count
// as reproduced; a move between them is not a change.
func Compare(old, new *Report) *Comparison {
	c := &Comparison{Old: old.Batch, New: new.Batch, Regressions: []Change{}, Fixes: []Change{}, Changed: []Change{},
		OnlyOld: []string{}, OnlyNew: []string{}}
	oldBy := map[string]TargetResult{}
	for _, t := range old.Targets {
		oldBy[t.PURL] = t
	}
	inNew := map[string]bool{}
	var both, oldOK, newOK int
	for _, n := range new.Targets {
		inNew[n.PURL] = true
		o, ok := oldBy[n.PURL]
		if !ok {
			c.OnlyNew = append(c.OnlyNew, n.PURL)
			continue
		}
		both++
		os, ns := verdict.Verdict(o.Verdict).Success(), verdict.Verdict(n.Verdict).Success()
		if os {
			oldOK++
		}
		if ns {
			newOK++
		}
		ch := Change{PURL: n.PURL, OldVerdict: o.Verdict, OldReason: o.Reason, NewVerdict: n.Verdict, NewReason: n.Reason, NewMessage: n.Message}
		switch {
		case os && !ns:
			c.Regressions = append(c.Regressions, ch)
		case !os && ns:
			c.Fixes = append(c.Fixes, ch)
		case !os && !ns && (o.Verdict != n.Verdict || o.Reason != n.Reason):
			c.Changed = append(c.Changed, ch)
		default:
			c.Unchanged++
		}
	}
	for _, o := range old.Targets {
		if !inNew[o.PURL] {
			c.OnlyOld = append(c.OnlyOld, o.PURL)
		}
	}
	if both > 0 {
		c.OldSuccessRate = float64(oldOK) / float64(both)
		c.NewSuccessRate = float64(newOK) / float64(both)
	}
	for _, l := range [][]Change{c.Regressions, c.Fixes, c.Changed} {
		sort.Slice(l, func(i, j int) bool { return l[i].PURL < l[j].PURL })
	}
	sort.Strings(c.OnlyOld)
	sort.Strings(c.OnlyNew)
	return c
}

// WriteMarkdown renders the comparison.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vouch batch comparison: %s → %s\n\n", c.Old, c.New)
	fmt.Fprintf(&b, "Success rate on common targets: %.1f%% → %.1f%%. %d regressions, %d fixes, %d changed failures, %d unchanged",
		100*c.OldSuccessRate, 100*c.NewSuccessRate, len(c.Regressions), len(c.Fixes), len(c.Changed), c.Unchanged)
	if len(c.OnlyOld)+len(c.OnlyNew) > 0 {
		fmt.Fprintf(&b, "; %d only in the old report, %d only in the new", len(c.OnlyOld), len(c.OnlyNew))
	}
	b.WriteString(".\n")
	section := func(title string, l []Change) {
		if len(l) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n| target | old | new | why |\n|---|---|---|---|\n", title)
		for _, ch := range l {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", ch.PURL, vr(ch.OldVerdict, ch.OldReason), vr(ch.NewVerdict, ch.NewReason), mdEscape(firstLine(ch.NewMessage, 120)))
		}
	}
	section("Regressions", c.Regressions)
	section("Fixes", c.Fixes)
	section("Changed failures", c.Changed)
	list := func(title string, l []string) {
		if len(l) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		for _, p := range l {
			fmt.Fprintf(&b, "- `%s`\n", p)
		}
	}
	list("Only in the old report", c.OnlyOld)
	list("Only in the new report", c.OnlyNew)
	_, err := io.WriteString(w, b.String())
	return err
}

func vr(v, r string) string {
	if r == "" {
		return v
	}
	return v + " (" + r + ")"
}
