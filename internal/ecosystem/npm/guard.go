package npm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// A release guard is a small script a publish script starts with that refuses to run
// outside the maintainers' release process, which sets an environment variable first:
// svelte's "node check_publish_env.js && …" (PUBLISH), rollup 3's "node
// scripts/check-release.js" (ROLLUP_RELEASE === 'releasing'). A rebuild is that release, so
// when such a script fails, it is run again with what the guard checks set.

// guardVar is one environment variable a release guard wants, with the value it wants.
type guardVar struct {
	Name, Value, File string
}

var (
	nodeScript = regexp.MustCompile(`(?:^|[\s;&|(])node\s+(?:--?[\w-]+(?:=\S+)?\s+)*([\w./@-]+\.[cm]?js)\b`)
	envRef     = regexp.MustCompile(`\benv\.([A-Za-z_][A-Za-z0-9_]*)|\benv\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]`)
	guardExit  = regexp.MustCompile(`\bexit\(\s*[1-9]|\bexitCode\s*=\s*[1-9]|\bthrow\b`)
)

// maxGuardBytes bounds the scripts read as possible guards: a guard is a few lines.
const maxGuardBytes = 4 << 10

// notGuardVars are environment variables a guard reads that a rebuild must not set: they
// change what everything else in the build does, or are npm's and the system's own.
var notGuardVars = []string{"CI", "NODE_ENV", "HOME", "PATH", "PWD", "USER", "SHELL", "TERM", "TZ", "LANG", "SOURCE_DATE_EPOCH"}

// releaseGuards returns the environment variables the release guards that script body
// runs (node FILE, FILE relative to dir and inside root) check, in the order found.
func releaseGuards(body, dir, root string) []guardVar {
	var out []guardVar
	for _, m := range nodeScript.FindAllStringSubmatch(body, -1) {
		rel := filepath.Clean(filepath.FromSlash(m[1]))
		p := filepath.Join(dir, rel)
		if r, err := filepath.Rel(root, p); err != nil || !filepath.IsLocal(r) {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxGuardBytes {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || !guardExit.Match(b) {
			continue
		}
		src := string(b)
		for _, r := range envRef.FindAllStringSubmatch(src, -1) {
			name := r[1] + r[2]
			if slices.Contains(notGuardVars, name) || strings.HasPrefix(name, "npm_") || slices.ContainsFunc(out, func(g guardVar) bool { return g.Name == name }) {
				continue
			}
			out = append(out, guardVar{Name: name, Value: guardValue(src, name), File: filepath.ToSlash(rel)})
		}
	}
	return out
}

// guardValue is the string the guard compares the variable with (env.X !== 'releasing'),
// or "true" for a guard that only wants it set.
func guardValue(src, name string) string {
	q := regexp.QuoteMeta(name)
	ref := `(?:\benv\.` + q + `\b|\benv\[\s*['"]` + q + `['"]\s*\])`
	lit := `(?:'([^'\n]{1,64})'|"([^"\n]{1,64})")`
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(ref + `\s*[!=]==?\s*` + lit),
		regexp.MustCompile(lit + `\s*[!=]==?\s*(?:process\.)?` + ref),
	} {
		if m := re.FindStringSubmatch(src); m != nil {
			return m[1] + m[2]
		}
	}
	return "true"
}

// scriptGuards reads package.json's script name in pkgDir and returns the release guards
// it runs (see releaseGuards).
func scriptGuards(pkgDir, root, name string) []guardVar {
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return nil
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil
	}
	return releaseGuards(m.Scripts[name], pkgDir, root)
}

// sourceMapWasm is what source-map 0.7 throws on Node.js ≥ 18, whose global fetch makes it
// take itself for a browser that must be told where its WebAssembly is.
var sourceMapWasm = []byte("You must provide the URL of lib/mappings.wasm")

// scriptRemedy looks at why the publish script name failed (its output) and returns the
// environment to run it again with, why, and whether later steps need it too; nil when
// nothing is known to help: a release guard's variables (not kept: a prepare script may
// build only outside a release), or Node.js without global fetch for source-map 0.7 (kept).
func scriptRemedy(pkgDir, root, name string, out []byte, env []string) (next []string, why string, sticky bool) {
	if guards := scriptGuards(pkgDir, root, name); len(guards) > 0 && !slices.ContainsFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, guards[0].Name+"=")
	}) {
		next = append([]string(nil), env...)
		var set []string
		for _, g := range guards {
			next = append(next, g.Name+"="+g.Value)
			set = append(set, fmt.Sprintf("%s=%s (%s)", g.Name, g.Value, g.File))
		}
		return next, "it runs a release guard that checks the environment a release sets: running it again with " + strings.Join(set, ", "), false
	}
	const noFetch = "--no-experimental-fetch"
	if bytes.Contains(out, sourceMapWasm) {
		why = "Node.js ≥ 18's global fetch makes source-map 0.7 take itself for a browser (\"You must provide the URL of lib/mappings.wasm\"): running it again without it, NODE_OPTIONS=" + noFetch + ", as on the Node.js of its time"
		next = append([]string(nil), env...)
		for i, kv := range next {
			if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
				if strings.Contains(v, noFetch) {
					return nil, "", false
				}
				next[i] = strings.TrimSpace("NODE_OPTIONS=" + v + " " + noFetch)
				return next, why, true
			}
		}
		next = append(next, "NODE_OPTIONS="+noFetch)
		return next, why, true
	}
	return nil, "", false
}
