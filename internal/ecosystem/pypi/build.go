package pypi

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Build creates a fresh venv in the work directory, installs the pinned `build` frontend
// and runs `python -m build --wheel` (or --sdist) on the source, with every toolchain pin
// as a pip constraint, so the isolated build environment gets the pinned backend.
func (e *Ecosystem) Build(ctx context.Context, def *definition.BuildDefinition, env *ecosystem.Env) (string, error) {
	var flag, suffix string
	switch def.Strategy.Name {
	case StrategyWheel, StrategyWheelFromSdist:
		flag, suffix = "--wheel", ".whl"
	case StrategySdist:
		flag, suffix = "--sdist", ".tar.gz"
	default:
		return "", &definition.InvalidError{Problems: []string{fmt.Sprintf("pypi has no strategy %q (want %s, %s or %s)", def.Strategy.Name, StrategyWheel, StrategySdist, StrategyWheelFromSdist)}}
	}
	want := def.Toolchain[toolPython]
	python, version, err := e.pythonFor(ctx, want)
	if err != nil && want != "" {
		fmt.Fprintf(env.Log, "vouch: python %s is not available (%v); using the default python\n", want, err)
		python, version, err = e.pythonFor(ctx, "")
	}
	if err != nil {
		return "", err
	}
	if want != "" && version != want {
		fmt.Fprintf(env.Log, "vouch: the definition names python %s; building with %s\n", want, version)
	}
	pkgDir := filepath.Join(env.SrcDir, filepath.FromSlash(def.Dir()))
	if !hasAny(pkgDir, manifestFiles...) {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "no pyproject.toml, setup.cfg or setup.py in %s", def.Dir())
	}
	venv := filepath.Join(env.WorkDir, "venv")
	constraints := filepath.Join(env.WorkDir, "constraints.txt")
	if err := os.WriteFile(constraints, []byte(constraintsFile(def.Toolchain)), 0o644); err != nil {
		return "", fmt.Errorf("writing constraints: %w", err)
	}
	buildEnv := e.env(env.WorkDir, venv, constraints, def.Env)
	// The frontend is installed without the backend's constraints (they pin the build
	// environment, not the frontend's own dependencies).
	frontendEnv := e.env(env.WorkDir, venv, "", def.Env)
	runEnv := func(vars []string, reason verdict.Reason, what string, args ...string) error {
		fmt.Fprintf(env.Log, "$ %s\n", strings.Join(args, " "))
		return ecosystem.CommandFailure(env.Session.Run(ctx, e.spec(env, pkgDir, vars, args)), reason, what)
	}
	run := func(reason verdict.Reason, what string, args ...string) error {
		return runEnv(buildEnv, reason, what, args...)
	}
	if err := run(verdict.ReasonToolchain, "creating the venv", python, "-m", "venv", venv); err != nil {
		return "", err
	}
	vpy := filepath.Join(venv, "bin", "python")
	frontend := "build"
	if v := def.Toolchain[toolBuild]; v != "" {
		frontend += "==" + v
	}
	if err := runEnv(frontendEnv, verdict.ReasonInstallFailed, "installing "+frontend, vpy, "-m", "pip", "install", "--quiet", frontend); err != nil {
		return "", err
	}
	if err := run(verdict.ReasonBuildCommand, "python -m build "+flag, vpy, "-m", "build", flag, "--outdir", env.OutDir, pkgDir); err != nil {
		return "", err
	}
	var made []string
	ents, _ := os.ReadDir(env.OutDir)
	for _, en := range ents {
		if en.Type().IsRegular() && strings.HasSuffix(en.Name(), suffix) {
			made = append(made, en.Name())
		}
	}
	if len(made) != 1 {
		return "", verdict.Errorf(verdict.BuildFailed, verdict.ReasonNoOutput, "python -m build %s produced %d %s files", flag, len(made), suffix)
	}
	if made[0] != def.Artifact {
		fmt.Fprintf(env.Log, "vouch: the build wrote %s; the registry's file is %s\n", made[0], def.Artifact)
	}
	return filepath.Join(env.OutDir, made[0]), nil
}

// constraintsFile pins every toolchain entry but python and the frontend itself.
func constraintsFile(tc map[string]string) string {
	var lines []string
	for k, v := range tc {
		if k == toolPython || v == "" {
			continue
		}
		lines = append(lines, k+"=="+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

func hasAny(dir string, names ...string) bool {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func (e *Ecosystem) spec(env *ecosystem.Env, dir string, buildEnv, args []string) *sandbox.Spec {
	s := &sandbox.Spec{
		Args:     args,
		Dir:      dir,
		Env:      buildEnv,
		Writable: nonEmpty(env.SrcDir, env.OutDir, env.WorkDir),
		Stdout:   env.Log,
		Stderr:   env.Log,
	}
	s.ReadOnly = append(s.ReadOnly, env.ReadOnly...)
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

// env is the build environment: a private HOME, TMPDIR and pip cache under workDir (so the
// network log sees every download), the index, the constraints, no user or site pip
// configuration, and the definition's variables.
func (e *Ecosystem) env(workDir, venv, constraints string, extra map[string]string) []string {
	home := filepath.Join(workDir, "home")
	tmp := filepath.Join(workDir, "tmp")
	cache := filepath.Join(workDir, "pip-cache")
	for _, d := range []string{home, tmp, cache} {
		_ = os.MkdirAll(d, 0o755)
	}
	vars := map[string]string{
		"PATH":                          filepath.Join(venv, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":                          home,
		"TMPDIR":                        tmp,
		"LANG":                          "C.UTF-8",
		"PYTHONHASHSEED":                "0",
		"PYTHONDONTWRITEBYTECODE":       "1",
		"PIP_INDEX_URL":                 e.Index + "/simple/",
		"PIP_CONFIG_FILE":               os.DevNull,
		"PIP_CACHE_DIR":                 cache,
		"PIP_DISABLE_PIP_VERSION_CHECK": "1",
		"PIP_NO_INPUT":                  "1",
		"PIP_PROGRESS_BAR":              "off",
	}
	if constraints != "" {
		vars["PIP_CONSTRAINT"] = constraints
		vars["PIP_BUILD_CONSTRAINT"] = constraints
	}
	if u, err := url.Parse(e.Index); err == nil && u.Scheme == "http" {
		vars["PIP_TRUSTED_HOST"] = u.Host
	}
	if pc := os.Getenv("PIP_CERT"); pc != "" {
		vars["PIP_CERT"] = pc // the sandbox replaces it with its own CA when it proxies
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
