package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Build runs the definition's strategy and returns the packed tarball in env.OutDir.
func (e *Ecosystem) Build(ctx context.Context, def *definition.BuildDefinition, env *ecosystem.Env) (string, error) {
	tool, err := e.Toolchains.NPM(ctx, def.Toolchain["npm"])
	if err != nil {
		return "", err
	}
	if era := def.Strategy.Params["toolchain_era"]; era != "" {
		if _, err := time.Parse(time.RFC3339, era); err != nil {
			return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter toolchain_era %q is not an RFC 3339 time", era)}}
		}
	}
	pkgDir := filepath.Join(env.SrcDir, filepath.FromSlash(def.Dir()))
	if fi, err := os.Stat(filepath.Join(pkgDir, "package.json")); err != nil || !fi.Mode().IsRegular() {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "no package.json in %s at %s", def.Dir(), def.Location.Ref)
	}
	// npm < 6 packs like the original publisher but cannot install dependency trees on a
	// current Node.js; it packs, and the host's npm installs and runs scripts.
	installer := tool
	if n, ok := parseRelease(tool.Version); ok && n[0] < 6 {
		if installer, err = e.Toolchains.NPM(ctx, "host"); err != nil {
			return "", err
		}
	}
	buildEnv := e.env(env.WorkDir, def.Env)
	nodeMajor := 0
	if v, err := e.Toolchains.HostVersion(ctx, "node"); err == nil {
		if n, ok := parseRelease(v); ok {
			nodeMajor = n[0]
		}
	}
	p := def.Strategy.Params
	installDir := filepath.Join(env.SrcDir, filepath.FromSlash(p["install_dir"]))
	yarnRelease := ""
	if yp := p["yarn_path"]; yp != "" {
		var ok bool
		if yp, ok = cleanYarnPath(yp); !ok {
			return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter yarn_path %q must be a relative path inside the repository", p["yarn_path"])}}
		}
		yarnRelease = filepath.Join(installDir, filepath.FromSlash(yp))
	}
	if legacyDevEngines(filepath.Join(installDir, "package.json")) || installDir != pkgDir && legacyDevEngines(filepath.Join(pkgDir, "package.json")) {
		if n, ok := parseRelease(installer.Version); ok && (n[0] > 10 || n[0] == 10 && n[1] >= 9) {
			// npm ≥ 10.9 refuses to install or run scripts when devEngines is not in its
			// (2024) format; older packages used the field differently.
			fmt.Fprintf(env.Log, "vouch: package.json has a devEngines field in a pre-2024 form, which npm %s rejects; npm 9 installs and runs scripts\n", installer.Version)
			if installer, err = e.Toolchains.NPM(ctx, "9"); err != nil {
				return "", err
			}
		}
	}
	nodePinned := false // npm runs on the host's Node.js by absolute path, scripts on another
	if want, ok := parseRelease(def.Toolchain["node"]); ok && want[0] != nodeMajor && def.Strategy.Name == StrategyBuildPack {
		// The package's build tools need another Node.js major than the host's: scripts find
		// it first on PATH, while npm itself keeps running on the host's Node.js.
		node, err := e.Toolchains.Node(ctx, def.Toolchain["node"])
		if err != nil {
			return "", err
		}
		if tool, installer, err = e.onHostNode(tool, installer, env.WorkDir); err != nil {
			return "", err
		}
		nodePinned = true
		buildEnv = prependPath(buildEnv, filepath.Dir(node.Cmd[0]), 1)
		env.ReadOnly = append(env.ReadOnly, node.Dir)
		nodeMajor = want[0]
		fmt.Fprintf(env.Log, "vouch: scripts run with Node.js %s; npm runs on the host's\n", node.Version)
	}
	if err := writeShims(env.WorkDir, def.Toolchain, yarnRelease); err != nil {
		return "", err
	}
	if _, set := def.Env["NODE_OPTIONS"]; !set && def.Strategy.Name == StrategyBuildPack {
		// Node ≥ 17 (OpenSSL 3) refuses md4, which webpack ≤ 4 hashes modules with
		// (ERR_OSSL_EVP_UNSUPPORTED); builds of that era ran on older Node.js.
		if nodeMajor >= 17 {
			buildEnv = append(buildEnv, "NODE_OPTIONS=--openssl-legacy-provider")
		}
	}
	buildEnv = append(buildEnv, "npm_config_script_shell="+filepath.Join(env.WorkDir, "bin", scriptShell))
	if p["tests"] != "run" {
		buildEnv = append(buildEnv, "VOUCH_SKIP_TESTS=1")
	}
	run := func(dir string, reason verdict.Reason, args ...string) error {
		fmt.Fprintf(env.Log, "$ npm %s\n", strings.Join(args, " "))
		out := &tailWriter{n: 64 << 10}
		err := env.Session.Run(ctx, e.spec(installer, dir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
		return withLastWords(ecosystem.CommandFailure(err, reason, "npm "+strings.Join(args, " ")), out.Bytes())
	}
	switch def.Strategy.Name {
	case StrategyPack:
		if v := p["set_version"]; v != "" {
			if err := run(pkgDir, verdict.ReasonBuildCommand, "version", v, "--no-git-tag-version", "--allow-same-version", "--ignore-scripts"); err != nil {
				return "", err
			}
		}
		if err := publishEdits(def, env, pkgDir); err != nil {
			return "", err
		}
		return e.packWith(ctx, def, tool, env, pkgDir, buildEnv, true)
	case StrategyBuildPack:
		install := p["install"]
		if install == "yarn" {
			// Yarn ≥ 2: its own install (the repository's release, or the pinned one through
			// npx); --mode=skip-build is its --ignore-scripts.
			args := []string{"install"}
			if p["install_scripts"] != "true" {
				args = append(args, "--mode=skip-build")
			}
			fmt.Fprintf(env.Log, "$ yarn %s\n", strings.Join(args, " "))
			yarn := &Tool{Cmd: []string{filepath.Join(env.WorkDir, "bin", "yarn")}, Dir: tool.Dir}
			out := &tailWriter{n: 1 << 20}
			err := env.Session.Run(ctx, e.spec(yarn, installDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
			if err := installFailure(err, "yarn "+strings.Join(args, " "), out.Bytes()); err != nil {
				return "", err
			}
			if lock, err := os.ReadFile(filepath.Join(installDir, "yarn.lock")); err == nil && p["install_scripts"] != "true" && bytes.Contains(lock, []byte("\n\"esbuild@")) {
				// See binaryTools.
				fmt.Fprintf(env.Log, "vouch: running esbuild's install script (old releases fetch their binary from the registry there)\n$ yarn rebuild esbuild\n")
				if err := env.Session.Run(ctx, e.spec(yarn, installDir, env, buildEnv, "rebuild", "esbuild")); err != nil {
					fmt.Fprintf(env.Log, "vouch: yarn rebuild esbuild failed (%v); continuing\n", err)
				}
			}
			env, buildEnv = releaseClock(ctx, p, env, buildEnv) // run sees them too
			return e.runPublish(ctx, def, env, tool, installer, pkgDir, buildEnv, run)
		}
		if install != "ci" && install != "install" {
			install = "install"
		}
		args := []string{install, "--no-audit", "--no-fund"}
		// Dependencies' install scripts download browsers and native binaries that building
		// JavaScript does not need (and that a sandbox denies); the package's own publish
		// scripts still run below. A definition can turn them back on.
		if p["install_scripts"] != "true" {
			args = append(args, "--ignore-scripts")
		}
		// npm install writes package-lock.json when the repository has none; npm < 5 would
		// pack it, so a lockfile the build created is removed again. (--no-package-lock is
		// not used: it also stops npm ≥ 7 from reading yarn.lock's pinned versions.)
		lock := filepath.Join(installDir, "package-lock.json")
		origLock, lockErr := os.ReadFile(lock)
		hadLock := lockErr == nil
		if hadLock {
			// The fallbacks below run npm install, which rewrites it; it is put back afterwards.
			defer os.WriteFile(lock, origLock, 0o644)
		}
		if p["legacy_peer_deps"] == "true" {
			args = append(args, "--legacy-peer-deps")
		}
		deps := installer // installs the dependencies; scripts run with installer
		yarnLock, yerr := os.ReadFile(filepath.Join(installDir, "yarn.lock"))
		// npm < 7 ignores a Yarn 1 lockfile and installs the newest dependencies, and cannot
		// read the lockfiles npm ≥ 7 writes (lockfileVersion 2 and 3, workspaces); npm ≥ 7
		// installs the versions they pin, as the publisher's yarn or npm did.
		yarnPins := yerr == nil && !hadLock && install == "install" && !isBerryLock(yarnLock)
		if (yarnPins || hadLock && lockfileVersion(origLock) >= 2) && !nodePinned {
			if n, ok := parseRelease(installer.Version); ok && n[0] < 7 {
				host, err := e.Toolchains.NPM(ctx, "host")
				if err != nil {
					return "", err
				}
				if h, ok := parseRelease(host.Version); ok && h[0] >= 7 {
					what := "ignores yarn.lock"
					if !yarnPins {
						what = "cannot read package-lock.json's lockfileVersion " + strconv.Itoa(lockfileVersion(origLock))
					}
					fmt.Fprintf(env.Log, "vouch: npm %s %s; npm %s installs the versions it pins\n", installer.Version, what, host.Version)
					deps = host
				}
			}
		}
		out := &tailWriter{n: 1 << 20}
		fmt.Fprintf(env.Log, "$ npm %s\n", strings.Join(args, " "))
		err := env.Session.Run(ctx, e.spec(deps, installDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
		if err != nil && p["legacy_peer_deps"] == "" && bytes.Contains(out.Bytes(), []byte("ERESOLVE")) {
			// npm ≥ 7 refuses peer-dependency conflicts that npm 6 (which many packages were
			// developed with) accepted; resolve as npm 6 did.
			args = append(args, "--legacy-peer-deps")
			fmt.Fprintf(env.Log, "vouch: peer dependency conflict; retrying as npm 6 resolved them\n$ npm %s\n", strings.Join(args, " "))
			out = &tailWriter{n: 1 << 20}
			err = env.Session.Run(ctx, e.spec(deps, installDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
		}
		if err != nil && args[0] == "ci" && bytes.Contains(out.Bytes(), []byte("package.json and package-lock.json or npm-shrinkwrap.json are in sync")) {
			// A lockfile its package.json has outgrown (a dependency added without updating
			// it): npm ci refuses, and the publisher's npm install used what it pins and
			// resolved the rest. The lockfile is put back afterwards.
			args = append([]string{"install"}, args[1:]...)
			fmt.Fprintf(env.Log, "vouch: package-lock.json is out of step with package.json, which npm ci refuses; installing as npm install does, from the lockfile where it still applies\n$ npm %s\n", strings.Join(args, " "))
			out = &tailWriter{n: 1 << 20}
			err = env.Session.Run(ctx, e.spec(deps, installDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
		}
		if _, gitDeps := installProblems(out.Bytes()); err != nil && len(gitDeps) > 0 {
			// A git dependency (the build reaches registries only) under a test tool: install
			// without the devDependencies only test and lint scripts use.
			if retried, rout, rerr := e.installWithoutTestTools(ctx, env, deps, installDir, buildEnv, args, p, gitDeps); retried {
				err, out = rerr, rout
			}
		}
		if rel, rerr := filepath.Rel(installDir, pkgDir); err != nil && ctx.Err() == nil && rerr == nil && rel != "." && filepath.IsLocal(rel) && npmMajor(deps) >= 7 {
			// The monorepo's other workspaces (a documentation site, examples) bring what the
			// install cannot satisfy (a git dependency, a peer conflict): install the root's
			// and the workspaces this package needs only, by listing just those (npm install -w still
			// resolves every workspace).
			_ = os.RemoveAll(filepath.Join(installDir, "node_modules")) // see installWithoutTestTools
			keep := append([]string{filepath.ToSlash(rel)}, splitList(p["build_first"])...)
			restore, werr := withWorkspaces(filepath.Join(installDir, "package.json"), keep)
			if werr == nil {
				retry := append([]string{"install"}, args[1:]...)
				if !slices.Contains(retry, "--legacy-peer-deps") {
					retry = append(retry, "--legacy-peer-deps")
				}
				fmt.Fprintf(env.Log, "vouch: the install of the whole monorepo failed; installing the root's and %s's dependencies only (workspaces: %s)\n$ npm %s\n",
					filepath.ToSlash(rel), strings.Join(keep, ", "), strings.Join(retry, " "))
				rout := &tailWriter{n: 1 << 20}
				rerr := env.Session.Run(ctx, e.spec(deps, installDir, withLog(env, io.MultiWriter(env.Log, rout)), buildEnv, retry...))
				restore()
				if rerr == nil {
					err, out = nil, rout
				} else {
					fmt.Fprintf(env.Log, "vouch: that failed too (%v)\n", rerr)
				}
			}
		}
		if err := installFailure(err, "npm "+strings.Join(args, " "), out.Bytes()); err != nil {
			return "", err
		}
		if !hadLock {
			_ = os.Remove(lock)
		}
		if p["install_scripts"] != "true" {
			if tools := binaryTools(installDir, pkgDir); len(tools) > 0 {
				args := append([]string{"rebuild"}, tools...)
				fmt.Fprintf(env.Log, "vouch: running the install scripts of %s (build tools that fetch their binary from the registry there)\n", strings.Join(tools, ", "))
				if err := run(installDir, verdict.ReasonInstallFailed, args...); err != nil {
					fmt.Fprintf(env.Log, "vouch: %v; continuing\n", err)
				}
			}
		}
		env, buildEnv = releaseClock(ctx, p, env, buildEnv) // run sees them too
		return e.runPublish(ctx, def, env, tool, installer, pkgDir, buildEnv, run)
	default:
		return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("npm has no strategy %q (want %s or %s)", def.Strategy.Name, StrategyPack, StrategyBuildPack)}}
	}
}

// splitList splits a comma-separated strategy parameter, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// withWorkspaces rewrites the package.json at p to list only the workspaces dirs and returns
// the function that puts the file back as it was.
func withWorkspaces(p string, dirs []string) (restore func(), err error) {
	orig, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(orig, &doc); err != nil {
		return nil, err
	}
	ws, err := json.Marshal(dirs)
	if err != nil {
		return nil, err
	}
	doc["workspaces"] = ws
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return nil, err
	}
	return func() { _ = os.WriteFile(p, orig, 0o644) }, nil
}

// npmMajor is the tool's npm major version (0 when unknown).
func npmMajor(t *Tool) int {
	if n, ok := parseRelease(t.Version); ok {
		return n[0]
	}
	return 0
}

// lockfileVersion reads a package-lock.json's lockfileVersion (0 when unreadable).
func lockfileVersion(b []byte) int {
	var l struct {
		V int `json:"lockfileVersion"`
	}
	if json.Unmarshal(b, &l) != nil {
		return 0
	}
	return l.V
}

// binaryToolPackages are build tools whose install script fetches their native binary from
// the npm registry (esbuild < 0.13's install.js installs esbuild-linux-64): the install runs
// without dependencies' scripts (see Build), so theirs run afterwards, and only theirs.
var binaryToolPackages = []string{"esbuild"}

// binaryTools lists the binaryToolPackages installed under installDir or pkgDir that have an
// install script.
func binaryTools(installDir, pkgDir string) []string {
	var out []string
	for _, name := range binaryToolPackages {
		for _, dir := range []string{installDir, pkgDir} {
			b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
			if err != nil {
				continue
			}
			var m struct {
				Scripts scripts `json:"scripts"`
			}
			if json.Unmarshal(b, &m) == nil && (m.Scripts["postinstall"] != "" || m.Scripts["install"] != "") {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// installWithoutTestTools retries a failed npm install without the devDependencies that only
// test and lint scripts use (testOnlyDevDeps of the install directory's package.json), with
// `npm install` (a lockfile would no longer match). package.json and the lockfile are put
// back afterwards. It reports whether it retried.
func (e *Ecosystem) installWithoutTestTools(ctx context.Context, env *ecosystem.Env, installer *Tool, installDir string, buildEnv, args []string, p map[string]string, gitDeps []string) (retried bool, out *tailWriter, err error) {
	manPath := filepath.Join(installDir, "package.json")
	b, rerr := os.ReadFile(manPath)
	if rerr != nil {
		return false, nil, nil
	}
	m, perr := parseManifest(b)
	if perr != nil {
		return false, nil, nil
	}
	roots := []string{"prepack", "prepare", "postpack"}
	roots = append(roots, strings.Split(p["scripts"], ",")...)
	roots = append(roots, strings.Split(p["root_scripts"], ",")...)
	drop := testOnlyDevDeps(m, roots)
	for _, d := range unusedGitDevDeps(m, roots, gitDeps) {
		if !slices.Contains(drop, d) {
			drop = append(drop, d)
		}
	}
	sort.Strings(drop)
	if len(drop) == 0 {
		return false, nil, nil
	}
	restore, werr := withoutDevDeps(manPath, drop)
	if werr != nil {
		return false, nil, nil
	}
	defer restore()
	lock := filepath.Join(installDir, "package-lock.json")
	if orig, err := os.ReadFile(lock); err == nil {
		defer os.WriteFile(lock, orig, 0o644)
	}
	// The failed install may have left a partial node_modules whose packages npm 6's
	// install then counts as installed without linking their executables (rimraf:
	// command not found); npm ci would have removed it too.
	if err := os.RemoveAll(filepath.Join(installDir, "node_modules")); err != nil {
		return false, nil, nil
	}
	retry := append([]string{"install"}, args[1:]...)
	fmt.Fprintf(env.Log, "vouch: git dependencies cannot be fetched (%s); retrying without the devDependencies only test and lint scripts use, or that no publish script uses: %s\n$ npm %s\n",
		listSome(gitDeps, 3), strings.Join(drop, ", "), strings.Join(retry, " "))
	out = &tailWriter{n: 1 << 20}
	return true, out, env.Session.Run(ctx, e.spec(installer, installDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, retry...))
}

// runPublish runs, after the install, the scripts npm publish would run and packs.
func (e *Ecosystem) runPublish(ctx context.Context, def *definition.BuildDefinition, env *ecosystem.Env, tool, installer *Tool, pkgDir string, buildEnv []string, run func(dir string, reason verdict.Reason, args ...string) error) (string, error) {
	p := def.Strategy.Params
	rootDir := filepath.Join(env.SrcDir, filepath.FromSlash(p["install_dir"]))
	for _, s := range strings.Split(p["root_scripts"], ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if err := run(rootDir, verdict.ReasonBuildCommand, "run", s); err != nil {
			if s != "prepare" || ctx.Err() != nil {
				return "", err
			}
			// The root's prepare often only sets up developer tooling (git hooks); whether
			// the package needed it, the comparison tells.
			fmt.Fprintf(env.Log, "vouch: the workspace root's prepare script failed (%v); continuing\n", err)
		}
	}
	// Workspace packages this one depends on, built first (see buildFirst). One that fails
	// to build may not matter to this package: the comparison tells.
	for _, d := range splitList(p["build_first"]) {
		if !filepath.IsLocal(filepath.FromSlash(d)) {
			return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter build_first names %q, which is not a directory inside the repository", d)}}
		}
		wsDir := filepath.Join(env.SrcDir, filepath.FromSlash(d))
		script := "build"
		if b, err := os.ReadFile(filepath.Join(wsDir, "package.json")); err == nil {
			if m, err := parseManifest(b); err == nil && workspaceBuildScript(m.Scripts) != "" {
				script = workspaceBuildScript(m.Scripts)
			}
		}
		fmt.Fprintf(env.Log, "vouch: building the workspace package in %s first\n$ npm run %s\n", d, script)
		err := env.Session.Run(ctx, e.spec(installer, wsDir, env, buildEnv, "run", script))
		if err != nil {
			if ctx.Err() != nil {
				return "", ecosystem.CommandFailure(err, verdict.ReasonBuildCommand, "npm run "+script+" in "+d)
			}
			fmt.Fprintf(env.Log, "vouch: building %s failed (%v); continuing\n", d, err)
		}
	}
	// The publish scripts, and the lifecycle scripts npm pack runs, see what they would
	// under `npm publish` (see scriptShell).
	publishEnv := append(append([]string(nil), buildEnv...), "VOUCH_NPM_PUBLISH=1")
	for _, s := range strings.Split(p["scripts"], ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		args := []string{"run", s}
		fmt.Fprintf(env.Log, "$ npm %s\n", strings.Join(args, " "))
		out := &tailWriter{n: 64 << 10}
		err := env.Session.Run(ctx, e.spec(installer, pkgDir, withLog(env, io.MultiWriter(env.Log, out)), publishEnv, args...))
		runEnv := publishEnv
		for tries := 0; err != nil && ctx.Err() == nil && tries < 2; tries++ {
			next, why, sticky := scriptRemedy(pkgDir, env.SrcDir, s, out.Bytes(), runEnv)
			if next == nil {
				break
			}
			if runEnv = next; sticky {
				publishEnv = next // the later scripts and npm pack need it too
			}
			fmt.Fprintf(env.Log, "vouch: %s failed; %s\n$ npm %s\n", s, why, strings.Join(args, " "))
			out = &tailWriter{n: 64 << 10}
			err = env.Session.Run(ctx, e.spec(installer, pkgDir, withLog(env, io.MultiWriter(env.Log, out)), runEnv, args...))
		}
		if err := ecosystem.CommandFailure(err, verdict.ReasonBuildCommand, "npm "+strings.Join(args, " ")); err != nil {
			return "", withLastWords(err, out.Bytes())
		}
	}
	if v := p["set_version"]; v != "" {
		if err := run(pkgDir, verdict.ReasonBuildCommand, "version", v, "--no-git-tag-version", "--allow-same-version", "--ignore-scripts"); err != nil {
			return "", err
		}
	}
	if p["run"] != "" {
		return e.runWorkflow(ctx, def, env, tool, publishEnv)
	}
	if err := publishEdits(def, env, pkgDir); err != nil {
		return "", err
	}
	if name := p["publish_with"]; name != "" {
		dir, err := e.runPublishTool(ctx, name, env, installer, pkgDir, rootDir, publishEnv)
		if err != nil {
			return "", err
		}
		// The tool's directory is what `npm publish` would have packed; its scripts were
		// cleaned of everything but install-time ones.
		return e.pack(ctx, tool, env, dir, publishEnv, true)
	}
	// An old npm packs without scripts: the host's npm already ran what publish runs, and
	// npm < 6 cannot run lifecycle scripts on a current Node.js.
	if installer != tool {
		// npm < 6 walks node_modules when it packs and fails on trees a current npm
		// installed ("cb.apply is not a function"); the build is done, so set it aside
		// unless the package bundles dependencies from it.
		restore, err := setAsideNodeModules(pkgDir, env.WorkDir)
		if err != nil {
			return "", err
		}
		defer restore()
	}
	return e.packWith(ctx, def, tool, env, pkgDir, publishEnv, installer != tool)
}

// packFlags are the strategy's extra npm pack arguments: workspaces "false" packs a
// workspace package without the monorepo root's ignore rules, as lerna's packer did.
func packFlags(p map[string]string) []string {
	if p["workspaces"] == "false" {
		return []string{"--workspaces=false"}
	}
	return nil
}

// runWorkflow runs the strategy parameter run's commands (a publishing workflow's, see
// workflow.go) from the repository root, one shell each, and packs publish_dir.
func (e *Ecosystem) runWorkflow(ctx context.Context, def *definition.BuildDefinition, env *ecosystem.Env, tool *Tool, buildEnv []string) (string, error) {
	p := def.Strategy.Params
	rel := filepath.FromSlash(p["publish_dir"])
	if rel == "" || !filepath.IsLocal(rel) {
		return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter publish_dir %q must be a directory inside the repository", p["publish_dir"])}}
	}
	shell := &Tool{Cmd: []string{filepath.Join(env.WorkDir, "bin", scriptShell), "-c"}}
	// The files GitHub Actions gives steps to pass on environment variables and outputs
	// (`echo "X=y" >> $GITHUB_ENV`); what a step writes to GITHUB_ENV the next steps see.
	gh := filepath.Join(env.WorkDir, "github")
	if err := os.MkdirAll(gh, 0o755); err != nil {
		return "", err
	}
	ghEnv := filepath.Join(gh, "env")
	buildEnv = append(append([]string(nil), buildEnv...),
		"GITHUB_ENV="+ghEnv, "GITHUB_OUTPUT="+filepath.Join(gh, "output"), "GITHUB_PATH="+filepath.Join(gh, "path"),
		"GITHUB_STEP_SUMMARY="+filepath.Join(gh, "step_summary"), "GITHUB_STATE="+filepath.Join(gh, "state"),
		"GITHUB_WORKSPACE="+env.SrcDir, "GITHUB_SHA="+def.Location.Ref)
	for _, f := range []string{"env", "output", "path", "step_summary", "state"} {
		if err := os.WriteFile(filepath.Join(gh, f), nil, 0o644); err != nil {
			return "", err
		}
	}
	for _, line := range strings.Split(p["run"], "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		stepEnv := buildEnv
		if b, err := os.ReadFile(ghEnv); err == nil {
			stepEnv = append(append([]string(nil), buildEnv...), githubEnvFile(b)...)
		}
		fmt.Fprintf(env.Log, "$ %s\n", line)
		out := &tailWriter{n: 64 << 10}
		err := env.Session.Run(ctx, e.spec(shell, env.SrcDir, withLog(env, io.MultiWriter(env.Log, out)), stepEnv, line))
		if err := ecosystem.CommandFailure(err, verdict.ReasonBuildCommand, line); err != nil {
			return "", withLastWords(err, out.Bytes())
		}
	}
	dir := filepath.Join(env.SrcDir, rel)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "the workflow's commands did not make %s/package.json, the directory it publishes", p["publish_dir"])
	}
	if err := publishEdits(def, env, dir); err != nil {
		return "", err
	}
	return e.pack(ctx, tool, env, dir, buildEnv, false)
}

// githubEnvFile reads a GITHUB_ENV file: NAME=value lines and NAME<<DELIMITER blocks.
func githubEnvFile(b []byte) []string {
	var out []string
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if name, delim, ok := strings.Cut(line, "<<"); ok && name != "" && !strings.Contains(name, "=") {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			out = append(out, name+"="+strings.Join(val, "\n"))
			continue
		}
		if name, _, ok := strings.Cut(line, "="); ok && name != "" && !strings.ContainsAny(name, " \t") {
			out = append(out, line)
		}
	}
	return out
}

// writeGitHead writes the commit into package.json where the strategy parameter git_head
// says (see githead.go).
func publishEdits(def *definition.BuildDefinition, env *ecosystem.Env, pkgDir string) error {
	for _, name := range splitList(def.Strategy.Params["root_files"]) {
		if !licenseFile.MatchString(name) {
			return &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter root_files names %q, which is not a license file at the repository root", name)}}
		}
		dst := filepath.Join(pkgDir, name)
		if _, err := os.Lstat(dst); err == nil {
			continue // the package has its own
		}
		src := filepath.Join(env.SrcDir, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "the repository root has no %s to copy into the package", name)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(env.Log, "vouch: copying the repository root's %s into the package, as the publishing tool did\n", name)
	}
	if prefix := def.Strategy.Params["local_deps"]; prefix != "" {
		if prefix != "^" && prefix != "~" && prefix != "exact" {
			return &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter local_deps %q must be \"^\", \"~\" or \"exact\"", prefix)}}
		}
		changed, err := rewriteLocalDeps(pkgDir, env.SrcDir, prefix)
		if err != nil {
			return verdict.Wrap(verdict.BuildFailed, verdict.ReasonBuildCommand, "writing the versions of local dependencies into package.json", err)
		}
		if len(changed) > 0 {
			fmt.Fprintf(env.Log, "vouch: writing the versions of the repository's packages into package.json, as the publishing tool did: %s\n", strings.Join(changed, ", "))
		}
	}
	at := def.Strategy.Params["git_head"]
	if at == "" {
		return nil
	}
	if key, ok := strings.CutPrefix(at, "after:"); at != "end" && (!ok || key == "") {
		return &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter git_head %q must be \"end\" or \"after:KEY\"", at)}}
	}
	fmt.Fprintf(env.Log, "vouch: writing \"gitHead\": %q into package.json (%s), as the publishing tool did\n", def.Location.Ref, at)
	if err := annotateGitHead(filepath.Join(pkgDir, "package.json"), def.Location.Ref, at); err != nil {
		return verdict.Wrap(verdict.BuildFailed, verdict.ReasonBuildCommand, "writing gitHead into package.json", err)
	}
	return nil
}

// releaseClock returns env and buildEnv for the steps after the install: with the strategy
// parameter clock: commit, they see the release commit's time (Env.Clock, and
// SOURCE_DATE_EPOCH), as builds that stamp the date (copyright years, man pages, banners) saw
// a time close to it on the publisher's machine.
func releaseClock(ctx context.Context, p map[string]string, env *ecosystem.Env, buildEnv []string) (*ecosystem.Env, []string) {
	if p["clock"] != "commit" {
		return env, buildEnv
	}
	t, err := commitTime(ctx, env.SrcDir)
	if err != nil {
		fmt.Fprintf(env.Log, "vouch: the release commit's time is unknown (%v): the build sees the real clock\n", err)
		return env, buildEnv
	}
	c := *env
	c.Clock = t
	fmt.Fprintf(env.Log, "vouch: build scripts run with the clock at the release commit's time, %s (SOURCE_DATE_EPOCH=%d)\n", t.UTC().Format(time.RFC3339), t.Unix())
	return &c, append(append([]string(nil), buildEnv...), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", t.Unix()))
}

// commitTime is the committer time of the checkout's HEAD.
func commitTime(ctx context.Context, srcDir string) (time.Time, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", srcDir, "-c", "safe.directory=*", "log", "-1", "--format=%ct", "HEAD").Output()
	if err != nil {
		return time.Time{}, err
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time %q: %w", out, err)
	}
	return time.Unix(sec, 0), nil
}

// PublishTools are the publishing CLIs vouch recognises: they copy the package into a
// temporary directory, clean package.json of development fields (and, for dual-publish,
// add CommonJS copies of ES modules) and run `npm publish` there.
var PublishTools = []string{"dual-publish", "clean-publish"}

var binName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// runPublishTool runs the package's own publishing tool (the definition's publish_with, a
// command from node_modules/.bin) with npm, pnpm and yarn shims first on PATH that, asked to
// publish, copy the directory they were asked to publish instead. It returns that copy.
func (e *Ecosystem) runPublishTool(ctx context.Context, name string, env *ecosystem.Env, installer *Tool, pkgDir, rootDir string, buildEnv []string) (string, error) {
	if !binName.MatchString(name) {
		return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter publish_with %q must name a command in node_modules/.bin", name)}}
	}
	var bin string
	for _, d := range []string{pkgDir, rootDir} {
		if fi, err := os.Stat(filepath.Join(d, "node_modules", ".bin", name)); err == nil && !fi.IsDir() {
			bin = filepath.Join(d, "node_modules", ".bin", name)
			break
		}
	}
	if bin == "" {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonBuildCommand, "the package publishes with %s, but the install did not provide node_modules/.bin/%s", name, name)
	}
	shims := filepath.Join(env.WorkDir, "publish-bin")
	copyDir := filepath.Join(env.WorkDir, "publish-copy")
	if err := os.MkdirAll(shims, 0o755); err != nil {
		return "", err
	}
	for _, pm := range []string{"npm", "pnpm", "yarn"} {
		script := fmt.Sprintf(`#!/bin/sh
# vouch: %[1]s publish copies the directory to be published for vouch to pack; anything else runs %[1]s.
if [ "$1" = publish ]; then
	rm -rf %[2]s && mkdir -p %[2]s && cp -a . %[2]s/ || exit 1
	echo "vouch: %[1]s publish in $(pwd): packing that directory" >&2
	exit 0
fi
PATH=${PATH#%[3]s:}
exec %[1]s "$@"
`, pm, shellQuote(copyDir), shims)
		if err := os.WriteFile(filepath.Join(shims, pm), []byte(script), 0o755); err != nil {
			return "", err
		}
	}
	_ = os.RemoveAll(copyDir)
	fmt.Fprintf(env.Log, "$ %s\n", name)
	err := env.Session.Run(ctx, e.spec(&Tool{Cmd: []string{bin}, Dir: installer.Dir}, pkgDir, env, prependPath(buildEnv, shims, 0)))
	if err := ecosystem.CommandFailure(err, verdict.ReasonBuildCommand, name); err != nil {
		return "", err
	}
	if fi, err := os.Stat(filepath.Join(copyDir, "package.json")); err != nil || !fi.Mode().IsRegular() {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "%s finished without publishing a package directory", name)
	}
	return copyDir, nil
}

