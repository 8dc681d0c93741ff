package npm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

	mu         sync.Mutex
	packuments map[string]*npm.Packument
	host       map[string]string
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
	return tc.resolvePackage(ctx, "npm", spec)
}

// resolvePackage is the newest release of pkg with major version spec (or spec itself when
// it is an exact version).
func (tc *Toolchains) resolvePackage(ctx context.Context, pkg, spec string) (string, error) {
	if strings.Count(spec, ".") == 2 {
		return spec, nil
	}
	major, err := strconv.Atoi(spec)
	if err != nil {
		return "", fmt.Errorf("%s version %q: want host, a major or an exact version", pkg, spec)
	}
	tc.mu.Lock()
	p := tc.packuments[pkg]
	tc.mu.Unlock()
	if p == nil {
		p, err = tc.Client.Packument(ctx, pkg)
		if err != nil {
			return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "listing "+pkg+" versions", err)
		}
		tc.mu.Lock()
		if tc.packuments == nil {
			tc.packuments = map[string]*npm.Packument{}
		}
		tc.packuments[pkg] = p
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
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonToolchain, "the registry has no %s %d.x", pkg, major)
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
	return tc.installPackage(ctx, "npm", version, dir, filepath.Join("package", "bin", "npm-cli.js"))
}

// installPackage downloads pkg@version from the registry (verified against its integrity),
// unpacks it into dir and checks that it holds want.
func (tc *Toolchains) installPackage(ctx context.Context, pkg, version, dir, want string) error {
	v, err := tc.Client.Version(ctx, pkg, version)
	if err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	art, err := tc.Client.Download(ctx, v, filepath.Join(parent, ".download"))
	if err != nil {
		return err
	}
	a, err := archive.ReadFile(art.Path, archive.DefaultLimits)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := archive.ExtractTo(a, tmp); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(tmp, want)); err != nil {
		return fmt.Errorf("%s@%s tarball has no %s", pkg, version, want)
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

// NodePackage is the npm package carrying this platform's Node.js binaries (the Node.js
// project's release archives, republished on the registry as node-<os>-<arch>).
func NodePackage() string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	return "node-" + runtime.GOOS + "-" + arch
}

// ResolveNode is the exact Node.js version spec names ("10" → the newest 10.x).
func (tc *Toolchains) ResolveNode(ctx context.Context, spec string) (string, error) {
	return tc.resolvePackage(ctx, NodePackage(), spec)
}

// Node returns Node.js version (exact) from the registry, installed under the toolchains
// directory; Tool.Cmd is its node binary.
func (tc *Toolchains) Node(ctx context.Context, version string) (*Tool, error) {
	if _, ok := parseRelease(version); !ok {
		return nil, verdict.Errorf(verdict.BuildFailed, verdict.ReasonToolchain, "Node.js version %q is not an exact version", version)
	}
	dir := filepath.Join(filepath.Dir(tc.Dir), "node", version)
	bin := filepath.Join(dir, "package", "bin", "node")
	if _, err := os.Stat(bin); err != nil {
		if err := tc.installPackage(ctx, NodePackage(), version, dir, filepath.Join("package", "bin", "node")); err != nil {
			return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "installing Node.js "+version, err)
		}
	} else {
		cache.Touch(dir)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "installing Node.js "+version, err)
	}
	return &Tool{Cmd: []string{bin}, Version: version, Dir: dir}, nil
}

// Yarn1 returns Yarn 1 (the registry's "yarn" package, one bundled file) for spec: a major
// ("1") or an exact 1.x version. It packs packages that were published with yarn publish.
func (tc *Toolchains) Yarn1(ctx context.Context, spec string) (*Tool, error) {
	if spec == "" {
		spec = "1"
	}
	version, err := tc.resolvePackage(ctx, "yarn", spec)
	if err != nil {
		return nil, err
	}
	if n, ok := parseRelease(version); !ok || n[0] != 1 {
		return nil, verdict.Errorf(verdict.BuildFailed, verdict.ReasonToolchain, "yarn %q is not a Yarn 1 release", spec)
	}
	dir := filepath.Join(filepath.Dir(tc.Dir), "yarn", version)
	js := filepath.Join(dir, "package", "bin", "yarn.js")
	if _, err := os.Stat(js); err != nil {
		if err := tc.installPackage(ctx, "yarn", version, dir, filepath.Join("package", "bin", "yarn.js")); err != nil {
			return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "installing yarn@"+version, err)
		}
	} else {
		cache.Touch(dir)
	}
	return &Tool{Cmd: []string{"node", js}, Version: version, Dir: dir}, nil
}
