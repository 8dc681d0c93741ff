// Package npm rebuilds npm packages: it resolves a version's tarball, finds the commit it was
// packed from, and re-packs it with the npm version that made it.
package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/registry/npm"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/stabilize"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Ecosystem is the npm ecosystem.
type Ecosystem struct {
	Client *npm.Client
	// Registry is the registry base URL builds install from (VOUCH_NPM_REGISTRY).
	Registry string
	// CacheDir holds downloaded artifacts and toolchains ($VOUCH_HOME/cache).
	CacheDir string
	// NPMVersions are the candidate npm versions tried when metadata does not say which npm
	// packed the upstream tarball: "host" is the machine's npm, others are versions or majors
	// ("6", "10.8.2") installed from the registry into the cache.
	NPMVersions []string
	// Toolchains installs and locates npm versions.
	Toolchains *Toolchains
}

var _ ecosystem.Ecosystem = (*Ecosystem)(nil)

// DefaultNPMVersions is tried in order; the host's npm first because it needs no download.
// npm 6 and npm 7+ select files differently (npm-packlist v1 vs v2+), and npm 3 and 5 (which
// packed much of the registry's older content) differ again, e.g. in shipping .npmignore.
// npm 4 is left out: it does not run on current Node.js ("cb.apply is not a function").
var DefaultNPMVersions = []string{"host", "10", "9", "8", "7", "6", "5", "3"}

// New builds the ecosystem from the environment (VOUCH_NPM_REGISTRY, VOUCH_NPM_VERSIONS).
func New(cacheDir string) *Ecosystem {
	reg := os.Getenv("VOUCH_NPM_REGISTRY")
	if reg == "" {
		reg = "https://registry.npmjs.org"
	}
	reg = strings.TrimRight(reg, "/")
	versions := DefaultNPMVersions
	if v := os.Getenv("VOUCH_NPM_VERSIONS"); v != "" {
		versions = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				versions = append(versions, s)
			}
		}
	}
	client := npm.New(reg, npm.WithCacheDir(filepath.Join(cacheDir, "artifacts", "npm")))
	return &Ecosystem{
		Client:      client,
		Registry:    reg,
		CacheDir:    cacheDir,
		NPMVersions: versions,
		Toolchains:  &Toolchains{Dir: filepath.Join(cacheDir, "toolchains", "npm"), Registry: reg, Client: client},
	}
}

func (e *Ecosystem) Name() target.Ecosystem { return target.NPM }

// Resolve downloads the version's tarball and checks it against dist.integrity / shasum.
func (e *Ecosystem) Resolve(ctx context.Context, t target.Target) (*ecosystem.Upstream, error) {
	name := t.PackageName()
	p, err := e.Client.Packument(ctx, name)
	if err != nil {
		return nil, err
	}
	v, ok := p.Versions[t.Version]
	if !ok {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonNotFound, "npm package %s has no version %q", name, t.Version)
	}
	if v.Name != name || v.Version != t.Version {
		return nil, verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "npm metadata of %s@%s describes %s@%s", name, t.Version, v.Name, v.Version)
	}
	art, err := e.Client.Download(ctx, v, filepath.Join(e.CacheDir, "artifacts", "npm"))
	if err != nil {
		return nil, err
	}
	up := &ecosystem.Upstream{
		Target:      t,
		Artifact:    ArtifactName(name, t.Version),
		URL:         art.URL,
		Path:        art.Path,
		SHA256:      art.SHA256,
		SHA512:      art.SHA512,
		Size:        art.Size,
		PublishedAt: trustedPublishTime(p, v),
		Meta:        v,
	}
	if v.Repository != nil {
		up.RepoURL = v.Repository.URL
		up.RepoDir = v.Repository.Directory
	}
	if v.GitHead != "" {
		up.Commit, up.CommitEvidence = v.GitHead, "gitHead"
	}
	var others []*npm.Repository
	if latest := p.Versions[p.DistTags["latest"]]; latest != nil && latest != v {
		others = append(others, latest.Repository)
	}
	others = append(others, p.Repository)
	for _, r := range others {
		if r != nil && r.URL != "" && r.URL != up.RepoURL && !slices.ContainsFunc(up.OtherRepos, func(o ecosystem.OtherRepo) bool { return o.URL == r.URL }) {
			up.OtherRepos = append(up.OtherRepos, ecosystem.OtherRepo{URL: r.URL, Dir: r.Directory})
		}
	}
	return up, nil
}

// trustedPublishTime is the version's publish time when the packument's times look real.
// The public registry always records "created" and "modified" beside per-version times
// (https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md); partial
// mirrors that lack them report ingestion times, which must not drive a cut-off.
func trustedPublishTime(p *npm.Packument, v *npm.Version) time.Time {
	if _, ok := p.Time["created"]; !ok {
		return time.Time{}
	}
	if _, ok := p.Time["modified"]; !ok {
		return time.Time{}
	}
	return v.PublishedAt
}

