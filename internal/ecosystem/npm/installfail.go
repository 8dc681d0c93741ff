package npm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/verdict"
)

var (
	urlRE     = regexp.MustCompile(`https?://[^\s'"]+`)
	notInReg  = regexp.MustCompile(`'([^'\s]+)' is not in (?:this|the npm) registry`)
	noTarget  = regexp.MustCompile(`No matching version found for (\S+?)\.?$`)
	gitRemote = regexp.MustCompile(`git (?:--no-replace-objects )?ls-remote (?:-h -t )?(\S+)`)
	// A lockfile's GitHub dependency is a tarball of a commit from GitHub's API or codeload.
	githubTarball = regexp.MustCompile(`https://(?:api\.github\.com/repos|codeload\.github\.com)/([\w.-]+)/([\w.-]+)/(?:tarball|tar\.gz)/`)
)

// installProblems reads an install's output for causes a maintainer can act on: packages the
// registry does not serve (HTTP 404: a partial mirror, an unpublished version) and git
// dependencies that could not be fetched.
func installProblems(out []byte) (missing, gitDeps []string) {
	seen := map[string]bool{}
	add := func(list *[]string, s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			*list = append(*list, s)
		}
	}
	recent404 := 0 // lines since a 404 (yarn prints the URL a few lines after the code)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		is404 := strings.Contains(line, " 404") || strings.Contains(line, "404 Not Found") || strings.Contains(line, "(Not Found)")
		if is404 {
			recent404 = 4
		} else if recent404 > 0 {
			recent404--
		}
		if m := notInReg.FindStringSubmatch(line); m != nil {
			add(&missing, m[1])
			continue
		}
		if m := noTarget.FindStringSubmatch(line); m != nil {
			add(&missing, m[1]) // ETARGET: no version in the range (a mirror that lacks it)
			continue
		}
		if m := gitRemote.FindStringSubmatch(line); m != nil {
			add(&gitDeps, m[1])
			continue
		}
		if m := githubTarball.FindStringSubmatch(line); m != nil {
			add(&gitDeps, "https://github.com/"+m[1]+"/"+m[2])
			continue
		}
		if recent404 > 0 && (is404 || strings.Contains(line, "Request URL:")) {
			if u := urlRE.FindString(line); u != "" {
				add(&missing, packageOfURL(u))
			}
		}
	}
	return missing, gitDeps
}

// packageOfURL names the package a registry URL is for: name@version for a tarball
// (/@scope/name/-/name-1.0.0.tgz), the name for a packument (/@scope%2fname).
func packageOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		p = u.Path
	}
	p = strings.TrimPrefix(p, "/")
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		base := name[strings.LastIndex(name, "/")+1:]
		if v, ok := strings.CutPrefix(strings.TrimSuffix(file, ".tgz"), base+"-"); ok {
			return name + "@" + v
		}
		return name
	}
	return p
}

