package batch

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// verdictColors follow the usual traffic-light reading: greens reproduced, red mismatch,
// oranges and greys for the failures that say nothing about the artifact.
var verdictColors = map[string]string{
	"identical":      "#1a9850",
	"equivalent":     "#91cf60",
	"mismatch":       "#d73027",
	"build_failed":   "#fc8d59",
	"no_source":      "#fee08b",
	"upstream_error": "#999999",
}

// timeBuckets are the upper bounds of the time histogram's bars; the last bar is open.
var timeBuckets = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute}

func bucketLabel(i int) string {
	short := func(d time.Duration) string {
		if d < time.Minute {
			return fmt.Sprintf("%ds", int(d.Seconds()))
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	switch {
	case i == 0:
		return "<" + short(timeBuckets[0])
	case i == len(timeBuckets):
		return "≥" + short(timeBuckets[i-1])
	default:
		return short(timeBuckets[i-1]) + "–" + short(timeBuckets[i])
	}
}

// WriteSVG draws two charts: a stacked bar of verdicts per (ecosystem, strategy) group and
// for all targets, and a histogram of the targets' total times, stacked by verdict.
func (r *Report) WriteSVG(w io.Writer) error {
	const (
		width   = 860
		labelW  = 230
		barW    = 520
		barH    = 20
		gap     = 8
		marginX = 20
	)
	type bar struct {
		label string
		g     Group
	}
	var bars []bar
	for _, g := range r.Groups {
		bars = append(bars, bar{g.Ecosystem + " · " + g.Strategy, g})
	}
	bars = append(bars, bar{"all targets", r.Total})

	var b strings.Builder
	y := 30
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="16" font-weight="bold">Verdicts — batch %s</text>`+"\n", marginX, y, html.EscapeString(r.Batch))
	y += 20
	for _, br := range bars {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`+"\n", marginX+labelW-8, y+barH-6, html.EscapeString(trunc(br.label, 36)))
		x := float64(marginX + labelW)
		for _, v := range verdictOrder {
			n := br.g.Verdicts[v]
			if n == 0 || br.g.Targets == 0 {
				continue
			}
			wd := float64(barW) * float64(n) / float64(br.g.Targets)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %d</title></rect>`+"\n", x, y, wd, barH, verdictColors[v], v, n)
			if wd >= 22 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%d</text>`+"\n", x+wd/2, y+barH-6, n)
			}
			x += wd
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">%.0f%% of %d</text>`+"\n", marginX+labelW+barW+8, y+barH-6, 100*br.g.SuccessRate, br.g.Targets)
		y += barH + gap
	}
	// legend
	y += 6
	lx := marginX + labelW
	for _, v := range verdictOrder {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`+"\n", lx, y, verdictColors[v], lx+16, y+10, v)
		lx += 16 + 7*len(v) + 18
	}
	y += 40

	// time histogram, stacked by verdict
	counts := make([]map[string]int, len(timeBuckets)+1)
	for i := range counts {
		counts[i] = map[string]int{}
	}
	maxN := 0
	for _, t := range r.Targets {
		d := time.Duration(t.TotalMS) * time.Millisecond
		i := len(timeBuckets)
		for j, ub := range timeBuckets {
			if d < ub {
				i = j
				break
			}
		}
		counts[i][t.Verdict]++
	}
	for _, c := range counts {
		n := 0
		for _, v := range c {
			n += v
		}
		maxN = max(maxN, n)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="16" font-weight="bold">Time per target (sum of phases)</text>`+"\n", marginX, y)
	y += 15
	const histH = 180
	colW := (width - 2*marginX - 40) / len(counts)
	base := y + histH
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", marginX+40, base, width-marginX, base)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>`+"\n", marginX+34, y+10, maxN)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`+"\n", marginX+34, base)
	for i, c := range counts {
		x := marginX + 40 + i*colW + 6
		top := float64(base)
		n := 0
		for _, v := range verdictOrder {
			k := c[v]
			if k == 0 || maxN == 0 {
				continue
			}
			h := float64(histH) * float64(k) / float64(maxN)
			top -= h
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s: %d</title></rect>`+"\n", x, top, colW-12, h, verdictColors[v], v, k)
			n += k
		}
		if n > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="middle">%d</text>`+"\n", x+(colW-12)/2, top-4, n)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="middle">%s</text>`+"\n", x+(colW-12)/2, base+15, html.EscapeString(bucketLabel(i)))
	}
	height := base + 30
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", width, height, width, height, b.String())
	return err
}

func trunc(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
