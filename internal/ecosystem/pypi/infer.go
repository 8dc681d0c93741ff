package pypi

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
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
		for _, mf := range manifestFiles {
			data, err := repo.ReadFile(ctx, loc.Ref, path.Join(loc.Dir, mf))
			if err != nil {
				continue
			}
			if x, err := ParseManifest(mf, data); err == nil && (man == nil || mf == "pyproject.toml") {
				if man == nil || len(x.Requires) > 0 || x.Name != "" {
					man = x
				}
				if mf == "pyproject.toml" {
					break
				}
			}
		}
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

	pyPath, pyVersion, err := e.hostPythonVersion(ctx)
	if err != nil {
		return nil, err
	}
	_ = pyPath
	def.Toolchain[toolPython] = pyVersion

	var gen Generator
	if isWheel {
		if a, err := archive.ReadFile(up.Path, archive.DefaultLimits); err == nil {
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
	var cutoff time.Time
	if !up.PublishedAt.IsZero() {
		cutoff = up.PublishedAt.UTC().Add(time.Minute)
		def.RegistryCutoff = &cutoff
	} else {
		def.CutoffNote = "the index gave no upload time: build requirements are not pinned to a date"
	}
	pins, notes := e.pinRequires(ctx, requires, gen, cutoff)
	def.Notes = append(def.Notes, notes...)
	for k, v := range pins {
		def.Toolchain[k] = v
	}
	if v, err := e.newestBefore(ctx, "build", "", time.Time{}); err == nil {
		def.Toolchain[toolBuild] = v
	} else {
		return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonToolchain, "finding the build frontend on the index", err)
	}

	if !epoch.IsZero() {
		def.Env["SOURCE_DATE_EPOCH"] = strconv.FormatInt(epoch.Unix(), 10)
	}
	if man.Dynamic || man.SCM != "" {
		for k, v := range scmEnv(up.Target.Name, up.Target.Version) {
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
// hatch-vcs, which uses it) read SETUPTOOLS_SCM_PRETEND_VERSION[_FOR_<DIST>]
// (https://setuptools-scm.readthedocs.io/en/latest/overrides/), pdm-backend reads
// PDM_BUILD_SCM_VERSION (https://backend.pdm-project.org/metadata/#dynamic-project-version),
// poetry-dynamic-versioning reads POETRY_DYNAMIC_VERSIONING_BYPASS.
func scmEnv(name, version string) map[string]string {
	dist := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(pypi.Normalize(name)))
	return map[string]string{
		"SETUPTOOLS_SCM_PRETEND_VERSION":             version,
		"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" + dist: version,
		"PDM_BUILD_SCM_VERSION":                      version,
		"POETRY_DYNAMIC_VERSIONING_BYPASS":           version,
		"VERSIONINGIT_OVERRIDE_VERSION_FOR_" + dist:  version,
		"DUNAMAI_OVERRIDE_VERSION":                   version,
		"HATCH_VCS_PRETEND_VERSION":                  version,
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
	var man *Manifest
	for _, mf := range manifestFiles {
		if en := a.Lookup(top + "/" + mf); en != nil && en.Type == archive.TypeFile {
			if x, err := ParseManifest(mf, en.Data); err == nil {
				man = x
				break
			}
		}
	}
	var t time.Time
	if en := a.Lookup(top + "/PKG-INFO"); en != nil {
		t = en.ModTime
	}
	return man, t
}

// pinRequires pins each build requirement: the backend that made the wheel to the exact
// version its WHEEL file names, the others to their highest final release uploaded before
// cutoff that meets the requirement's specifier.
func (e *Ecosystem) pinRequires(ctx context.Context, requires []string, gen Generator, cutoff time.Time) (map[string]string, []string) {
	pins := map[string]string{}
	var notes []string
	if gen.Ambiguous && gen.Package != "" {
		if _, err := e.newestBefore(ctx, gen.Package, "=="+gen.Version, cutoff); err != nil {
			notes = append(notes, fmt.Sprintf("WHEEL Generator %q: %s %s does not exist before the upload; not pinned", gen.Raw, gen.Package, gen.Version))
			gen.Package = ""
		}
	}
	if gen.Package != "" && gen.Version != "" {
		pins[gen.Package] = gen.Version
		notes = append(notes, fmt.Sprintf("%s pinned to %s from the upstream wheel's WHEEL Generator", gen.Package, gen.Version))
	}
	var floating []string
	for _, r := range requires {
		name := requirementName(r)
		if name == "" || pins[name] != "" {
			continue
		}
		v, err := e.newestBefore(ctx, name, requirementSpec(r), cutoff)
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

var projectCache sync.Map // index URL + name -> *pypi.Project

// newestBefore is the highest final release of name uploaded before cutoff (any time when
// zero) that meets spec and is not yanked.
func (e *Ecosystem) newestBefore(ctx context.Context, name, spec string, cutoff time.Time) (string, error) {
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
		yanked := true
		for _, f := range files {
			if t := f.Uploaded(); !t.IsZero() && (first.IsZero() || t.Before(first)) {
				first = t
			}
			yanked = yanked && f.Yanked
		}
		if yanked || (!cutoff.IsZero() && (first.IsZero() || first.After(cutoff))) {
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
