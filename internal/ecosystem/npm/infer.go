package npm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/registry/npm"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/verdict"
	"gopkg.in/yaml.v3"
)

// Strategy names.
const (
	// StrategyPack runs `npm pack --ignore-scripts` on the source tree: for packages whose
	// tarball holds only files that are in the repository.
	StrategyPack = "npm-pack"
	// StrategyBuildPack installs dependencies, runs the publish-time scripts, then packs:
	// for packages that ship generated files.
	StrategyBuildPack = "npm-build-pack"
)

// DefaultTimeout bounds an npm build.
const DefaultTimeout = 20 * time.Minute

// Infer decides how to rebuild up from loc: which strategy (are all published files in the
// repository, or are some generated?), which npm (the one whose file selection matches the
// upstream tarball), and which scripts to run.
func (e *Ecosystem) Infer(ctx context.Context, up *ecosystem.Upstream, loc definition.Location, mirrors *source.Mirrors) (*definition.BuildDefinition, error) {
	repo, err := mirrors.Sync(ctx, loc.Repo)
	if err != nil {
		return nil, err
	}
	dir := loc.Dir
	if dir == "" {
		dir = "."
	}
	srcMan, err := readManifestAt(ctx, repo, loc.Ref, dir)
	if err != nil {
		return nil, err
	}
	upPkg, err := readUpstream(up.Path)
	if err != nil {
		return nil, err
	}
	srcFiles, err := repo.ListFiles(ctx, loc.Ref, cleanDir(dir))
	if err != nil {
		return nil, verdict.Wrap(verdict.NoSource, verdict.ReasonNoPackageDir, "listing "+dir+" at "+loc.Ref, err)
	}
	differ := differingFiles(ctx, repo, loc.Ref, cleanDir(dir), upPkg, srcFiles)
	var generated, rootCopies []string
	for _, f := range upPkg.files {
		if _, ok := srcFiles[f]; !ok && f != "package.json" && !packedGitignore(f, srcFiles) {
			if cleanDir(dir) != "" && licenseFile.MatchString(f) {
				// lerna and pnpm publish pack the repository root's license into packages
				// without one of their own.
				if b, err := repo.ReadFile(ctx, loc.Ref, f); err == nil && bytes.Equal(b, upPkg.data[f]) {
					rootCopies = append(rootCopies, f)
					continue
				}
			}
			generated = append(generated, f)
		}
	}

	def := &definition.BuildDefinition{
		APIVersion: definition.APIVersion,
		PURL:       up.Target.PURL(),
		Artifact:   up.Artifact,
		Location:   loc,
		Strategy:   definition.Strategy{Name: StrategyPack},
		Timeout:    definition.Duration(DefaultTimeout),
		Toolchain:  map[string]string{},
	}
	if loc.Dir == "." {
		def.Location.Dir = ""
	}
	if n, ok := windowsCheckout(upPkg, srcFiles, differ); ok && def.Location.LineEndings == "" {
		def.Location.LineEndings = definition.CRLF
		def.Notes = append(def.Notes, fmt.Sprintf("%d published files are the repository's with CR LF line endings: the package was published from a Windows checkout (core.autocrlf=true), and the build checks out the same way", n))
	}
	params := map[string]string{}
	if len(rootCopies) > 0 {
		params["root_files"] = strings.Join(rootCopies, ",")
		def.Notes = append(def.Notes, fmt.Sprintf("the published %s is the repository root's, which the publishing tool (lerna, pnpm) packs into packages without their own: the build copies it", strings.Join(rootCopies, ", ")))
	}
	if srcMan.Version != up.Target.Version {
		// semantic-release and similar tools write the version at publish time.
		params["set_version"] = up.Target.Version
		def.Notes = append(def.Notes, fmt.Sprintf("package.json at the commit says version %q; the build sets %s as the publishing tool did", srcMan.Version, up.Target.Version))
	}
	if srcJSON, err := repo.ReadFile(ctx, loc.Ref, path.Join(cleanDir(dir), "package.json")); err == nil {
		if at, ok := gitHeadPlacement(upPkg.data["package.json"], srcJSON); ok {
			params["git_head"] = at
			def.Notes = append(def.Notes, "the published package.json names its commit (gitHead), as lerna publish and some release scripts write it: the build writes the checked-out commit there")
		}
	}
	if srcJSON, err := repo.ReadFile(ctx, loc.Ref, path.Join(cleanDir(dir), "package.json")); err == nil {
		if names, prefix := localDeps(srcJSON, upPkg.data["package.json"]); len(names) > 0 {
			params["local_deps"] = prefix
			def.Notes = append(def.Notes, fmt.Sprintf("package.json depends on %d packages of the repository by path or workspace: protocol (%s); the publishing tool (lerna, pnpm, yarn) wrote their versions, and the build does too", len(names), strings.Join(first(names, 3), ", ")))
		}
	}
	_, hasPrepack := srcMan.Scripts["prepack"]
	pubTool := publishTool(srcMan, upPkg.man)
	var stale []string // published files the repository has with other contents
	if len(generated) == 0 && !hasPrepack && pubTool == "" {
		stale = staleFiles(upPkg, differ)
		if len(stale) > 0 && publishScripts(srcMan.Scripts) == "" {
			// Nothing regenerates them: the publisher's tree was not the commit's.
			def.Notes = append(def.Notes, fmt.Sprintf("%s%d published files differ from the repository's at the commit and no script generates them (%s): the package was published from uncommitted changes or from another commit (publish from the tagged commit's clean checkout)",
				definition.UncommittedNote, len(stale), strings.Join(first(stale, 3), ", ")))
			stale = nil
		}
	}
	var rootMan *manifest // the repository root's manifest, when the package is not at the root
	yarnLocked := false   // a Yarn 1 lockfile pins the dependencies npm installs
	if len(generated) > 0 || hasPrepack || pubTool != "" || len(stale) > 0 {
		// A prepack script shapes the tarball even when every file is in the repository
		// (e.g. `npmignore --auto` writing .npmignore): it needs the dependencies installed.
		def.Strategy.Name = StrategyBuildPack
		installDir := cleanDir(dir)
		if installDir != "" {
			if m, err := readManifestAt(ctx, repo, loc.Ref, "."); err == nil {
				rootMan = m
				if len(m.Workspaces) > 0 {
					installDir = ""
				}
			}
		}
		_, hasPrepare := srcMan.Scripts["prepare"]
		if rootMan != nil && len(generated) > 0 && publishScripts(srcMan.Scripts) == "" && !hasPrepack && !hasPrepare &&
			rootMan.Scripts["build"] != "" && (len(rootMan.Workspaces) > 0 || hasFile(ctx, repo, loc.Ref, "lerna.json")) {
			// A monorepo whose packages do not build themselves: the root's build script
			// compiles them all (lerna-era Babel: "build": "make build" running gulp).
			installDir = ""
			params["root_scripts"] = "build"
			def.Notes = append(def.Notes, "the package has no build script of its own: the monorepo root's build script makes its files")
		}
		if installDir == "" && cleanDir(dir) != "" && rootMan != nil && rootMan.Scripts["prepare"] != "" {
			// npm install runs the workspace root's prepare script (generated sources, as in
			// core-js); the install here ignores scripts, so it is run after it.
			params["root_scripts"] = strings.Trim("prepare,"+params["root_scripts"], ",")
		}
		params["install_dir"] = installDir
		if installDir == "" && cleanDir(dir) != "" && rootMan != nil && len(rootMan.Workspaces) > 0 && !strings.Contains(params["root_scripts"], "build") &&
			(publishScripts(srcMan.Scripts) != "" || hasPrepack || hasPrepare) {
			if dirs, ok := buildFirst(ctx, repo, loc.Ref, rootMan, dir); ok && len(dirs) > 0 {
				params["build_first"] = strings.Join(dirs, ",")
				def.Notes = append(def.Notes, fmt.Sprintf("the package depends on %d workspace packages linked from the checkout (%s): their build scripts run first, dependencies first, as the monorepo's release builds them",
					len(dirs), strings.Join(first(dirs, 4), ", ")))
			} else if !ok {
				def.Notes = append(def.Notes, fmt.Sprintf("the package depends on more than %d workspace packages: they are not built first (a definition can run the monorepo's build with root_scripts)", maxBuildFirst))
			}
		}
		params["install"] = "install"
		if _, ok := srcFiles[relTo(installDir, dir, "package-lock.json")]; ok || hasFile(ctx, repo, loc.Ref, path.Join(installDir, "package-lock.json")) || hasFile(ctx, repo, loc.Ref, path.Join(installDir, "npm-shrinkwrap.json")) {
			params["install"] = "ci"
		}
		if params["install"] == "install" {
			if lock, err := repo.ReadFile(ctx, loc.Ref, path.Join(installDir, "yarn.lock")); err == nil && isBerryLock(lock) {
				// npm would ignore the lockfile, and Yarn ≥ 2 refuses to run scripts in a tree
				// it did not install.
				params["install"] = "yarn"
				if rc, err := repo.ReadFile(ctx, loc.Ref, path.Join(installDir, ".yarnrc.yml")); err == nil {
					if yp, ok := yarnPath(rc); ok && hasFile(ctx, repo, loc.Ref, path.Join(installDir, yp)) {
						params["yarn_path"] = yp
					}
				}
				def.Notes = append(def.Notes, "yarn.lock is Yarn ≥ 2's: dependencies are installed with yarn (the repository's own release when .yarnrc.yml names one)")
			}
		}
		if s := publishScripts(srcMan.Scripts); s != "" {
			params["scripts"] = s
			if _, ok := srcMan.Scripts["build"]; ok && len(generated) > 0 && !strings.Contains(s, ",") && testsOnly(srcMan.Scripts[s]) {
				// "prepublish": "npm test" checks, and the maintainer built by hand.
				params["scripts"] = s + ",build"
				def.Notes = append(def.Notes, fmt.Sprintf("the %s script only runs tests and the published files are built: the build script runs too, as the maintainer ran it before publishing", s))
			}
		}
		if len(generated) > 0 && !hasPrepack && pubTool == "" {
			tag, _ := strings.CutPrefix(loc.Evidence, "tag:")
			if !strings.HasPrefix(loc.Evidence, "tag:") {
				tag = ""
			}
			if wf, ok := findPublishWorkflow(ctx, repo, loc.Ref, cleanDir(dir), tag); ok && insideDir(wf.PublishDir, cleanDir(dir)) {
				delete(params, "scripts")
				params["run"] = strings.Join(wf.Run, "\n")
				params["publish_dir"] = wf.PublishDir
				n := fmt.Sprintf("published by the workflow %s (job %s) with `npm publish %s`: its build commands run, and that directory is packed", wf.File, wf.Job, wf.PublishDir)
				if len(wf.Dropped) > 0 {
					n += fmt.Sprintf("; left out: %s", strings.Join(first(wf.Dropped, 6), "; "))
				}
				def.Notes = append(def.Notes, n)
			}
		}
		if len(generated) > 0 && !hasPrepack && pubTool == "" && params["run"] == "" && publishScripts(srcMan.Scripts) == "" && cleanDir(dir) == "" {
			if mk, err := repo.ReadFile(ctx, loc.Ref, "Makefile"); err == nil {
				if rel, ok := findMakeRelease(mk); ok {
					delete(params, "scripts")
					params["run"] = "make " + rel.Target
					params["publish_dir"] = rel.PublishDir
					def.Notes = append(def.Notes, fmt.Sprintf("released by the Makefile (%q), and no npm script builds: `make %s` runs from the repository root, and %s is packed", rel.Line, rel.Target, rel.PublishDir))
				}
			}
		}
		params["tests"] = "skip" // see scriptShell; "run" runs them
		// Build scripts see the release commit's time ("real": the machine's clock).
		params["clock"] = "commit"
		// npm ≥ 7 installs the versions a Yarn 1 lockfile pins.
		yarnLocked = params["install"] == "install" && hasFile(ctx, repo, loc.Ref, path.Join(params["install_dir"], "yarn.lock"))
		if params["install"] == "install" && !yarnLocked && up.PublishedAt.IsZero() {
			def.Notes = append(def.Notes, definition.DriftNote+"the repository has no lockfile and the registry no trustworthy publish times, so dependencies resolve to their newest versions; files generated from them may differ from the publisher's (a committed lockfile fixes this)")
			if t, err := repo.CommitTime(ctx, loc.Ref); err == nil {
				// TypeScript's and Babel's release dates are known: the install prefers
				// their releases of the commit's time (see egress/era.go).
				params["toolchain_era"] = t.UTC().Format(time.RFC3339)
				def.Notes = append(def.Notes, "TypeScript's and Babel's release dates are known: the install prefers the TypeScript, Babel and @types versions of the release commit's time ("+params["toolchain_era"]+")")
			}
		}
		if pubTool != "" {
			params["publish_with"] = pubTool
			def.Notes = append(def.Notes, fmt.Sprintf("published with %s (a devDependency; the published package.json has no devDependencies): it runs after the build, and the directory it publishes is packed", pubTool))
		}
		sort.Strings(generated)
		switch {
		case len(generated) > 0:
			def.Notes = append(def.Notes, fmt.Sprintf("%d published files are not in the repository (e.g. %s): install and build before packing", len(generated), strings.Join(first(generated, 3), ", ")))
		case hasPrepack:
			def.Notes = append(def.Notes, "package.json has a prepack script: install dependencies so npm pack can run it")
		case len(stale) > 0:
			def.Notes = append(def.Notes, fmt.Sprintf("%d published files differ from the repository's at the commit (e.g. %s): generated files committed before the publisher's last build; the build regenerates them", len(stale), strings.Join(first(stale, 3), ", ")))
		}
	}
	if len(params) > 0 {
		def.Strategy.Params = params
	}

	nodeV, err := e.Toolchains.HostVersion(ctx, "node")
	if err != nil {
		return nil, err
	}
	def.Toolchain["node"] = nodeV
	if def.Strategy.Name == StrategyBuildPack {
		legacy := srcMan.legacyNodeMajor()
		if legacy == 0 && rootMan != nil {
			legacy = rootMan.legacyNodeMajor()
		}
		locked := params["install"] == "ci" || params["install"] == "yarn" || yarnLocked
		if legacy > 0 && locked {
			// A lockfile of gulp 3's era pins its dependencies then (natives < 1.1.3, which
			// aborts on Node.js 10): they run on the Node.js of that era. Without one, the
			// newest dependencies are more likely to need Node.js 10.
			legacy = 8
		}
		if hostMajor, ok := parseRelease(nodeV); ok && legacy > 0 && hostMajor[0] > legacy {
			if v, err := e.Toolchains.ResolveNode(ctx, strconv.Itoa(legacy)); err == nil {
				def.Toolchain["node"] = v
				lock := ""
				if locked {
					lock = ", with its lockfile's dependencies of that era"
				}
				def.Notes = append(def.Notes, fmt.Sprintf("the build uses gulp 3, which does not run on Node.js ≥ 12: scripts run with Node.js %s (%s from the registry%s)", v, NodePackage(), lock))
			} else {
				def.Notes = append(def.Notes, fmt.Sprintf("the build uses gulp 3, which does not run on Node.js ≥ 12, but no Node.js %d is available: %v", legacy, err))
			}
		}
	}
	meta, _ := up.Meta.(*npm.Version)
	if meta != nil && meta.NpmVersion != "" {
		def.Toolchain["npm"] = meta.NpmVersion
		def.Notes = append(def.Notes, "npm "+meta.NpmVersion+" from the registry's _npmVersion")
	} else if params["publish_dir"] != "" {
		// The repository's file list says nothing of a directory the build makes.
		def.Toolchain["npm"], err = e.Toolchains.HostVersion(ctx, "npm")
		if err != nil {
			return nil, err
		}
		def.Notes = append(def.Notes, "npm: the host's (the workflow's publish directory is made by the build, so no file list tells npm versions apart)")
	} else {
		chosen, yarn, notes, err := e.chooseNPM(ctx, repo, loc, dir, upPkg.files, srcFiles)
		if err != nil {
			return nil, err
		}
		def.Toolchain["npm"] = chosen
		if yarn != "" {
			def.Toolchain["yarn"] = yarn
			params["pack"] = "yarn"
			def.Strategy.Params = params
		}
		def.Notes = append(def.Notes, notes...)
	}
	if cleanDir(dir) != "" && len(generated) > 0 && params["publish_dir"] == "" && params["publish_with"] == "" {
		if note, ok := e.workspacePack(ctx, repo, loc, dir, def.Toolchain["npm"], generated); ok {
			params["workspaces"] = "false"
			def.Strategy.Params = params
			def.Notes = append(def.Notes, note)
		}
	}
	if meta != nil {
		// "packageManager": "yarn@1.22.19" (corepack's field) pins the tool the scripts call.
		if name, version, ok := strings.Cut(meta.PackageManager, "@"); ok && (name == "yarn" || name == "pnpm") {
			version, _, _ = strings.Cut(version, "+")
			// npx fetches yarn 1 ("yarn" on the registry), yarn ≥ 2 (@yarnpkg/cli-dist) and pnpm.
			if _, valid := parseRelease(version); valid {
				def.Toolchain[name] = version
			}
		}
	}
	if meta != nil && meta.NodeVersion != "" {
		def.Notes = append(def.Notes, "published with node "+meta.NodeVersion)
	}
	if def.Strategy.Name == StrategyBuildPack {
		if s, note, ok := preReleaseCommit(ctx, repo, loc.Ref, upPkg); ok {
			def.Stabilizers = append(def.Stabilizers, s)
			def.Notes = append(def.Notes, note)
		}
	}
	if !up.PublishedAt.IsZero() {
		t := up.PublishedAt.UTC().Add(time.Minute)
		def.RegistryCutoff = &t
	} else {
		def.CutoffNote = "registry publish times are unavailable or not trustworthy (no time.created in the packument): no cut-off"
	}
	return def, nil
}

