package npm

import (
	"context"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vouch-dev/vouch/internal/source"
)

// Packages published by a CI workflow from a directory of their own: the typestack packages'
// "CD" workflow builds with several npm scripts, copies LICENSE and README into build/, writes
// build/package.json with jq (without scripts and devDependencies) and runs `npm publish
// ./build`. No package script makes that directory, so the rebuild runs the workflow's build
// commands (strategy parameter run, one shell command a line, from the repository root) and
// packs the directory it published (publish_dir, relative to the repository root).

// publishWorkflow is what a publishing GitHub Actions job does before `npm publish DIR`.
type publishWorkflow struct {
	File, Job  string
	Run        []string // commands, in order, each runnable from the repository root
	PublishDir string   // relative to the repository root, cleaned
	Dropped    []string // commands left out (installs, tests, lint, git, credentials)
}

// maxWorkflowFile bounds the workflow files read.
const maxWorkflowFile = 256 << 10

type ghWorkflow struct {
	Jobs map[string]ghJob `yaml:"jobs"`
}

type ghJob struct {
	Defaults struct {
		Run struct {
			WorkingDirectory string `yaml:"working-directory"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Steps []ghStep `yaml:"steps"`
}

type ghStep struct {
	Run              string `yaml:"run"`
	WorkingDirectory string `yaml:"working-directory"`
}

// findPublishWorkflow looks in .github/workflows at commit for a job whose run steps publish
// a directory other than the package's own (pkgDir, "" for the root). tag is the release tag
// (for ${{ github.ref_name }} and the release's tag_name), "" if none.
func findPublishWorkflow(ctx context.Context, repo *source.Repo, commit, pkgDir, tag string) (*publishWorkflow, bool) {
	files, err := repo.ListFiles(ctx, commit, ".github/workflows")
	if err != nil {
		return nil, false
	}
	var names []string
	for f := range files {
		if strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml") {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		p := path.Join(".github/workflows", f)
		b, err := repo.ReadFile(ctx, commit, p)
		if err != nil || len(b) > maxWorkflowFile {
			continue
		}
		if w, ok := parsePublishWorkflow(b, pkgDir, tag); ok {
			w.File = p
			return w, true
		}
	}
	return nil, false
}

// parsePublishWorkflow finds the first job (by name) that publishes another directory than
// pkgDir and returns its build commands before the publish.
func parsePublishWorkflow(b []byte, pkgDir, tag string) (*publishWorkflow, bool) {
	var wf ghWorkflow
	if yaml.Unmarshal(b, &wf) != nil {
		return nil, false
	}
	jobs := make([]string, 0, len(wf.Jobs))
	for name := range wf.Jobs {
		jobs = append(jobs, name)
	}
	sort.Strings(jobs)
	if pkgDir = cleanDir(pkgDir); pkgDir == "" {
		pkgDir = "."
	}
	for _, name := range jobs {
		job := wf.Jobs[name]
		w := &publishWorkflow{Job: name}
		for _, st := range job.Steps {
			if st.Run == "" {
				continue
			}
			wd := st.WorkingDirectory
			if wd == "" {
				wd = job.Defaults.Run.WorkingDirectory
			}
			cwd := "."
			if wd != "" {
				d, ok := localDir(".", wd)
				if !ok {
					break
				}
				cwd = d
			}
			if dir, published := w.addStep(st.Run, cwd, tag); published {
				if dir == pkgDir {
					break // npm publish of the package itself: package scripts cover it
				}
				w.PublishDir = dir
				return w, true
			}
		}
	}
	return nil, false
}

// addStep adds a run step's commands (a bash script run from cwd) and reports the directory
// the step publishes, if it does.
func (w *publishWorkflow) addStep(script, cwd, tag string) (string, bool) {
	for _, line := range scriptLines(script) {
		var kept []string
		start := cwd // where the line starts; a cd in it stays in its commands
		for _, seg := range strings.Split(line, "&&") {
			seg = strings.TrimSpace(seg)
			// An expression is one word ("--tag ${{ env.CHANNEL }}" is a flag and its value).
			fields := strings.Fields(ghExpr.ReplaceAllStringFunc(seg, func(m string) string { return strings.Join(strings.Fields(m), "") }))
			if len(fields) == 0 {
				continue
			}
			if fields[0] == "cd" && len(fields) == 2 {
				d, ok := localDir(cwd, fields[1])
				if !ok {
					w.Dropped = append(w.Dropped, seg)
					return "", false
				}
				cwd = d
				kept = append(kept, "cd "+shellQuote(strings.Trim(fields[1], `"'`)))
				continue
			}
			if dir, ok := publishTarget(fields); ok {
				w.keep(kept, start)
				d, ok := localDir(cwd, dir)
				return d, ok
			}
			seg, ok := expandExpressions(seg, tag)
			if !ok || dropCommand(fields) {
				w.Dropped = append(w.Dropped, seg)
				continue
			}
			kept = append(kept, seg)
		}
		w.keep(kept, start)
	}
	return "", false
}

