package diff

import (
	"fmt"
	"strings"
)

// maxEditDistance bounds the Myers search (memory grows with its square); texts further
// apart are reported without a unified diff.
const maxEditDistance = 2000

type opKind byte

const (
	opEqual  opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

type op struct {
	kind opKind
	line string
}

// splitLines splits s into lines that keep their "\n" (the last may lack it).
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lineDiff returns the edit script from a to b (Myers, "An O(ND) Difference Algorithm and
// Its Variations", 1986), or ok=false when the edit distance exceeds maxD.
func lineDiff(a, b []string, maxD int) (ops []op, ok bool) {
	// Common prefix and suffix cost nothing and shrink the search.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for _, l := range a[:pre] {
		ops = append(ops, op{opEqual, l})
	}
	mid, ok := myers(a[pre:len(a)-suf], b[pre:len(b)-suf], maxD)
	if !ok {
		return nil, false
	}
	ops = append(ops, mid...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, op{opEqual, l})
	}
	return ops, true
}

func myers(a, b []string, maxD int) ([]op, bool) {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil, true
	}
	dmax := min(n+m, maxD)
	off := dmax + 1
	v := make([]int, 2*dmax+3)
	var trace [][]int // trace[d] = v[-d..d] at the start of round d
	final := -1
	for d := 0; d <= dmax && final < 0; d++ {
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				final = d
				break
			}
		}
	}
	if final < 0 {
		return nil, false
	}
	var rev []op
	x, y := n, m
	for d := final; d > 0; d-- {
		prev := trace[d]
		at := func(k int) int { return prev[k+d] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			rev = append(rev, op{opEqual, a[x-1]})
			x, y = x-1, y-1
		}
		if x == px {
			rev = append(rev, op{opInsert, b[y-1]})
			y--
		} else {
			rev = append(rev, op{opDelete, a[x-1]})
			x--
		}
	}
	for x > 0 && y > 0 {
		rev = append(rev, op{opEqual, a[x-1]})
		x, y = x-1, y-1
	}
	ops := make([]op, len(rev))
	for i, o := range rev {
		ops[len(rev)-1-i] = o
	}
	return ops, true
}

// unified renders ops as a unified diff with ctx lines of context, or "" if nothing changed.
func unified(aName, bName string, ops []op, ctx int) string {
	var changes []int
	for i, o := range ops {
		if o.kind != opEqual {
			changes = append(changes, i)
		}
	}
	if len(changes) == 0 {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", aName, bName)
	// Line numbers (0-based) in a and b before each op.
	aLine := make([]int, len(ops)+1)
	bLine := make([]int, len(ops)+1)
	for i, o := range ops {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if o.kind != opInsert {
			aLine[i+1]++
		}
		if o.kind != opDelete {
			bLine[i+1]++
		}
	}
	for i := 0; i < len(changes); {
		start := max(changes[i]-ctx, 0)
		j := i
		for j+1 < len(changes) && changes[j+1]-changes[j] <= 2*ctx {
			j++
		}
		end := min(changes[j]+ctx+1, len(ops))
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n",
			hunkRange(aLine[start], aLine[end]-aLine[start]), hunkRange(bLine[start], bLine[end]-bLine[start]))
		for _, o := range ops[start:end] {
			sb.WriteByte(byte(o.kind))
			sb.WriteString(o.line)
			if !strings.HasSuffix(o.line, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = j + 1
	}
	return sb.String()
}

// hunkRange formats a hunk range as GNU diff does: "start" for one line, "start,len"
// otherwise, with start the line before the hunk when it is empty.
func hunkRange(start0, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start0)
	case 1:
		return fmt.Sprintf("%d", start0+1)
	}
	return fmt.Sprintf("%d,%d", start0+1, n)
}
