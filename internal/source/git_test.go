package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// fixtureRoot holds fixture repositories; the test git config rewrites
// https://github.com/ to it (url.<base>.insteadOf), the local-mirror workflow.
var fixtureRoot string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		tmp, err := os.MkdirTemp("", "vouch-source-test-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(tmp)
		fixtureRoot = filepath.Join(tmp, "fixtures")
		os.MkdirAll(fixtureRoot, 0o755)
		gitconfig := filepath.Join(tmp, "gitconfig")
		cfg := fmt.Sprintf("[url \"file://%s/\"]\n\tinsteadOf = https://github.com/\n[init]\n\tdefaultBranch = main\n[uploadpack]\n\tallowFilter = true\n", fixtureRoot)
		if err := os.WriteFile(gitconfig, []byte(cfg), 0o644); err != nil {
			panic(err)
		}
		for k, v := range map[string]string{
			"GIT_CONFIG_GLOBAL": gitconfig, "GIT_CONFIG_NOSYSTEM": "1", "HOME": tmp,
			"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
			"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org",
		} {
			os.Setenv(k, v)
		}
		return m.Run()
	}())
}

// fixture is a non-bare repository reachable as https://github.com/<owner>/<name>.
type fixture struct {
	t    *testing.T
	dir  string
	URL  string
	tick int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	owner := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	dir := filepath.Join(fixtureRoot, owner, "repo")
	// A fresh repository on every run (go test -count=N reuses fixtureRoot).
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, URL: "https://github.com/" + owner + "/repo"}
	f.git("init", "--quiet")
	return f
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.dir
	f.tick++
	date := fmt.Sprintf("2024-01-01T00:%02d:%02dZ", f.tick/60, f.tick%60)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (f *fixture) write(files map[string]string) {
	f.t.Helper()
	for p, body := range files {
		full := filepath.Join(f.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

// commit writes files and commits everything, returning the commit hash.
func (f *fixture) commit(msg string, files map[string]string) string {
	f.t.Helper()
	f.write(files)
	f.git("add", "-A")
	f.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

func pkgJSON(name, version string) string {
	return fmt.Sprintf("{\n  \"name\": %q,\n  \"version\": %q\n}\n", name, version)
}

func sync1(t *testing.T, f *fixture) *Repo {
	t.Helper()
	m := &Mirrors{Root: t.TempDir()}
	r, err := m.Sync(context.Background(), f.URL)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBlobHash(t *testing.T) {
	f := newFixture(t)
	for _, data := range []string{"", "hello\n", strings.Repeat("x\x00y", 1000)} {
		f.write(map[string]string{"f": data})
		if want, got := f.git("hash-object", "f"), BlobHash([]byte(data)); got != want {
			t.Errorf("BlobHash(%q...) = %s, git says %s", data[:min(len(data), 10)], got, want)
		}
	}
}

func TestMirrorAndRepo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c1 := f.commit("one", map[string]string{"package.json": pkgJSON("p", "1.0.0"), "lib/a.js": "a\n"})
	f.git("tag", "v1.0.0")
	c2 := f.commit("two", map[string]string{"README.md": "hi\n"})
	f.git("tag", "-a", "-m", "annotated", "v1.0.1")
	c3 := f.commit("three", map[string]string{"lib/a.js": "a2\n"})

	m := &Mirrors{Root: t.TempDir()}
	r, err := m.Sync(ctx, f.URL)
	if err != nil {
		t.Fatal(err)
	}
	wantDir := filepath.Join(m.Root, "github.com", strings.TrimPrefix(f.URL, "https://github.com/")+".git")
	if r.Dir != wantDir || r.URL != f.URL {
		t.Errorf("repo %+v, want dir %s", r, wantDir)
	}
	tags, err := r.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"v1.0.0": c1, "v1.0.1": c2}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got, err := r.ResolveCommit(ctx, "HEAD"); err != nil || got != c3 {
		t.Errorf("ResolveCommit(HEAD) = %s, %v; want %s", got, err, c3)
	}
	if got, err := r.ResolveCommit(ctx, c1[:10]); err != nil || got != c1 {
		t.Errorf("ResolveCommit(short) = %s, %v", got, err)
	}
	if _, err := r.ResolveCommit(ctx, "--output=/tmp/x"); err == nil {
		t.Error("ResolveCommit accepted an option")
	}
	if !r.HasCommit(ctx, c2) || r.HasCommit(ctx, strings.Repeat("0", 40)) || r.HasCommit(ctx, "-x") {
		t.Error("HasCommit wrong")
	}
	if b, err := r.ReadFile(ctx, c1, "lib/a.js"); err != nil || string(b) != "a\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := r.ReadFile(ctx, c1, "README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	if _, err := r.ReadFile(ctx, c1, "lib"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a directory: %v", err)
	}
	files, err := r.ListFiles(ctx, c3, "lib")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a.js": BlobHash([]byte("a2\n"))}, files); diff != "" {
		t.Errorf("ListFiles (-want +got):\n%s", diff)
	}
	all, _ := r.ListFiles(ctx, c3, "")
	if len(all) != 3 {
		t.Errorf("ListFiles(root) = %v", all)
	}
	hist, err := r.FileHistory(ctx, "lib/a.js", 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{c3, c1}, hist); diff != "" {
		t.Errorf("FileHistory (-want +got):\n%s", diff)
	}
	if tm, err := r.CommitTime(ctx, c1); err != nil || fmt.Sprint(tm.Unix()) != f.git("show", "-s", "--format=%ct", c1) {
		t.Errorf("CommitTime = %v, %v", tm, err)
	}

	// Within one Mirrors value a repository is fetched once; a new one fetches again.
	c4 := f.commit("four", nil)
	if _, err := m.Sync(ctx, f.URL); err != nil {
		t.Fatal(err)
	}
	if r.HasCommit(ctx, c4) {
		t.Error("second Sync in the same Mirrors fetched again")
	}
	m2 := &Mirrors{Root: m.Root}
	if _, err := m2.Sync(ctx, f.URL); err != nil {
		t.Fatal(err)
	}
	if !r.HasCommit(ctx, c4) {
		t.Error("a new Mirrors did not fetch")
	}
}

func TestSyncConcurrent(t *testing.T) {
	f := newFixture(t)
	c := f.commit("one", map[string]string{"a": "a"})
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Mirrors values behave like separate processes (file lock).
			r, err := (&Mirrors{Root: root}).Sync(context.Background(), f.URL)
			if err == nil && !r.HasCommit(context.Background(), c) {
				err = errors.New("commit missing")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSyncFailures(t *testing.T) {
	ctx := context.Background()
	m := &Mirrors{Root: t.TempDir()}
	for raw, reason := range map[string]verdict.Reason{
		"ext::sh -c touch% /tmp/pwned":          verdict.ReasonUnsupportedRepo,
		"git@github.com:o/r.git":                verdict.ReasonUnsupportedRepo, // not canonical
		"https://github.com/o/r/tree/main/x":    verdict.ReasonUnsupportedRepo,
		"https://github.com/nobody/nothing":     verdict.ReasonCloneFailed,
		"https://unreachable.invalid/nobody/no": verdict.ReasonCloneFailed,
	} {
		_, err := m.Sync(ctx, raw)
		ve, ok := verdict.As(err)
		if !ok || ve.Verdict != verdict.NoSource || ve.Reason != reason {
			t.Errorf("Sync(%q) = %v, want no_source/%s", raw, err, reason)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(m.Root, "github.com", "nobody")); len(ents) != 1 {
		// Only the lock file remains; no half-made mirror.
		t.Errorf("leftovers after a failed clone: %v", ents)
	}
}

func TestCheckoutCRLF(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.commit("attrs", map[string]string{
		".gitattributes":   "* text=auto\n*.bat text eol=crlf\n*.bin binary\n",
		"a.txt":            "one\r\ntwo\r\n",
		"run.bat":          "@echo off\nexit\n",
		"data.bin":         "x\r\ny",
		"pkg/package.json": pkgJSON("p", "1.0.0"),
	})
	r := sync1(t, f)
	// The user's config asks for CRLF conversion; a checkout must not apply it.
	f.git("config", "--global", "core.autocrlf", "true")
	defer f.git("config", "--global", "--unset", "core.autocrlf")

	dst := filepath.Join(t.TempDir(), "src")
	if _, err := r.Checkout(ctx, c, dst); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"a.txt":    "one\ntwo\n", // normalised on commit by text=auto, LF on checkout
		"run.bat":  "@echo off\r\nexit\r\n",
		"data.bin": "x\r\ny",
	} {
		got, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	// A Windows checkout: text files get CR LF, binary ones and pinned eols keep theirs.
	win := filepath.Join(t.TempDir(), "win")
	if _, err := r.CheckoutWith(ctx, c, win, CheckoutOptions{CRLF: true}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"a.txt":    "one\r\ntwo\r\n",
		"run.bat":  "@echo off\r\nexit\r\n",
		"data.bin": "x\r\ny",
	} {
		got, err := os.ReadFile(filepath.Join(win, p))
		if err != nil || string(got) != want {
			t.Errorf("CRLF checkout: %s = %q, %v; want %q", p, got, err, want)
		}
	}
	if st, err := gitRun(ctx, win, "", maxGitOutput, "status", "--porcelain"); err != nil || len(st) != 0 {
		t.Errorf("CRLF checkout: git status = %q, %v; want a clean tree", st, err)
	}
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = dst
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != c {
		t.Errorf("checkout HEAD = %s, %v; want %s", out, err, c)
	}
	cmd = exec.Command("git", "status", "--porcelain")
	cmd.Dir = dst
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Errorf("checkout is not clean: %q %v", out, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dst, ".git", "hooks")); len(ents) != 0 {
		t.Errorf("hooks were installed: %v", ents)
	}
	if _, err := r.Checkout(ctx, strings.Repeat("1", 40), filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("checkout of a missing commit succeeded")
	}
}

func TestLocate(t *testing.T) {
	ctx := context.Background()

	t.Run("tag", func(t *testing.T) {
		f := newFixture(t)
		c1 := f.commit("release 1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0")})
		f.git("tag", "-a", "-m", "v1.0.0", "v1.0.0")
		f.commit("1.1.0", map[string]string{"package.json": pkgJSON("widget", "1.1.0")})
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0"})
		want := definition.Location{Repo: f.URL, Ref: c1, Evidence: "tag:v1.0.0"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("exact release tag with the version not bumped", func(t *testing.T) {
		f := newFixture(t)
		f.commit("9.0.0-beta.1", map[string]string{"package.json": pkgJSON("widget", "9.0.0-beta.1")})
		rel := f.commit("fix", map[string]string{"index.js": "fixed\n"})
		f.git("tag", "v9.0.21")
		f.git("tag", "widget-v9.0.22") // not an exact tag for 9.0.22: no stale version there
		f.commit("newer", map[string]string{"package.json": pkgJSON("widget", "10.0.0")})
		f.git("tag", "v9.0.20") // a stale manifest must be older than the version
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "9.0.21"})
		want := definition.Location{Repo: f.URL, Ref: rel, Evidence: "tag:v9.0.21(version not bumped in the repository)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		for _, v := range []string{"9.0.22", "9.0.20"} {
			if loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: v}); err == nil && strings.HasPrefix(loc.Evidence, "tag:") {
				t.Errorf("Locate(%s) = %+v, want no tag accepted", v, loc)
			}
		}
	})

	t.Run("manifest history", func(t *testing.T) {
		f := newFixture(t)
		f.commit("0.9", map[string]string{"package.json": pkgJSON("widget", "0.9.0"), "index.js": "0\n"})
		set := f.commit("bump 1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0")})
		f.commit("code", map[string]string{"index.js": "1\n"})
		f.commit("description", map[string]string{"package.json": strings.Replace(pkgJSON("widget", "1.0.0"), "{", "{\n  \"description\": \"d\",", 1)})
		f.commit("1.1.0", map[string]string{"package.json": pkgJSON("widget", "1.1.0")})
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0"})
		want := definition.Location{Repo: f.URL, Ref: set, Evidence: "manifest_history"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("monorepo", func(t *testing.T) {
		f := newFixture(t)
		f.commit("init", map[string]string{
			"package.json":                      `{"name":"root","private":true,"version":"0.0.0"}`,
			"packages/x/package.json":           pkgJSON("@acme/x", "2.0.0"),
			"packages/y/package.json":           pkgJSON("@acme/y", "2.0.0"),
			"node_modules/@acme/x/package.json": pkgJSON("@acme/x", "2.0.0"),
		})
		c := f.commit("x 2.0.1", map[string]string{"packages/x/package.json": pkgJSON("@acme/x", "2.0.1")})
		f.git("tag", "@acme/x@2.0.1")
		f.git("tag", "@acme/y@2.0.1") // points at a commit where y is still 2.0.0
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "@acme/x", Version: "2.0.1"})
		want := definition.Location{Repo: f.URL, Ref: c, Dir: "packages/x", Evidence: "tag:@acme/x@2.0.1"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		// With a hint, manifest history also finds the directory's version.
		first := f.git("rev-list", "--max-parents=0", "HEAD")
		loc, err = Locate(ctx, r, Query{Repo: f.URL, DirHint: "packages/y", Name: "@acme/y", Version: "2.0.0"})
		want = definition.Location{Repo: f.URL, Ref: first, Dir: "packages/y", Evidence: "manifest_history"}
		if err != nil || loc != want {
			t.Errorf("Locate(y) = %+v, %v; want %+v", loc, err, want)
		}
		_, err = Locate(ctx, r, Query{Repo: f.URL, Name: "@acme/y", Version: "2.0.1"})
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonManifestMismatch {
			t.Errorf("y@2.0.1: %v, want manifest_mismatch", err)
		}
		_, err = Locate(ctx, r, Query{Repo: f.URL, DirHint: "packages/z", Name: "@acme/z", Version: "1.0.0"})
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNoPackageDir {
			t.Errorf("z: %v, want no_package_dir", err)
		}
		_, err = Locate(ctx, r, Query{Repo: f.URL, Name: "@acme/z", Version: "1.0.0"})
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNoPackageDir {
			t.Errorf("z without hint: %v, want no_package_dir", err)
		}
	})

	t.Run("generated distributions on tags and branches", func(t *testing.T) {
		// lodash's layout: the source on main (tag 4.17.21), the generated npm package on
		// the tag 4.17.21-npm, per-method packages in directories of the npm-packages branch.
		f := newFixture(t)
		f.commit("source", map[string]string{"package.json": pkgJSON("lodash", "4.17.21"), "lodash.js": "src\n"})
		f.git("tag", "4.17.21")
		f.git("checkout", "--quiet", "--orphan", "npm")
		f.git("rm", "-rf", "--quiet", ".")
		dist := f.commit("generated", map[string]string{"package.json": pkgJSON("lodash", "4.17.21"), "get.js": "gen\n"})
		f.git("tag", "4.17.21-npm")
		f.git("checkout", "--quiet", "--orphan", "npm-packages")
		f.git("rm", "-rf", "--quiet", ".")
		f.commit("get 4.4.1", map[string]string{"lodash.get/package.json": pkgJSON("lodash.get", "4.4.1"), "lodash.set/package.json": pkgJSON("lodash.set", "4.3.2")})
		get442 := f.commit("get 4.4.2", map[string]string{"lodash.get/package.json": pkgJSON("lodash.get", "4.4.2")})
		f.commit("set 4.3.3", map[string]string{"lodash.set/package.json": pkgJSON("lodash.set", "4.3.3")})
		f.git("checkout", "--quiet", "main")
		r := sync1(t, f)

		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "lodash", Version: "4.17.21"})
		want := definition.Location{Repo: f.URL, Ref: dist, Evidence: "tag:4.17.21-npm"}
		if err != nil || loc != want {
			t.Errorf("Locate(lodash) = %+v, %v; want %+v", loc, err, want)
		}
		loc, err = Locate(ctx, r, Query{Repo: f.URL, Name: "lodash.get", Version: "4.4.2"})
		want = definition.Location{Repo: f.URL, Ref: get442, Dir: "lodash.get", Evidence: "manifest_history"}
		if err != nil || loc != want {
			t.Errorf("Locate(lodash.get) = %+v, %v; want %+v", loc, err, want)
		}
		// A package no branch has a directory for is still not found.
		_, err = Locate(ctx, r, Query{Repo: f.URL, Name: "lodash.map", Version: "4.6.0"})
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNoPackageDir || !strings.Contains(ve.Msg, "another branch") {
			t.Errorf("lodash.map: %v, want no_package_dir naming the branch search", err)
		}
	})

	t.Run("published from a commit after the tag", func(t *testing.T) {
		// bcrypt 5.1.1: tagged, then release files committed, then published.
		f := newFixture(t)
		tagged := f.commit("1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0"), "index.js": "v1\n", "ci.sh": "old\n", "alpine.sh": "a\n"})
		f.git("tag", "v1.0.0")
		f.git("rm", "-q", "alpine.sh")
		published := f.commit("release files", map[string]string{"ci.sh": "new\n", "docker.sh": "d\n"})
		f.commit("2.0.0", map[string]string{"package.json": pkgJSON("widget", "2.0.0"), "index.js": "v2\n", "docker.sh": "d2\n"})
		r := sync1(t, f)
		upstream := map[string]string{"index.js": BlobHash([]byte("v1\n")), "ci.sh": BlobHash([]byte("new\n")), "docker.sh": BlobHash([]byte("d\n"))}
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", UpstreamFiles: upstream})
		want := definition.Location{Repo: f.URL, Ref: published, Evidence: "content_search(after tag v1.0.0)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		// When the tag's files are the published ones, the tag stands.
		upstream["ci.sh"], upstream["docker.sh"] = BlobHash([]byte("old\n")), BlobHash([]byte("nowhere\n"))
		delete(upstream, "docker.sh")
		loc, err = Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", UpstreamFiles: upstream})
		if want := (definition.Location{Repo: f.URL, Ref: tagged, Evidence: "tag:v1.0.0"}); err != nil || loc != want {
			t.Errorf("Locate(tag's files) = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("after the tag means descending from it", func(t *testing.T) {
		// Polymer 3.5.1: the changelog was committed right after the tag, while dependabot
		// branches forked long before hold older commits with the same version.
		f := newFixture(t)
		f.commit("1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0"), "index.js": "v1\n", "CHANGELOG.md": "c0\n"})
		f.git("checkout", "--quiet", "-b", "dependabot")
		f.commit("old side commit", map[string]string{"CHANGELOG.md": "c1\n"})
		f.git("checkout", "--quiet", "main")
		f.commit("release", map[string]string{"index.js": "v1\n", "README.md": "r\n"})
		f.git("tag", "v1.0.0")
		changelog := f.commit("update changelog", map[string]string{"CHANGELOG.md": "c1\n"})
		r := sync1(t, f)
		upstream := map[string]string{"index.js": BlobHash([]byte("v1\n")), "CHANGELOG.md": BlobHash([]byte("c1\n"))}
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", UpstreamFiles: upstream})
		want := definition.Location{Repo: f.URL, Ref: changelog, Evidence: "content_search(after tag v1.0.0)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("tagged after the release", func(t *testing.T) {
		// graphql-tag 2.12.6: published from the version bump, tagged months later on a
		// commit whose changelog and readme had moved on.
		f := newFixture(t)
		f.commit("0.9.0", map[string]string{"package.json": pkgJSON("widget", "0.9.0"), "index.js": "v0\n", "README.md": "r0\n", "CHANGELOG.md": "c0\n"})
		published := f.commit("1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0"), "index.js": "v1\n", "CHANGELOG.md": "c1\n"})
		f.commit("docs", map[string]string{"README.md": "r1\n"})
		tagged := f.commit("changelog", map[string]string{"CHANGELOG.md": "c1 and vNEXT\n"})
		f.git("tag", "v1.0.0")
		r := sync1(t, f)
		upstream := map[string]string{"index.js": BlobHash([]byte("v1\n")), "README.md": BlobHash([]byte("r0\n")), "CHANGELOG.md": BlobHash([]byte("c1\n"))}
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", UpstreamFiles: upstream})
		want := definition.Location{Repo: f.URL, Ref: published, Evidence: "content_search(before tag v1.0.0)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		// An earlier commit that matches better but has another version is not the release:
		// the tag stands.
		upstream["index.js"] = BlobHash([]byte("v0\n"))
		upstream["README.md"] = BlobHash([]byte("r1\n"))
		upstream["CHANGELOG.md"] = BlobHash([]byte("c0\n"))
		loc, err = Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", UpstreamFiles: upstream})
		if want := (definition.Location{Repo: f.URL, Ref: tagged, Evidence: "tag:v1.0.0"}); err != nil || loc != want {
			t.Errorf("Locate(older files) = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("published from a commit after the tag that changed only the manifest", func(t *testing.T) {
		// koa-router 7.4.0: tagged, then a devDependency dropped, then published.
		f := newFixture(t)
		tagged := f.commit("1.0.0", map[string]string{"package.json": pkgJSON("widget", "1.0.0"), "index.js": "v1\n"})
		f.git("tag", "v1.0.0")
		f.commit("docs", map[string]string{"README.md": "r\n"})
		publishedJSON := strings.Replace(pkgJSON("widget", "1.0.0"), "{", `{"description":"drop a devDependency",`, 1)
		published := f.commit("drop a devDependency", map[string]string{"package.json": publishedJSON})
		f.commit("index", map[string]string{"index.js": "v1.1\n"})
		f.commit("a later manifest", map[string]string{"package.json": publishedJSON + " "})
		r := sync1(t, f)
		q := Query{Repo: f.URL, Name: "widget", Version: "1.0.0",
			UpstreamFiles: map[string]string{"index.js": BlobHash([]byte("v1\n"))}, UpstreamManifest: BlobHash([]byte(publishedJSON))}
		loc, err := Locate(ctx, r, q)
		want := definition.Location{Repo: f.URL, Ref: published, Evidence: "content_search(after tag v1.0.0)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		// A manifest no commit has (a publishing tool rewrote it): the tag stands.
		q.UpstreamManifest = BlobHash([]byte(`{"name":"widget","version":"1.0.0","gitHead":"x"}`))
		loc, err = Locate(ctx, r, q)
		if want := (definition.Location{Repo: f.URL, Ref: tagged, Evidence: "tag:v1.0.0"}); err != nil || loc != want {
			t.Errorf("Locate(rewritten manifest) = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("a directory hint naming another package", func(t *testing.T) {
		// redux-saga 1.2.3: its repository URL points into packages/core (@redux-saga/core).
		f := newFixture(t)
		c := f.commit("release", map[string]string{
			"packages/core/package.json":       pkgJSON("@redux-saga/core", "1.2.3"),
			"packages/redux-saga/package.json": pkgJSON("redux-saga", "1.2.3"),
		})
		f.git("tag", "redux-saga@1.2.3")
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "redux-saga", Version: "1.2.3", DirHint: "packages/core"})
		want := definition.Location{Repo: f.URL, Ref: c, Dir: "packages/redux-saga", Evidence: "tag:redux-saga@1.2.3"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("release branch", func(t *testing.T) {
		// node-uuid 1.4.8: a maintenance release on a branch named after it, never tagged.
		f := newFixture(t)
		f.commit("1.4.7", map[string]string{"package.json": pkgJSON("node-uuid", "1.4.7")})
		f.git("checkout", "--quiet", "-b", "v1.4.8")
		release := f.commit("1.4.8", map[string]string{"package.json": pkgJSON("node-uuid", "1.4.8")})
		f.git("checkout", "--quiet", "-b", "v2.0.0", "main")
		f.commit("renamed", map[string]string{"package.json": pkgJSON("uuid", "2.0.0")})
		f.git("checkout", "--quiet", "main")
		f.commit("renamed", map[string]string{"package.json": pkgJSON("uuid", "3.0.0")})
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "node-uuid", Version: "1.4.8"})
		want := definition.Location{Repo: f.URL, Ref: release, Evidence: "branch:v1.4.8"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		// A branch named after the version whose tip has another version is no evidence.
		_, err = Locate(ctx, r, Query{Repo: f.URL, Name: "node-uuid", Version: "2.0.0"})
		if err == nil {
			t.Error("Locate(node-uuid@2.0.0) found the uuid@2.0.0 branch")
		}
	})

	t.Run("gitHead", func(t *testing.T) {
		f := newFixture(t)
		c1 := f.commit("one", map[string]string{"package.json": pkgJSON("widget", "1.0.0")})
		c2 := f.commit("two", map[string]string{"index.js": "x"})
		f.git("tag", "v1.0.0", c1)
		r := sync1(t, f)
		loc, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", Commit: c2, CommitEvidence: "gitHead"})
		want := definition.Location{Repo: f.URL, Ref: c2, Evidence: "gitHead"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
		loc, err = Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", Commit: c2[:12], CommitEvidence: "provenance"})
		if err != nil || loc.Ref != c2 || loc.Evidence != "provenance" {
			t.Errorf("Locate(short provenance commit) = %+v, %v", loc, err)
		}
		// A commit the repository does not have: fall back to the tag.
		loc, err = Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "1.0.0", Commit: strings.Repeat("a", 40)})
		if err != nil || loc.Ref != c1 || loc.Evidence != "tag:v1.0.0" {
			t.Errorf("Locate(unknown gitHead) = %+v, %v", loc, err)
		}
	})

	t.Run("content search", func(t *testing.T) {
		f := newFixture(t)
		placeholder := pkgJSON("widget", "0.0.0-semantic-release")
		f.commit("a", map[string]string{"package.json": placeholder, "index.js": "v1\n", "test.js": "t\n"})
		release := f.commit("b", map[string]string{"index.js": "v2\n", "lib/util.js": "u\n"})
		f.commit("tests only", map[string]string{"test.js": "t2\n"})
		f.commit("c", map[string]string{"index.js": "v3\n"})
		r := sync1(t, f)
		upstream := map[string]string{
			// package.json as published carries the real version: it will not match.
			"package.json": BlobHash([]byte(pkgJSON("widget", "2.3.4"))),
			"index.js":     BlobHash([]byte("v2\n")),
			"lib/util.js":  BlobHash([]byte("u\n")),
			"dist/x.js":    BlobHash([]byte("built\n")),
		}
		q := Query{Repo: f.URL, Name: "widget", Version: "2.3.4", UpstreamFiles: upstream}
		_, err := Locate(ctx, r, q)
		// 2 of 3 present files match: below the threshold.
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonNoGitRef || !strings.Contains(err.Error(), "content search") {
			t.Fatalf("Locate with package.json differing: %v, want no_git_ref naming the content search", err)
		}
		delete(upstream, "package.json")
		loc, err := Locate(ctx, r, q)
		want := definition.Location{Repo: f.URL, Ref: release, Evidence: "content_search(version placeholder)"}
		if err != nil || loc != want {
			t.Errorf("Locate = %+v, %v; want %+v", loc, err, want)
		}
	})

	t.Run("not found", func(t *testing.T) {
		f := newFixture(t)
		f.commit("one", map[string]string{"package.json": pkgJSON("widget", "4.0.0")})
		f.git("tag", "v3.0.0") // names an older version than the manifest: not a release of 3.0.0
		r := sync1(t, f)
		_, err := Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "2.0.0"})
		ve, ok := verdict.As(err)
		if !ok || ve.Verdict != verdict.NoSource || ve.Reason != verdict.ReasonNoGitRef {
			t.Fatalf("got %v, want no_source/no_git_ref", err)
		}
		for _, s := range []string{"tags v2.0.0", "manifest history", "content search"} {
			if !strings.Contains(ve.Msg, s) {
				t.Errorf("message %q does not say it tried %q", ve.Msg, s)
			}
		}
		_, err = Locate(ctx, r, Query{Repo: f.URL, Name: "widget", Version: "3.0.0"})
		if ve, ok := verdict.As(err); !ok || ve.Reason != verdict.ReasonManifestMismatch {
			t.Errorf("tag with another version: %v, want manifest_mismatch", err)
		}
	})
}

