// Package diff builds a diff tree of two artifacts in the spirit of diffoscope (design
// §1.6): entries only on one side, metadata and type differences, unified text diffs and
// digests of binary changes, recursing into archives nested inside archives. The JSON form
// of Node is canonical; RenderText and RenderHTML are renderings of it.
package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Node kinds.
const (
	KindArchive      = "archive"       // the compared pair itself (root), children below
	KindOnlyUpstream = "only_upstream" // entry only in the first artifact
	KindOnlyRebuild  = "only_rebuild"  // entry only in the second artifact
	KindContent      = "content"       // data differs (Unified, Details or nested Children say how)
	KindMetadata     = "metadata"      // same data, metadata differs (Details)
	KindType         = "type"          // entry type differs (file, dir, symlink, ...)
)

// Node is one difference. Path is the entry path; entries of a nested archive are written
// "outer.jar!/inner/path".
type Node struct {
	Path     string   `json:"path"`
	Kind     string   `json:"kind"`
	Details  []string `json:"details,omitempty"`
	Unified  string   `json:"unified,omitempty"`
	Children []*Node  `json:"children,omitempty"`
	// Truncated: caps (entries, depth, unified size) cut this node's content.
	Truncated bool `json:"truncated,omitempty"`
}

// Options are the caps and labels of a diff. Zero fields take the defaults.
type Options struct {
	// MaxDepth is the nesting depth of archives to recurse into (default 4).
	MaxDepth int
	// MaxUnifiedBytes caps each unified diff (default 64 KiB).
	MaxUnifiedBytes int
	// MaxEntries caps the children of one node (default 1000).
	MaxEntries int
	// Labels name the two sides (default "upstream", "rebuild").
	Labels [2]string
	// Limits bound reading nested archives and files (default archive.DefaultLimits).
	Limits archive.Limits
}

const maxTextBytes = 4 << 20 // larger files are compared as binary

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 4
	}
	if o.MaxUnifiedBytes <= 0 {
		o.MaxUnifiedBytes = 64 << 10
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1000
	}
	if o.Labels[0] == "" {
		o.Labels[0] = "upstream"
	}
	if o.Labels[1] == "" {
		o.Labels[1] = "rebuild"
	}
	if o.Limits == (archive.Limits{}) {
		o.Limits = archive.DefaultLimits
	}
	return o
}

