// Package batch runs many rebuilds — a package set in OSS Rebuild's benchmark format — with
// bounded concurrency, resumes an interrupted run from the run records it left in the store,
// and summarises the outcome (per ecosystem and strategy: verdicts, reasons, success rate,
// per-phase timing percentiles) as JSON, Markdown and an SVG chart.
package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/vouch-dev/vouch/internal/target"
)

// MaxSetSize bounds a package set file; the largest OSS Rebuild benchmark sets are well under
// 1 MiB.
const MaxSetSize = 64 << 20

// Set is a package set file as OSS Rebuild's benchmarks write it
// (github.com/google/oss-rebuild pkg/benchmark: PackageSet{Count, Updated, Packages}).
type Set struct {
	// Count is the number of (package, version) targets.
	Count    int       `json:"Count"`
	Updated  string    `json:"Updated,omitempty"`
	Packages []Package `json:"Packages"`
}

// Package is one package of a Set; Artifacts[i], when present, is the upstream file of Versions[i].
type Package struct {
	Ecosystem string   `json:"Ecosystem"`
	Name      string   `json:"Name"`
	Versions  []string `json:"Versions"`
	Artifacts []string `json:"Artifacts,omitempty"`
}

// Item is one target of a batch.
type Item struct {
	Target target.Target
	// Artifact is the upstream file the set names ("" when it names none).
	Artifact string
}

// PURL is the item's package URL (its identity within a batch).
func (it Item) PURL() string { return it.Target.PURL() }

// SetError reports an unusable package set file (exit code 2).
type SetError struct {
	File string
	Msg  string
}

func (e *SetError) Error() string { return fmt.Sprintf("package set %s: %s", e.File, e.Msg) }

// ExitCode is 2: invalid input (design §1.5).
func (e *SetError) ExitCode() int { return 2 }

// LoadSet reads and validates a package set file.
func LoadSet(file string) (*Set, []byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, &SetError{File: file, Msg: err.Error()}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSetSize+1))
	if err != nil {
		return nil, nil, &SetError{File: file, Msg: err.Error()}
	}
	if len(b) > MaxSetSize {
		return nil, nil, &SetError{File: file, Msg: fmt.Sprintf("larger than %d bytes", MaxSetSize)}
	}
	s, err := ParseSet(b)
	if err != nil {
		return nil, nil, &SetError{File: file, Msg: err.Error()}
	}
	return s, b, nil
}

