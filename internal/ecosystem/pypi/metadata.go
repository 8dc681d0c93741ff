package pypi

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/source"
)

// headers are RFC 822-style fields (core metadata, WHEEL), in order, with continuation
// lines joined.
type headers [][2]string

func parseHeaders(data []byte) headers {
	var h headers
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	head, _, _ := strings.Cut(s, "\n\n")
	for _, line := range strings.Split(head, "\n") {
		if len(h) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			h[len(h)-1][1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h = append(h, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return h
}

func (h headers) get(k string) string {
	for _, kv := range h {
		if strings.EqualFold(kv[0], k) {
			return kv[1]
		}
	}
	return ""
}

func (h headers) all(k string) []string {
	var out []string
	for _, kv := range h {
		if strings.EqualFold(kv[0], k) {
			out = append(out, kv[1])
		}
	}
	return out
}

// coreMetadata finds a wheel's *.dist-info/METADATA or an sdist's top-level PKG-INFO.
func coreMetadata(a *archive.Archive) headers {
	for _, en := range a.Entries {
		dir, base := path.Split(en.Name)
		if en.Type != archive.TypeFile {
			continue
		}
		if (base == "METADATA" && strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1) ||
			(base == "PKG-INFO" && strings.Count(dir, "/") == 1) {
			return parseHeaders(en.Data)
		}
	}
	return nil
}

// wheelFile returns the parsed *.dist-info/WHEEL of a wheel.
func wheelFile(a *archive.Archive) headers {
	for _, en := range a.Entries {
		dir, base := path.Split(en.Name)
		if en.Type == archive.TypeFile && base == "WHEEL" && strings.HasSuffix(dir, ".dist-info/") && strings.Count(dir, "/") == 1 {
			return parseHeaders(en.Data)
		}
	}
	return nil
}

var generatorRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_.-]*)\s*\(?\s*([0-9][0-9A-Za-z.+!-]*)\s*\)?`)

// generatorBackends maps a WHEEL "Generator:" tool to the package to pin: bdist_wheel is the
// `wheel` package's command; flit writes "flit X" for flit_core too.
var generatorBackends = map[string]string{
	"bdist_wheel":  "wheel",
	"setuptools":   "setuptools",
	"flit":         "flit-core",
	"flit-core":    "flit-core",
	"hatchling":    "hatchling",
	"hatch":        "hatchling",
	"poetry-core":  "poetry-core",
	"poetry":       "poetry-core",
	"pdm-backend":  "pdm-backend",
	"pdm-pep517":   "pdm-pep517",
	"scikit-build": "scikit-build",
	"maturin":      "maturin",
	"uv-build":     "uv-build",
	"whey":         "whey",
}

// Generator is the tool that made a wheel, from its WHEEL file's "Generator:" line
// (https://packaging.python.org/en/latest/specifications/binary-distribution-format/#the-dist-info-directory).
type Generator struct {
	Raw     string // the line's value
	Package string // the PyPI project to pin ("" when unknown)
	Version string
	// Ambiguous: the name may not be Package's (check that Package has Version).
	Ambiguous bool
}

// ParseGenerator reads "bdist_wheel (0.41.2)", "hatchling 1.21.1", "flit 3.9.0",
// "poetry-core 1.9.0", "setuptools (75.1.0)", "pdm-backend (2.1.8)".
func ParseGenerator(v string) Generator {
	g := Generator{Raw: v}
	m := generatorRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return g
	}
	name := pypi.Normalize(m[1])
	if name == "bdist-wheel" {
		name = "bdist_wheel"
	}
	if pkg, ok := generatorBackends[name]; ok {
		g.Package, g.Version = pkg, m[2]
		// poetry-core 1.0.x wrote "poetry X" with its own version, and so did poetry < 1.1
		// with poetry's version: Infer keeps the pin only if that poetry-core release exists.
		g.Ambiguous = name == "poetry"
	}
	return g
}

// RepoCandidate is a repository URL the metadata names.
type RepoCandidate struct {
	URL, Dir string
	// Evidence: project_urls[<label>], home_page or description.
	Evidence string
	rank     int
}

// sourceLabels are project_urls labels that name the source repository (normalised:
// lowercase, letters only). PyPI's own list of well-known labels:
// https://docs.pypi.org/project_metadata/#well-known-labels.
var sourceLabels = map[string]bool{
	"source": true, "sourcecode": true, "repository": true, "repo": true, "code": true,
	"github": true, "gitlab": true, "git": true, "sourcerepository": true, "vcs": true,
	"scm": true, "codeberg": true, "bitbucket": true, "sources": true, "githubrepository": true,
}

var forgeHosts = map[string]bool{
	"github.com": true, "gitlab.com": true, "bitbucket.org": true,
	"codeberg.org": true, "git.sr.ht": true, "gitee.com": true,
}

var forgeLinkRE = regexp.MustCompile(`https?://(?:www\.)?(github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+`)

func label(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// repoCandidates ranks the repository URLs in the metadata: explicit source labels in
// project_urls, then the homepage or other project_urls on a known forge, then forge links
// in the description (those naming the project first, then the most frequent).
func repoCandidates(info pypi.Info) []RepoCandidate {
	var out []RepoCandidate
	seen := map[string]bool{}
	add := func(raw, evidence string, rank int, forgeOnly bool) {
		repo, dir, err := source.Canonicalize(raw)
		if err != nil || seen[repo] {
			return
		}
		host := strings.TrimPrefix(repo, "https://")
		host, _, _ = strings.Cut(host, "/")
		if forgeOnly && !forgeHosts[host] {
			return
		}
		if strings.Count(strings.TrimPrefix(repo, "https://"), "/") < 2 {
			return // a forge's user page, not a repository
		}
		seen[repo] = true
		out = append(out, RepoCandidate{URL: repo, Dir: dir, Evidence: evidence, rank: rank})
	}
	keys := make([]string, 0, len(info.ProjectURLs))
	for k := range info.ProjectURLs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sourceLabels[label(k)] {
			add(info.ProjectURLs[k], "project_urls["+k+"]", 1, false)
		}
	}
	for _, k := range keys {
		if l := label(k); l == "homepage" || l == "home" {
			add(info.ProjectURLs[k], "project_urls["+k+"]", 2, true)
		}
	}
	if info.HomePage != "" {
		add(info.HomePage, "home_page", 2, true)
	}
	for _, k := range keys {
		add(info.ProjectURLs[k], "project_urls["+k+"]", 3, true)
	}
	if info.DownloadURL != "" {
		add(info.DownloadURL, "download_url", 3, true)
	}
	links := forgeLinkRE.FindAllString(info.Description, 200)
	count := map[string]int{}
	var order []string
	for _, l := range links {
		repo, _, err := source.Canonicalize(l)
		if err != nil {
			continue
		}
		if count[repo] == 0 {
			order = append(order, repo)
		}
		count[repo]++
	}
	norm := pypi.Normalize(info.Name)
	sort.SliceStable(order, func(i, j int) bool {
		ni := pypi.Normalize(path.Base(order[i])) == norm
		nj := pypi.Normalize(path.Base(order[j])) == norm
		if ni != nj {
			return ni
		}
		return count[order[i]] > count[order[j]]
	})
	for _, repo := range order {
		// Badges and CI links point at shields.io etc.; only repositories named by links
		// to a forge remain, and only those whose name matches the project or are most linked.
		add(repo, "description", 4, true)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank < out[j].rank })
	return out
}