// chooseNPM packs the source with each candidate npm (scripts off) and keeps the first whose
// file list equals the upstream one, else the closest. It returns the exact version and notes.
func (e *Ecosystem) chooseNPM(ctx context.Context, repo *source.Repo, loc definition.Location, dir string, upFiles []string, srcFiles map[string]string) (npmVersion, yarnVersion string, notes []string, err error) {
	// Only files that exist in the repository can be selected before a build.
	want := map[string]bool{}
	for _, f := range upFiles {
		if _, ok := srcFiles[f]; ok || f == "package.json" || packedGitignore(f, srcFiles) {
			want[f] = true
		}
	}
	tmp, err := os.MkdirTemp("", "vouch-infer-")
	if err != nil {
		return "", "", nil, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if _, err := repo.Checkout(ctx, loc.Ref, src); err != nil {
		return "", "", nil, verdict.Wrap(verdict.NoSource, verdict.ReasonCloneFailed, "checking out "+loc.Ref, err)
	}
	pkgDir := filepath.Join(src, filepath.FromSlash(dir))
	type score struct {
		version string
		diff    int
	}
	var tried []score
	best := score{diff: -1}
	seen := map[string]bool{}
	for _, cand := range e.NPMVersions {
		tool, err := e.Toolchains.NPM(ctx, cand)
		if err != nil {
			notes = append(notes, fmt.Sprintf("npm %s unavailable: %v", cand, err))
			continue
		}
		if seen[tool.Version] {
			continue
		}
		seen[tool.Version] = true
		files, err := e.packFileList(ctx, tool, pkgDir, tmp, nil)
		if err != nil {
			notes = append(notes, fmt.Sprintf("npm %s could not pack: %v", tool.Version, err))
			continue
		}
		d := fileListDiff(want, files, srcFiles)
		tried = append(tried, score{tool.Version, d})
		if best.diff < 0 || d < best.diff {
			best = score{tool.Version, d}
		}
		if d == 0 {
			break
		}
	}
	if best.diff < 0 {
		return "", "", notes, verdict.Errorf(verdict.BuildFailed, verdict.ReasonToolchain, "no candidate npm could pack the source: %s", strings.Join(notes, "; "))
	}
	var parts []string
	for _, s := range tried {
		parts = append(parts, fmt.Sprintf("%s (%d files differ)", s.version, s.diff))
	}
	notes = append(notes, fmt.Sprintf("npm chosen by file list: %s; tried %s", best.version, strings.Join(parts, ", ")))
	if best.diff > 0 {
		// yarn publish packed with Yarn 1's rules (CHANGELOG always included).
		if yarn, err := e.Toolchains.Yarn1(ctx, "1"); err == nil {
			yd := &definition.BuildDefinition{Strategy: definition.Strategy{Params: map[string]string{"pack": "yarn"}}, Toolchain: map[string]string{"yarn": yarn.Version}}
			if files, err := e.packFileList(ctx, nil, pkgDir, tmp, yd); err == nil {
				// Only an exact match: a list npm misses for another reason (a prepack script
				// that writes .npmignore) is not Yarn's either.
				if d := fileListDiff(want, files, srcFiles); d == 0 {
					notes = append(notes, fmt.Sprintf("Yarn 1 packs the published file list (npm: %d files differ): the package was published with yarn publish, and is packed with yarn %s", best.diff, yarn.Version))
					return best.version, yarn.Version, notes, nil
				}
			}
		}
	}
	return best.version, "", notes, nil
}

// fileListDiff counts the files of want a pack left out, and the repository files (srcFiles)
// it packed that want has not.
func fileListDiff(want, files map[string]bool, srcFiles map[string]string) int {
	d := 0
	for f := range want {
		if !files[f] {
			d++
		}
	}
	for f := range files {
		if !want[f] {
			if _, inSrc := srcFiles[f]; inSrc {
				d++
			}
		}
	}
	return d
}

// packFileList runs `npm pack --ignore-scripts` in pkgDir and lists the tarball's files.
// def's strategy parameters pack and workspaces (and its yarn) choose how; nil is npm pack.
func (e *Ecosystem) packFileList(ctx context.Context, tool *Tool, pkgDir, tmp string, def *definition.BuildDefinition) (map[string]bool, error) {
	if def == nil {
		def = &definition.BuildDefinition{}
	}
	work, err := os.MkdirTemp(tmp, "pack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	sess, err := sandbox.None{}.Start(ctx, sandbox.Config{Timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var log strings.Builder
	env := &ecosystem.Env{Session: sess, SrcDir: pkgDir, OutDir: work, WorkDir: work, Log: &limitedWriter{w: &log, n: 64 << 10}}
	tgz, err := e.packWith(ctx, def, tool, env, pkgDir, e.env(work, nil), true)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLines(log.String(), 5))
	}
	defer os.Remove(tgz)
	return upstreamFileSet(tgz)
}

