// Package pypi rebuilds Python distributions: pure wheels and sdists from their repository,
// and wheels from the registry's own sdist, with `python -m build` and the build backend
// version that made the upstream file.
package pypi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/rebuild"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/stabilize"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Source modes (VOUCH_PYPI_SOURCE).
const (
	// SourceAuto: the repository, and for wheels the registry's sdist when no commit of the
	// repository can be established.
	SourceAuto = "auto"
	// SourceRepo: the repository only.
	SourceRepo = "repo"
	// SourceSdist: wheels are rebuilt from the registry's sdist only.
	SourceSdist = "sdist"
)

// EvidenceSdist is the Location evidence of a source that is the registry's sdist: Repo is
// the sdist's URL and Ref its sha256.
const EvidenceSdist = "sdist"

// Ecosystem is the PyPI ecosystem.
type Ecosystem struct {
	Client *pypi.Client
	// Index is the index base URL builds install from (VOUCH_PYPI_URL).
	Index string
	// CacheDir holds downloaded artifacts ($VOUCH_HOME/cache).
	CacheDir string
	// SourceMode is SourceAuto, SourceRepo or SourceSdist.
	SourceMode string
	// Python is the interpreter builds use ("python3" on PATH when empty).
	Python string
	// Limits bound the upstream archives read (zero fields: archive.DefaultLimits).
	Limits archive.Limits

	mu      sync.Mutex
	pythons map[string][2]string // command -> real path, version
}

var (
	_ ecosystem.Ecosystem    = (*Ecosystem)(nil)
	_ rebuild.SourcePreparer = (*Ecosystem)(nil)
)

// New builds the ecosystem from the environment (VOUCH_PYPI_URL, VOUCH_PYPI_SOURCE,
// VOUCH_PYTHON).
func New(cacheDir string) *Ecosystem {
	base := os.Getenv(pypi.EnvURL)
	if base == "" {
		base = pypi.DefaultURL
	}
	mode := os.Getenv("VOUCH_PYPI_SOURCE")
	switch mode {
	case SourceRepo, SourceSdist:
	default:
		mode = SourceAuto
	}
	return NewWithClient(pypi.New(base, pypi.WithCacheDir(filepath.Join(cacheDir, "artifacts", "pypi"))), cacheDir, mode, os.Getenv("VOUCH_PYTHON"))
}

// NewWithClient builds the ecosystem around client.
func NewWithClient(client *pypi.Client, cacheDir, mode, python string) *Ecosystem {
	if mode == "" {
		mode = SourceAuto
	}
	return &Ecosystem{Client: client, Index: client.BaseURL(), CacheDir: cacheDir, SourceMode: mode, Python: python}
}

func (e *Ecosystem) Name() target.Ecosystem { return target.PyPI }

// Meta is the PyPI-specific part of an Upstream.
type Meta struct {
	Release *pypi.Release
	File    pypi.File
	// Sdist is the release's source distribution, nil when it has none.
	Sdist *pypi.File
	// RepoEvidence says which metadata field named the repository.
	RepoEvidence string
	// RepoCandidates are the canonical repository URLs the metadata names, best first.
	RepoCandidates []RepoCandidate
	// Notes are added to the definition (how the source was chosen).
	Notes []string
}

func meta(up *ecosystem.Upstream) *Meta {
	if m, ok := up.Meta.(*Meta); ok {
		return m
	}
	return &Meta{}
}

