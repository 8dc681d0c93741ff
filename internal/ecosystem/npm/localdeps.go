package npm

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Monorepo publishing tools rewrite the dependencies a package has on its siblings before
// they pack it: lerna publish turns "file:../util" into "^3.0.0" (the sibling's version),
// pnpm and Yarn ≥ 2 turn "workspace:*" into "3.0.0", "workspace:^" into "^3.0.0" and
// "workspace:~" into "~3.0.0". npm pack leaves them as they are. The strategy parameter
// local_deps ("^", "~" or "exact": the prefix for file: specifiers) makes the build do the
// same from the checked-out siblings' versions.

// depFields are the package.json fields the tools rewrite.
var depFields = []string{"dependencies", "devDependencies", "optionalDependencies", "peerDependencies"}

// localSpec reports whether a dependency spec points into the repository.
func localSpec(spec string) bool {
	return strings.HasPrefix(spec, "file:") || strings.HasPrefix(spec, "workspace:") || strings.HasPrefix(spec, "link:")
}

// localDeps lists the dependency names whose spec in src is local and in up is not: the
// publisher's tool rewrote them. prefix is what the tool put before file: versions ("^",
// "~", or "exact"), read from the first such rewrite.
func localDeps(src, up []byte) (names []string, prefix string) {
	var s, u map[string]json.RawMessage
	if json.Unmarshal(src, &s) != nil || json.Unmarshal(up, &u) != nil {
		return nil, ""
	}
	for _, f := range depFields {
		var sd, ud map[string]string
		if json.Unmarshal(s[f], &sd) != nil || json.Unmarshal(u[f], &ud) != nil {
			continue
		}
		for name, spec := range sd {
			if got, ok := ud[name]; ok && localSpec(spec) && !localSpec(got) {
				names = append(names, name)
				if prefix == "" && !strings.HasPrefix(spec, "workspace:") {
					switch {
					case strings.HasPrefix(got, "^"):
						prefix = "^"
					case strings.HasPrefix(got, "~"):
						prefix = "~"
					default:
						prefix = "exact"
					}
				}
			}
		}
	}
	sort.Strings(names)
	if prefix == "" {
		prefix = "^"
	}
	return names, prefix
}

// maxManifests bounds the package.json files read to find workspace siblings by name.
const maxManifests = 5000

// siblingVersions maps the package names under root (node_modules and dot directories
// skipped) to their versions.
func siblingVersions(root string) map[string]string {
	out := map[string]string{}
	n := 0
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != root && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "package.json" || !d.Type().IsRegular() {
			return nil
		}
		if n++; n > maxManifests {
			return filepath.SkipAll
		}
		if b, err := os.ReadFile(p); err == nil {
			if m, err := parseManifest(b); err == nil && m.Name != "" && m.Version != "" {
				if _, dup := out[m.Name]; !dup {
					out[m.Name] = m.Version
				}
			}
		}
		return nil
	})
	return out
}

// publishedSpec is what the publishing tool writes for a local spec, given the sibling's
// version and the prefix for file: specs; false when it cannot tell.
func publishedSpec(spec, version, prefix string) (string, bool) {
	if version == "" {
		return "", false
	}
	if rest, ok := strings.CutPrefix(spec, "workspace:"); ok {
		switch {
		case rest == "*" || rest == "":
			return version, true
		case rest == "^" || rest == "~":
			return rest + version, true
		case strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/"):
			return version, true // a path: the version
		default:
			return rest, true // workspace:^1.2.0 → ^1.2.0
		}
	}
	if prefix == "exact" {
		prefix = ""
	}
	return prefix + version, true
}

// rewriteLocalDeps rewrites the local dependency specs of pkgDir/package.json in place, as
// the publishing tool did (key order and formatting kept), and returns what it changed.
func rewriteLocalDeps(pkgDir, root, prefix string) ([]string, error) {
	p := filepath.Join(pkgDir, "package.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parsing package.json: %w", err)
	}
	var versions map[string]string
	var changed []string
	out := b
	for _, f := range depFields {
		var deps map[string]string
		if json.Unmarshal(raw[f], &deps) != nil {
			continue
		}
		names := make([]string, 0, len(deps))
		for name := range deps {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			spec := deps[name]
			if !localSpec(spec) {
				continue
			}
			version := ""
			rel, byPath := "", true
			switch {
			case strings.HasPrefix(spec, "file:"):
				rel = strings.TrimPrefix(spec, "file:")
			case strings.HasPrefix(spec, "link:"):
				rel = strings.TrimPrefix(spec, "link:")
			case strings.HasPrefix(spec, "workspace:.") || strings.HasPrefix(spec, "workspace:/"):
				rel = strings.TrimPrefix(spec, "workspace:")
			default:
				byPath = false
			}
			if byPath {
				dir := filepath.Join(pkgDir, filepath.FromSlash(rel))
				if r, err := filepath.Rel(root, dir); err == nil && filepath.IsLocal(r) {
					if mb, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
						if m, err := parseManifest(mb); err == nil {
							version = m.Version
						}
					}
				}
			} else {
				if versions == nil {
					versions = siblingVersions(root)
				}
				version = versions[name]
			}
			to, ok := publishedSpec(spec, version, prefix)
			if !ok {
				continue
			}
			q, _ := json.Marshal(name)
			qs, _ := json.Marshal(spec)
			qt, _ := json.Marshal(to)
			re := regexp.MustCompile(regexp.QuoteMeta(string(q)) + `(\s*:\s*)` + regexp.QuoteMeta(string(qs)))
			next := re.ReplaceAll(out, append(append(q, []byte("${1}")...), qt...))
			if string(next) != string(out) {
				out = next
				changed = append(changed, fmt.Sprintf("%s %s → %s", name, spec, to))
			}
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return changed, os.WriteFile(p, out, 0o644)
}
