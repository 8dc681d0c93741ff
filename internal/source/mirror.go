package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// Mirrors keeps one bare mirror per repository under Root, at Root/<host>/<path>.git.
// Repositories are fetched with the system git, so the user's git configuration applies —
// notably url.<base>.insteadOf, which is how users point vouch at local mirrors.
// A Mirrors is meant to live as long as the process; it is safe for concurrent use.
type Mirrors struct {
	Root string
	// FetchInterval is how long a fetched mirror counts as fresh. Zero: fetch at most once
	// per Mirrors value (once per process for the CLI).
	FetchInterval time.Duration
	// MaxAge lets a mirror fetched by another process count as fresh for that long (a stamp
	// file beside the mirror records the last successful fetch). Zero: always fetch once.
	MaxAge time.Duration

	mu      sync.Mutex
	fetched map[string]time.Time
	// failed remembers mirrors that could not be fetched in this process, so a batch with
	// many versions of one broken repository does not retry it for every target.
	failed map[string]error
	locks  map[string]*sync.Mutex
}

// Repo is a synchronised bare mirror of one repository.
type Repo struct {
	// URL is the canonical repository URL.
	URL string
	// Dir is the bare repository. Checkouts borrow its objects (objects/info/alternates), so a
	// sandbox that wants a working .git must make Dir readable at the same path.
	Dir string

	partialOnce sync.Once
	isPartial   bool
}

// MaxFileSize bounds ReadFile.
const MaxFileSize = 64 << 20

// repoLock serialises work on one mirror within the process.
func (m *Mirrors) repoLock(dir string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks == nil {
		m.locks = map[string]*sync.Mutex{}
	}
	l := m.locks[dir]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[dir] = l
	}
	return l
}

func (m *Mirrors) fresh(dir string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.fetched[dir]
	return ok && (m.FetchInterval == 0 || time.Since(t) < m.FetchInterval)
}

func (m *Mirrors) markFetched(dir string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fetched == nil {
		m.fetched = map[string]time.Time{}
	}
	m.fetched[dir] = time.Now()
}

// fail records err for mirror unless the failure came from the caller giving up.
func (m *Mirrors) fail(ctx context.Context, mirror string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failed == nil {
		m.failed = map[string]error{}
	}
	m.failed[mirror] = err
	return err
}

func cloneFailed(repo string, err error) error {
	e := verdict.Wrap(verdict.NoSource, verdict.ReasonCloneFailed, "fetching "+repo, err)
	e.Msg += " (to use a local copy: git config --global url.<path-to-copy>.insteadOf " + repo + ")"
	return e
}

// Sync makes the mirror of repo (a canonical URL, see Canonicalize) current: cloned the first
// time, fetched (with pruning) at most once per FetchInterval. A file lock keeps two
// processes from fetching the same mirror at once.
func (m *Mirrors) Sync(ctx context.Context, repo string) (*Repo, error) {
	if m.Root == "" {
		return nil, errors.New("source: Mirrors.Root is not set")
	}
	canon, dir, err := Canonicalize(repo)
	if err != nil {
		return nil, err
	}
	if canon != repo || dir != "" {
		return nil, verdict.Errorf(verdict.NoSource, verdict.ReasonUnsupportedRepo, "repository %q is not canonical (%s)", safeShow(repo), canon)
	}
	rel := strings.TrimPrefix(canon, "https://")
	rel = strings.ReplaceAll(rel, ":", "_") // host:port
	mirror := filepath.Join(m.Root, filepath.FromSlash(rel)+".git")
	r := &Repo{URL: canon, Dir: mirror}

	l := m.repoLock(mirror)
	l.Lock()
	defer l.Unlock()
	if m.fresh(mirror) {
		return r, nil
	}
	m.mu.Lock()
	prev := m.failed[mirror]
	m.mu.Unlock()
	if prev != nil {
		return nil, prev
	}
	if err := os.MkdirAll(filepath.Dir(mirror), 0o755); err != nil {
		return nil, fmt.Errorf("creating mirror directory: %w", err)
	}
	unlock, err := lockFile(ctx, mirror+".lock")
	if err != nil {
		return nil, fmt.Errorf("locking mirror of %s: %w", canon, err)
	}
	defer unlock()

	stamp := mirror + ".fetched"
	if m.MaxAge > 0 {
		if fi, err := os.Stat(stamp); err == nil && time.Since(fi.ModTime()) < m.MaxAge {
			m.markFetched(mirror)
			return r, nil
		}
	}
	if _, err := os.Stat(filepath.Join(mirror, "HEAD")); err == nil {
		if _, err := git(ctx, "", "--git-dir="+mirror, "fetch", "--quiet", "--prune", "--no-recurse-submodules", "origin"); err != nil {
			return nil, m.fail(ctx, mirror, cloneFailed(canon, err))
		}
	} else if err := initMirror(ctx, canon, mirror); err != nil {
		return nil, m.fail(ctx, mirror, cloneFailed(canon, err))
	}
	m.markFetched(mirror)
	if m.MaxAge > 0 {
		_ = os.WriteFile(stamp, nil, 0o644)
		now := time.Now()
		_ = os.Chtimes(stamp, now, now)
	}
	return r, nil
}

