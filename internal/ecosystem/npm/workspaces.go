package npm

import (
	"context"
	"encoding/json"
	"path"
	"sort"
	"strings"

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
			if manifests[dep].Scripts["build"] != "" {
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
