package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/source"
)

// maxBuildFirst bounds the workspace packages built before the published one: a package that
// needs more is built by the monorepo's own release, which a definition can name.
const maxBuildFirst = 40

// workspacePatterns reads package.json "workspaces": an array of globs, or an object whose
// "packages" is one (Yarn 1's form, with "nohoist").
func workspacePatterns(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var obj struct {
		Packages []string `json:"packages"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Packages
	}
	return nil
}

// matchWorkspace reports whether the directory dir (slash-separated, relative to the root)
// is matched by one of the workspace patterns ("packages/*", "packages/**", "tools/cli").
func matchWorkspace(patterns []string, dir string) bool {
	for _, p := range patterns {
		p = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(p), "./"), "/")
		if p == "" || strings.HasPrefix(p, "!") {
			continue
		}
		if prefix, ok := strings.CutSuffix(p, "/**"); ok {
			if strings.HasPrefix(dir, prefix+"/") {
				return true
			}
			continue
		}
		if ok, err := path.Match(p, dir); err == nil && ok {
			return true
		}
	}
	return false
}

// workspaceDeps names the dependencies of every kind a manifest declares.
func workspaceDeps(m *manifest) []string {
	var out []string
	for name := range m.DevDeps {
		out = append(out, name)
	}
	for _, raw := range []json.RawMessage{m.Deps, m.PeerDeps} {
		var deps map[string]json.RawMessage
		if len(raw) > 0 && json.Unmarshal(raw, &deps) == nil {
			for name := range deps {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// buildFirst lists, dependencies first, the directories of the workspace packages that the
// package in dir depends on (directly or through other workspace packages) and that have a
// build script: in a monorepo they are linked into node_modules as their checkouts, so their
// built files exist only once they are built, as the monorepo's release (lerna run build, nx
// run-many) does before publishing. ok is false when there are more than maxBuildFirst.
func buildFirst(ctx context.Context, repo *source.Repo, ref string, root *manifest, dir string) (dirs []string, ok bool) {
	patterns := workspacePatterns(root.Workspaces)
	if len(patterns) == 0 {
		return nil, true
	}
	files, err := repo.ListFiles(ctx, ref, "")
	if err != nil {
		return nil, true
	}
	byName := map[string]string{} // package name → directory
	manifests := map[string]*manifest{}
	for f := range files {
		d, base := path.Split(f)
		d = strings.TrimSuffix(d, "/")
		if base != "package.json" || d == "" || strings.Contains(f, "node_modules/") || !matchWorkspace(patterns, d) {
			continue
		}
		m, err := readManifestAt(ctx, repo, ref, d)
		if err != nil || m.Name == "" {
			continue
		}
		if _, dup := byName[m.Name]; !dup {
			byName[m.Name] = d
			manifests[d] = m
		}
	}
	self := cleanDir(dir)
	if manifests[self] == nil {
		return nil, true
	}
	seen := map[string]bool{self: true}
	var visit func(d string)
	visit = func(d string) {
		for _, name := range workspaceDeps(manifests[d]) {
			dep, ok := byName[name]
			if !ok || seen[dep] {
				continue
			}
			seen[dep] = true
			visit(dep)
			if workspaceBuildScript(manifests[dep].Scripts) != "" {
				dirs = append(dirs, dep)
			}
		}
	}
	visit(self)
	if len(dirs) > maxBuildFirst {
		return nil, false
	}
	return dirs, true
}

// workspaceBuildScript is the script that builds a workspace package another one depends
// on: its build script, else what publishing it runs (aws-crypto's packages compile in
// prepublishOnly), else "".
func workspaceBuildScript(s scripts) string {
	for _, name := range []string{"build", "prepublishOnly", "prepublish", "prepack", "prepare"} {
		if s[name] != "" {
			return name
		}
	}
	return ""
}

// maxPlaceholders bounds the empty files workspacePack writes for the published files a
// build makes.
const maxPlaceholders = 5000

// workspacePack reports whether npm npmSpec, packing the package in dir as a workspace of
// its monorepo, would leave out published files the build makes because of the monorepo
// root's ignore rules (aws-crypto's root .gitignore has "build"), while packing the
// directory alone (--workspaces=false, as lerna's packer did) keeps them. It packs the
// checkout with empty files in place of the generated ones.
func (e *Ecosystem) workspacePack(ctx context.Context, repo *source.Repo, loc definition.Location, dir, npmSpec string, generated []string) (string, bool) {
	tool, err := e.Toolchains.NPM(ctx, npmSpec)
	if err != nil || npmMajor(tool) < 7 {
		return "", false // workspaces came with npm 7
	}
	tmp, err := os.MkdirTemp("", "vouch-infer-")
	if err != nil {
		return "", false
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if _, err := repo.Checkout(ctx, loc.Ref, src); err != nil {
		return "", false
	}
	pkgDir := filepath.Join(src, filepath.FromSlash(cleanDir(dir)))
	for i, f := range generated {
		p := filepath.Join(pkgDir, filepath.FromSlash(f))
		if i >= maxPlaceholders || !filepath.IsLocal(filepath.FromSlash(f)) {
			break
		}
		if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, nil, 0o644) != nil {
			return "", false
		}
	}
	kept := func(params map[string]string) (n int, missing []string, ok bool) {
		files, err := e.packFileList(ctx, tool, pkgDir, tmp, &definition.BuildDefinition{Strategy: definition.Strategy{Params: params}})
		if err != nil {
			return 0, nil, false
		}
		for i, f := range generated {
			if i >= maxPlaceholders {
				break
			}
			if files[f] {
				n++
			} else {
				missing = append(missing, f)
			}
		}
		return n, missing, true
	}
	asWorkspace, missing, ok := kept(nil)
	if !ok || len(missing) == 0 {
		return "", false
	}
	alone, _, ok := kept(map[string]string{"workspaces": "false"})
	if !ok || alone <= asWorkspace {
		return "", false
	}
	return fmt.Sprintf("npm %s packs %s as a workspace of the monorepo, whose root ignore rules leave out %d of the published files the build makes (e.g. %s); the publisher's tool packed the directory alone: npm pack --workspaces=false",
		tool.Version, cleanDir(dir), len(missing), strings.Join(first(missing, 3), ", ")), true
}
