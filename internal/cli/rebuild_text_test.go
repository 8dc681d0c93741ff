package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// A finding a build repeats (every retry of a denied host) is printed once, with its count.
func TestPrintResultFindingsOnce(t *testing.T) {
	var b bytes.Buffer
	printResult(&b, &verdict.Result{PURL: "pkg:npm/x@1.0.0", Verdict: verdict.Equivalent, Findings: []string{
		"hidden remote dependency: github.com", "hidden remote dependency: codeload.github.com", "hidden remote dependency: github.com",
	}})
	out := b.String()
	if strings.Count(out, "finding:") != 2 || !strings.Contains(out, "finding:      hidden remote dependency: github.com (2 times)\n") ||
		!strings.Contains(out, "finding:      hidden remote dependency: codeload.github.com\n") {
		t.Errorf("findings printed as:\n%s", out)
	}
}
