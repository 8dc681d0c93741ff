package diff

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strings"
)

func marker(kind string) string {
	switch kind {
	case KindOnlyUpstream:
		return "-"
	case KindOnlyRebuild:
		return "+"
	}
	return "~"
}

// RenderText writes the tree for a terminal: one line per node, "-" only in upstream, "+"
// only in rebuild, "~" changed, with details and unified diffs indented below.
func RenderText(w io.Writer, n *Node) error {
	bw := bufio.NewWriter(w)
	if n.Kind == KindArchive && len(n.Children) == 0 && len(n.Details) == 0 {
		fmt.Fprintln(bw, "no differences")
		return bw.Flush()
	}
	renderText(bw, n, 0)
	return bw.Flush()
}

func renderText(w *bufio.Writer, n *Node, depth int) {
	indent := strings.Repeat("  ", depth)
	name := n.Path
	if name == "" {
		name = "(archive)"
	}
	fmt.Fprintf(w, "%s%s %s [%s]", indent, marker(n.Kind), name, n.Kind)
	if n.Truncated {
		fmt.Fprint(w, " (truncated)")
	}
	fmt.Fprintln(w)
	for _, d := range n.Details {
		fmt.Fprintf(w, "%s    %s\n", indent, d)
	}
	if n.Unified != "" {
		for _, l := range splitLines(n.Unified) {
			fmt.Fprintf(w, "%s    %s", indent, l)
			if !strings.HasSuffix(l, "\n") {
				fmt.Fprintln(w)
			}
		}
	}
	for _, c := range n.Children {
		renderText(w, c, depth+1)
	}
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"marker": marker,
	"lines":  splitLines,
	"lineClass": func(l string) string {
		switch {
		case strings.HasPrefix(l, "@@"):
			return "hunk"
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			return "file"
		case strings.HasPrefix(l, "+"):
			return "add"
		case strings.HasPrefix(l, "-"):
			return "del"
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vouch diff</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
ul{list-style:none;padding-left:1.2em}
.node{margin:.3em 0}
.m{font-family:monospace;font-weight:bold;display:inline-block;width:1.2em}
.only_upstream>.h .m{color:#b00}.only_rebuild>.h .m{color:#070}
.kind{color:#666;font-size:.85em}.trunc{color:#a60;font-size:.85em}
.details{font-family:monospace;font-size:.85em;color:#444;margin:.2em 0 .2em 1.6em}
pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:.85em;margin-left:1.6em}
.add{color:#070}.del{color:#b00}.hunk{color:#05a}.file{font-weight:bold}
</style></head><body>
<h1>vouch diff</h1>
{{if or .Children .Details}}<ul>{{template "node" .}}</ul>{{else}}<p>No differences.</p>{{end}}
</body></html>
{{define "node"}}<li class="node {{.Kind}}"><div class="h"><span class="m">{{marker .Kind}}</span><code>{{if .Path}}{{.Path}}{{else}}(archive){{end}}</code> <span class="kind">{{.Kind}}</span>{{if .Truncated}} <span class="trunc">truncated</span>{{end}}</div>
{{range .Details}}<div class="details">{{.}}</div>{{end}}
{{if .Unified}}<pre>{{range lines .Unified}}<span class="{{lineClass .}}">{{.}}</span>{{end}}</pre>{{end}}
{{if .Children}}<ul>{{range .Children}}{{template "node" .}}{{end}}</ul>{{end}}</li>{{end}}`))

// RenderHTML writes a self-contained HTML page (inline CSS, no scripts) of the tree; all
// text from the artifacts is escaped by html/template.
func RenderHTML(w io.Writer, n *Node) error {
	if err := page.Execute(w, n); err != nil {
		return fmt.Errorf("rendering html diff: %w", err)
	}
	return nil
}
