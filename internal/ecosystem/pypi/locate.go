package pypi

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// manifestFiles are the build configurations that name a Python project, most reliable first.
var manifestFiles = []string{"pyproject.toml", "setup.cfg", "setup.py"}

// maxRepoCandidates bounds the repositories tried for one package.
const maxRepoCandidates = 3

// maxManifestReads bounds the manifests read when looking for the project's directory.
const maxManifestReads = 500

// Locate finds the source: a commit of the repository the metadata names (tags, then the
// manifest's history, then a content search against the sdist's files), or, for wheels,
// the registry's own sdist when VOUCH_PYPI_SOURCE=sdist or (auto) no commit was found.
func (e *Ecosystem) Locate(ctx context.Context, up *ecosystem.Upstream, mirrors *source.Mirrors) (definition.Location, error) {
	m := meta(up)
	isWheel := strings.HasSuffix(up.Artifact, ".whl")
	if e.SourceMode == SourceSdist {
		if !isWheel {
			return definition.Location{}, verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL, "%s is the sdist itself: rebuilding it from the sdist proves nothing (use VOUCH_PYPI_SOURCE=repo)", up.Artifact)
		}
		return sdistLocation(up)
	}
	loc, err := e.locateRepo(ctx, up, mirrors)
	if err == nil {
		return loc, nil
	}
	if e.SourceMode == SourceAuto && isWheel && m.Sdist != nil {
		if sl, serr := sdistLocation(up); serr == nil {
			m.Notes = append(m.Notes, "no repository commit: "+err.Error(), "rebuilding the wheel from the registry's sdist instead: a match shows the wheel was built from the published sdist, not from the repository")
			return sl, nil
		}
	}
	return definition.Location{}, err
}

func sdistLocation(up *ecosystem.Upstream) (definition.Location, error) {
	m := meta(up)
	if m.Sdist == nil || m.Sdist.SHA256() == "" {
		return definition.Location{}, verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL, "%s %s has no sdist to rebuild the wheel from", up.Target.Name, up.Target.Version)
	}
	return definition.Location{Repo: m.Sdist.URL, Ref: m.Sdist.SHA256(), Evidence: EvidenceSdist}, nil
}

func (e *Ecosystem) locateRepo(ctx context.Context, up *ecosystem.Upstream, mirrors *source.Mirrors) (definition.Location, error) {
	m := meta(up)
	name := pypi.Normalize(up.Target.Name)
	if len(m.RepoCandidates) == 0 {
		return definition.Location{}, verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL,
			"%s %s names no repository (project_urls, home_page and description have no repository link)", name, up.Target.Version)
	}
	files := e.upstreamBlobs(ctx, up)
	var errs []string
	var firstErr error
	for i, c := range m.RepoCandidates {
		if i >= maxRepoCandidates {
			break
		}
		repo, err := mirrors.Sync(ctx, c.URL)
		if err == nil {
			var loc definition.Location
			loc, err = locateIn(ctx, repo, c, name, up.Target.Version, files)
			if err == nil {
				m.RepoEvidence = c.Evidence
				return loc, nil
			}
		}
		if firstErr == nil {
			firstErr = err
		}
		errs = append(errs, fmt.Sprintf("%s (%s): %v", c.URL, c.Evidence, err))
	}
	if len(errs) == 1 {
		return definition.Location{}, firstErr
	}
	reason := verdict.ReasonNoGitRef
	if ve, ok := verdict.As(firstErr); ok {
		reason = ve.Reason
	}
	return definition.Location{}, verdict.Errorf(verdict.NoSource, reason, "no commit found in %d repositories: %s", len(errs), strings.Join(errs, "; "))
}

// locateIn finds the commit in one repository: a version tag whose manifest names the
// project (a dynamic version is accepted there, and the evidence says so), else
// source.Locate on the manifest that names the project.
func locateIn(ctx context.Context, repo *source.Repo, c RepoCandidate, name, version string, files map[string]string) (definition.Location, error) {
	tags, err := repo.Tags(ctx)
	if err != nil {
		return definition.Location{}, verdict.Wrap(verdict.NoSource, verdict.ReasonCloneFailed, "reading tags of "+repo.URL, err)
	}
	var tried []string
	for _, tag := range tagMatches(tags, name, version) {
		dir, mf, man, ok := findProject(ctx, repo, tags[tag], c.Dir, name)
		if !ok {
			// A setup.py at the root whose name is computed cannot be read statically; the
			// version tag is then the evidence, and it says so.
			if data, err := repo.ReadFile(ctx, tags[tag], path.Join(c.Dir, "setup.py")); err == nil {
				if m, err := ParseSetupPy(data); err == nil && m.Name == "" {
					return definition.Location{Repo: repo.URL, Ref: tags[tag], Dir: c.Dir, Evidence: "tag:" + tag + "(name not static)"}, nil
				}
			}
			tried = append(tried, fmt.Sprintf("tag %s (no manifest naming %s)", tag, name))
			continue
		}
		if man.Version != "" && !sameVersion(man.Version, version) {
			tried = append(tried, fmt.Sprintf("tag %s (%s says version %s)", tag, path.Join(dir, mf), man.Version))
			continue
		}
		ev := "tag:" + tag
		if man.Version == "" {
			ev += "(dynamic version)"
		}
		return definition.Location{Repo: repo.URL, Ref: tags[tag], Dir: dir, Evidence: ev}, nil
	}
	// No tag: history and content search on the manifest that names the project.
	head, err := repo.ResolveCommit(ctx, "HEAD")
	dirHint, mf := c.Dir, "pyproject.toml"
	if err == nil {
		if d, f, _, ok := findProject(ctx, repo, head, c.Dir, name); ok {
			dirHint, mf = d, f
		}
	}
	loc, err := source.Locate(ctx, repo, source.Query{
		Repo:     repo.URL,
		DirHint:  dirHint,
		Name:     name,
		Version:  version,
		Manifest: mf,
		ReadManifest: func(b []byte) (string, string, error) {
			man, err := ParseManifest(mf, b)
			if err != nil {
				return "", "", err
			}
			v := man.Version
			if v != "" && sameVersion(v, version) {
				v = version
			}
			return man.Name, v, nil
		},
		UpstreamFiles: files,
	})
	if err != nil && len(tried) > 0 {
		if ve, ok := verdict.As(err); ok {
			return definition.Location{}, verdict.Errorf(ve.Verdict, ve.Reason, "%s; also tried %s", ve.Msg, strings.Join(tried, "; "))
		}
	}
	if err == nil && strings.Contains(loc.Evidence, "placeholder") {
		loc.Evidence = strings.Replace(loc.Evidence, "(version placeholder)", "(dynamic version)", 1)
	}
	return loc, err
}

