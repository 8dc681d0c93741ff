package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Query says what to look for in a repository.
type Query struct {
	Repo    string // canonical repository URL
	DirHint string // package directory from metadata (npm repository.directory), "" if unknown
	Name    string
	Version string
	// Commit is a commit named by metadata, with the evidence name ("provenance", "gitHead").
	Commit         string
	CommitEvidence string
	// Manifest is the manifest file name ("package.json" when empty).
	Manifest string
	// ReadManifest extracts name and version from a manifest (package.json's when nil).
	ReadManifest func(data []byte) (name, version string, err error)
	// UpstreamFiles maps package-relative paths of the upstream artifact's files to their git
	// blob hashes (BlobHash); used by the content search.
	UpstreamFiles map[string]string
	// UpstreamManifest is the blob hash of the upstream artifact's manifest, "" if unknown.
	// It is not among UpstreamFiles (publishing tools rewrite manifests), but when it equals a
	// commit's it tells which of the commits after a tag the release was published from.
	UpstreamManifest string
}

// Search bounds (design §1.2): the history walked for manifests and contents.
const (
	maxManifestHistory = 2000
	maxContentHistory  = 2000
	maxManifests       = 2000 // manifests read when looking for a package directory
	// minContentScore is the share of upstream files found in the repository that must match.
	minContentScore = 0.9
	// maxContentValidations bounds the best-scoring commits validated.
	maxContentValidations = 20
)

