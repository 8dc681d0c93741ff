package pypi

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Strategy names.
const (
	// StrategyWheel builds the wheel from the repository: `python -m build --wheel`.
	StrategyWheel = "python-build-wheel"
	// StrategySdist builds the sdist from the repository: `python -m build --sdist`.
	StrategySdist = "python-build-sdist"
	// StrategyWheelFromSdist builds the wheel from the registry's own sdist. A match shows
	// the wheel is the published sdist's build, not that it matches the repository.
	StrategyWheelFromSdist = "python-wheel-from-sdist"
)

// DefaultTimeout bounds a Python build.
const DefaultTimeout = 20 * time.Minute

// Toolchain keys that are not pip constraints.
const (
	toolPython = "python"
	// toolBuild is the `build` frontend; it is installed into the build's venv.
	toolBuild = "build"
)

// legacyRequires is what a project without [build-system] builds with (PEP 517: "If the
// pyproject.toml file is absent, or the build-backend key is missing, the source tree is not
// using this specification": pip and build then use setuptools.build_meta:__legacy__ with
// setuptools>=40.8.0 and wheel).
var legacyRequires = []string{"setuptools>=40.8.0", "wheel"}

// Infer plans the build: strategy (by artifact and source), the build backend pinned to the
// version that made the upstream wheel, the other build requirements pinned to their
// newest release before the upload, SOURCE_DATE_EPOCH and version overrides for
// version-from-git backends.
func (e *Ecosystem) Infer(ctx context.Context, up *ecosystem.Upstream, loc definition.Location, mirrors *source.Mirrors) (*definition.BuildDefinition, error) {
	m := meta(up)
	isWheel := strings.HasSuffix(up.Artifact, ".whl")
	def := &definition.BuildDefinition{
		APIVersion: definition.APIVersion,
		PURL:       up.Target.PURL(),
		Artifact:   up.Artifact,
		Location:   loc,
		Timeout:    definition.Duration(DefaultTimeout),
		Toolchain:  map[string]string{},
		Env:        map[string]string{},
	}
	def.Notes = append(def.Notes, m.Notes...)
	if m.RepoEvidence != "" && loc.Evidence != EvidenceSdist {
		def.Notes = append(def.Notes, "repository from "+m.RepoEvidence)
	}
	var man *Manifest
	var epoch time.Time
	if loc.Evidence == EvidenceSdist {
		if !isWheel {
			return nil, verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL, "an sdist cannot be rebuilt from itself")
		}
		def.Strategy.Name = StrategyWheelFromSdist
		a, err := e.sdistArchive(ctx, loc)
		if err != nil {
			return nil, err
		}
		man, epoch = sdistManifest(a)
		def.Notes = append(def.Notes, fmt.Sprintf("source: the registry's sdist %s (sha256 %s); a match proves the wheel was built from the published sdist, not from the repository", path.Base(loc.Repo), loc.Ref))
	} else {
		def.Strategy.Name = StrategySdist
		if isWheel {
			def.Strategy.Name = StrategyWheel
		}
		repo, err := mirrors.Sync(ctx, loc.Repo)
		if err != nil {
			return nil, err
		}
		man = mergeManifests(func(mf string) ([]byte, bool) {
			data, err := repo.ReadFile(ctx, loc.Ref, path.Join(loc.Dir, mf))
			return data, err == nil
		})
		if man == nil {
			return nil, verdict.Errorf(verdict.NoSource, verdict.ReasonNoPackageDir, "no pyproject.toml, setup.cfg or setup.py in %s at %s", def.Dir(), loc.Ref)
		}
		if t, err := repo.CommitTime(ctx, loc.Ref); err == nil {
			epoch = t
		}
	}
	if man == nil {
		man = &Manifest{}
	}
	requires := man.Requires
	if len(requires) == 0 {
		requires = legacyRequires
		def.Notes = append(def.Notes, "no [build-system] requires: setuptools' legacy backend with setuptools>=40.8.0 and wheel (PEP 517 fallback)")
	}
	if man.Dynamic {
		def.Notes = append(def.Notes, fmt.Sprintf("the version is dynamic in %s (computed at build time); the build is told %s", man.File, up.Target.Version))
	}

	var gen Generator
	wantPython := ""
	if isWheel {
		if a, err := archive.ReadFile(up.Path, archive.DefaultLimits); err == nil {
			if v := nspkgPython(a); v != "" {
				wantPython = v
				def.Notes = append(def.Notes, "the upstream wheel's *-py"+v+"-nspkg.pth names the Python that built it")
			}
			if w := wheelFile(a); w != nil {
				gen = ParseGenerator(w.get("Generator"))
			}
			if gen.Package == "" {
				gen = generatorFromMetadata(coreMetadata(a), requires)
			}
		}
		if gen.Raw != "" {
			def.Notes = append(def.Notes, "upstream wheel generator: "+gen.Raw)
		}
	}
	_, pyVersion, err := e.pythonFor(ctx, wantPython)
	if err != nil && wantPython != "" {
		def.Notes = append(def.Notes, fmt.Sprintf("python %s is not available here (%v): the default python is used", wantPython, err))
		_, pyVersion, err = e.pythonFor(ctx, "")
	}
	if err != nil {
		return nil, err
	}
	def.Toolchain[toolPython] = pyVersion

	// The index is not filtered during the build (no RegistryCutoff): the `build` frontend
	// is installed at a current version, which a filtered index would hide for older
	// packages. Build requirements are pinned instead, as of the upload, in the toolchain.
	var cutoff time.Time
	if !up.PublishedAt.IsZero() {
		cutoff = up.PublishedAt.UTC().Add(time.Minute)
		def.CutoffNote = "no index filtering; build requirements are pinned as of the upload (" + cutoff.Format(time.RFC3339) + ") in toolchain"
	} else {
		def.CutoffNote = "the index gave no upload time: build requirements are not pinned to a date"
	}
	pins, notes := e.pinRequires(ctx, requires, gen, cutoff, pyVersion)
	def.Notes = append(def.Notes, notes...)
	for k, v := range pins {
		def.Toolchain[k] = v
	}
	if v, err := e.newestBefore(ctx, "build", "", time.Time{}, pyVersion); err == nil {
		def.Toolchain[toolBuild] = v
	} else {
		return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "finding the build frontend on the index", err)
	}

	if !epoch.IsZero() {
		def.Env["SOURCE_DATE_EPOCH"] = strconv.FormatInt(epoch.Unix(), 10)
	}
	if man.Dynamic || man.SCM != "" {
		for k, v := range scmEnv(man.SCM, up.Target.Name, up.Target.Version) {
			def.Env[k] = v
		}
		if man.SCM != "" {
			def.Notes = append(def.Notes, man.SCM+" computes the version from git: the build is given "+up.Target.Version+" through its override variables")
		}
	}
	if len(def.Env) == 0 {
		def.Env = nil
	}
	return def, nil
}