func upstreamFileSet(tgz string) (map[string]bool, error) {
	u, err := readUpstream(tgz)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(u.files))
	for _, f := range u.files {
		set[f] = true
	}
	return set, nil
}

// upstreamPkg is a package tarball read once: its regular files relative to its top
// directory (sorted), their contents, and its package.json.
type upstreamPkg struct {
	files []string
	data  map[string][]byte
	man   *manifest
}

func readUpstream(tgz string) (*upstreamPkg, error) {
	a, err := archive.ReadFile(tgz, archive.DefaultLimits)
	if err != nil {
		return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "reading "+filepath.Base(tgz), err)
	}
	m, prefix, err := tarballManifest(a)
	if err != nil {
		return nil, err
	}
	u := &upstreamPkg{data: map[string][]byte{}, man: m}
	for _, en := range a.Entries {
		if rel, ok := strings.CutPrefix(en.Name, prefix); ok && en.Type == archive.TypeFile {
			u.files = append(u.files, rel)
			u.data[rel] = en.Data
		}
	}
	sort.Strings(u.files)
	return u, nil
}

// testsOnly reports whether a script command only runs tests or linters (npm test, npm run
// lint && npm run test:unit, yarn test).
func testsOnly(cmd string) bool {
	segs := strings.FieldsFunc(cmd, func(r rune) bool { return r == '&' || r == ';' || r == '|' })
	if len(segs) == 0 {
		return false
	}
	for _, seg := range segs {
		f := strings.Fields(seg)
		var name string
		switch {
		case len(f) == 2 && (f[0] == "npm" || f[0] == "yarn" || f[0] == "pnpm") && (f[1] == "test" || f[1] == "t"):
			continue
		case len(f) == 3 && (f[0] == "npm" || f[0] == "yarn" || f[0] == "pnpm") && f[1] == "run":
			name = f[2]
		case len(f) == 2 && f[0] == "yarn":
			name = f[1]
		default:
			return false
		}
		if !testScript.MatchString(name) {
			return false
		}
	}
	return true
}

