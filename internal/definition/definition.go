// Package definition holds the BuildDefinition: the declarative, serialisable, single input
// of a rebuild (design §1.3). `vouch infer` prints one; users edit it and pass it back with
// --definition; a definitions directory overrides inference for known-hard packages.
package definition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vouch-dev/vouch/internal/target"
)

// APIVersion identifies this schema.
const APIVersion = "vouch.dev/build/v1"

// MaxSize bounds a definition file read from disk.
const MaxSize = 1 << 20

// BuildDefinition is everything a build needs; nothing else influences it.
type BuildDefinition struct {
	APIVersion string `json:"apiVersion" yaml:"apiVersion"`
	// PURL of the target package version (with qualifiers selecting the artifact, if any).
	PURL string `json:"purl" yaml:"purl"`
	// Artifact is the file name of the artifact to reproduce (e.g. is-number-7.0.0.tgz).
	Artifact string   `json:"artifact" yaml:"artifact"`
	Location Location `json:"location" yaml:"location"`
	Strategy Strategy `json:"strategy" yaml:"strategy"`
	// Toolchain pins tool versions by name, e.g. node: 20.20.2, npm: 10.8.2.
	Toolchain map[string]string `json:"toolchain,omitempty" yaml:"toolchain,omitempty"`
	// Env is added to the build environment.
	Env map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	// RegistryCutoff hides registry versions published after this time during the build.
	// Nil when the registry's times are not trustworthy; CutoffNote says why.
	RegistryCutoff *time.Time `json:"registryCutoff,omitempty" yaml:"registryCutoff,omitempty"`
	CutoffNote     string     `json:"cutoffNote,omitempty" yaml:"cutoffNote,omitempty"`
	// Stabilizers are package-specific normalizations on top of the ecosystem's own set.
	Stabilizers []CustomStabilizer `json:"stabilizers,omitempty" yaml:"stabilizers,omitempty"`
	// Timeout bounds the build (Go duration, e.g. "15m").
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Notes record how the definition was inferred (evidence, candidates tried). Informational.
	// A note starting with DriftNote warns that dependencies are not pinned, one starting
	// with UncommittedNote that published files differ from the repository's; a mismatch in
	// file contents repeats them.
	Notes []string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// Location says where the source is.
type Location struct {
	Repo string `json:"repo" yaml:"repo"`
	// Ref is the full commit hash.
	Ref string `json:"ref" yaml:"ref"`
	// Dir is the package directory inside the repository ("" or "." for the root).
	Dir string `json:"dir,omitempty" yaml:"dir,omitempty"`
	// Evidence names what established the commit (provenance, gitHead, cargo_vcs_info, tag,
	// manifest_history, content_search, definition).
	Evidence string `json:"evidence,omitempty" yaml:"evidence,omitempty"`
	// LineEndings is how the working tree's text files end their lines: "" (or "lf") as
	// committed, "crlf" as Git for Windows checks them out (core.autocrlf=true), for packages
	// built on Windows whose outputs embed the CR LF.
	LineEndings string `json:"lineEndings,omitempty" yaml:"lineEndings,omitempty"`
}

// CRLF is the Location.LineEndings of a Windows checkout.
const CRLF = "crlf"

// Strategy names how to build and with which parameters.
type Strategy struct {
	Name   string            `json:"name" yaml:"name"`
	Params map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
}

// CustomStabilizer is a package-specific normalization; every one must say why it is harmless.
type CustomStabilizer struct {
	Name string `json:"name" yaml:"name"`
	// Kind is "exclude" (drop entries whose path matches Path) or "replace" (regexp Pattern
	// replaced by Replace in entries whose path matches Path).
	Kind    string `json:"kind" yaml:"kind"`
	Path    string `json:"path" yaml:"path"`
	Pattern string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	Replace string `json:"replace,omitempty" yaml:"replace,omitempty"`
	Reason  string `json:"reason" yaml:"reason"`
}

// Duration is a time.Duration written as "15m".
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) {
	if d == 0 {
		return []byte(""), nil
	}
	return []byte(time.Duration(d).String()), nil
}

func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	*d = Duration(v)
	return nil
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// InvalidError reports a definition that cannot be used. Exit code 2.
type InvalidError struct{ Problems []string }

func (e *InvalidError) Error() string {
	return "invalid build definition: " + strings.Join(e.Problems, "; ")
}

func (e *InvalidError) ExitCode() int { return 2 }