// Mirrors are blob-less partial clones (the fixtures' server side allows filters, as GitHub
// does): locating reads only the blobs it needs, in batches, and a checkout fetches the
// commit's blobs before it borrows the mirror's objects.
func TestPartialMirror(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	old := f.commit("one", map[string]string{"package.json": pkgJSON("partial", "1.0.0"), "big.txt": strings.Repeat("a", 1<<16)})
	f.commit("two", map[string]string{"package.json": pkgJSON("partial", "1.1.0"), "big.txt": strings.Repeat("b", 1<<16)})
	f.commit("three", map[string]string{"README.md": "readme\n"})
	r := sync1(t, f)
	if !r.partial(ctx) {
		t.Fatal("mirror is not a partial clone")
	}
	missing, err := r.missingBlobs(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 2 {
		t.Fatalf("blobs missing at the first commit = %v, want its 2 blobs (package.json, big.txt)", missing)
	}

	blobs, err := r.FileBlobs(ctx, "package.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 2 || blobs[old] != blobHash(t, pkgJSON("partial", "1.0.0")) {
		t.Fatalf("FileBlobs = %v, want the two versions of package.json", blobs)
	}
	loc, err := Locate(ctx, r, Query{Repo: r.URL, Name: "partial", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if loc.Ref != old {
		t.Fatalf("located %s, want %s", loc.Ref, old)
	}

	dst := filepath.Join(t.TempDir(), "src")
	if _, err := r.Checkout(ctx, old, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "big.txt"))
	if err != nil || string(got) != strings.Repeat("a", 1<<16) {
		t.Fatalf("big.txt after checkout: %d bytes, %v", len(got), err)
	}
	if missing, _ := r.missingBlobs(ctx, old); len(missing) != 0 {
		t.Errorf("blobs still missing after checkout: %v", missing)
	}
	// A commit the server holds outside branches and tags (a pull request's) is never
	// fetched on demand, however it is asked for.
	f.git("checkout", "--quiet", "-b", "pr")
	pr := f.commit("pull request", map[string]string{"package.json": pkgJSON("partial", "9.9.9")})
	f.git("update-ref", "refs/pull/1/head", pr)
	f.git("checkout", "--quiet", "main")
	f.git("branch", "-D", "pr")
	if r.HasCommit(ctx, pr) {
		t.Error("HasCommit(pull request commit) = true")
	}
	if _, err := r.ResolveCommit(ctx, pr); err == nil {
		t.Error("ResolveCommit(pull request commit) succeeded")
	}
	if _, err := r.ReadFile(ctx, pr, "package.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(pull request commit) = %v, want not exist", err)
	}
	if _, err := r.Checkout(ctx, pr, filepath.Join(t.TempDir(), "pr")); err == nil {
		t.Error("Checkout(pull request commit) succeeded")
	}
	if out, err := exec.Command("git", "--git-dir="+r.Dir, "-c", "protocol.allow=never", "cat-file", "-e", pr).CombinedOutput(); err == nil {
		t.Errorf("the mirror fetched the pull request commit: %s", out)
	}

	// The checkout is a complete repository of its own commit.
	cmd := exec.Command("git", "-C", dst, "fsck", "--connectivity-only", "--no-dangling", "HEAD")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("git fsck in the checkout: %v\n%s", err, out)
	}
}

