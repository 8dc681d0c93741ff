package stabilize

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
)

// Custom turns a BuildDefinition's package-specific stabilizers into Stabilizers named
// "custom:<name>":
//   - kind "exclude" drops entries whose path matches the glob Path;
//   - kind "replace" replaces matches of the regexp Pattern with Replace (Go regexp
//     expansion, $1) in the data of file entries whose path matches Path.
//
// Globs use "*" (any run of characters except "/"), "**" (any run, "/" included) and "?"
// (one character except "/"). A path matches if the glob matches it whole, or matches it
// without its first component (so "dist/x.js" matches "package/dist/x.js" in an npm tarball).
func Custom(defs []definition.CustomStabilizer) ([]Stabilizer, error) {
	var out []Stabilizer
	seen := map[string]bool{}
	for _, d := range defs {
		if d.Name == "" {
			return nil, fmt.Errorf("custom stabilizer: missing name")
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("custom stabilizer %q: duplicate name", d.Name)
		}
		seen[d.Name] = true
		if d.Path == "" {
			return nil, fmt.Errorf("custom stabilizer %q: missing path", d.Name)
		}
		match, err := compileGlob(d.Path)
		if err != nil {
			return nil, fmt.Errorf("custom stabilizer %q: %w", d.Name, err)
		}
		s := Stabilizer{Name: "custom:" + d.Name, Description: d.Reason}
		switch d.Kind {
		case "exclude":
			s.Apply = func(a *archive.Archive) bool {
				n := len(a.Entries)
				a.Entries = slices.DeleteFunc(a.Entries, func(e *archive.Entry) bool { return match(e.Name) })
				return len(a.Entries) != n
			}
			if s.Description == "" {
				s.Description = "Exclude " + d.Path + "."
			}
		case "replace":
			if d.Pattern == "" {
				return nil, fmt.Errorf("custom stabilizer %q: replace needs a pattern", d.Name)
			}
			re, err := regexp.Compile(d.Pattern)
			if err != nil {
				return nil, fmt.Errorf("custom stabilizer %q: pattern: %w", d.Name, err)
			}
			repl := []byte(d.Replace)
			s.Apply = func(a *archive.Archive) bool {
				changed := false
				for _, e := range a.Entries {
					if e.Type != archive.TypeFile || !match(e.Name) {
						continue
					}
					// A new slice, never an in-place edit: entry data may be shared.
					if out := re.ReplaceAll(e.Data, repl); !bytes.Equal(out, e.Data) {
						e.Data, changed = out, true
					}
				}
				return changed
			}
			if s.Description == "" {
				s.Description = "Replace " + d.Pattern + " in " + d.Path + "."
			}
		default:
			return nil, fmt.Errorf("custom stabilizer %q: unknown kind %q (want exclude or replace)", d.Name, d.Kind)
		}
		out = append(out, s)
	}
	return out, nil
}

// compileGlob returns a matcher for the glob (see Custom).
func compileGlob(glob string) (func(string) bool, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				i++
				if i+1 < len(glob) && glob[i+1] == '/' {
					// "**/" matches zero or more whole directories.
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", glob, err)
	}
	return func(name string) bool {
		if re.MatchString(name) {
			return true
		}
		if _, rest, ok := strings.Cut(name, "/"); ok {
			return re.MatchString(rest)
		}
		return false
	}, nil
}