// ReadPackageJSON reads name and version from a package.json.
func ReadPackageJSON(data []byte) (name, version string, err error) {
	var m struct {
		Name    any `json:"name"`
		Version any `json:"version"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", "", fmt.Errorf("package.json: %w", err)
	}
	name, _ = m.Name.(string)
	version, _ = m.Version.(string)
	return name, version, nil
}

// IsPlaceholderVersion reports versions that release tools write into the repository while the
// real version is set only at publish time (semantic-release, some CI scripts).
func IsPlaceholderVersion(v string) bool {
	l := strings.ToLower(v)
	return v == "" || strings.HasPrefix(l, "0.0.0") || strings.Contains(l, "semantic-release") ||
		strings.Contains(l, "semantically-released") || strings.Contains(l, "development") ||
		strings.Contains(l, "placeholder") || strings.Contains(l, "{{")
}

type locator struct {
	repo     *Repo
	q        Query
	manifest string
	read     func([]byte) (string, string, error)
	tried    []string
	// mismatch records a candidate whose manifest named another package or version.
	mismatch string
	noDir    bool
	found    *tagHit
	// staleTag: the commit being validated carries an exact release tag (see fromTags).
	staleTag bool
}

// candidate is a validated commit.
type candidate struct {
	dir         string
	placeholder bool // name matched; the manifest's version is a placeholder
	stale       bool // name matched; an exact release tag, the manifest's version not bumped
}

// Locate finds the commit and package directory of q.Name@q.Version in repo, trying in order:
// q.Commit, tags, the manifest's history and a content search. Every candidate is validated
// against the manifest at that commit. Failures are *verdict.Error with verdict no_source.
func Locate(ctx context.Context, repo *Repo, q Query) (definition.Location, error) {
	l := &locator{repo: repo, q: q, manifest: q.Manifest, read: q.ReadManifest}
	if l.manifest == "" {
		l.manifest = "package.json"
	}
	if l.read == nil {
		l.read = ReadPackageJSON
	}
	if q.Repo == "" {
		l.q.Repo = repo.URL
	}
	if d := cleanDir(q.DirHint); d != q.DirHint {
		l.q.DirHint = d
	}
	loc := func(commit string, c candidate, evidence string) definition.Location {
		switch {
		case c.stale:
			evidence += "(version not bumped in the repository)"
		case c.placeholder:
			evidence += "(version placeholder)"
		}
		return definition.Location{Repo: l.q.Repo, Ref: commit, Dir: c.dir, Evidence: evidence}
	}

	if q.Commit != "" {
		ev := q.CommitEvidence
		if ev == "" {
			ev = "gitHead"
		}
		commit, err := repo.ResolveCommit(ctx, q.Commit)
		if err != nil || !strings.HasPrefix(commit, strings.ToLower(q.Commit)) {
			l.tried = append(l.tried, fmt.Sprintf("%s commit %.12s (not in the repository)", ev, q.Commit))
		} else if c, ok := l.validate(ctx, commit, true, ev+" "+commit[:12]); ok {
			return loc(commit, c, ev), nil
		}
	}

	if err := l.fromTags(ctx); err != nil {
		return definition.Location{}, err
	} else if l.found != nil {
		if commit, c, ok := l.laterThanTag(ctx, l.found); ok {
			return loc(commit, c, "content_search(after "+strings.Replace(l.found.evidence(), ":", " ", 1)+")"), nil
		}
		if commit, c, ok := l.earlierThanTag(ctx, l.found); ok {
			return loc(commit, c, "content_search(before "+strings.Replace(l.found.evidence(), ":", " ", 1)+")"), nil
		}
		return loc(l.found.commit, l.found.c, l.found.evidence()), nil
	}

	dir, dirOK := l.packageDir(ctx)
	if dirOK {
		if commit, c, ok := l.fromManifestHistory(ctx, dir); ok {
			return loc(commit, c, "manifest_history"), nil
		}
		if commit, c, ok := l.fromContent(ctx, dir); ok {
			return loc(commit, c, "content_search"), nil
		}
	}
	return definition.Location{}, l.failure()
}

type tagHit struct {
	tag, commit string
	branch      bool // tag names a branch (a release branch named after the version)
	c           candidate
}

// evidence names the hit as Location.Evidence does: "tag:v1.2.3" or "branch:v1.2.3".
func (h *tagHit) evidence() string {
	if h.branch {
		return "branch:" + h.tag
	}
	return "tag:" + h.tag
}

func (l *locator) fromTags(ctx context.Context) error {
	tags, err := l.repo.Tags(ctx)
	if err != nil {
		return verdict.Wrap(verdict.NoSource, verdict.ReasonCloneFailed, "reading tags of "+l.q.Repo, err)
	}
	matched := MatchTags(tags, l.q.Name, l.q.Version)
	if len(matched) == 0 {
		var shown []string // the common forms, not the rarer "-npm" distribution tags
		for _, c := range TagCandidates(l.q.Name, l.q.Version) {
			if len(shown) < 3 && !strings.HasSuffix(c, "-npm") {
				shown = append(shown, c)
			}
		}
		l.tried = append(l.tried, fmt.Sprintf("tags %s (none present)", strings.Join(shown, ", ")+", ..."))
		return l.fromReleaseBranch(ctx)
	}
	for _, tag := range matched {
		// A tag naming exactly this version is the maintainer's word that the commit is the
		// release; semantic-release and similar tools publish without committing the bumped
		// version, so an older version in a single-package repository's manifest is accepted
		// there (the build sets the published one).
		l.staleTag = tag == l.q.Version || tag == "v"+l.q.Version || tag == l.q.Name+"@"+l.q.Version
		c, ok := l.validate(ctx, tags[tag], false, "tag "+tag)
		l.staleTag = false
		if ok {
			l.found = &tagHit{tag: tag, commit: tags[tag], c: c}
			return nil
		}
	}
	return nil
}

// fromReleaseBranch looks for a branch named like a release tag ("v1.4.8"): some projects
// keep a maintenance release on a branch of its own and never tag it (node-uuid 1.4.8, on a
// branch of the repository that became uuid). The branch's tip must have the version.
func (l *locator) fromReleaseBranch(ctx context.Context) error {
	branches, err := l.repo.Branches(ctx)
	if err != nil {
		return nil
	}
	byName := make(map[string]string, len(branches))
	for _, b := range branches {
		byName[b.Name] = b.Commit
	}
	for _, name := range MatchTags(byName, l.q.Name, l.q.Version) {
		l.staleTag = false
		if c, ok := l.validate(ctx, byName[name], false, "branch "+name); ok {
			l.found = &tagHit{tag: name, commit: byName[name], branch: true, c: c}
			return nil
		}
	}
	return nil
}

// packageDir is the package directory to search history in: the hint, the root when its
// manifest names the package, or the directory whose manifest does at the default branch.
func (l *locator) packageDir(ctx context.Context) (string, bool) {
	if l.q.DirHint != "" {
		return l.q.DirHint, true
	}
	head, err := l.repo.ResolveCommit(ctx, "HEAD")
	if err != nil {
		l.tried = append(l.tried, "manifest history (repository has no default branch)")
		return "", false
	}
	if data, err := l.repo.ReadFile(ctx, head, l.manifest); err == nil {
		if name, _, err := l.read(data); err == nil && name == l.q.Name {
			return "", true
		}
	}
	dir, found := l.findDir(ctx, head)
	if !found {
		if dir, found = l.findDirOnBranches(ctx, head); found {
			return dir, true
		}
		l.noDir = true
		l.tried = append(l.tried, fmt.Sprintf("no %s naming %s on the default branch or in a directory named after it on another branch", l.manifest, l.q.Name))
		return "", false
	}
	return dir, true
}

// maxBranchesSearched bounds the branches findDirOnBranches looks at.
const maxBranchesSearched = 100

// findDirOnBranches looks at the tips of the other branches for a directory named after the
// package whose manifest names it: generated per-package distributions live on branches of
// their own (lodash's npm-packages branch holds lodash.get/, lodash.set/, ...). Only manifests
// in such directories are read, so a repository with many branches stays cheap.
func (l *locator) findDirOnBranches(ctx context.Context, head string) (string, bool) {
	branches, err := l.repo.Branches(ctx)
	if err != nil {
		return "", false
	}
	base := l.q.Name
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	seen := map[string]bool{head: true}
	for i, b := range branches {
		if i >= maxBranchesSearched || ctx.Err() != nil {
			break
		}
		if seen[b.Commit] {
			continue
		}
		seen[b.Commit] = true
		files, err := l.repo.ListFiles(ctx, b.Commit, "")
		if err != nil {
			continue
		}
		var paths []string
		for p := range files {
			if path.Base(p) == l.manifest && path.Base(path.Dir(p)) == base && !strings.Contains("/"+p, "/node_modules/") {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		for _, p := range paths {
			data, err := l.repo.ReadFile(ctx, b.Commit, p)
			if err != nil {
				continue
			}
			if name, _, err := l.read(data); err == nil && name == l.q.Name {
				l.tried = append(l.tried, fmt.Sprintf("package directory %s found on branch %s", path.Dir(p), b.Name))
				return path.Dir(p), true
			}
		}
	}
	return "", false
}

// findDir looks through every manifest at commit (outside node_modules) for one naming the
// package; when several do, one with the right version and then the shallowest wins.
func (l *locator) findDir(ctx context.Context, commit string) (string, bool) {
	files, err := l.repo.ListFiles(ctx, commit, "")
	if err != nil {
		return "", false
	}
	var paths []string
	for p := range files {
		if path.Base(p) != l.manifest || p == l.manifest {
			continue
		}
		if strings.Contains("/"+p, "/node_modules/") {
			continue
		}
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool {
		di, dj := strings.Count(paths[i], "/"), strings.Count(paths[j], "/")
		if di != dj {
			return di < dj
		}
		return paths[i] < paths[j]
	})
	if len(paths) > maxManifests {
		paths = paths[:maxManifests]
	}
	oids := make([]string, len(paths))
	for i, p := range paths {
		oids[i] = files[p]
	}
	_ = l.repo.Prefetch(ctx, oids)
	best := ""
	for _, p := range paths {
		data, err := l.repo.ReadFile(ctx, commit, p)
		if err != nil {
			continue
		}
		name, version, err := l.read(data)
		if err != nil || name != l.q.Name {
			continue
		}
		if version == l.q.Version {
			return path.Dir(p), true
		}
		if best == "" {
			best = path.Dir(p)
		}
	}
	return best, best != ""
}

// validate checks the manifest at commit names the package and version. With
// allowPlaceholder, a placeholder version in the repository is accepted (and flagged).
func (l *locator) validate(ctx context.Context, commit string, allowPlaceholder bool, what string) (candidate, bool) {
	dir := l.q.DirHint
	data, err := l.repo.ReadFile(ctx, commit, path.Join(dir, l.manifest))
	var name, version string
	if err == nil {
		name, version, err = l.read(data)
	}
	if err != nil || name != l.q.Name {
		// A monorepo without a directory hint, or with a wrong one (redux-saga's metadata
		// names packages/core, @redux-saga/core's directory): find the package's directory
		// at this commit.
		if d, ok := l.findDir(ctx, commit); ok {
			dir = d
			if data, err = l.repo.ReadFile(ctx, commit, path.Join(dir, l.manifest)); err == nil {
				name, version, err = l.read(data)
			}
		}
	}
	where := path.Join(dir, l.manifest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.tried = append(l.tried, fmt.Sprintf("%s (no %s)", what, where))
		if l.q.DirHint != "" {
			l.noDir = true
		}
		return candidate{}, false
	case err != nil:
		l.tried = append(l.tried, fmt.Sprintf("%s (%s unreadable: %v)", what, where, err))
		return candidate{}, false
	case name == l.q.Name && version != l.q.Version && l.staleTag && (dir == "" || dir == ".") && olderVersion(version, l.q.Version):
		return candidate{dir: "", placeholder: true, stale: true}, true
	case name != l.q.Name || (version != l.q.Version && !(allowPlaceholder && IsPlaceholderVersion(version))):
		l.tried = append(l.tried, fmt.Sprintf("%s (%s names %s@%s)", what, where, name, version))
		l.mismatch = fmt.Sprintf("%s: %s names %s@%s", what, where, name, version)
		return candidate{}, false
	}
	if dir == "." {
		dir = ""
	}
	return candidate{dir: dir, placeholder: version != l.q.Version}, true
}

// fromManifestHistory walks the commits that changed the manifest, newest first, and picks
// the commit that set the version: the oldest of the newest run of commits whose manifest
// has it. That is the release commit in `npm version`, lerna and changesets workflows.
func (l *locator) fromManifestHistory(ctx context.Context, dir string) (string, candidate, bool) {
	mpath := path.Join(dir, l.manifest)
	commits, err := l.repo.FileHistory(ctx, mpath, maxManifestHistory)
	if err != nil || len(commits) == 0 {
		if err == nil {
			l.noDir = true // no branch or tag ever had this manifest
		}
		l.tried = append(l.tried, fmt.Sprintf("manifest history of %s (no commits)", mpath))
		return "", candidate{}, false
	}
	// One request for every version of the manifest, not one per commit (partial mirrors).
	if blobs, err := l.repo.FileBlobs(ctx, mpath, maxManifestHistory); err == nil {
		_ = l.repo.Prefetch(ctx, slices.Collect(maps.Values(blobs)))
	}
	setBy := ""
	for _, c := range commits {
		data, err := l.repo.ReadFile(ctx, c, mpath)
		if err != nil {
			if setBy != "" {
				break
			}
			continue
		}
		name, version, err := l.read(data)
		if err == nil && name == l.q.Name && version == l.q.Version {
			setBy = c
			continue
		}
		if setBy != "" {
			break // the commit before setBy had another version: setBy set it
		}
	}
	if setBy == "" {
		l.tried = append(l.tried, fmt.Sprintf("manifest history of %s (%d commits, none with %s@%s)", mpath, len(commits), l.q.Name, l.q.Version))
		return "", candidate{}, false
	}
	c, ok := l.validate(ctx, setBy, false, "manifest history commit "+setBy[:12])
	return setBy, c, ok
}

// maxAfterTag bounds the commits after a release tag that laterThanTag scores.
const maxAfterTag = 200

// laterThanTag handles a release published from a commit after its tag (the maintainer tagged,
// then committed release files, then published): when some upstream files differ from the
// tag's, the commits after the tag (descending from it, on any branch) that touch the package
// directory are scored by content, and the best one that matches more upstream files than the
// tag and still has the version wins.
func (l *locator) laterThanTag(ctx context.Context, hit *tagHit) (string, candidate, bool) {
	if len(l.q.UpstreamFiles) == 0 {
		return "", candidate{}, false
	}
	dir := hit.c.dir
	at, ok := l.score(ctx, hit.commit, dir)
	if !ok || at.present == 0 {
		return "", candidate{}, false
	}
	if at.matched == at.present {
		return l.manifestAfterTag(ctx, hit, at)
	}
	args := []string{"rev-list", "--reverse", "--ancestry-path", "--branches", "^" + hit.commit}
	if d := cleanDir(dir); d != "" {
		args = append(args, "--", d)
	}
	out, err := l.repo.git(ctx, args...)
	if err != nil {
		return "", candidate{}, false
	}
	var best scored
	for i, c := range strings.Fields(string(out)) {
		if i >= maxAfterTag || ctx.Err() != nil {
			break
		}
		// Files matched less files that differ: a later commit that changed published files
		// again does not win by matching one more.
		if s, ok := l.score(ctx, c, dir); ok && net(s) > net(at) && (best.commit == "" || net(s) > net(best)) {
			best = s
		}
	}
	if best.commit == "" {
		return "", candidate{}, false
	}
	saved := l.tried
	c, ok := l.validate(ctx, best.commit, false, fmt.Sprintf("commit %s after tag %s (%d/%d files)", best.commit[:12], hit.tag, best.matched, best.present))
	if !ok || c.dir != hit.c.dir {
		l.tried = saved
		return "", candidate{}, false
	}
	return best.commit, c, true
}

func net(s scored) int { return 2*s.matched - s.present }

// earlierThanTag handles a tag set after the release (the maintainer tagged a later commit,
// after more changes had landed): when some upstream files differ from the tag's and no later
// commit matches better, the tag's ancestors that touch the package directory (within
// maxAfterTag) are scored by content, and the best ones that match more upstream files than
// the tag are tried in turn: the first that still has the version wins.
func (l *locator) earlierThanTag(ctx context.Context, hit *tagHit) (string, candidate, bool) {
	if len(l.q.UpstreamFiles) == 0 || hit.branch {
		return "", candidate{}, false
	}
	dir := hit.c.dir
	at, ok := l.score(ctx, hit.commit, dir)
	if !ok || at.present == 0 || at.matched == at.present {
		return "", candidate{}, false
	}
	args := []string{"rev-list", fmt.Sprintf("--max-count=%d", maxAfterTag), hit.commit + "^@"}
	if d := cleanDir(dir); d != "" {
		args = append(args, "--", d)
	}
	out, err := l.repo.git(ctx, args...)
	if err != nil {
		return "", candidate{}, false
	}
	var better []scored
	for i, c := range strings.Fields(string(out)) {
		if ctx.Err() != nil {
			break
		}
		if s, ok := l.score(ctx, c, dir); ok && net(s) > net(at) {
			s.order = i
			better = append(better, s)
		}
	}
	// The best match first; among equals, one whose manifest is the published one (a
	// dependency bump after the release changes only package.json), then the oldest: the
	// release is published right after its version bump, and commits after it that leave the
	// published files alone still change what builds them (a lockfile's bumped dependency).
	mpath := path.Join(cleanDir(dir), l.manifest)
	sameManifest := map[string]bool{}
	if l.q.UpstreamManifest != "" && len(better) > 1 {
		for _, b := range better {
			if blob, ok := l.blobAt(ctx, b.commit, mpath); ok && blob == l.q.UpstreamManifest {
				sameManifest[b.commit] = true
			}
		}
	}
	sort.SliceStable(better, func(i, j int) bool {
		if ni, nj := net(better[i]), net(better[j]); ni != nj {
			return ni > nj
		}
		if si, sj := sameManifest[better[i].commit], sameManifest[better[j].commit]; si != sj {
			return si
		}
		return better[i].order > better[j].order
	})
	for _, b := range better[:min(3, len(better))] {
		saved := l.tried
		c, ok := l.validate(ctx, b.commit, false, fmt.Sprintf("commit %s before tag %s (%d/%d files)", b.commit[:12], hit.tag, b.matched, b.present))
		if ok && c.dir == hit.c.dir {
			return b.commit, c, true
		}
		l.tried = saved
	}
	return "", candidate{}, false
}

// manifestAfterTag handles a release whose files are all the tag's but whose manifest is not:
// published from a later commit that changed only package.json (the maintainer tagged, then
// dropped a devDependency, then published). The first commit after the tag, within
// maxAfterTag, that still has every upstream file and has exactly the upstream manifest wins.
func (l *locator) manifestAfterTag(ctx context.Context, hit *tagHit, at scored) (string, candidate, bool) {
	if l.q.UpstreamManifest == "" {
		return "", candidate{}, false
	}
	mpath := path.Join(cleanDir(hit.c.dir), l.manifest)
	if tagged, ok := l.blobAt(ctx, hit.commit, mpath); !ok || tagged == l.q.UpstreamManifest {
		return "", candidate{}, false
	}
	out, err := l.repo.git(ctx, "rev-list", "--reverse", "--ancestry-path", "--branches", "^"+hit.commit, "--", mpath)
	if err != nil {
		return "", candidate{}, false
	}
	// The manifest each of those commits left, from one walk of its history.
	blobs, err := l.repo.FileBlobs(ctx, mpath, maxManifestHistory)
	if err != nil {
		return "", candidate{}, false
	}
	for i, c := range strings.Fields(string(out)) {
		if i >= maxAfterTag || ctx.Err() != nil {
			break
		}
		if blobs[c] != l.q.UpstreamManifest {
			continue
		}
		if s, ok := l.score(ctx, c, hit.c.dir); !ok || s.matched != at.matched || s.present != at.present {
			continue
		}
		saved := l.tried
		cand, ok := l.validate(ctx, c, false, fmt.Sprintf("commit %s after tag %s (%s as published)", c[:12], hit.tag, l.manifest))
		if !ok || cand.dir != hit.c.dir {
			l.tried = saved
			continue
		}
		return c, cand, true
	}
	return "", candidate{}, false
}

// blobAt is the blob hash of the file p at commit.
func (l *locator) blobAt(ctx context.Context, commit, p string) (string, bool) {
	out, err := l.repo.git(ctx, "rev-parse", "--verify", "--quiet", commit+":"+p)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// score counts the upstream files present in dir at commit and those with upstream's content.
func (l *locator) score(ctx context.Context, commit, dir string) (scored, bool) {
	files, err := l.repo.ListFiles(ctx, commit, dir)
	if err != nil {
		return scored{}, false
	}
	s := scored{commit: commit}
	for p, want := range l.q.UpstreamFiles {
		if got, ok := files[p]; ok {
			s.present++
			if got == want {
				s.matched++
			}
		}
	}
	return s, true
}

type scored struct {
	commit  string
	matched int
	present int
	score   float64
	order   int // index in the history, 0 = newest
}

// fromContent scores the commits that touched the package directory by how many of the
// upstream files present in the repository have exactly the upstream content.
func (l *locator) fromContent(ctx context.Context, dir string) (string, candidate, bool) {
	if len(l.q.UpstreamFiles) == 0 {
		l.tried = append(l.tried, "content search (no upstream file hashes)")
		return "", candidate{}, false
	}
	commits, err := l.repo.FileHistory(ctx, dir, maxContentHistory)
	if err != nil || len(commits) == 0 {
		l.tried = append(l.tried, "content search (no history)")
		return "", candidate{}, false
	}
	var all []scored
	for i, c := range commits {
		if ctx.Err() != nil {
			break
		}
		files, err := l.repo.ListFiles(ctx, c, dir)
		if err != nil {
			continue
		}
		s := scored{commit: c, order: i}
		for p, want := range l.q.UpstreamFiles {
			got, ok := files[p]
			if !ok {
				continue
			}
			s.present++
			if got == want {
				s.matched++
			}
		}
		if s.present > 0 {
			s.score = float64(s.matched) / float64(s.present)
		}
		all = append(all, s)
	}
	// Best score, then most files matched; among equals the oldest, which is closest to
	// the commit that set the version (later commits touching only other files tie).
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.matched != b.matched {
			return a.matched > b.matched
		}
		return a.order > b.order
	})
	for i, s := range all {
		if i >= maxContentValidations || s.score < minContentScore || s.matched == 0 {
			break
		}
		if c, ok := l.validate(ctx, s.commit, true, fmt.Sprintf("content search commit %s (%d/%d files)", s.commit[:12], s.matched, s.present)); ok {
			return s.commit, c, true
		}
	}
	best := "no commit"
	if len(all) > 0 {
		best = fmt.Sprintf("best %d/%d files at %s", all[0].matched, all[0].present, all[0].commit[:12])
	}
	l.tried = append(l.tried, fmt.Sprintf("content search over %d commits (%s)", len(all), best))
	return "", candidate{}, false
}

func (l *locator) failure() error {
	what := fmt.Sprintf("no commit of %s found for %s@%s; tried: %s", l.q.Repo, l.q.Name, l.q.Version, strings.Join(l.tried, "; "))
	switch {
	case l.mismatch != "":
		return verdict.Errorf(verdict.NoSource, verdict.ReasonManifestMismatch, "%s", what)
	case l.noDir:
		return verdict.Errorf(verdict.NoSource, verdict.ReasonNoPackageDir, "%s", what)
	default:
		return verdict.Errorf(verdict.NoSource, verdict.ReasonNoGitRef, "%s", what)
	}
}

// olderVersion reports whether semantic version a is lower than b (major.minor.patch; a
// prerelease of the same core counts as lower). Unparsable versions are never older.
func olderVersion(a, b string) bool {
	pa, preA, okA := coreVersion(a)
	pb, _, okB := coreVersion(b)
	if !okA || !okB {
		return false
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return preA
}

func coreVersion(v string) ([3]int, bool, bool) {
	var n [3]int
	core, pre, _ := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return n, false, false
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return n, false, false
		}
		n[i] = x
	}
	return n, pre != "", true
}