func blobHash(t *testing.T, content string) string {
	t.Helper()
	cmd := exec.Command("git", "hash-object", "--stdin")
	cmd.Stdin = strings.NewReader(content)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// A remote that does not serve some blobs (the mirror left its largest files out): the
// checkout writes every other file and names the ones it could not get.
func TestCheckoutWithoutUnservedBlobs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	huge := strings.Repeat("h", 1<<16)
	c := f.commit("one", map[string]string{
		"package.json":                pkgJSON("holes", "1.0.0"),
		"index.js":                    "module.exports = 1;\n",
		"bench/samples/huge.yaml":     huge,
		"bench/samples/huge-copy.txt": huge, // same blob, second path
	})
	r := sync1(t, f)
	// The server loses the big blob.
	oid := blobHash(t, huge)
	if err := os.Remove(filepath.Join(f.dir, ".git", "objects", oid[:2], oid[2:])); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "src")
	leftOut, err := r.Checkout(ctx, c, dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bench/samples/huge-copy.txt", "bench/samples/huge.yaml"}; !slices.Equal(leftOut, want) {
		t.Errorf("left out %v, want %v", leftOut, want)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "index.js")); err != nil || string(b) != "module.exports = 1;\n" {
		t.Errorf("index.js = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "bench", "samples", "huge.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("huge.yaml in the checkout: %v", err)
	}
	if out, err := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output(); err != nil || strings.TrimSpace(string(out)) != c {
		t.Errorf("HEAD of the checkout = %s, %v; want %s", out, err, c)
	}
	// A complete commit still checks out in full, with nothing left out.
	c2 := f.commit("two", map[string]string{"bench/samples/huge.yaml": "small\n", "bench/samples/huge-copy.txt": "small\n"})
	r = sync1(t, f)
	if leftOut, err := r.Checkout(ctx, c2, filepath.Join(t.TempDir(), "src2")); err != nil || len(leftOut) != 0 {
		t.Errorf("Checkout(complete commit) = %v, %v", leftOut, err)
	}
}