// installFailure is the error for a failed install: the command's failure, with what
// installProblems found in its output.
func installFailure(err error, what string, out []byte) error {
	ferr := ecosystem.CommandFailure(err, verdict.ReasonInstallFailed, what)
	ve, ok := verdict.As(ferr)
	if !ok || ve.Reason != verdict.ReasonInstallFailed {
		return ferr
	}
	missing, gitDeps := installProblems(out)
	var why []string
	if len(missing) > 0 {
		why = append(why, fmt.Sprintf("the registry does not serve %d of the packages it needs (HTTP 404 or no matching version: %s): the registry or mirror lacks them", len(missing), listSome(missing, 3)))
	}
	if len(gitDeps) > 0 {
		why = append(why, fmt.Sprintf("git dependencies could not be fetched (%s): the build reaches package registries only", listSome(gitDeps, 3)))
	}
	if len(why) == 0 {
		return ferr
	}
	return verdict.Wrap(verdict.BuildFailed, verdict.ReasonInstallFailed, what+" failed: "+strings.Join(why, "; "), err)
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// tailWriter keeps the last n bytes written to it (at most 2n in memory): an install's errors
// come at the end of its output, after any number of warnings.
type tailWriter struct {
	buf []byte
	n   int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

// Bytes returns the last n bytes written.
func (t *tailWriter) Bytes() []byte {
	if len(t.buf) > t.n {
		return t.buf[len(t.buf)-t.n:]
	}
	return t.buf
}

// testOnlyDevDeps lists the devDependencies that only test and lint scripts use: named in a
// script reached from test*, lint* or coverage* scripts, and in none reached from the publish
// scripts (roots). A reference to a script is any word of a command that names one (npm run
// x, yarn x, run-s x y), which errs towards keeping dependencies.
func testOnlyDevDeps(m *manifest, roots []string) []string {
	used, tested := scriptUse(m, roots)
	var out []string
	for dep := range m.DevDeps {
		bin := dep[strings.LastIndex(dep, "/")+1:]
		if used[dep] || used[bin] || !(tested[dep] || tested[bin]) {
			continue
		}
		out = append(out, dep)
	}
	sort.Strings(out)
	return out
}

// unusedGitDevDeps lists the devDependencies fetched from one of the git repositories that
// could not be fetched (gitDeps, as installProblems names them) and named by no script reached
// from the publish scripts (roots): a documentation theme (protobufjs's jaguarjs-jsdoc, which
// only its jsdoc configuration names) builds no package file.
func unusedGitDevDeps(m *manifest, roots, gitDeps []string) []string {
	used, _ := scriptUse(m, roots)
	var out []string
	for dep, spec := range m.DevDeps {
		s, ok := spec.(string)
		bin := dep[strings.LastIndex(dep, "/")+1:]
		if !ok || used[dep] || used[bin] {
			continue
		}
		for _, g := range gitDeps {
			if repo := githubRepo(g); repo != "" && strings.Contains(strings.ToLower(s), strings.ToLower(repo)) {
				out = append(out, dep)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// githubRepo is "owner/name" of a GitHub git URL in any form npm prints, "" for others.
func githubRepo(u string) string {
	for _, p := range []string{"github.com/", "github.com:"} {
		if _, rest, ok := strings.Cut(u, p); ok {
			parts := strings.SplitN(strings.TrimSuffix(rest, ".git"), "/", 3)
			if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
				return parts[0] + "/" + strings.TrimSuffix(parts[1], ".git")
			}
		}
	}
	return ""
}

// scriptUse reads which words (commands, dependency names) the scripts reached from the
// publish scripts (roots) use, and which the scripts reached only from test, lint and
// coverage scripts use.
func scriptUse(m *manifest, roots []string) (used, tested map[string]bool) {
	words := func(cmd string) []string {
		return strings.FieldsFunc(cmd, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '@' || r == '/' || r == ':' ||
				r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		})
	}
	closure := func(roots []string) map[string]bool {
		reach := map[string]bool{}
		var visit func(string)
		visit = func(s string) {
			body, ok := m.Scripts[s]
			if !ok || reach[s] {
				return
			}
			reach[s] = true
			for _, w := range append([]string{s}, words(body)...) {
				visit(w)
				visit("pre" + w)
				visit("post" + w)
			}
		}
		for _, r := range roots {
			visit(r)
		}
		return reach
	}
	var testRoots []string
	for s := range m.Scripts {
		if testScript.MatchString(s) {
			testRoots = append(testRoots, s)
		}
	}
	publish, test := closure(roots), closure(testRoots)
	used, tested = map[string]bool{}, map[string]bool{}
	for s, body := range m.Scripts {
		for _, w := range words(body) {
			if publish[s] {
				used[w] = true
			} else if test[s] {
				tested[w] = true
			}
		}
	}
	return used, tested
}

var testScript = regexp.MustCompile(`^(pre|post)?(test|tests|lint|coverage|cover)([:_-].*)?$`)

// withoutDevDeps rewrites the package.json at p without the devDependencies deps and returns
// the function that puts the original back.
func withoutDevDeps(p string, deps []string) (restore func() error, err error) {
	orig, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(orig, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", p, err)
	}
	var dev map[string]json.RawMessage
	if err := json.Unmarshal(doc["devDependencies"], &dev); err != nil {
		return nil, fmt.Errorf("parsing %s devDependencies: %w", p, err)
	}
	for _, d := range deps {
		delete(dev, d)
	}
	if doc["devDependencies"], err = json.Marshal(dev); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, append(b, '\n'), fi.Mode().Perm()); err != nil {
		return nil, err
	}
	return func() error { return os.WriteFile(p, orig, fi.Mode().Perm()) }, nil
}

// lastWords is the end of a failed command's output that says why, for the failure message:
// the last lines that are not npm's or yarn's own boilerplate (npm ERR!, the script echo,
// "A complete log ..."), at most n of them, each cut to 160 characters.
func lastWords(out []byte, n int) string {
	lines := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		l := strings.TrimSpace(ansi.ReplaceAllString(lines[i], ""))
		if l == "" || strings.HasPrefix(l, "npm ERR!") || strings.HasPrefix(l, "npm error") || strings.HasPrefix(l, "npm warn") ||
			strings.HasPrefix(l, "npm WARN") || strings.HasPrefix(l, "npm notice") || strings.HasPrefix(l, "> ") ||
			strings.HasPrefix(l, "error Command failed") || strings.HasPrefix(l, "info Visit") || strings.HasPrefix(l, "at ") ||
			strings.HasPrefix(l, "Node.js v") || strings.HasPrefix(l, "^") || strings.HasPrefix(l, "vouch:") || l == "}" || l == "]" {
			continue
		}
		if len(l) > 160 {
			l = l[:157] + "..."
		}
		keep = append(keep, l)
	}
	slices.Reverse(keep)
	return strings.Join(keep, " / ")
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// withLastWords adds lastWords of out to a build failure's message.
func withLastWords(err error, out []byte) error {
	ve, ok := verdict.As(err)
	if !ok || ve.Verdict != verdict.BuildFailed {
		return err
	}
	if w := lastWords(out, 2); w != "" {
		c := *ve
		c.Msg += fmt.Sprintf("; its output ends: %q", w)
		return &c
	}
	return err
}