// initMirror creates the bare mirror in a temporary directory and renames it into place.
// Only branches and tags are mirrored — not refs/pull/*, which on GitHub hold anyone's
// unmerged commits and should never count as a package's source.
func initMirror(ctx context.Context, repo, mirror string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(mirror), ".tmp-"+filepath.Base(mirror)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	steps := [][]string{
		{"init", "--quiet", "--bare", "--template=", tmp},
		{"--git-dir=" + tmp, "config", "remote.origin.url", repo},
		{"--git-dir=" + tmp, "config", "--add", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"},
		{"--git-dir=" + tmp, "config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"},
		{"--git-dir=" + tmp, "config", "core.autocrlf", "false"},
		// A blob-less partial clone: commits and trees are all locating needs (history,
		// tags, content search by blob hash); the blobs of the files read and of the
		// commit checked out are fetched on demand, in batches (Prefetch). Servers that
		// do not support filters send everything, which works the same.
		{"--git-dir=" + tmp, "config", "remote.origin.promisor", "true"},
		{"--git-dir=" + tmp, "config", "remote.origin.partialclonefilter", "blob:none"},
		{"--git-dir=" + tmp, "fetch", "--quiet", "--prune", "--no-recurse-submodules", "--filter=blob:none", "origin"},
	}
	for _, args := range steps {
		if _, err := git(ctx, "", args...); err != nil {
			return err
		}
	}
	// HEAD of the mirror follows the remote's default branch when it can be learnt.
	if out, err := git(ctx, "", "--git-dir="+tmp, "ls-remote", "--symref", "origin", "HEAD"); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if ref, ok := strings.CutPrefix(line, "ref: "); ok {
				ref, _, _ = strings.Cut(ref, "\t")
				if strings.HasPrefix(ref, "refs/heads/") {
					git(ctx, "", "--git-dir="+tmp, "symbolic-ref", "HEAD", ref)
				}
			}
		}
	}
	if err := os.RemoveAll(mirror); err != nil {
		return err
	}
	return os.Rename(tmp, mirror)
}

// git runs git on the mirror without network access. A partial mirror would otherwise
// fetch any object it lacks from the remote on demand — including commits outside its
// branches and tags (GitHub serves pull requests' commits by hash), which must never be
// taken for a package's source. Blobs are fetched explicitly (Prefetch).
func (r *Repo) git(ctx context.Context, args ...string) ([]byte, error) {
	return git(ctx, "", append([]string{"--git-dir=" + r.Dir, "-c", "protocol.allow=never"}, args...)...)
}

func validRev(rev string) error {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, " \t\n\x00:") {
		return fmt.Errorf("invalid revision %q", rev)
	}
	return nil
}

// Tags maps every tag that points (possibly through an annotated tag) at a commit to that
// commit.
func (r *Repo) Tags(ctx context.Context) (map[string]string, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)", "refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", r.URL, err)
	}
	tags := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 5 {
			continue
		}
		switch {
		case f[1] == "commit":
			tags[f[0]] = f[2]
		case f[1] == "tag" && f[3] == "commit":
			tags[f[0]] = f[4]
		}
	}
	return tags, nil
}

// Branch is a branch of a mirror and the commit at its tip.
type Branch struct{ Name, Commit string }

// Branches lists the mirror's branches, most recently committed first.
func (r *Repo) Branches(ctx context.Context) ([]Branch, error) {
	out, err := r.git(ctx, "for-each-ref", "--sort=-committerdate", "--format=%(refname:strip=2)%00%(objectname)", "refs/heads/")
	if err != nil {
		return nil, fmt.Errorf("listing branches of %s: %w", r.URL, err)
	}
	var bs []Branch
	for _, line := range strings.Split(string(out), "\n") {
		if name, commit, ok := strings.Cut(line, "\x00"); ok && hexRE.MatchString(commit) {
			bs = append(bs, Branch{Name: name, Commit: commit})
		}
	}
	return bs, nil
}