// pack runs `npm pack` in pkgDir and moves the new tarball into outDir. npm < 7 has no
// --pack-destination, so the tarball is found as the .tgz that was not there before.
func (e *Ecosystem) pack(ctx context.Context, tool *Tool, env *ecosystem.Env, pkgDir string, buildEnv []string, ignoreScripts bool, flags ...string) (string, error) {
	before := tgzFiles(pkgDir)
	args := []string{"pack"}
	if ignoreScripts {
		args = append(args, "--ignore-scripts")
	}
	args = append(args, flags...)
	fmt.Fprintf(env.Log, "$ npm %s\n", strings.Join(args, " "))
	out := &tailWriter{n: 64 << 10}
	if err := ecosystem.CommandFailure(env.Session.Run(ctx, e.spec(tool, pkgDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...)), verdict.ReasonBuildCommand, "npm pack"); err != nil {
		return "", withLastWords(err, out.Bytes())
	}
	var made []string
	for f := range tgzFiles(pkgDir) {
		if !before[f] {
			made = append(made, f)
		}
	}
	if len(made) != 1 {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "npm pack produced %d new tarballs in %s", len(made), pkgDir)
	}
	dst := filepath.Join(env.OutDir, made[0])
	if err := os.Rename(filepath.Join(pkgDir, made[0]), dst); err != nil {
		return "", fmt.Errorf("moving packed tarball: %w", err)
	}
	return dst, nil
}