// ParseSet decodes a package set and checks that every entry names a valid target.
func ParseSet(b []byte) (*Set, error) {
	var s Set
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a package set (JSON): %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the package set")
	}
	if len(s.Packages) == 0 {
		return nil, fmt.Errorf("no packages")
	}
	if _, err := s.Items(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Items lists the set's targets in file order, without duplicates.
func (s *Set) Items() ([]Item, error) {
	var out []Item
	seen := map[string]bool{}
	for i, p := range s.Packages {
		if len(p.Versions) == 0 {
			return nil, fmt.Errorf("package %d (%s): no versions", i, p.Name)
		}
		if len(p.Artifacts) != 0 && len(p.Artifacts) != len(p.Versions) {
			return nil, fmt.Errorf("package %d (%s): %d artifacts for %d versions", i, p.Name, len(p.Artifacts), len(p.Versions))
		}
		for j, v := range p.Versions {
			t, err := makeTarget(p.Ecosystem, p.Name, v)
			if err != nil {
				return nil, fmt.Errorf("package %d (%s@%s): %w", i, p.Name, v, err)
			}
			it := Item{Target: t}
			if len(p.Artifacts) > 0 {
				it.Artifact = p.Artifacts[j]
				if it.Artifact == "" || strings.ContainsAny(it.Artifact, "/\\\x00") {
					return nil, fmt.Errorf("package %d (%s@%s): artifact %q is not a file name", i, p.Name, v, it.Artifact)
				}
				if t.Ecosystem == target.PyPI {
					// PyPI publishes several files per version: the set names which one.
					it.Target.Qualifiers = map[string]string{"file_name": it.Artifact}
				}
			}
			if seen[it.PURL()] {
				continue
			}
			seen[it.PURL()] = true
			out = append(out, it)
		}
	}
	return out, nil
}

// makeTarget maps a set entry onto a Target: npm "@scope/name", Maven "groupId:artifactId".
func makeTarget(eco, name, version string) (target.Target, error) {
	e, err := target.ParseEcosystem(eco)
	if err != nil {
		return target.Target{}, err
	}
	t := target.Target{Ecosystem: e, Name: name, Version: version}
	switch e {
	case target.NPM:
		if strings.HasPrefix(name, "@") {
			scope, rest, ok := strings.Cut(name, "/")
			if !ok {
				return target.Target{}, fmt.Errorf("npm name %q has a scope but no name", name)
			}
			t.Namespace, t.Name = scope, rest
		}
	case target.Maven:
		g, a, ok := strings.Cut(name, ":")
		if !ok {
			return target.Target{}, fmt.Errorf("maven name %q is not groupId:artifactId", name)
		}
		t.Namespace, t.Name = g, a
	}
	if err := t.Validate(); err != nil {
		return target.Target{}, err
	}
	// Round-trip through the PURL form so that the item's identity is the canonical one.
	return target.Parse(t.PURL())
}

// Filter selects items. Expressions:
//
//	ecosystem=npm     the item's ecosystem
//	name=GLOB         the package name (npm "@scope/name", Maven "group:artifact"), path.Match syntax
//	purl=GLOB         the package URL
//	GLOB              shorthand for name=GLOB
//
// An item must match one expression of every key given (OR within a key, AND across keys):
// "name=lodash name=q ecosystem=npm" keeps npm lodash and npm q.
type Filter struct {
	keys  []string
	exprs map[string][]func(Item) bool
}

// ParseFilter compiles filter expressions; a bad one is an error.
func ParseFilter(exprs []string) (*Filter, error) {
	f := &Filter{exprs: map[string][]func(Item) bool{}}
	for _, x := range exprs {
		key, val, ok := strings.Cut(x, "=")
		if !ok {
			key, val = "name", x
		}
		if val == "" {
			return nil, fmt.Errorf("filter %q: empty value", x)
		}
		if _, err := path.Match(val, ""); err != nil {
			return nil, fmt.Errorf("filter %q: %w", x, err)
		}
		var m func(Item) bool
		switch key {
		case "ecosystem":
			e, err := target.ParseEcosystem(val)
			if err != nil {
				return nil, fmt.Errorf("filter %q: %w", x, err)
			}
			m = func(it Item) bool { return it.Target.Ecosystem == e }
		case "name":
			m = func(it Item) bool { return globMatch(val, it.Target.PackageName()) }
		case "purl":
			m = func(it Item) bool { return globMatch(val, it.PURL()) }
		default:
			return nil, fmt.Errorf("filter %q: unknown key %q (ecosystem, name, purl)", x, key)
		}
		if _, seen := f.exprs[key]; !seen {
			f.keys = append(f.keys, key)
		}
		f.exprs[key] = append(f.exprs[key], m)
	}
	return f, nil
}

// globMatch is path.Match where "*" also crosses "/" (scoped npm names, PURLs).
func globMatch(pattern, s string) bool {
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return ok
}

// Apply keeps the items the filter accepts, in order.
func (f *Filter) Apply(items []Item) []Item {
	if f == nil || len(f.keys) == 0 {
		return items
	}
	var out []Item
	for _, it := range items {
		if f.match(it) {
			out = append(out, it)
		}
	}
	return out
}

func (f *Filter) match(it Item) bool {
	for _, k := range f.keys {
		if !slices.ContainsFunc(f.exprs[k], func(m func(Item) bool) bool { return m(it) }) {
			return false
		}
	}
	return true
}