// ResolveCommit returns the full commit hash rev names.
func (r *Repo) ResolveCommit(ctx context.Context, rev string) (string, error) {
	if err := validRev(rev); err != nil {
		return "", err
	}
	out, err := r.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("resolving %s in %s: %w", rev, r.URL, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// HasCommit reports whether the mirror holds commit (a full or abbreviated hash).
func (r *Repo) HasCommit(ctx context.Context, commit string) bool {
	if !hexRE.MatchString(commit) {
		return false
	}
	_, err := r.git(ctx, "cat-file", "-e", commit+"^{commit}")
	return err == nil
}

// ReadFile returns the file at path in commit. A missing file gives an error wrapping
// fs.ErrNotExist; files over MaxFileSize are refused.
func (r *Repo) ReadFile(ctx context.Context, commit, p string) ([]byte, error) {
	if err := validRev(commit); err != nil {
		return nil, err
	}
	p = path.Clean(strings.TrimPrefix(p, "/"))
	if strings.HasPrefix(p, "../") || p == ".." || strings.ContainsAny(p, "\n\x00") {
		return nil, fmt.Errorf("reading %q: path outside the repository", p)
	}
	obj := commit + ":" + p
	check := func() ([]string, error) {
		info, err := gitStdin(ctx, r.Dir, obj+"\n", "-c", "protocol.allow=never", "cat-file", "--batch-check=%(objecttype) %(objectsize)")
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		return strings.Fields(string(info)), nil
	}
	f, err := check()
	if (err != nil || len(f) == 2 && f[1] == "missing") && r.partial(ctx) {
		// The commit and its trees are here but the blob may not be: fetch just it.
		oid, rerr := r.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", obj)
		if rerr != nil {
			return nil, fmt.Errorf("reading %s: %w", p, fs.ErrNotExist)
		}
		if ferr := r.Prefetch(ctx, []string{strings.TrimSpace(string(oid))}); ferr != nil {
			return nil, fmt.Errorf("reading %s: %w", p, ferr)
		}
		f, err = check()
	}
	if err != nil {
		return nil, err
	}
	if len(f) == 2 && f[1] == "missing" || len(f) != 2 {
		return nil, fmt.Errorf("reading %s: %w", p, fs.ErrNotExist)
	}
	if f[0] != "blob" {
		return nil, fmt.Errorf("reading %s: is a %s, not a file", p, f[0])
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || size > MaxFileSize {
		return nil, fmt.Errorf("reading %s: %s bytes exceeds the limit of %d", p, f[1], MaxFileSize)
	}
	out, err := gitLimit(ctx, "", MaxFileSize, "--git-dir="+r.Dir, "-c", "protocol.allow=never", "cat-file", "blob", obj)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return out, nil
}

// maxListEntries bounds ListFiles.
const maxListEntries = 1_000_000

// ListFiles maps every file under dir ("" for the whole tree) at commit to its blob hash.
// Paths are relative to dir. Submodules are not files and are left out.
func (r *Repo) ListFiles(ctx context.Context, commit, dir string) (map[string]string, error) {
	if err := validRev(commit); err != nil {
		return nil, err
	}
	dir = cleanDir(dir)
	args := []string{"ls-tree", "-r", "-z", "--full-tree", commit}
	if dir != "" {
		args = append(args, "--", dir+"/")
	}
	out, err := r.git(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("listing files of %s at %s: %w", r.URL, commit, err)
	}
	files := map[string]string{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, name, ok := strings.Cut(string(rec), "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta) // mode type object
		if len(f) != 3 || f[1] != "blob" {
			continue
		}
		rel := name
		if dir != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(name, dir+"/"); !ok {
				continue
			}
		}
		files[rel] = f[2]
		if len(files) > maxListEntries {
			return nil, fmt.Errorf("listing files of %s at %s: more than %d files", r.URL, commit, maxListEntries)
		}
	}
	return files, nil
}

func cleanDir(dir string) string {
	dir = path.Clean("/" + dir)[1:]
	return dir
}

// FileHistory lists up to max commits, newest first, on any branch or tag, that changed p
// (a file or directory; "" for the whole repository).
func (r *Repo) FileHistory(ctx context.Context, p string, max int) ([]string, error) {
	if max <= 0 {
		max = 1000
	}
	args := []string{"log", "--format=%H", "-n", strconv.Itoa(max), "--branches", "--tags"}
	if p = cleanDir(p); p != "" {
		args = append(args, "--", p)
	}
	out, err := r.git(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("history of %s in %s: %w", p, r.URL, err)
	}
	var commits []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if c := strings.TrimSpace(sc.Text()); c != "" {
			commits = append(commits, c)
		}
	}
	return commits, nil
}

// CommitTime is the committer time of commit.
func (r *Repo) CommitTime(ctx context.Context, commit string) (time.Time, error) {
	if err := validRev(commit); err != nil {
		return time.Time{}, err
	}
	out, err := r.git(ctx, "show", "-s", "--format=%ct", "--end-of-options", commit+"^{commit}")
	if err != nil {
		return time.Time{}, fmt.Errorf("time of %s in %s: %w", commit, r.URL, err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time of %s in %s: %w", commit, r.URL, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Checkout writes a working tree of exactly commit into dst (which must not exist or be
// empty), as `git checkout` would with core.autocrlf=false: .gitattributes is honoured, no
// submodules, no hooks. dst/.git is a detached clone that borrows the mirror's objects.
//
// A remote that does not serve some of the commit's files (a mirror that left its largest
// files out; GitHub answers "not our ref") does not stop the checkout: those files are left
// out of the working tree and their paths returned, for the caller to report.
func (r *Repo) Checkout(ctx context.Context, commit, dst string) (leftOut []string, err error) {
	return r.CheckoutWith(ctx, commit, dst, CheckoutOptions{})
}

// CheckoutOptions change how Checkout writes the working tree.
type CheckoutOptions struct {
	// CRLF checks text files out with CR LF line endings, as Git for Windows does by default
	// (core.autocrlf=true): .gitattributes still decides what is text and may pin an eol.
	CRLF bool
}

// CheckoutWith is Checkout with options.
func (r *Repo) CheckoutWith(ctx context.Context, commit, dst string, opts CheckoutOptions) (leftOut []string, err error) {
	full, err := r.ResolveCommit(ctx, commit)
	if err != nil {
		return nil, verdict.Wrap(verdict.NoSource, verdict.ReasonNoGitRef, "checking out "+r.URL, err)
	}
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("checking out %s at %s: %w", r.URL, full, err)
	}
	// The checkout borrows the mirror's objects but is no partial clone itself: every
	// blob of the commit must be in the mirror first.
	missing, err := r.missingBlobs(ctx, full)
	if err != nil {
		return fail(err)
	}
	var unavailable []string
	if err := r.Prefetch(ctx, missing); err != nil {
		if !notServed(err) {
			return fail(err)
		}
		budget := maxUnavailableFetches
		if unavailable, err = r.unservedBlobs(ctx, missing, &budget); err != nil {
			return fail(err)
		}
	}
	// safetyConfig turns autocrlf off for every git command; a Windows checkout turns it
	// back on for the clone's config (which build tools' git calls read) and the checkout.
	eol := []string{"-c", "core.autocrlf=false", "-c", "core.eol=lf"}
	if opts.CRLF {
		eol = []string{"-c", "core.autocrlf=true"}
	}
	args := append(append([]string{"clone", "--quiet", "--shared", "--no-checkout", "--template="}, eol...),
		"-c", "core.hooksPath=/dev/null", "--", r.Dir, dst)
	if _, err := git(ctx, "", args...); err != nil {
		return fail(err)
	}
	// Point origin at the real repository: build tools that read it see the public URL.
	if _, err := git(ctx, dst, "remote", "set-url", "origin", r.URL); err != nil {
		return fail(err)
	}
	if len(unavailable) == 0 {
		if _, err := git(ctx, dst, append(eol, "checkout", "--quiet", "--detach", full)...); err != nil {
			return fail(err)
		}
		return nil, nil
	}
	// The index of the commit, with the files the remote did not serve marked
	// skip-worktree, so that checkout-index writes every other file.
	leftOut, err = r.pathsOf(ctx, full, unavailable)
	if err != nil {
		return fail(err)
	}
	steps := []struct {
		input string
		args  []string
	}{
		{"", []string{"update-ref", "--no-deref", "HEAD", full}},
		{"", []string{"read-tree", full}},
		{strings.Join(leftOut, "\x00") + "\x00", []string{"update-index", "--skip-worktree", "-z", "--stdin"}},
		{"", append(eol, "checkout-index", "--all", "--force")},
	}
	for _, st := range steps {
		if _, err := gitRun(ctx, dst, st.input, maxGitOutput, st.args...); err != nil {
			return fail(err)
		}
	}
	return leftOut, nil
}

// maxUnavailableFetches bounds the fetches spent finding which objects a remote does not serve.
const maxUnavailableFetches = 64

// notServed reports whether a fetch failed because the remote does not have (or will not
// send) a requested object.
func notServed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not our ref")
}

// unservedBlobs finds, by halving, which of oids the remote does not serve; the others are
// fetched on the way. It gives up (with the fetch error) when that takes too many fetches.
func (r *Repo) unservedBlobs(ctx context.Context, oids []string, budget *int) ([]string, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("too many objects of %s are not served by its remote", r.URL)
	}
	err := r.Prefetch(ctx, oids)
	switch {
	case err == nil:
		return nil, nil
	case !notServed(err):
		return nil, err
	case len(oids) == 1:
		return oids, nil
	}
	a, err := r.unservedBlobs(ctx, oids[:len(oids)/2], budget)
	if err != nil {
		return nil, err
	}
	b, err := r.unservedBlobs(ctx, oids[len(oids)/2:], budget)
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// pathsOf lists the paths at commit whose blob is one of oids, sorted.
func (r *Repo) pathsOf(ctx context.Context, commit string, oids []string) ([]string, error) {
	files, err := r.ListFiles(ctx, commit, "")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, o := range oids {
		want[o] = true
	}
	var out []string
	for p, o := range files {
		if want[o] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// partial reports whether the mirror is a partial clone (blobs fetched on demand). It is
// read once: a mirror does not change kind.
func (r *Repo) partial(ctx context.Context) bool {
	r.partialOnce.Do(func() {
		out, err := r.git(ctx, "config", "--get", "remote.origin.promisor")
		r.isPartial = err == nil && strings.TrimSpace(string(out)) == "true"
	})
	return r.isPartial
}

// missingBlobs lists the objects of commit's tree that a partial mirror does not hold yet.
func (r *Repo) missingBlobs(ctx context.Context, commit string) ([]string, error) {
	if !r.partial(ctx) {
		return nil, nil
	}
	if err := validRev(commit); err != nil {
		return nil, err
	}
	out, err := r.git(ctx, "rev-list", "--objects", "--missing=print", "--end-of-options", commit+"^{tree}")
	if err != nil {
		return nil, fmt.Errorf("listing missing objects of %s: %w", commit, err)
	}
	var missing []string
	for _, line := range strings.Split(string(out), "\n") {
		if oid, ok := strings.CutPrefix(line, "?"); ok && hexRE.MatchString(oid) {
			missing = append(missing, oid)
		}
	}
	return missing, nil
}

// Prefetch fetches the given objects (full hashes) into a partial mirror in one request,
// rather than one request per object as reading them one by one would. Objects already
// present are sent again, so callers pass what they are about to read. It does nothing for
// a full mirror.
func (r *Repo) Prefetch(ctx context.Context, oids []string) error {
	if len(oids) == 0 || !r.partial(ctx) {
		return nil
	}
	var in strings.Builder
	seen := map[string]bool{}
	for _, o := range oids {
		if !hexRE.MatchString(o) || seen[o] {
			continue
		}
		seen[o] = true
		in.WriteString(o)
		in.WriteByte('\n')
	}
	if _, err := gitStdin(ctx, r.Dir, in.String(), "-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet",
		"--no-tags", "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin", "origin"); err != nil {
		return fmt.Errorf("fetching %d objects of %s: %w", len(seen), r.URL, err)
	}
	return nil
}

// FileBlobs maps each of up to max commits (newest first, on any branch or tag) that
// changed the file p to the blob p has after it. Merges are left out.
func (r *Repo) FileBlobs(ctx context.Context, p string, max int) (map[string]string, error) {
	if max <= 0 {
		max = 1000
	}
	p = cleanDir(p)
	if p == "" {
		return nil, errors.New("file history: empty path")
	}
	out, err := r.git(ctx, "log", "--format=commit %H", "--raw", "--no-abbrev", "--no-renames",
		"-n", strconv.Itoa(max), "--branches", "--tags", "--", p)
	if err != nil {
		return nil, fmt.Errorf("history of %s in %s: %w", p, r.URL, err)
	}
	blobs := map[string]string{}
	commit := ""
	for _, line := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(line, "commit "); ok {
			commit = strings.TrimSpace(c)
			continue
		}
		// :100644 100644 <old> <new> M\tpath
		meta, name, ok := strings.Cut(line, "\t")
		if !ok || name != p || commit == "" {
			continue
		}
		if f := strings.Fields(meta); len(f) == 5 && hexRE.MatchString(f[3]) && strings.Trim(f[3], "0") != "" {
			blobs[commit] = f[3]
		}
	}
	return blobs, nil
}