// scmEnv are the override variables of version-from-git plugins: setuptools-scm (and
// hatch-vcs and flit-scm, which use it) read SETUPTOOLS_SCM_PRETEND_VERSION[_FOR_<DIST>]
// (https://setuptools-scm.readthedocs.io/en/latest/overrides/), pdm-backend reads
// PDM_BUILD_SCM_VERSION (https://backend.pdm-project.org/metadata/#dynamic-project-version),
// poetry-dynamic-versioning reads POETRY_DYNAMIC_VERSIONING_BYPASS. A dynamic version with
// no known plugin gets the setuptools-scm variables, the most common case.
func scmEnv(scm, name, version string) map[string]string {
	dist := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(pypi.Normalize(name)))
	switch scm {
	case "pdm-backend-scm":
		return map[string]string{"PDM_BUILD_SCM_VERSION": version}
	case "poetry-dynamic-versioning":
		return map[string]string{"POETRY_DYNAMIC_VERSIONING_BYPASS": version}
	}
	return map[string]string{
		"SETUPTOOLS_SCM_PRETEND_VERSION":             version,
		"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" + dist: version,
	}
}

// generatorFromMetadata guesses the backend when WHEEL names none: the one build
// requirement that is a known backend.
func generatorFromMetadata(md headers, requires []string) Generator {
	for _, r := range requires {
		n := requirementName(r)
		for _, pkg := range generatorBackends {
			if n == pkg && n != "wheel" {
				return Generator{Raw: "from [build-system] requires: " + r, Package: n}
			}
		}
	}
	return Generator{}
}