// ArtifactName is the file name npm gives a tarball: scope dropped ("@a/b" 1.0.0 -> b-1.0.0.tgz).
func ArtifactName(name, version string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name + "-" + version + ".tgz"
}

// Stabilizers are the npm set (tar + gzip normalisation).
func (e *Ecosystem) Stabilizers(string) []stabilize.Stabilizer { return stabilize.NPM() }

// SandboxConfig allows the npm registry only, with the definition's cut-off.
func (e *Ecosystem) SandboxConfig(def *definition.BuildDefinition) sandbox.Config {
	cfg := sandbox.Config{Cutoff: def.RegistryCutoff, Timeout: def.Timeout.Std()}
	if t, err := time.Parse(time.RFC3339, def.Strategy.Params["toolchain_era"]); err == nil && def.RegistryCutoff == nil {
		cfg.ToolchainEra = &t
	}
	if u, err := url.Parse(e.Registry); err == nil && u.Host != "" {
		cfg.AllowHosts = append(cfg.AllowHosts, u.Host)
	}
	return cfg
}

// Identify reads package/package.json from an npm tarball.
func (e *Ecosystem) Identify(p string) (target.Target, error) {
	a, err := archive.ReadFile(p, archive.DefaultLimits)
	if err != nil {
		return target.Target{}, fmt.Errorf("reading %s: %w", p, err)
	}
	m, _, err := tarballManifest(a)
	if err != nil {
		return target.Target{}, fmt.Errorf("%s: %w", p, err)
	}
	return targetFromName(m.Name, m.Version)
}

func targetFromName(name, version string) (target.Target, error) {
	t := target.Target{Ecosystem: target.NPM, Name: name, Version: version}
	if strings.HasPrefix(name, "@") {
		scope, n, ok := strings.Cut(name, "/")
		if !ok {
			return target.Target{}, &target.InvalidError{Input: name, Msg: "scoped npm name without a package part"}
		}
		t.Namespace, t.Name = scope, n
	}
	return t, t.Validate()
}

// manifest is the part of package.json vouch reads.
type manifest struct {
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	Scripts    scripts         `json:"scripts"`
	Workspaces json.RawMessage `json:"workspaces"`
	Private    bool            `json:"private"`
	DevDeps    map[string]any  `json:"devDependencies"`
	// Read leniently (see workspaceDeps): only workspace builds look at them.
	Deps     json.RawMessage `json:"dependencies"`
	PeerDeps json.RawMessage `json:"peerDependencies"`
}

// scripts is package.json "scripts", read leniently: npm runs only string values, and old
// packages hold others (rollup 1.32.1's "scripts" has an object), which are dropped.
type scripts map[string]string

func (s *scripts) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		*s = nil // not an object: no scripts
		return nil
	}
	out := make(scripts, len(raw))
	for k, v := range raw {
		var str string
		if json.Unmarshal(v, &str) == nil {
			out[k] = str
		}
	}
	*s = out
	return nil
}

// legacyNodeMajor is the newest Node.js major the package's build tools run on, 0 when they
// run on any: gulp 3 (through graceful-fs 3, "primordials is not defined") stops at Node.js 11.
func (m *manifest) legacyNodeMajor() int {
	if r, ok := m.DevDeps["gulp"].(string); ok {
		r = strings.TrimLeft(strings.TrimSpace(r), "^~=v")
		if strings.HasPrefix(r, "3.") || r == "3" {
			return 10
		}
	}
	return 0
}

func parseManifest(b []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing package.json: %w", err)
	}
	return &m, nil
}

// tarballManifest finds the package.json at the tarball's top level (npm uses "package/",
// some old tarballs use another first directory) and returns it with that prefix.
func tarballManifest(a *archive.Archive) (*manifest, string, error) {
	best := ""
	var data []byte
	for _, en := range a.Entries {
		if en.Type != archive.TypeFile {
			continue
		}
		dir, base := path.Split(en.Name)
		if base != "package.json" || strings.Count(strings.Trim(dir, "/"), "/") > 0 || dir == "" {
			continue
		}
		if best == "" || dir == "package/" {
			best, data = dir, en.Data
		}
	}
	if best == "" {
		return nil, "", verdict.Errorf(verdict.UpstreamError, verdict.ReasonBadMetadata, "tarball has no top-level package.json")
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, "", verdict.Wrap(verdict.UpstreamError, verdict.ReasonBadMetadata, "tarball package.json", err)
	}
	return m, best, nil
}