func tgzFiles(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, en := range ents {
		if en.Type().IsRegular() && strings.HasSuffix(en.Name(), ".tgz") {
			out[en.Name()] = true
		}
	}
	return out
}

func (e *Ecosystem) spec(tool *Tool, dir string, env *ecosystem.Env, buildEnv []string, args ...string) *sandbox.Spec {
	s := &sandbox.Spec{
		Args:     append(append([]string{}, tool.Cmd...), args...),
		Dir:      dir,
		Env:      buildEnv,
		Writable: nonEmpty(env.SrcDir, env.OutDir, env.WorkDir),
		Stdout:   env.Log,
		Stderr:   env.Log,
		Clock:    env.Clock,
	}
	s.ReadOnly = append(s.ReadOnly, env.ReadOnly...)
	if tool.Dir != "" {
		s.ReadOnly = append(s.ReadOnly, tool.Dir)
	}
	return s
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// env is the build environment: a private HOME, npm cache and TMPDIR under workDir (so the
// network log sees every download), the configured registry, and the definition's variables.
func (e *Ecosystem) env(workDir string, extra map[string]string) []string {
	home := filepath.Join(workDir, "home")
	tmp := filepath.Join(workDir, "tmp")
	cache := filepath.Join(workDir, "npm-cache")
	for _, d := range []string{home, tmp, cache} {
		_ = os.MkdirAll(d, 0o755)
	}
	vars := map[string]string{
		"PATH":                             filepath.Join(workDir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":                             home,
		"TMPDIR":                           tmp,
		"LANG":                             "C.UTF-8",
		"CI":                               "true",
		"npm_config_cache":                 cache,
		"npm_config_registry":              e.Registry + "/",
		"npm_config_update_notifier":       "false",
		"npm_config_fund":                  "false",
		"npm_config_audit":                 "false",
		"npm_config_replace_registry_host": replaceRegistryHost(e.Registry),
		"npm_config_userconfig":            filepath.Join(home, ".npmrc"),
		"npm_config_globalconfig":          filepath.Join(home, ".npmrc-global"),
	}
	// Yarn ≥ 2 reads its own settings: the same registry, caches under workDir, no telemetry,
	// and a lockfile it may adapt (CI=true would make any difference fatal).
	vars["YARN_NPM_REGISTRY_SERVER"] = e.Registry
	vars["YARN_CACHE_FOLDER"] = filepath.Join(workDir, "yarn-cache")
	vars["YARN_GLOBAL_FOLDER"] = filepath.Join(workDir, "yarn-global")
	vars["YARN_ENABLE_GLOBAL_CACHE"] = "false"
	vars["YARN_ENABLE_TELEMETRY"] = "0"
	vars["YARN_ENABLE_IMMUTABLE_INSTALLS"] = "false"
	vars["YARN_ENABLE_PROGRESS_BARS"] = "false"
	// npm's network retries default to minutes of back-off per request; fail in seconds instead
	// so an unreachable dependency ends the build quickly with a readable error.
	vars["npm_config_fetch_retries"] = "2"
	// Tools that fetch browsers at install time (they only matter for tests).
	vars["PUPPETEER_SKIP_DOWNLOAD"] = "1"
	vars["PUPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"
	vars["CYPRESS_INSTALL_BINARY"] = "0"
	vars["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
	vars["npm_config_fetch_retry_mintimeout"] = "2000"
	vars["npm_config_fetch_retry_maxtimeout"] = "10000"
	// The host's TLS trust (and proxy, for --sandbox none) carries over; the bwrap sandbox
	// replaces these with its own egress proxy and CA bundle.
	for _, k := range hostPassthrough {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range extra {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// replaceRegistryHost is npm's replace-registry-host for a build against registry. Lockfiles
// name the registry they were resolved against, and yarn.lock's is registry.yarnpkg.com,
// which serves npm's tarballs under another name (the lockfile's integrity still pins each):
// against npm's registry, that host is replaced; against any other (a mirror), every host is,
// as the build can reach no other. npm 8.x (late) and later read it; older npm ignores it.
func replaceRegistryHost(registry string) string {
	if u, err := url.Parse(registry); err == nil && u.Host == "registry.npmjs.org" {
		return "registry.yarnpkg.com"
	}
	return "always"
}

// writeShims puts yarn and pnpm on the build's PATH: many packages' scripts call them (for
// example "prepublishOnly": "yarn build"). Each shim runs the pinned version through npx, so
// the tool comes from the registry like any other dependency and shows in the network log.
func writeShims(workDir string, toolchain map[string]string, yarnRelease string) error {
	dir := filepath.Join(workDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, scriptShell), []byte(scriptShellText), 0o755); err != nil {
		return err
	}
	guards := filepath.Join(workDir, "guard-bin")
	if err := os.MkdirAll(guards, 0o755); err != nil {
		return err
	}
	for _, g := range publishGuards {
		script := fmt.Sprintf("#!/bin/sh\necho \"vouch: skipping %s (it checks the registry before a publish and makes no package files; the version is published already)\" >&2\nexit 0\n", g)
		if err := os.WriteFile(filepath.Join(guards, g), []byte(script), 0o755); err != nil {
			return err
		}
	}
	// Release scripts sync with the remote first ("prepublishOnly": "git pull --ff-only &&
	// npm run build"): the rebuild is of the checked-out commit, so git's remote commands
	// are skipped and the rest go to git.
	if gitPath, err := exec.LookPath("git"); err == nil {
		script := "#!/bin/sh\ncase \"$1\" in\npull | push | fetch)\n\techo \"vouch: skipping git $1 (a release script's sync with the remote; the rebuild is of the checked-out commit)\" >&2\n\texit 0\n\t;;\nesac\nexec " + shellQuote(gitPath) + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(guards, "git"), []byte(script), 0o755); err != nil {
			return err
		}
	}
	// The host's npx by its path: a package's node_modules/.bin, first on PATH in scripts, may
	// hold npm 6's npx (a dependency on npm), which takes "yarn build:flow"'s argument for a
	// package to fetch.
	npx := "npx"
	if p, err := exec.LookPath("npx"); err == nil {
		npx = shellQuote(p)
	}
	for tool, def := range map[string]string{"yarn": "1", "pnpm": "8"} {
		v := toolchain[tool]
		if v == "" {
			v = def
		}
		script := fmt.Sprintf("#!/bin/sh\n# vouch: %s from the registry (toolchain %s@%s)\nexec %s --yes %s@%s \"$@\"\n", tool, tool, v, npx, tool, v)
		if n, ok := parseRelease(v); ok && tool == "yarn" && n[0] >= 2 {
			// Yarn ≥ 2 is published as @yarnpkg/cli-dist.
			script = fmt.Sprintf("#!/bin/sh\n# vouch: yarn from the registry (toolchain yarn@%s)\nexec %s --yes -p @yarnpkg/cli-dist@%s yarn \"$@\"\n", v, npx, v)
		}
		if tool == "yarn" && yarnRelease != "" {
			script = fmt.Sprintf("#!/bin/sh\n# vouch: the repository's own yarn release (.yarnrc.yml yarnPath)\nexec node %s \"$@\"\n", shellQuote(yarnRelease))
		}
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// scriptShell is the shell npm runs package scripts with (npm_config_script_shell).
//
// With VOUCH_SKIP_TESTS=1 (unless the definition says tests: run) it skips test scripts:
// publish scripts often run the tests ("prepublishOnly": "npm test && npm run build"), tests
// need what a rebuild lacks (git submodules, services, browsers, the network) and they make
// no package files. Every skip is logged.
//
// With VOUCH_NPM_PUBLISH=1 the publish-time lifecycle scripts see what they would under
// `npm publish`: npm_command=publish (npm ≥ 7) and npm_config_argv (npm ≤ 6), which the
// in-publish / not-in-publish helpers read ("prepublish": "in-publish && npm run
// update-readme || not-in-publish"). Scripts they run through npm run see npm's own values,
// as under a real publish.
const scriptShell = "vouch-script-shell"

// publishGuards are commands publish scripts run to refuse publishing a version the registry
// already has ("prepublishOnly": "safe-publish-latest && npm run build"), or to refuse a plain
// `npm publish` ("prepublish": "npm run build && publish-please guard"; the maintainer's
// `npm run publish-please` is the release, which a rebuild does not run). A rebuild is of a
// published version, so the script shell puts no-op stand-ins for them first on PATH.
var publishGuards = []string{"safe-publish-latest", "can-npm-publish", "publish-please"}

const scriptShellText = `#!/bin/sh
# vouch: npm runs package scripts through this shell (see the vouch npm ecosystem).
if [ "$VOUCH_SKIP_TESTS" = 1 ]; then
	case "$npm_lifecycle_event" in
	test | pretest | posttest | test:* | test-*)
		# Leading "npm run build &&" steps of a test script still run: they make files.
		set -f
		cmd=$2
		while [ "$1" = -c ]; do
			seg=${cmd%%&&*}
			set -- $seg
			case "$1 $2" in
			"npm run" | "npm run-script" | "yarn run" | "pnpm run") name=$3 n=3 ;;
			yarn\ *) name=$2 n=2 ;;
			*) break ;;
			esac
			[ $# -eq $n ] || break
			case "$name" in
			test* | lint* | pretest* | posttest* | cover* | -*) break ;;
			esac
			case "$seg" in *[\;\|\<\>\&\$\(]*) break ;; esac
			echo "vouch: the test script '$npm_lifecycle_event' starts by running '$name': running that" >&2
			/bin/sh -c "$seg" || exit $?
			[ "$seg" = "$cmd" ] && break
			cmd=${cmd#*&&}
			set -- -c "$cmd"
		done
		echo "vouch: skipping the test script '$npm_lifecycle_event' (tests make no package files; set the strategy parameter tests: run to run them)" >&2
		exit 0
		;;
	esac
fi
# Lint scripts make no package files either, and fail on what a rebuild changes (newer linters
# without a lockfile, lint-only devDependencies left out): skipped with the tests, unless they
# fix or rewrite files (--fix, --write).
if [ "$VOUCH_SKIP_TESTS" = 1 ]; then
	case "$npm_lifecycle_event" in
	lint | lint:* | lint-* | prelint | postlint | eslint | tslint | stylelint)
		case "$2" in
		*--fix* | *--write*) ;;
		*)
			echo "vouch: skipping the lint script '$npm_lifecycle_event' (linting makes no package files; set the strategy parameter tests: run to run it)" >&2
			exit 0
			;;
		esac
		;;
	esac
fi
# A script that is a dependency audit ("security": "npm audit --audit-level=high") checks the
# dependencies against today's advisories, which an old release fails, and makes no files.
case "$2" in
"npm audit" | "npm audit "* | "yarn audit" | "yarn audit "* | "pnpm audit" | "pnpm audit "*)
	echo "vouch: skipping the audit script '$npm_lifecycle_event' (it checks dependencies against today's advisories and makes no package files)" >&2
	exit 0
	;;
esac
if [ "$VOUCH_NPM_PUBLISH" = 1 ]; then
	case "$npm_lifecycle_event" in
	prepublish | prepublishOnly | prepack | prepare | postpack)
		npm_command=publish
		npm_config_argv='{"remain":[],"cooked":["publish"],"original":["publish"]}'
		export npm_command npm_config_argv
		;;
	esac
fi
# Publish guards (see publishGuards) pass: the version is published already.
PATH="${0%/bin/*}/guard-bin:$PATH"
export PATH
# Scripts were written against macOS's sh, which is bash ("cp ../{LICENSE,README}.md ."):
# bash runs them when it is installed, and dash-only scripts alike.
if [ -x /bin/bash ]; then
	exec /bin/bash "$@"
fi
exec /bin/sh "$@"
`

// setAsideNodeModules moves pkgDir/node_modules into workDir (not when package.json has
// bundleDependencies, which npm packs from node_modules) and returns the function that puts
// it back.
func setAsideNodeModules(pkgDir, workDir string) (func(), error) {
	nm := filepath.Join(pkgDir, "node_modules")
	if _, err := os.Stat(nm); err != nil {
		return func() {}, nil
	}
	if b, err := os.ReadFile(filepath.Join(pkgDir, "package.json")); err == nil {
		var m struct {
			Bundle  json.RawMessage `json:"bundleDependencies"`
			Bundled json.RawMessage `json:"bundledDependencies"`
		}
		if json.Unmarshal(b, &m) == nil && (len(m.Bundle) > 0 || len(m.Bundled) > 0) {
			return func() {}, nil
		}
	}
	aside := filepath.Join(workDir, "node_modules.aside")
	if err := os.Rename(nm, aside); err != nil {
		return nil, fmt.Errorf("setting node_modules aside: %w", err)
	}
	return func() { _ = os.Rename(aside, nm) }, nil
}

// withLog returns a copy of env whose commands write to w.
func withLog(env *ecosystem.Env, w io.Writer) *ecosystem.Env {
	c := *env
	c.Log = w
	return &c
}

// hostPassthrough are host variables a build inherits: TLS trust anchors and proxies that
// the machine's own network setup may depend on.
var hostPassthrough = []string{
	"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// limitedWriter keeps at most n bytes.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if int64(len(q)) > l.n {
		q = q[:l.n]
	}
	n, err := l.w.Write(q)
	l.n -= int64(n)
	if err != nil {
		return n, err
	}
	return len(p), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// legacyDevEngines reports whether the package.json at p has a devEngines field that is not in
// the form npm ≥ 10.9 validates (objects for packageManager, runtime, cpu, libc, os).
func legacyDevEngines(p string) bool {
	b, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	var m struct {
		DevEngines json.RawMessage `json:"devEngines"`
	}
	if json.Unmarshal(b, &m) != nil || len(m.DevEngines) == 0 || string(m.DevEngines) == "null" {
		return false
	}
	var engines map[string]json.RawMessage
	if json.Unmarshal(m.DevEngines, &engines) != nil {
		return true
	}
	for k, v := range engines {
		switch k {
		case "packageManager", "runtime", "cpu", "libc", "os":
		default:
			return true
		}
		if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' && t[0] != '[' {
			return true
		}
	}
	return false
}

// onHostNode pins npm (the build's tool and installer) to the host's Node.js by absolute
// path, and puts npm and npx shims that do the same first on the build's PATH: another
// Node.js on PATH runs the package's scripts, and npm ≥ 7 does not run on old ones.
func (e *Ecosystem) onHostNode(tool, installer *Tool, workDir string) (*Tool, *Tool, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "finding the host's node", err)
	}
	if node, err = filepath.Abs(node); err != nil {
		return nil, nil, err
	}
	pin := func(t *Tool) (*Tool, error) {
		c := *t
		switch c.Cmd[0] {
		case "npm":
			cli, err := exec.LookPath("npm")
			if err == nil {
				cli, err = filepath.EvalSymlinks(cli)
			}
			if err != nil {
				return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "finding the host's npm", err)
			}
			c.Cmd = []string{node, cli}
		case "node":
			c.Cmd = append([]string{node}, c.Cmd[1:]...)
		}
		return &c, nil
	}
	if tool, err = pin(tool); err != nil {
		return nil, nil, err
	}
	if installer, err = pin(installer); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(workDir, "bin"), 0o755); err != nil {
		return nil, nil, err
	}
	npmCli := installer.Cmd[len(installer.Cmd)-1]
	npxCli := filepath.Join(filepath.Dir(npmCli), "npx-cli.js")
	for name, cli := range map[string]string{"npm": npmCli, "npx": npxCli} {
		script := fmt.Sprintf("#!/bin/sh\n# vouch: npm on the host's Node.js\nexec %s %s \"$@\"\n", shellQuote(node), shellQuote(cli))
		if err := os.WriteFile(filepath.Join(workDir, "bin", name), []byte(script), 0o755); err != nil {
			return nil, nil, err
		}
	}
	return tool, installer, nil
}

// prependPath inserts dir into env's PATH after its first n entries.
func prependPath(env []string, dir string, n int) []string {
	out := append([]string(nil), env...)
	for i, kv := range out {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			parts := strings.Split(v, string(os.PathListSeparator))
			n = min(n, len(parts))
			parts = append(parts[:n], append([]string{dir}, parts[n:]...)...)
			out[i] = "PATH=" + strings.Join(parts, string(os.PathListSeparator))
		}
	}
	return out
}

// packWith packs pkgDir as the strategy says: npm pack, or (parameter pack: yarn) Yarn 1's
// pack, which yarn publish used: it always includes CHANGELOG, HISTORY and CHANGES files
// that npm leaves out. yarn publish also runs prepare, which yarn pack does not.
func (e *Ecosystem) packWith(ctx context.Context, def *definition.BuildDefinition, tool *Tool, env *ecosystem.Env, pkgDir string, buildEnv []string, ignoreScripts bool) (string, error) {
	p := def.Strategy.Params
	switch p["pack"] {
	case "", "npm":
		return e.pack(ctx, tool, env, pkgDir, buildEnv, ignoreScripts, packFlags(p)...)
	case "yarn":
	default:
		return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("strategy parameter pack %q must be npm or yarn", p["pack"])}}
	}
	yarn, err := e.Toolchains.Yarn1(ctx, def.Toolchain["yarn"])
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonNoOutput, "reading package.json", err)
	}
	m, err := parseManifest(b)
	if err != nil {
		return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonBuildCommand, "reading package.json", err)
	}
	yrun := func(args ...string) error {
		fmt.Fprintf(env.Log, "$ yarn %s\n", strings.Join(args, " "))
		out := &tailWriter{n: 64 << 10}
		err := env.Session.Run(ctx, e.spec(yarn, pkgDir, withLog(env, io.MultiWriter(env.Log, out)), buildEnv, args...))
		return withLastWords(ecosystem.CommandFailure(err, verdict.ReasonBuildCommand, "yarn "+strings.Join(args, " ")), out.Bytes())
	}
	if !ignoreScripts && m.Scripts["prepare"] != "" {
		if err := yrun("run", "prepare"); err != nil {
			return "", err
		}
	}
	name := strings.ReplaceAll(strings.TrimPrefix(m.Name, "@"), "/", "-") + "-" + m.Version + ".tgz"
	if m.Name == "" || !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "package.json names no usable package name (%q)", m.Name)
	}
	dst := filepath.Join(env.OutDir, name)
	args := []string{"pack", "--non-interactive", "--filename", dst}
	if ignoreScripts {
		args = append(args, "--ignore-scripts")
	}
	if err := yrun(args...); err != nil {
		return "", err
	}
	if fi, err := os.Stat(dst); err != nil || !fi.Mode().IsRegular() {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "yarn pack wrote no tarball")
	}
	return dst, nil
}
