// Package target names one published artifact of one package version and converts
// it to and from a Package URL (https://github.com/package-url/purl-spec).
package target

import (
	"fmt"
	"path"
	"sort"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// Ecosystem is a package ecosystem as named in the attestation store layout and in
// OSS Rebuild's benchmark files ("npm", "pypi", "cratesio", "maven").
type Ecosystem string

// Ecosystems vouch knows. The PURL type for crates.io is "cargo" (purl-spec PURL-TYPES.rst).
const (
	NPM      Ecosystem = "npm"
	PyPI     Ecosystem = "pypi"
	CratesIO Ecosystem = "cratesio"
	Maven    Ecosystem = "maven"
)

var purlTypes = map[string]Ecosystem{
	packageurl.TypeNPM:   NPM,
	packageurl.TypePyPi:  PyPI,
	packageurl.TypeCargo: CratesIO,
	packageurl.TypeMaven: Maven,
}

// ParseEcosystem accepts both store names ("cratesio") and PURL types ("cargo").
func ParseEcosystem(s string) (Ecosystem, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if e, ok := purlTypes[s]; ok {
		return e, nil
	}
	switch Ecosystem(s) {
	case NPM, PyPI, CratesIO, Maven:
		return Ecosystem(s), nil
	}
	return "", &InvalidError{Input: s, Msg: "unknown ecosystem (want npm, pypi, cratesio/cargo or maven)"}
}

func (e Ecosystem) purlType() string {
	for k, v := range purlTypes {
		if v == e {
			return k
		}
	}
	return string(e)
}

// Target is one version of one package, and optionally which of its files.
type Target struct {
	Ecosystem Ecosystem `json:"ecosystem" yaml:"ecosystem"`
	// Namespace is the npm scope including "@" ("@babel"), or the Maven groupId; empty otherwise.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Name      string `json:"name" yaml:"name"`
	Version   string `json:"version" yaml:"version"`
	// Qualifiers selects a file: file_name (PyPI), classifier and type (Maven).
	Qualifiers map[string]string `json:"qualifiers,omitempty" yaml:"qualifiers,omitempty"`
}

// InvalidError reports input that is not a usable package reference. The CLI maps it to exit code 2.
type InvalidError struct {
	Input string
	Msg   string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid package reference %q: %s", e.Input, e.Msg)
}

// ExitCode makes bad input a usage error.
func (e *InvalidError) ExitCode() int { return 2 }

const maxPURLLen = 2048

// Parse reads a Package URL such as pkg:npm/%40scope/name@1.2.3 or pkg:pypi/requests@2.31.0.
func Parse(s string) (Target, error) {
	if len(s) > maxPURLLen {
		return Target{}, &InvalidError{Input: s[:64] + "...", Msg: "too long"}
	}
	if !strings.HasPrefix(s, "pkg:") {
		return Target{}, &InvalidError{Input: s, Msg: `a Package URL starts with "pkg:" (for example pkg:npm/is-number@7.0.0)`}
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return Target{}, &InvalidError{Input: s, Msg: err.Error()}
	}
	eco, ok := purlTypes[strings.ToLower(p.Type)]
	if !ok {
		return Target{}, &InvalidError{Input: s, Msg: fmt.Sprintf("unsupported ecosystem %q (want npm, pypi, cargo or maven)", p.Type)}
	}
	t := Target{Ecosystem: eco, Namespace: p.Namespace, Name: p.Name, Version: p.Version}
	if len(p.Qualifiers) > 0 {
		t.Qualifiers = p.Qualifiers.Map()
	}
	if eco == NPM && t.Namespace != "" && !strings.HasPrefix(t.Namespace, "@") {
		t.Namespace = "@" + t.Namespace
	}
	if eco == PyPI {
		t.Name = NormalizePyPI(t.Name)
	}
	return t, t.Validate()
}

// Validate checks that every part is present and safe to use in a file path.
func (t Target) Validate() error {
	in := t.PURL()
	if t.Name == "" {
		return &InvalidError{Input: in, Msg: "missing package name"}
	}
	if t.Version == "" {
		return &InvalidError{Input: in, Msg: "missing version (pkg:TYPE/NAME@VERSION)"}
	}
	if t.Ecosystem == Maven && t.Namespace == "" {
		return &InvalidError{Input: in, Msg: "maven needs a groupId namespace (pkg:maven/GROUP/ARTIFACT@VERSION)"}
	}
	for _, part := range []string{t.Namespace, t.Name, t.Version} {
		if err := safeComponent(part); err != nil {
			return &InvalidError{Input: in, Msg: err.Error()}
		}
	}
	for k, v := range t.Qualifiers {
		if k == "file_name" {
			if err := safeComponent(v); err != nil {
				return &InvalidError{Input: in, Msg: "file_name: " + err.Error()}
			}
		}
	}
	return nil
}

func safeComponent(s string) error {
	if s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00\n\r") || strings.HasPrefix(s, "-") {
		return fmt.Errorf("%q is not a valid name or version", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q contains control characters", s)
		}
	}
	return nil
}

// PURL renders the canonical Package URL.
func (t Target) PURL() string {
	var q packageurl.Qualifiers
	if len(t.Qualifiers) > 0 {
		keys := make([]string, 0, len(t.Qualifiers))
		for k := range t.Qualifiers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q = append(q, packageurl.Qualifier{Key: k, Value: t.Qualifiers[k]})
		}
	}
	ns := t.Namespace
	return packageurl.NewPackageURL(t.Ecosystem.purlType(), ns, t.Name, t.Version, q, "").ToString()
}

// PackageName is the name as the registry spells it: "@scope/name" for npm, "group:artifact" for Maven.
func (t Target) PackageName() string {
	switch {
	case t.Namespace == "":
		return t.Name
	case t.Ecosystem == Maven:
		return t.Namespace + ":" + t.Name
	default:
		return t.Namespace + "/" + t.Name
	}
}

// StoreDir is the attestation directory of one artifact, relative to the store root:
// {ecosystem}/{package}/{version}/{artifact}, the layout OSS Rebuild uses, Maven ":" encoded as "~".
func (t Target) StoreDir(artifact string) string {
	pkg := t.PackageName()
	if t.Ecosystem == Maven {
		pkg = strings.ReplaceAll(pkg, ":", "~")
	}
	return path.Join(string(t.Ecosystem), pkg, t.Version, artifact)
}

// Qualifier returns a qualifier value or "".
func (t Target) Qualifier(k string) string { return t.Qualifiers[k] }

// NormalizePyPI applies PEP 503 name normalisation.
func NormalizePyPI(name string) string {
	var b strings.Builder
	prevSep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			if !prevSep {
				b.WriteByte('-')
			}
			prevSep = true
			continue
		}
		prevSep = false
		b.WriteRune(r)
	}
	return b.String()
}