// Resolve downloads the selected file (?file_name=, else the pure wheel, else the sdist),
// checks its sha256 against the index's, and refuses archives with unsafe paths or over
// the size limits.
func (e *Ecosystem) Resolve(ctx context.Context, t target.Target) (*ecosystem.Upstream, error) {
	name := pypi.Normalize(t.Name)
	rel, err := e.Client.Release(ctx, name, t.Version)
	if err != nil {
		return nil, err
	}
	want := t.Qualifier("file_name")
	f, ok := rel.Select(want)
	if !ok {
		if want != "" {
			return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNoArtifact, "%s %s has no file %q", name, t.Version, want)
		}
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNoArtifact, "%s %s has neither a pure wheel nor an sdist (platform wheels are not rebuilt)", name, t.Version)
	}
	art, err := e.Client.Download(ctx, f, filepath.Join(e.CacheDir, "artifacts", "pypi"))
	if err != nil {
		return nil, err
	}
	if err := checkArchive(art.Path, e.Limits); err != nil {
		return nil, err
	}
	m := &Meta{Release: rel, File: f}
	if sd, ok := rel.Sdist(); ok {
		m.Sdist = &sd
	}
	m.RepoCandidates = repoCandidates(rel.Info)
	up := &ecosystem.Upstream{
		Target:      t,
		Artifact:    f.Filename,
		URL:         art.URL,
		Path:        art.Path,
		SHA256:      art.SHA256,
		Size:        art.Size,
		PublishedAt: f.Uploaded(),
		Meta:        m,
	}
	if len(m.RepoCandidates) > 0 {
		up.RepoURL, up.RepoDir = m.RepoCandidates[0].URL, m.RepoCandidates[0].Dir
		m.RepoEvidence = m.RepoCandidates[0].Evidence
	}
	if rel.Info.InfoFromLatest {
		m.Notes = append(m.Notes, "the index served no metadata for this version: repository links are the latest version's")
	}
	return up, nil
}

// checkArchive reads an artifact within archive.DefaultLimits: unsafe paths (.., absolute,
// escaping links) and decompression bombs are upstream errors.
func checkArchive(p string, lim archive.Limits) error {
	a, err := archive.ReadFile(p, lim)
	if err != nil {
		return verdict.Wrap(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "reading "+filepath.Base(p), err)
	}
	if a.Format != archive.FormatZip && a.Format != archive.FormatTarGz && a.Format != archive.FormatTar {
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "%s is not a zip or tar.gz archive (%s)", filepath.Base(p), a.Format)
	}
	return nil
}

// Stabilizers are the wheel or sdist set.
func (e *Ecosystem) Stabilizers(artifact string) []stabilize.Stabilizer {
	return stabilize.PyPI(artifact)
}

