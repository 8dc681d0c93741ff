package pypi

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vouch-dev/vouch/internal/registry/pypi"
)

// maxManifestSize bounds a manifest read from a repository or sdist.
const maxManifestSize = 4 << 20

// tomlDoc is the flattened subset of a TOML document vouch reads: "table.key" to a string,
// a []string (arrays of strings) or the raw text of other scalars. Inline tables, arrays of
// tables and multi-line strings are skipped. This is enough for pyproject.toml's
// [project], [build-system] and [tool.*] keys that name and version a package.
type tomlDoc map[string]any

// parseTOML reads the subset described at tomlDoc; it never fails on what it skips, and
// fails only on input it cannot make sense of at all (binary, too large).
func parseTOML(data []byte) (tomlDoc, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("pyproject.toml larger than %d bytes", maxManifestSize)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("pyproject.toml contains NUL bytes")
	}
	doc := tomlDoc{}
	table := ""
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[[") {
			table = "\x00" // array of tables: its keys are not read
			continue
		}
		if line[0] == '[' {
			end := strings.LastIndexByte(stripComment(line), ']')
			if end < 0 {
				table = "\x00"
				continue
			}
			table = joinKey(splitKey(line[1:end]))
			continue
		}
		eq := keyEnd(line)
		if eq < 0 {
			continue
		}
		key := joinKey(splitKey(line[:eq]))
		val := strings.TrimSpace(line[eq+1:])
		full := key
		if table != "" {
			full = table + "." + key
		}
		switch {
		case strings.HasPrefix(val, `"""`) || strings.HasPrefix(val, `'''`):
			q := val[:3]
			rest := val[3:]
			var b strings.Builder
			for !strings.Contains(rest, q) && i+1 < len(lines) {
				b.WriteString(rest + "\n")
				i++
				rest = lines[i]
			}
			if j := strings.Index(rest, q); j >= 0 {
				b.WriteString(rest[:j])
			}
			if table != "\x00" {
				doc[full] = b.String()
			}
		case strings.HasPrefix(val, "["):
			// Collect the array up to its closing bracket, across lines.
			text := stripComment(val)
			for !arrayClosed(text) && i+1 < len(lines) {
				i++
				text += "\n" + stripComment(lines[i])
			}
			if table != "\x00" {
				doc[full] = arrayStrings(text)
			}
		case strings.HasPrefix(val, "{"):
			text := stripComment(val)
			for strings.Count(text, "{") > strings.Count(text, "}") && i+1 < len(lines) {
				i++
				text += stripComment(lines[i])
			}
			// Inline tables: read their simple string keys (version = {attr = "..."} etc.).
			inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(text), "{"), "}")
			for _, part := range splitTopLevel(inner) {
				if k := keyEnd(part); k >= 0 && table != "\x00" {
					if s, ok := tomlString(strings.TrimSpace(part[k+1:])); ok {
						doc[full+"."+joinKey(splitKey(part[:k]))] = s
					}
				}
			}
		default:
			if table == "\x00" {
				continue
			}
			if s, ok := tomlString(val); ok {
				doc[full] = s
			} else {
				doc[full] = strings.TrimSpace(stripComment(val))
			}
		}
	}
	return doc, nil
}

// keyEnd is the index of the "=" separating key and value (outside quotes), or -1.
func keyEnd(line string) int {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '=':
			return i
		}
	}
	return -1
}