// insideDir reports whether the repository path p is dir or under it ("" is the root).
func insideDir(p, dir string) bool {
	return dir == "" || dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// packedGitignore reports whether the published file f is a .npmignore that npm ≤ 4 made
// from the repository's .gitignore: fstream-npm packed a .gitignore under that name when the
// package had no .npmignore, so an old npm is the one that reproduces it.
func packedGitignore(f string, srcFiles map[string]string) bool {
	if path.Base(f) != ".npmignore" {
		return false
	}
	_, ok := srcFiles[path.Join(path.Dir(f), ".gitignore")]
	return ok
}

// maxStaleChecks bounds the repository files read to compare with published ones.
const maxStaleChecks = 50

// differingFiles reads, at commit, the repository's version of the published files (not
// package.json) whose contents differ from the published ones, up to maxStaleChecks of them.
// Nil when they cannot be read.
func differingFiles(ctx context.Context, repo *source.Repo, commit, dir string, up *upstreamPkg, srcFiles map[string]string) map[string][]byte {
	var differ []string
	for _, rel := range up.files {
		if blob, ok := srcFiles[rel]; ok && rel != "package.json" && blob != source.BlobHash(up.data[rel]) {
			differ = append(differ, rel)
		}
	}
	if len(differ) > maxStaleChecks {
		differ = differ[:maxStaleChecks]
	}
	oids := make([]string, len(differ))
	for i, rel := range differ {
		oids[i] = srcFiles[rel]
	}
	_ = repo.Prefetch(ctx, oids)
	out := make(map[string][]byte, len(differ))
	for _, rel := range differ {
		b, err := repo.ReadFile(ctx, commit, path.Join(dir, rel))
		if err != nil {
			return nil
		}
		out[rel] = b
	}
	return out
}

func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// staleFiles lists the published files that the repository has with other contents, line
// endings aside (differ from differingFiles): files a build script regenerates (a committed
// bundle older than the published one).
func staleFiles(up *upstreamPkg, differ map[string][]byte) []string {
	var stale []string
	for rel, b := range differ {
		if !bytes.Equal(toLF(b), toLF(up.data[rel])) {
			stale = append(stale, rel)
		}
	}
	sort.Strings(stale)
	return stale
}

// windowsCheckout reports whether the package was published from a Windows checkout: more of
// the published files that the repository has are its LF files with CR LF line endings
// (core.autocrlf=true, Git for Windows' default) than are byte for byte its LF text files.
// Builds from such a checkout embed the CR LF in what they generate (a stylesheet inlined
// into a bundle as a string), which no stabilizer can tell from a real change.
func windowsCheckout(up *upstreamPkg, srcFiles map[string]string, differ map[string][]byte) (crlf int, ok bool) {
	lf := 0
	for _, rel := range up.files {
		blob, inRepo := srcFiles[rel]
		if !inRepo || rel == "package.json" {
			continue
		}
		data := up.data[rel]
		switch b, read := differ[rel]; {
		case read:
			if bytes.Contains(data, []byte("\r\n")) && bytes.IndexByte(b, '\r') < 0 && bytes.Equal(toLF(data), b) {
				crlf++
			}
		case blob == source.BlobHash(data):
			if bytes.IndexByte(data, '\n') >= 0 && !bytes.Contains(data, []byte("\r\n")) && bytes.IndexByte(data, 0) < 0 {
				lf++
			}
		}
	}
	return crlf, crlf > 0 && crlf > lf
}

// publishTool is the publishing CLI (PublishTools) the package was published with: one the
// repository's package.json uses, when the published package.json lacks the development
// fields that tool removes.
func publishTool(src, up *manifest) string {
	if up == nil || up.DevDeps != nil || len(src.DevDeps) == 0 {
		return ""
	}
	for _, t := range PublishTools {
		if _, ok := src.DevDeps[t]; ok {
			return t
		}
	}
	for _, t := range PublishTools {
		for _, s := range src.Scripts {
			if strings.Contains(s, t) {
				return t
			}
		}
	}
	return ""
}

func readManifestAt(ctx context.Context, repo *source.Repo, commit, dir string) (*manifest, error) {
	p := path.Join(cleanDir(dir), "package.json")
	b, err := repo.ReadFile(ctx, commit, p)
	if err != nil {
		return nil, verdict.Wrap(verdict.NoSource, verdict.ReasonNoPackageDir, "reading "+p+" at "+commit, err)
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, verdict.Wrap(verdict.NoSource, verdict.ReasonManifestMismatch, p+" at "+commit, err)
	}
	return m, nil
}

func hasFile(ctx context.Context, repo *source.Repo, commit, p string) bool {
	_, err := repo.ReadFile(ctx, commit, strings.TrimPrefix(p, "/"))
	return err == nil
}

// publishScripts picks what `npm publish` would have run beyond what `npm pack` runs itself
// (pack runs prepack, prepare and postpack; publish also runs prepublishOnly, and npm < 7 ran
// prepublish): see https://docs.npmjs.com/cli/v10/using-npm/scripts#life-cycle-operation-order.
func publishScripts(scripts map[string]string) string {
	var run []string
	if _, ok := scripts["prepublishOnly"]; ok {
		run = append(run, "prepublishOnly")
	} else if _, ok := scripts["prepublish"]; ok {
		run = append(run, "prepublish")
	}
	_, prepack := scripts["prepack"]
	_, prepare := scripts["prepare"]
	if len(run) == 0 && !prepack && !prepare {
		// No lifecycle script builds: the maintainer ran the build by hand, under its usual
		// name ("compile" in TypeScript projects of tsc's era, such as tslint).
		for _, name := range []string{"build", "compile"} {
			if _, ok := scripts[name]; ok {
				run = append(run, name)
				break
			}
		}
	}
	return strings.Join(run, ",")
}

// licenseFile matches the license files publishing tools copy from a monorepo's root.
var licenseFile = regexp.MustCompile(`(?i)^(?:license|licence)(?:\.(?:md|txt|markdown))?$`)

func cleanDir(dir string) string {
	d := path.Clean(filepath.ToSlash(dir))
	if d == "." {
		return ""
	}
	return d
}

func relTo(installDir, pkgDir, file string) string {
	if cleanDir(installDir) == cleanDir(pkgDir) {
		return file
	}
	return "\x00" // not in the package listing
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// isBerryLock reports whether a yarn.lock was written by Yarn ≥ 2 (it has a __metadata entry;
// Yarn 1's lockfiles start with "# yarn lockfile v1").
func isBerryLock(b []byte) bool {
	return bytes.HasPrefix(b, []byte("__metadata:")) || bytes.Contains(b, []byte("\n__metadata:"))
}

// yarnPath reads yarnPath from a .yarnrc.yml: the Yarn release the repository pins and
// carries. Only a relative path inside the repository is accepted.
func yarnPath(rc []byte) (string, bool) {
	var cfg struct {
		YarnPath string `yaml:"yarnPath"`
	}
	if err := yaml.Unmarshal(rc, &cfg); err != nil {
		return "", false
	}
	return cleanYarnPath(cfg.YarnPath)
}

// cleanYarnPath accepts a relative path inside the repository.
func cleanYarnPath(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	p = path.Clean(p)
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || strings.ContainsAny(p, "\x00\n\"'$`\\") {
		return "", false
	}
	return p, true
}