// SandboxConfig allows the index and its file host (files.pythonhosted.org for pypi.org).
func (e *Ecosystem) SandboxConfig(def *definition.BuildDefinition) sandbox.Config {
	cfg := sandbox.Config{Cutoff: def.RegistryCutoff, Timeout: def.Timeout.Std()}
	if u, err := url.Parse(e.Index); err == nil && u.Host != "" {
		cfg.AllowHosts = append(cfg.AllowHosts, u.Host)
		if u.Host == "pypi.org" {
			cfg.AllowHosts = append(cfg.AllowHosts, "files.pythonhosted.org")
		}
	}
	if def.Location.Evidence == EvidenceSdist {
		if u, err := url.Parse(def.Location.Repo); err == nil && u.Host != "" && !contains(cfg.AllowHosts, u.Host) {
			cfg.AllowHosts = append(cfg.AllowHosts, u.Host)
		}
	}
	return cfg
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Identify reads the core metadata of a wheel (*.dist-info/METADATA) or sdist (PKG-INFO).
func (e *Ecosystem) Identify(p string) (target.Target, error) {
	a, err := archive.ReadFile(p, archive.DefaultLimits)
	if err != nil {
		return target.Target{}, fmt.Errorf("reading %s: %w", p, err)
	}
	md := coreMetadata(a)
	if md == nil {
		return target.Target{}, fmt.Errorf("%s: no METADATA or PKG-INFO: not a wheel or sdist", p)
	}
	name, version := md.get("Name"), md.get("Version")
	t := target.Target{Ecosystem: target.PyPI, Name: pypi.Normalize(name), Version: version}
	if name == "" || version == "" {
		return target.Target{}, fmt.Errorf("%s: core metadata lacks Name or Version", p)
	}
	return t, t.Validate()
}

// PreparesSource reports a definition whose source is the registry's sdist.
func (e *Ecosystem) PreparesSource(def *definition.BuildDefinition) bool {
	return def.Location.Evidence == EvidenceSdist
}

// PrepareSource downloads the sdist named by def.Location (URL, sha256), checks it, and
// unpacks its top-level directory as dst.
func (e *Ecosystem) PrepareSource(ctx context.Context, def *definition.BuildDefinition, up *ecosystem.Upstream, dst string) error {
	u, err := url.Parse(def.Location.Repo)
	if err != nil {
		return verdict.Wrap(verdict.NoSource, verdict.ReasonUnsupportedRepo, "sdist location", err)
	}
	f := pypi.File{Filename: path.Base(u.Path), URL: def.Location.Repo, Digests: map[string]string{"sha256": def.Location.Ref}}
	art, err := e.Client.Download(ctx, f, filepath.Join(e.CacheDir, "artifacts", "pypi"))
	if err != nil {
		return err
	}
	return unpackSdist(art.Path, dst, e.Limits)
}

// unpackSdist extracts an sdist and moves its single top-level directory to dst.
func unpackSdist(sdist, dst string, lim archive.Limits) error {
	a, err := archive.ReadFile(sdist, lim)
	if err != nil {
		return verdict.Wrap(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "reading "+filepath.Base(sdist), err)
	}
	top := topDir(a)
	if top == "" {
		return verdict.Errorf(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "%s has no single top-level directory", filepath.Base(sdist))
	}
	tmp := dst + ".unpack"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := archive.ExtractTo(a, tmp); err != nil {
		return verdict.Wrap(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "unpacking "+filepath.Base(sdist), err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Rename(filepath.Join(tmp, top), dst); err != nil {
		return fmt.Errorf("unpacking %s: %w", filepath.Base(sdist), err)
	}
	return nil
}

// topDir is the one directory every entry of an sdist lives in ("name-1.0"), "" otherwise.
func topDir(a *archive.Archive) string {
	top := ""
	for _, en := range a.Entries {
		first, _, _ := strings.Cut(en.Name, "/")
		if first == "" || (en.Type != archive.TypeDir && !strings.Contains(en.Name, "/")) {
			return ""
		}
		if top == "" {
			top = first
		} else if top != first {
			return ""
		}
	}
	return top
}

// pythonFor finds the interpreter for want ("" for the default, "3.9" or "3.9.18" for that
// minor version: python3.9 on PATH) and returns its real path (sys.executable, so that
// pyenv shims and the like are not needed inside the sandbox) and full version.
func (e *Ecosystem) pythonFor(ctx context.Context, want string) (string, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cmd := e.Python
	if cmd == "" {
		cmd = "python3"
	}
	if want != "" {
		cmd = "python" + minor(want)
	}
	if e.pythons == nil {
		e.pythons = map[string][2]string{}
	}
	if p, ok := e.pythons[cmd]; ok {
		return p[0], p[1], nil
	}
	var firstErr error
	for _, cand := range pythonCandidates(cmd) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(ctx, cand, "-c", "import platform, sys; print(platform.python_version()); print(sys.executable)").Output()
		cancel()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil && len(lines) == 2 && lines[1] != "" {
			e.pythons[cmd] = [2]string{lines[1], lines[0]}
			return lines[1], lines[0], nil
		}
		if firstErr == nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, firstLine(string(ee.Stderr)))
			} else if err == nil {
				err = fmt.Errorf("printed %q", out)
			}
			firstErr = fmt.Errorf("%s: %w", cand, err)
		}
	}
	if firstErr == nil {
		firstErr = errors.New("not found on PATH or under pyenv")
	}
	return "", "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, cmd+" is not usable", firstErr)
}

// pythonCandidates are the executables that may be cmd: PATH's, then pyenv's installed
// versions (a pyenv shim only runs the versions pyenv has selected).
func pythonCandidates(cmd string) []string {
	var out []string
	if p, err := exec.LookPath(cmd); err == nil {
		out = append(out, p)
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	if root != "" && strings.HasPrefix(cmd, "python3.") {
		matches, _ := filepath.Glob(filepath.Join(root, "versions", strings.TrimPrefix(cmd, "python")+".*", "bin", cmd))
		out = append(out, matches...)
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