func splitKey(s string) []string {
	var out []string
	var cur strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			q = c
		case c == '.':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

func joinKey(parts []string) string { return strings.Join(parts, ".") }

// stripComment drops a "#" comment outside strings.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}

func arrayClosed(text string) bool {
	depth := 0
	var q byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// splitTopLevel splits on commas outside quotes and brackets.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// arrayStrings returns the string elements of a one-level TOML array.
func arrayStrings(text string) []string {
	text = strings.TrimSpace(text)
	text = strings.TrimPrefix(text, "[")
	if i := strings.LastIndexByte(text, ']'); i >= 0 {
		text = text[:i]
	}
	out := []string{}
	for _, part := range splitTopLevel(text) {
		if s, ok := tomlString(strings.TrimSpace(part)); ok {
			out = append(out, s)
		}
	}
	return out
}

// tomlString decodes a basic ("...") or literal ('...') string at the start of s.
func tomlString(s string) (string, bool) {
	s = strings.TrimSpace(stripComment(s))
	if len(s) < 2 {
		return "", false
	}
	switch s[0] {
	case '\'':
		if j := strings.IndexByte(s[1:], '\''); j >= 0 {
			return s[1 : j+1], true
		}
	case '"':
		for j := 1; j < len(s); j++ {
			if s[j] == '\\' {
				j++
				continue
			}
			if s[j] == '"' {
				v, err := strconv.Unquote(s[:j+1])
				if err != nil {
					return s[1:j], true
				}
				return v, true
			}
		}
	}
	return "", false
}

func (d tomlDoc) str(k string) string {
	s, _ := d[k].(string)
	return s
}

func (d tomlDoc) list(k string) []string {
	l, _ := d[k].([]string)
	return l
}

// Manifest is what vouch reads from a project's build configuration.
type Manifest struct {
	// File is the manifest the values came from (pyproject.toml, setup.cfg, setup.py).
	File string
	Name string // PEP 503 normalised; "" when not static
	// Version is the static version; "" when dynamic or not readable.
	Version string
	// Dynamic: the version is computed at build time (setuptools-scm, hatch-vcs, a version
	// file attribute, ...).
	Dynamic      bool
	Requires     []string // [build-system] requires
	BuildBackend string   // [build-system] build-backend
	// SCM names the version-from-git plugin in use ("setuptools-scm", "hatch-vcs",
	// "pdm-backend-scm", "poetry-dynamic-versioning"), "" if none.
	SCM string
}

// ParsePyproject reads pyproject.toml: [project] (PEP 621), or [tool.poetry] for
// poetry-core projects that predate it, and [build-system] (PEP 518).
func ParsePyproject(data []byte) (*Manifest, error) {
	doc, err := parseTOML(data)
	if err != nil {
		return nil, err
	}
	m := &Manifest{File: "pyproject.toml", Requires: doc.list("build-system.requires"), BuildBackend: doc.str("build-system.build-backend")}
	name, version := doc.str("project.name"), doc.str("project.version")
	for _, d := range doc.list("project.dynamic") {
		if d == "version" {
			m.Dynamic = true
		}
		if d == "name" {
			name = ""
		}
	}
	if name == "" && doc.str("tool.poetry.name") != "" {
		name, version = doc.str("tool.poetry.name"), doc.str("tool.poetry.version")
	}
	m.Name = normName(name)
	if !m.Dynamic {
		m.Version = version
	}
	if m.Version == "" && name != "" {
		m.Dynamic = true
	}
	reqs := strings.ToLower(strings.Join(m.Requires, " "))
	switch {
	case strings.Contains(reqs, "hatch-vcs") || strings.Contains(reqs, "hatch_vcs"):
		m.SCM = "hatch-vcs"
	case strings.Contains(reqs, "setuptools-scm") || strings.Contains(reqs, "setuptools_scm"):
		m.SCM = "setuptools-scm"
	case strings.Contains(reqs, "poetry-dynamic-versioning"):
		m.SCM = "poetry-dynamic-versioning"
	case doc.str("tool.pdm.version.source") == "scm":
		m.SCM = "pdm-backend-scm"
	}
	if _, ok := doc["tool.setuptools_scm.version_file"]; ok && m.SCM == "" {
		m.SCM = "setuptools-scm"
	}
	return m, nil
}

// ParseSetupCfg reads [metadata] name and version from setup.cfg; "attr:" and "file:"
// versions are dynamic.
func ParseSetupCfg(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("setup.cfg larger than %d bytes", maxManifestSize)
	}
	m := &Manifest{File: "setup.cfg"}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.ToLower(strings.Trim(line, "[] "))
			continue
		}
		if section != "metadata" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			m.Name = normName(strings.TrimSpace(v))
		case "version":
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, "attr:") || strings.HasPrefix(v, "file:") {
				m.Dynamic = true
			} else {
				m.Version = v
			}
		}
	}
	if m.Name != "" && m.Version == "" {
		m.Dynamic = true
	}
	return m, nil
}