// tagMatches lists tags naming version, in source.TagCandidates order, with PEP 440
// spellings of the version tried too (1.0.0 and 1.0, v1.0.0rc1 and v1.0.0-rc1).
func tagMatches(tags map[string]string, name, version string) []string {
	var out []string
	seen := map[string]bool{}
	variants := []string{version}
	if strings.HasSuffix(version, ".0") {
		variants = append(variants, strings.TrimSuffix(version, ".0"))
	}
	for _, v := range variants {
		for _, t := range source.MatchTags(tags, name, v) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
		// Projects tag with the distribution name as written (my_pkg-1.0, my-pkg-v1.0).
		for _, alt := range []string{strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "-", ".")} {
			if alt == name {
				continue
			}
			for _, t := range source.MatchTags(tags, alt, v) {
				if !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
		}
	}
	return out
}

func sameVersion(a, b string) bool {
	if a == b {
		return true
	}
	va, ok1 := parsePEP440(a)
	vb, ok2 := parsePEP440(b)
	return ok1 && ok2 && va.cmp(vb) == 0 && !va.pre && !vb.pre
}

// findProject finds the directory and manifest that name the project at commit: the hint,
// the root, then any directory (shallowest first).
func findProject(ctx context.Context, repo *source.Repo, commit, hint, name string) (string, string, *Manifest, bool) {
	try := func(dir string) (string, *Manifest, bool) {
		for _, mf := range manifestFiles {
			data, err := repo.ReadFile(ctx, commit, path.Join(dir, mf))
			if err != nil {
				continue
			}
			man, err := ParseManifest(mf, data)
			if err == nil && man.Name == name {
				return mf, man, true
			}
		}
		return "", nil, false
	}
	for _, d := range []string{hint, ""} {
		if d == "" && hint != "" {
			continue
		}
		if mf, man, ok := try(d); ok {
			return d, mf, man, true
		}
	}
	all, err := repo.ListFiles(ctx, commit, "")
	if err != nil {
		return "", "", nil, false
	}
	var dirs []string
	seen := map[string]bool{}
	for p := range all {
		base := path.Base(p)
		if p == base || (base != "pyproject.toml" && base != "setup.cfg" && base != "setup.py") {
			continue
		}
		d := path.Dir(p)
		if seen[d] || strings.Contains("/"+d+"/", "/tests/") || strings.Contains("/"+d+"/", "/test/") {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool {
		ci, cj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
		if ci != cj {
			return ci < cj
		}
		return dirs[i] < dirs[j]
	})
	for i, d := range dirs {
		if i >= maxManifestReads {
			break
		}
		if mf, man, ok := try(d); ok {
			return d, mf, man, true
		}
	}
	return "", "", nil, false
}

// upstreamBlobs maps the project-relative paths of the sdist's files (or, without an sdist,
// the wheel's files outside *.dist-info) to git blob hashes for the content search. Files
// that build tools write (PKG-INFO, *.egg-info, setup.cfg's egg_info tags) are left out.
func (e *Ecosystem) upstreamBlobs(ctx context.Context, up *ecosystem.Upstream) map[string]string {
	m := meta(up)
	p := up.Path
	isSdist := !strings.HasSuffix(up.Artifact, ".whl")
	if !isSdist && m.Sdist != nil {
		if art, err := e.Client.Download(ctx, *m.Sdist, filepath.Join(e.CacheDir, "artifacts", "pypi")); err == nil {
			p, isSdist = art.Path, true
		}
	}
	a, err := archive.ReadFile(p, archive.DefaultLimits)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	top := ""
	if isSdist {
		top = topDir(a)
		if top == "" {
			return nil
		}
		top += "/"
	}
	for _, en := range a.Entries {
		if en.Type != archive.TypeFile || !strings.HasPrefix(en.Name, top) {
			continue
		}
		rel := strings.TrimPrefix(en.Name, top)
		first, _, _ := strings.Cut(rel, "/")
		if rel == "PKG-INFO" || rel == "setup.cfg" || strings.HasSuffix(first, ".egg-info") || strings.HasSuffix(first, ".dist-info") ||
			strings.Contains(rel, ".egg-info/") {
			continue
		}
		out[rel] = source.BlobHash(en.Data)
	}
	return out
}