// Files reads both files (within opts.Limits) and diffs them. Unsafe or over-limit input
// returns the *archive.UnsafeError / *archive.LimitError (wrapped).
func Files(aPath, bPath string, opts Options) (*Node, error) {
	opts = opts.withDefaults()
	a, err := archive.ReadFile(aPath, opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	b, err := archive.ReadFile(bPath, opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	return Archives(a, b, opts), nil
}

// FilesEqual reports whether two files have the same bytes (a cheap check before Files).
func FilesEqual(aPath, bPath string) (bool, error) {
	a, err := os.ReadFile(aPath)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(bPath)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

// Archives diffs two parsed archives. The root has Kind "archive"; it has no children and
// no details when the archives do not differ.
func Archives(a, b *archive.Archive, opts Options) *Node {
	opts = opts.withDefaults()
	return (&differ{opts: opts}).archives("", a, b, 0)
}

type differ struct{ opts Options }

func (d *differ) archives(prefix string, a, b *archive.Archive, depth int) *Node {
	root := &Node{Path: strings.TrimSuffix(prefix, "!/"), Kind: KindArchive}
	if a.Format != b.Format {
		root.Details = append(root.Details, fmt.Sprintf("format %s -> %s", a.Format, b.Format))
	}
	root.Details = append(root.Details, gzipDetails(a.Gzip, b.Gzip)...)
	if a.Comment != b.Comment {
		root.Details = append(root.Details, fmt.Sprintf("comment %q -> %q", a.Comment, b.Comment))
	}
	inB := make(map[string]*archive.Entry, len(b.Entries))
	for _, e := range b.Entries {
		inB[e.Name] = e
	}
	inA := make(map[string]bool, len(a.Entries))
	add := func(n *Node) {
		if n == nil {
			return
		}
		if len(root.Children) >= d.opts.MaxEntries {
			root.Truncated = true
			return
		}
		root.Children = append(root.Children, n)
	}
	for _, ea := range a.Entries {
		inA[ea.Name] = true
		if eb, ok := inB[ea.Name]; ok {
			add(d.entry(prefix, ea, eb, depth))
		} else {
			add(&Node{Path: prefix + ea.Name, Kind: KindOnlyUpstream, Details: []string{describe(ea)}})
		}
	}
	for _, eb := range b.Entries {
		if !inA[eb.Name] {
			add(&Node{Path: prefix + eb.Name, Kind: KindOnlyRebuild, Details: []string{describe(eb)}})
		}
	}
	if a.Format == archive.FormatTar || a.Format == archive.FormatTarGz || a.Format == archive.FormatZip {
		if orderDiffers(a, b) {
			root.Details = append(root.Details, "entry order differs")
		}
	}
	return root
}

func describe(e *archive.Entry) string {
	switch e.Type {
	case archive.TypeFile:
		sum := sha256.Sum256(e.Data)
		return fmt.Sprintf("file, %d bytes, sha256 %s", len(e.Data), hex.EncodeToString(sum[:]))
	case archive.TypeSymlink, archive.TypeHardlink:
		return fmt.Sprintf("%s -> %s", e.Type, e.Linkname)
	}
	return string(e.Type)
}

func gzipDetails(a, b *archive.GzipInfo) []string {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return []string{"gzip layer only in rebuild"}
	case b == nil:
		return []string{"gzip layer only in upstream"}
	}
	var out []string
	if a.Name != b.Name {
		out = append(out, fmt.Sprintf("gzip name %q -> %q", a.Name, b.Name))
	}
	if !a.ModTime.Equal(b.ModTime) {
		out = append(out, fmt.Sprintf("gzip mtime %s -> %s", fmtTime(a.ModTime), fmtTime(b.ModTime)))
	}
	if a.OS != b.OS {
		out = append(out, fmt.Sprintf("gzip OS %d -> %d", a.OS, b.OS))
	}
	if a.Comment != b.Comment || !bytes.Equal(a.Extra, b.Extra) {
		out = append(out, "gzip comment or extra field differs")
	}
	return out
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func orderDiffers(a, b *archive.Archive) bool {
	pos := make(map[string]int, len(b.Entries))
	for i, e := range b.Entries {
		pos[e.Name] = i
	}
	last := -1
	for _, e := range a.Entries {
		if p, ok := pos[e.Name]; ok {
			if p < last {
				return true
			}
			last = p
		}
	}
	return false
}

func (d *differ) entry(prefix string, a, b *archive.Entry, depth int) *Node {
	path := prefix + a.Name
	if a.Type != b.Type {
		return &Node{Path: path, Kind: KindType, Details: []string{fmt.Sprintf("type %s -> %s", a.Type, b.Type)}}
	}
	meta := metadata(a, b)
	if bytes.Equal(a.Data, b.Data) {
		if len(meta) == 0 {
			return nil
		}
		return &Node{Path: path, Kind: KindMetadata, Details: meta}
	}
	n := &Node{Path: path, Kind: KindContent, Details: meta}
	d.content(n, a.Data, b.Data, depth)
	return n
}

func metadata(a, b *archive.Entry) []string {
	var out []string
	if a.Mode != b.Mode {
		out = append(out, fmt.Sprintf("mode %04o -> %04o", a.Mode, b.Mode))
	}
	if !a.ModTime.Equal(b.ModTime) {
		out = append(out, fmt.Sprintf("mtime %s -> %s", fmtTime(a.ModTime), fmtTime(b.ModTime)))
	}
	if a.UID != b.UID || a.GID != b.GID {
		out = append(out, fmt.Sprintf("owner %d:%d -> %d:%d", a.UID, a.GID, b.UID, b.GID))
	}
	if a.Uname != b.Uname || a.Gname != b.Gname {
		out = append(out, fmt.Sprintf("owner names %s:%s -> %s:%s", a.Uname, a.Gname, b.Uname, b.Gname))
	}
	if a.Linkname != b.Linkname {
		out = append(out, fmt.Sprintf("link target %s -> %s", a.Linkname, b.Linkname))
	}
	if a.Method != b.Method {
		out = append(out, fmt.Sprintf("zip method %d -> %d", a.Method, b.Method))
	}
	if !bytes.Equal(a.Extra, b.Extra) {
		out = append(out, fmt.Sprintf("zip extra fields %x -> %x", a.Extra, b.Extra))
	}
	if a.ExternalAttrs != b.ExternalAttrs || a.CreatorVersion != b.CreatorVersion {
		out = append(out, fmt.Sprintf("zip attributes %#x/%#x -> %#x/%#x", a.ExternalAttrs, a.CreatorVersion, b.ExternalAttrs, b.CreatorVersion))
	}
	if a.Comment != b.Comment {
		out = append(out, fmt.Sprintf("zip comment %q -> %q", a.Comment, b.Comment))
	}
	if len(a.PAX) != len(b.PAX) || fmt.Sprint(a.PAX) != fmt.Sprint(b.PAX) {
		out = append(out, "pax records differ")
	}
	return out
}

// content explains how data a and b differ: nested archive, text or binary.
func (d *differ) content(n *Node, a, b []byte, depth int) {
	fa, fb := archive.Detect(a), archive.Detect(b)
	if fa != archive.FormatRaw && fb != archive.FormatRaw {
		if depth+1 >= d.opts.MaxDepth {
			n.Truncated = true
			n.Details = append(n.Details, fmt.Sprintf("nested %s archive not expanded (depth limit %d)", fa, d.opts.MaxDepth))
		} else {
			xa, errA := archive.Read(a, d.opts.Limits)
			xb, errB := archive.Read(b, d.opts.Limits)
			if errA == nil && errB == nil {
				inner := d.archives(n.Path+"!/", xa, xb, depth+1)
				n.Details = append(n.Details, inner.Details...)
				n.Children = inner.Children
				n.Truncated = n.Truncated || inner.Truncated
				if len(n.Children) > 0 || len(inner.Details) > 0 {
					return
				}
				// Same entries, different bytes: fall through to a binary summary.
			} else {
				n.Details = append(n.Details, fmt.Sprintf("nested archive unreadable: %v", firstErr(errA, errB)))
			}
		}
	}
	if isText(a) && isText(b) {
		if crlf := []byte("\r\n"); bytes.Equal(bytes.ReplaceAll(a, crlf, crlf[1:]), bytes.ReplaceAll(b, crlf, crlf[1:])) {
			// A unified diff would show every line changed and nothing visible.
			n.Details = append(n.Details, fmt.Sprintf("only line endings differ: %s has %d CR LF, %s has %d",
				d.opts.Labels[0], bytes.Count(a, crlf), d.opts.Labels[1], bytes.Count(b, crlf)))
			return
		}
		if strings.HasSuffix(n.Path, ".json") {
			// Stabilized manifests are compacted to one line: re-indent both sides (key order
			// kept) so the diff shows the keys that differ.
			var ia, ib bytes.Buffer
			if json.Indent(&ia, a, "", "  ") == nil && json.Indent(&ib, b, "", "  ") == nil {
				a, b = append(ia.Bytes(), '\n'), append(ib.Bytes(), '\n')
			}
		}
		ops, ok := lineDiff(splitLines(string(a)), splitLines(string(b)), maxEditDistance)
		if ok {
			u := unified("a/"+n.Path, "b/"+n.Path, ops, 3)
			if len(u) > d.opts.MaxUnifiedBytes {
				cut := strings.LastIndexByte(u[:d.opts.MaxUnifiedBytes], '\n') + 1
				u, n.Truncated = u[:cut], true
			}
			n.Unified = u
			return
		}
		n.Details = append(n.Details, "text differs too much for a unified diff")
		n.Truncated = true
	}
	sa, sb := sha256.Sum256(a), sha256.Sum256(b)
	n.Details = append(n.Details,
		fmt.Sprintf("size %d -> %d", len(a), len(b)),
		fmt.Sprintf("sha256 %s -> %s", hex.EncodeToString(sa[:]), hex.EncodeToString(sb[:])))
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func isText(b []byte) bool {
	return len(b) <= maxTextBytes && bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// Summary condenses the tree: Differences counts leaf differences; the path lists hold at
// most max paths each (max <= 0: no lists).
func (n *Node) Summary(max int) verdict.DiffSummary {
	var s verdict.DiffSummary
	var walk func(*Node, bool)
	walk = func(x *Node, root bool) {
		for _, c := range x.Children {
			walk(c, false)
		}
		if root || (len(x.Children) > 0 && len(x.Details) == 0) {
			return
		}
		s.Differences++
		var list *[]string
		switch x.Kind {
		case KindOnlyUpstream:
			list = &s.OnlyUpstream
		case KindOnlyRebuild:
			list = &s.OnlyRebuild
		default:
			list = &s.Changed
		}
		if len(*list) < max {
			*list = append(*list, x.Path)
		}
	}
	walk(n, true)
	if len(n.Details) > 0 && n.Kind == KindArchive {
		s.Differences++
	}
	return s
}
