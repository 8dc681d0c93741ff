package npm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/cache"
	"github.com/vouch-dev/vouch/internal/registry/npm"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Toolchains provides npm versions: the host's, or any version from the registry, unpacked
// once into Dir. The npm tarball bundles all its dependencies (bundleDependencies in npm's
// package.json), so unpacking the verified tarball is a complete install.
type Toolchains struct {
	Dir      string
	Registry string
	Client   *npm.Client

	mu      sync.Mutex
	npmPack *npm.Packument
	host    map[string]string
}

// Tool is a runnable npm.
type Tool struct {
	// Cmd is the command prefix (["npm"] or ["node", ".../bin/npm-cli.js"]).
	Cmd []string
	// Version is the exact npm version.
	Version string
	// Dir is the toolchain directory the sandbox must expose read-only ("" for the host's).
	Dir string
}

// HostVersion runs `tool --version` once and caches it ("node", "npm").
func (tc *Toolchains) HostVersion(ctx context.Context, tool string) (string, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if v, ok := tc.host[tool]; ok {
		return v, nil
	}
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, tool+" is not usable on this host", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if tc.host == nil {
		tc.host = map[string]string{}
	}
	tc.host[tool] = v
	return v, nil
}

// NPM returns the npm for spec: "host", a major ("6"), or an exact version ("6.14.18").
func (tc *Toolchains) NPM(ctx context.Context, spec string) (*Tool, error) {
	if spec == "host" || spec == "" {
		v, err := tc.HostVersion(ctx, "npm")
		if err != nil {
			return nil, err
		}
		return &Tool{Cmd: []string{"npm"}, Version: v}, nil
	}
	if hv, err := tc.HostVersion(ctx, "npm"); err == nil && hv == spec {
		return &Tool{Cmd: []string{"npm"}, Version: hv}, nil
	}
	version, err := tc.resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tc.Dir, version)
	cli := filepath.Join(dir, "package", "bin", "npm-cli.js")
	if _, err := os.Stat(cli); err == nil {
		cache.Touch(dir) // for the cache's least-recently-used eviction
		return &Tool{Cmd: []string{"node", cli}, Version: version, Dir: dir}, nil
	}
	if err := tc.install(ctx, version, dir); err != nil {
		return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "installing npm@"+version, err)
	}
	return &Tool{Cmd: []string{"node", cli}, Version: version, Dir: dir}, nil
}

func (tc *Toolchains) resolve(ctx context.Context, spec string) (string, error) {
	if strings.Count(spec, ".") == 2 {
		return spec, nil
	}
	major, err := strconv.Atoi(spec)
	if err != nil {
		return "", fmt.Errorf("npm version %q: want host, a major or an exact version", spec)
	}
	tc.mu.Lock()
	p := tc.npmPack
	tc.mu.Unlock()
	if p == nil {
		p, err = tc.Client.Packument(ctx, "npm")
		if err != nil {
			return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "listing npm versions", err)
		}
		tc.mu.Lock()
		tc.npmPack = p
		tc.mu.Unlock()
	}
	best, bestV := "", [3]int{-1}
	for v := range p.Versions {
		n, ok := parseRelease(v)
		if !ok || n[0] != major {
			continue
		}
		if n[1] > bestV[1] || (n[1] == bestV[1] && n[2] > bestV[2]) || bestV[0] < 0 {
			best, bestV = v, n
		}
	}
	if best == "" {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonToolchain, "the registry has no npm %d.x", major)
	}
	return best, nil
}

// parseRelease reads "1.2.3" (no pre-release) as numbers.
func parseRelease(v string) ([3]int, bool) {
	var n [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return n, false
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil {
			return n, false
		}
		n[i] = x
	}
	return n, true
}

func (tc *Toolchains) install(ctx context.Context, version, dir string) error {
	v, err := tc.Client.Version(ctx, "npm", version)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(tc.Dir, 0o755); err != nil {
		return err
	}
	art, err := tc.Client.Download(ctx, v, filepath.Join(tc.Dir, ".download"))
	if err != nil {
		return err
	}
	a, err := archive.ReadFile(art.Path, archive.DefaultLimits)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(tc.Dir, ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := archive.ExtractTo(a, tmp); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(tmp, "package", "bin", "npm-cli.js")); err != nil {
		return fmt.Errorf("npm@%s tarball has no bin/npm-cli.js", version)
	}
	// Another process may have finished first; either copy is the same verified tarball.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}