// sdistArchive downloads and reads the sdist a location names.
func (e *Ecosystem) sdistArchive(ctx context.Context, loc definition.Location) (*archive.Archive, error) {
	f := pypi.File{Filename: path.Base(loc.Repo), URL: loc.Repo, Digests: map[string]string{"sha256": loc.Ref}}
	if i := strings.IndexAny(f.Filename, "?#"); i >= 0 {
		f.Filename = f.Filename[:i]
	}
	art, err := e.Client.Download(ctx, f, e.artifactDir())
	if err != nil {
		return nil, err
	}
	a, err := archive.ReadFile(art.Path, archive.DefaultLimits)
	if err != nil {
		return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonUnsafeArtifact, "reading "+f.Filename, err)
	}
	return a, nil
}

func (e *Ecosystem) artifactDir() string { return filepath.Join(e.CacheDir, "artifacts", "pypi") }

// sdistManifest reads the sdist's pyproject.toml (else setup.cfg / setup.py) and the time
// of its PKG-INFO, the sdist's own build time.
func sdistManifest(a *archive.Archive) (*Manifest, time.Time) {
	top := topDir(a)
	man := mergeManifests(func(mf string) ([]byte, bool) {
		if en := a.Lookup(top + "/" + mf); en != nil && en.Type == archive.TypeFile {
			return en.Data, true
		}
		return nil, false
	})
	var t time.Time
	if en := a.Lookup(top + "/PKG-INFO"); en != nil {
		t = en.ModTime
	}
	return man, t
}

// mergeManifests reads the project's build configuration: [build-system] from
// pyproject.toml, and the name and version from the first of pyproject.toml, setup.cfg and
// setup.py that states a name (a pyproject.toml often holds only tool settings). Nil when
// none of the files exists.
func mergeManifests(read func(file string) ([]byte, bool)) *Manifest {
	var merged *Manifest
	for _, mf := range manifestFiles {
		data, ok := read(mf)
		if !ok {
			continue
		}
		m, err := ParseManifest(mf, data)
		if err != nil {
			continue
		}
		if merged == nil {
			merged = m
			continue
		}
		if merged.Name == "" && m.Name != "" {
			merged.File, merged.Name, merged.Version, merged.Dynamic = m.File, m.Name, m.Version, m.Dynamic
		}
		if merged.SCM == "" {
			merged.SCM = m.SCM
		}
	}
	return merged
}