// Validate checks the definition is complete and safe to run.
func (d *BuildDefinition) Validate() error {
	var p []string
	if d.APIVersion != APIVersion {
		p = append(p, fmt.Sprintf("apiVersion must be %q", APIVersion))
	}
	if _, err := target.Parse(d.PURL); err != nil {
		p = append(p, "purl: "+err.Error())
	}
	if d.Artifact == "" || strings.ContainsAny(d.Artifact, "/\\") || d.Artifact == "." || d.Artifact == ".." {
		p = append(p, "artifact must be a plain file name")
	}
	if d.Location.Repo == "" {
		p = append(p, "location.repo is required")
	}
	if !commitRE.MatchString(d.Location.Ref) {
		p = append(p, "location.ref must be a full lowercase commit hash")
	}
	if dir := d.Location.Dir; dir != "" {
		clean := filepath.ToSlash(filepath.Clean(dir))
		if filepath.IsAbs(dir) || clean == ".." || strings.HasPrefix(clean, "../") {
			p = append(p, "location.dir must stay inside the repository")
		}
	}
	if le := d.Location.LineEndings; le != "" && le != "lf" && le != CRLF {
		p = append(p, `location.lineEndings must be "lf" or "crlf"`)
	}
	if d.Strategy.Name == "" {
		p = append(p, "strategy.name is required")
	}
	for k := range d.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			p = append(p, fmt.Sprintf("env: bad variable name %q", k))
		}
	}
	for i, s := range d.Stabilizers {
		where := fmt.Sprintf("stabilizers[%d] (%s)", i, s.Name)
		if s.Name == "" {
			p = append(p, where+": name is required")
		}
		if strings.TrimSpace(s.Reason) == "" {
			p = append(p, where+": reason is required: say why this difference is harmless")
		}
		if _, err := filepath.Match(s.Path, ""); err != nil || s.Path == "" {
			p = append(p, where+": path must be a valid glob")
		}
		switch s.Kind {
		case "exclude":
		case "replace":
			if _, err := regexp.Compile(s.Pattern); err != nil || s.Pattern == "" {
				p = append(p, where+": pattern must be a valid regular expression")
			}
		default:
			p = append(p, where+`: kind must be "exclude" or "replace"`)
		}
	}
	if d.Timeout < 0 {
		p = append(p, "timeout must be positive")
	}
	if len(p) > 0 {
		return &InvalidError{Problems: p}
	}
	return nil
}

// Target parses the definition's PURL.
func (d *BuildDefinition) Target() (target.Target, error) { return target.Parse(d.PURL) }

// Dir returns the package directory, "." for the root.
func (d *BuildDefinition) Dir() string {
	if d.Location.Dir == "" {
		return "."
	}
	return filepath.ToSlash(filepath.Clean(d.Location.Dir))
}

// YAML renders the definition as YAML.
func (d *BuildDefinition) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// JSON renders the definition as canonical JSON (stable key order: struct order, map keys sorted).
func (d *BuildDefinition) JSON() ([]byte, error) { return json.Marshal(d) }

// Parse reads YAML or JSON (JSON is YAML), rejecting unknown fields, then validates.
func Parse(b []byte) (*BuildDefinition, error) {
	if len(b) > MaxSize {
		return nil, &InvalidError{Problems: []string{fmt.Sprintf("larger than %d bytes", MaxSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var d BuildDefinition
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &InvalidError{Problems: []string{"empty document"}}
		}
		return nil, &InvalidError{Problems: []string{err.Error()}}
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Load reads and validates a definition file.
func Load(path string) (*BuildDefinition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &InvalidError{Problems: []string{err.Error()}}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	d, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Directory is a tree of hand-written definitions: <ecosystem>/<name>/<version>/build.yaml,
// with npm scopes and Maven groups as a path level ("@scope/name", "group~artifact").
type Directory struct{ Root string }

// Path is where the definition of t would live.
func (dir Directory) Path(t target.Target) string {
	return filepath.Join(dir.Root, filepath.FromSlash(t.StoreDir("")), "build.yaml")
}

// Lookup returns the definition for t, or nil if the directory has none.
func (dir Directory) Lookup(t target.Target) (*BuildDefinition, error) {
	if dir.Root == "" {
		return nil, nil
	}
	p := dir.Path(t)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	d, err := Load(p)
	if err != nil {
		return nil, err
	}
	dt, _ := d.Target()
	if dt.PackageName() != t.PackageName() || dt.Version != t.Version || dt.Ecosystem != t.Ecosystem {
		return nil, &InvalidError{Problems: []string{fmt.Sprintf("%s describes %s, not %s", p, d.PURL, t.PURL())}}
	}
	return d, nil
}

// SortedKeys returns m's keys in order (for stable rendering of maps).
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DriftNote starts a Notes entry saying the build's dependencies are neither locked nor cut
// off at the publish time, so generated files may come from newer dependency versions.
const DriftNote = "dependency drift: "

// UncommittedNote starts a Notes entry naming published files that the repository has, at
// the commit, with other contents and that no build step regenerates.
const UncommittedNote = "not the repository's contents: "