// keep adds the commands of one line, run from cwd (a lone trailing cd is no command).
func (w *publishWorkflow) keep(cmds []string, cwd string) {
	for len(cmds) > 0 && strings.HasPrefix(cmds[len(cmds)-1], "cd ") {
		cmds = cmds[:len(cmds)-1]
	}
	if len(cmds) == 0 {
		return
	}
	cmd := strings.Join(cmds, " && ")
	if cwd != "." {
		cmd = "cd " + shellQuote(cwd) + " && " + cmd
	}
	w.Run = append(w.Run, cmd)
}

// scriptLines splits a run script into commands: lines, with backslash continuations joined,
// blank lines and comments dropped.
func scriptLines(script string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSpace(strings.TrimSuffix(l, "\\")) + " "
			continue
		}
		l = strings.TrimSpace(cur + strings.TrimSpace(l))
		cur = ""
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if strings.TrimSpace(cur) != "" {
		out = append(out, strings.TrimSpace(cur))
	}
	return out
}

// publishTarget recognises `npm publish [DIR] [flags]` (and yarn's and pnpm's) and returns
// DIR ("." when none).
func publishTarget(fields []string) (string, bool) {
	if len(fields) < 2 || fields[1] != "publish" || (fields[0] != "npm" && fields[0] != "yarn" && fields[0] != "pnpm") {
		return "", false
	}
	valued := map[string]bool{"--tag": true, "--access": true, "--otp": true, "--registry": true, "--new-version": true, "--workspace": true, "-w": true}
	for i := 2; i < len(fields); i++ {
		f := fields[i]
		switch {
		case valued[f]:
			i++
		case strings.HasPrefix(f, "-"):
		default:
			return strings.Trim(f, `"'`), true
		}
	}
	return ".", true
}

// localDir joins rel to cwd (both relative to the repository root) and says whether the
// result stays inside the repository.
func localDir(cwd, rel string) (string, bool) {
	rel = strings.Trim(rel, `"'`)
	if rel == "" || path.IsAbs(rel) || strings.ContainsAny(rel, "$`~") {
		return "", false
	}
	d := path.Clean(path.Join(cwd, rel))
	if d == ".." || strings.HasPrefix(d, "../") {
		return "", false
	}
	return d, true
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// expandExpressions replaces the workflow expressions a rebuild knows (the release tag) and
// reports false for commands with others (secrets, inputs, step outputs).
func expandExpressions(cmd, tag string) (string, bool) {
	ok := true
	out := ghExpr.ReplaceAllStringFunc(cmd, func(m string) string {
		switch ghExpr.FindStringSubmatch(m)[1] {
		case "github.ref_name", "github.event.release.tag_name":
			if tag != "" {
				return tag
			}
		}
		ok = false
		return m
	})
	return out, ok
}

// dropCommand reports whether a workflow command makes no package files, or cannot run in a
// rebuild: dependency installs (the rebuild installs), tests, linters, formatter checks,
// coverage uploads, git and registry credentials.
func dropCommand(fields []string) bool {
	tool, sub := fields[0], ""
	if len(fields) > 1 {
		sub = fields[1]
	}
	script := ""
	switch {
	case (tool == "npm" || tool == "pnpm") && (sub == "run" || sub == "run-script") && len(fields) > 2:
		script = fields[2]
	case tool == "yarn" && sub == "run" && len(fields) > 2:
		script = fields[2]
	case tool == "yarn" && sub != "" && !strings.HasPrefix(sub, "-"):
		script = sub
	}
	switch {
	case tool == "git", tool == "npm" && (sub == "config" || sub == "whoami"), tool == "npx" && len(fields) > 1 && strings.HasPrefix(fields[1], "codecov"),
		tool == "codecov", tool == "coveralls":
		return true
	case (tool == "npm" || tool == "pnpm") && (sub == "ci" || sub == "install" || sub == "i" || sub == "test" || sub == "t"),
		tool == "yarn" && (sub == "" || sub == "install" || sub == "test"):
		return true
	}
	for _, f := range fields {
		if strings.Contains(f, "_authToken") || strings.Contains(f, "NODE_AUTH_TOKEN") || strings.Contains(f, "NPM_TOKEN") {
			return true
		}
	}
	for _, p := range []string{"test", "lint", "prettier", "format", "cover", "e2e", "bench", "check"} {
		if strings.HasPrefix(script, p) || strings.HasSuffix(script, ":"+p) || strings.HasSuffix(script, ":check") {
			return true
		}
	}
	return false
}