// pinRequires pins each build requirement: the backend that made the wheel to the exact
// version its WHEEL file names, the others to their highest final release uploaded before
// cutoff that meets the requirement's specifier.
func (e *Ecosystem) pinRequires(ctx context.Context, requires []string, gen Generator, cutoff time.Time, python string) (map[string]string, []string) {
	pins := map[string]string{}
	var notes []string
	if gen.Ambiguous && gen.Package != "" {
		if _, err := e.newestBefore(ctx, gen.Package, "=="+gen.Version, cutoff, ""); err != nil {
			notes = append(notes, fmt.Sprintf("WHEEL Generator %q: %s %s does not exist before the upload; not pinned", gen.Raw, gen.Package, gen.Version))
			gen.Package = ""
		}
	}
	if gen.Package != "" && gen.Version != "" {
		pins[gen.Package] = gen.Version
		notes = append(notes, fmt.Sprintf("%s pinned to %s from the upstream wheel's WHEEL Generator", gen.Package, gen.Version))
	}
	// Plugins whose output depends on their own dependencies' versions: those are pinned as
	// of the cut-off too (hatch-vcs writes version files through setuptools-scm, whose
	// template changed between releases).
	requires = append([]string(nil), requires...)
	for _, r := range requires {
		requires = append(requires, transitiveBuildDeps[requirementName(r)]...)
	}
	var floating []string
	for _, r := range requires {
		name := requirementName(r)
		if name == "" || pins[name] != "" {
			continue
		}
		v, err := e.newestBefore(ctx, name, requirementSpec(r), cutoff, python)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s not pinned: %v", r, err))
			continue
		}
		pins[name] = v
		floating = append(floating, name+"=="+v)
	}
	if len(floating) > 0 {
		sort.Strings(floating)
		when := "now"
		if !cutoff.IsZero() {
			when = cutoff.Format(time.RFC3339)
		}
		notes = append(notes, fmt.Sprintf("build requirements resolved as of %s: %s", when, strings.Join(floating, ", ")))
	}
	return pins, notes
}

// transitiveBuildDeps are dependencies of build plugins that shape their output.
var transitiveBuildDeps = map[string][]string{
	"hatch-vcs":      {"setuptools-scm"},
	"setuptools-scm": {"packaging"},
	"hatchling":      {"packaging"},
	"flit-scm":       {"setuptools-scm"},
}

// nspkgPython reads the Python version from a setuptools namespace-package file
// ("<dist>-<version>-py3.9-nspkg.pth"), which bdist_wheel names after the interpreter.
func nspkgPython(a *archive.Archive) string {
	for _, en := range a.Entries {
		if m := nspkgRE.FindStringSubmatch(en.Name); m != nil && !strings.Contains(en.Name, "/") {
			return m[1]
		}
	}
	return ""
}

var nspkgRE = regexp.MustCompile(`-py([23]\.[0-9]+)-nspkg\.pth$`)

var projectCache sync.Map // index URL + name -> *pypi.Project

// newestBefore is the highest final release of name uploaded before cutoff (any time when
// zero) that meets spec, is not yanked and supports python (its Requires-Python; any
// when python is "").
func (e *Ecosystem) newestBefore(ctx context.Context, name, spec string, cutoff time.Time, python string) (string, error) {
	key := e.Index + "\x00" + name
	var p *pypi.Project
	if v, ok := projectCache.Load(key); ok {
		p = v.(*pypi.Project)
	} else {
		var err error
		if p, err = e.Client.Project(ctx, name); err != nil {
			return "", err
		}
		projectCache.Store(key, p)
	}
	best, bestV := "", pepVersion{}
	for v, files := range p.Releases {
		pv, ok := parsePEP440(v)
		if !ok || pv.pre || len(files) == 0 {
			continue
		}
		var first time.Time
		yanked, supported := true, python == ""
		for _, f := range files {
			if t := f.Uploaded(); !t.IsZero() && (first.IsZero() || t.Before(first)) {
				first = t
			}
			yanked = yanked && f.Yanked
			supported = supported || f.RequiresPython == "" || satisfies(python, f.RequiresPython)
		}
		if yanked || !supported || (!cutoff.IsZero() && (first.IsZero() || first.After(cutoff))) {
			continue
		}
		if spec != "" && !satisfies(v, spec) {
			continue
		}
		if best == "" || pv.cmp(bestV) > 0 {
			best, bestV = v, pv
		}
	}
	if best == "" {
		return "", fmt.Errorf("no release of %s%s before %s", name, spec, cutoff.Format(time.RFC3339))
	}
	return best, nil
}