var (
	setupNameRE    = regexp.MustCompile(`(?m)\bname\s*=\s*['"]([A-Za-z0-9._-]+)['"]`)
	setupNameVarRE = regexp.MustCompile(`(?m)\bname\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*[,)]`)
	setupVersionRE = regexp.MustCompile(`(?m)\bversion\s*=\s*['"]([A-Za-z0-9._+!-]+)['"]`)
)

// setupConstant finds a module-level string constant (NAME = "colorama").
func setupConstant(data []byte, ident string) string {
	re, err := regexp.Compile(`(?m)^` + regexp.QuoteMeta(ident) + `\s*=\s*['"]([A-Za-z0-9._-]+)['"]`)
	if err != nil {
		return ""
	}
	if m := re.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// ParseSetupPy reads name= and version= string literals from setup.py, without running it.
// A version computed by code is reported as dynamic.
func ParseSetupPy(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("setup.py larger than %d bytes", maxManifestSize)
	}
	m := &Manifest{File: "setup.py"}
	if s := setupNameRE.FindSubmatch(data); s != nil {
		m.Name = normName(string(s[1]))
	} else if s := setupNameVarRE.FindSubmatch(data); s != nil {
		m.Name = normName(setupConstant(data, string(s[1])))
	}
	if s := setupVersionRE.FindSubmatch(data); s != nil {
		m.Version = string(s[1])
	} else {
		m.Dynamic = true
	}
	if bytes.Contains(data, []byte("use_scm_version")) {
		m.SCM, m.Dynamic, m.Version = "setuptools-scm", true, ""
	}
	return m, nil
}

// ParseManifest dispatches on the file's base name.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	switch {
	case strings.HasSuffix(file, "pyproject.toml"):
		return ParsePyproject(data)
	case strings.HasSuffix(file, "setup.cfg"):
		return ParseSetupCfg(data)
	case strings.HasSuffix(file, "setup.py"):
		return ParseSetupPy(data)
	}
	return nil, fmt.Errorf("unknown manifest %s", file)
}

func normName(n string) string {
	if n == "" {
		return ""
	}
	return pypi.Normalize(n)
}

// requirementName is the project name of a PEP 508 requirement ("setuptools>=61; python_version>'3'").
func requirementName(req string) string {
	req = strings.TrimSpace(req)
	return normName(req[:rawNameEnd(req)])
}

func rawNameEnd(req string) int {
	for i, c := range req {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return i
		}
	}
	return len(req)
}

// requirementSpec is the version specifier part of a PEP 508 requirement, without extras
// and markers ("setuptools[core]>=61,<70; python_version>'3'" -> ">=61,<70"). A URL
// requirement ("name @ https://...") has none.
func requirementSpec(req string) string {
	if i := strings.IndexByte(req, ';'); i >= 0 {
		req = req[:i]
	}
	req = strings.TrimSpace(req)
	req = req[rawNameEnd(req):]
	if strings.HasPrefix(req, "[") {
		if i := strings.IndexByte(req, ']'); i >= 0 {
			req = req[i+1:]
		}
	}
	req = strings.TrimSpace(req)
	if strings.HasPrefix(req, "@") {
		return ""
	}
	req = strings.TrimSuffix(strings.TrimPrefix(req, "("), ")")
	return strings.TrimSpace(req)
}
