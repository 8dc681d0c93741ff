// Package rebuild is the ecosystem-neutral pipeline: resolve, locate source, plan, build,
// compare, attest, store (design §1).
package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/atomicfile"
	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/diff"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/stabilize"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// DefaultBuilderID names this builder in attestations unless VOUCH_BUILDER_ID says otherwise.
const DefaultBuilderID = "https://vouch.dev/builders/local/v1"

// Pipeline holds what every rebuild shares.
type Pipeline struct {
	Ecosystems  map[target.Ecosystem]ecosystem.Ecosystem
	Mirrors     *source.Mirrors
	Store       *store.Store
	Signer      *attest.Signer
	Executor    sandbox.Executor
	Definitions definition.Directory
	BuilderID   string
	// WorkRoot is where per-build work directories are created ("" = os.TempDir()).
	WorkRoot string
	// Hide are host paths builds must not see ($VOUCH_HOME).
	Hide []string
	// KeepWorkdir leaves the work directory in place and reports it.
	KeepWorkdir bool
	// Progress receives one line per phase (may be nil).
	Progress io.Writer
	// Batch, when set, is recorded in every run record (verdict.Result.Batch) so that an
	// interrupted `vouch batch` can resume.
	Batch string
}

// SourcePreparer is implemented by ecosystems whose definitions may take their source from
// somewhere other than a git repository (PyPI's wheel-from-sdist strategy: the registry's own
// sdist, named by URL and sha256 in the definition's location).
type SourcePreparer interface {
	// PreparesSource reports whether def's location is such a source.
	PreparesSource(def *definition.BuildDefinition) bool
	// PrepareSource writes def's source tree into dst (which does not exist yet). Errors are
	// *verdict.Error (no_source or upstream_error).
	PrepareSource(ctx context.Context, def *definition.BuildDefinition, up *ecosystem.Upstream, dst string) error
}

// Ecosystem returns the implementation for t or a usage error.
func (p *Pipeline) Ecosystem(t target.Target) (ecosystem.Ecosystem, error) {
	e, ok := p.Ecosystems[t.Ecosystem]
	if !ok {
		return nil, &target.InvalidError{Input: t.PURL(), Msg: fmt.Sprintf("vouch cannot rebuild %s packages yet", t.Ecosystem)}
	}
	return e, nil
}

// Plan resolves t and produces its BuildDefinition: the definitions directory's when it has
// one, else an inferred one. Errors carry verdicts (upstream_error, no_source, ...).
func (p *Pipeline) Plan(ctx context.Context, t target.Target) (*definition.BuildDefinition, *ecosystem.Upstream, error) {
	eco, err := p.Ecosystem(t)
	if err != nil {
		return nil, nil, err
	}
	up, err := eco.Resolve(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	def, err := p.plan(ctx, eco, up, nil, &verdict.Timings{})
	return def, up, err
}

func (p *Pipeline) plan(ctx context.Context, eco ecosystem.Ecosystem, up *ecosystem.Upstream, given *definition.BuildDefinition, tm *verdict.Timings) (*definition.BuildDefinition, error) {
	start := time.Now()
	defer func() { tm.Source = ms(time.Since(start)) }()
	if given != nil {
		return given, nil
	}
	if d, err := p.Definitions.Lookup(up.Target); err != nil || d != nil {
		if d != nil && d.Location.Evidence == "" {
			d.Location.Evidence = "definition"
		}
		return d, err
	}
	p.progress("locating source of %s", up.Target.PURL())
	loc, err := eco.Locate(ctx, up, p.Mirrors)
	if err != nil {
		return nil, err
	}
	p.progress("source: %s@%s (%s)", loc.Repo, short(loc.Ref), loc.Evidence)
	def, err := eco.Infer(ctx, up, loc, p.Mirrors)
	if err != nil {
		return nil, err
	}
	return def, def.Validate()
}

// Rebuild runs the whole pipeline for t. def, when non-nil, replaces inference. The returned
// Result is complete for every verdict; err is only for failures outside the verdict model
// (unusable input, the store or key not writable).
func (p *Pipeline) Rebuild(ctx context.Context, t target.Target, def *definition.BuildDefinition) (*verdict.Result, error) {
	eco, err := p.Ecosystem(t)
	if err != nil {
		return nil, err
	}
	started := time.Now().UTC()
	res := &verdict.Result{PURL: t.PURL(), Stabilizers: []string{}, Sandbox: p.Executor.Name(), StartedAt: started.Format(time.RFC3339), Batch: p.Batch}
	if p.Executor.Name() == "none" {
		res.Findings = append(res.Findings, "built without a sandbox (--sandbox none): build scripts ran with the invoking user's rights and network")
	}
	run := &run{res: res, started: started}

	// resolve
	t0 := time.Now()
	p.progress("resolving %s", t.PURL())
	up, err := eco.Resolve(ctx, t)
	res.TimingsMS.Resolve = ms(time.Since(t0))
	if err != nil {
		fail(res, err)
		return p.finish(ctx, run, t, nil, nil)
	}
	run.up = up
	res.Artifact = up.Artifact
	res.Upstream = &verdict.Upstream{URL: up.URL, SHA256: up.SHA256, SHA512: up.SHA512, Size: up.Size}

	// locate + plan
	def, err = p.plan(ctx, eco, up, def, &res.TimingsMS)
	if err != nil {
		if _, ok := verdict.As(err); !ok {
			var inv *definition.InvalidError
			if errors.As(err, &inv) {
				return nil, err
			}
		}
		fail(res, err)
		return p.finish(ctx, run, t, up, nil)
	}
	if def.Artifact != up.Artifact {
		return nil, &definition.InvalidError{Problems: []string{fmt.Sprintf("the definition rebuilds %s but the registry's artifact is %s", def.Artifact, up.Artifact)}}
	}
	res.Source = &verdict.Source{Repo: def.Location.Repo, Ref: def.Location.Ref, Dir: def.Location.Dir, Evidence: def.Location.Evidence}
	res.Strategy = def.Strategy.Name
	res.Toolchain = def.Toolchain

	// build
	t0 = time.Now()
	rebuilt, err := p.build(ctx, eco, def, up, run)
	res.TimingsMS.Build = ms(time.Since(t0))
	if err != nil {
		fail(res, err)
		return p.finish(ctx, run, t, up, def)
	}

	// compare
	t0 = time.Now()
	p.progress("comparing with the registry's artifact")
	err = p.compare(ctx, eco, def, up, rebuilt, res, run)
	res.TimingsMS.Compare = ms(time.Since(t0))
	if err != nil {
		fail(res, err)
	}
	return p.finish(ctx, run, t, up, def)
}

type run struct {
	res     *verdict.Result
	started time.Time
	up      *ecosystem.Upstream
	log     bytes.Buffer
	workDir string
	rebuilt string
	leftOut []string     // repository files the checkout lacks (the remote did not serve them)
	repo    *source.Repo // the mirror checked out from (nil when the source was unpacked)
}

func (p *Pipeline) build(ctx context.Context, eco ecosystem.Ecosystem, def *definition.BuildDefinition, up *ecosystem.Upstream, r *run) (string, error) {
	work, err := os.MkdirTemp(p.WorkRoot, "vouch-build-")
	if err != nil {
		return "", fmt.Errorf("creating work directory: %w", err)
	}
	r.workDir = work
	if !p.KeepWorkdir {
		defer os.RemoveAll(work)
	}
	// The checkout is in a directory named like the repository, as the publisher's clone was:
	// bundlers name modules after it (rollup's commonjs plugin turns <repo>/index.js into
	// "var <repo>_1").
	src, out, scratch := filepath.Join(work, "src", checkoutName(def.Location.Repo)), filepath.Join(work, "out"), filepath.Join(work, "work")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return "", err
	}
	for _, d := range []string{out, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	var readOnly []string
	if sp, ok := eco.(SourcePreparer); ok && sp.PreparesSource(def) {
		p.progress("unpacking %s", def.Location.Repo)
		if err := sp.PrepareSource(ctx, def, up, src); err != nil {
			return "", err
		}
	} else {
		if def.Location.LineEndings == definition.CRLF {
			p.progress("checking out %s with CR LF line endings (a Windows checkout)", short(def.Location.Ref))
		} else {
			p.progress("checking out %s", short(def.Location.Ref))
		}
		repo, err := p.Mirrors.Sync(ctx, def.Location.Repo)
		if err != nil {
			return "", err
		}
		leftOut, err := repo.CheckoutWith(ctx, def.Location.Ref, src, source.CheckoutOptions{CRLF: def.Location.LineEndings == definition.CRLF})
		if err != nil {
			return "", verdict.Wrap(verdict.NoSource, verdict.ReasonNoGitRef, "checking out "+def.Location.Ref, err)
		}
		r.leftOut, r.repo = leftOut, repo
		if len(leftOut) > 0 {
			f := fmt.Sprintf("%d files of the repository at %s could not be fetched from %s and are missing from the build's checkout (%s)",
				len(leftOut), short(def.Location.Ref), def.Location.Repo, strings.Join(leftOut[:min(3, len(leftOut))], ", "))
			if len(leftOut) > 3 {
				f += ", ..."
			}
			r.res.Findings = append(r.res.Findings, f)
			p.progress("%s", f)
		}
		readOnly = []string{repo.Dir}
	}
	cfg := eco.SandboxConfig(def)
	cfg.Hide = append(cfg.Hide, p.Hide...)
	sess, err := p.Executor.Start(ctx, cfg)
	if err != nil {
		return "", verdict.Wrap(verdict.BuildFailed, verdict.ReasonSandbox, "starting the "+p.Executor.Name()+" sandbox", err)
	}
	if n, ok := sess.(interface{ Notes() []string }); ok {
		r.res.Findings = append(r.res.Findings, n.Notes()...)
	}
	defer func() {
		r.res.Network = sess.Network()
		for _, rec := range r.res.Network {
			if rec.Denied && rec.Finding != "" {
				r.res.Findings = append(r.res.Findings, rec.Finding)
			}
		}
		sess.Close()
	}()
	p.progress("building with strategy %s (sandbox: %s)", def.Strategy.Name, p.Executor.Name())
	log := &capWriter{buf: &r.log, max: 16 << 20}
	artifact, err := eco.Build(ctx, def, &ecosystem.Env{
		Session: sess, SrcDir: src, OutDir: out, WorkDir: scratch, Log: log, Upstream: up,
		ReadOnly: readOnly,
	})
	if err != nil {
		return "", err
	}
	// Keep the artifact beyond the work directory's life for attestation and inspection.
	keep := filepath.Join(filepath.Dir(up.Path), "rebuilt-"+filepath.Base(artifact))
	if err := copyFile(artifact, keep); err != nil {
		return "", err
	}
	r.rebuilt = keep
	return keep, nil
}

func (p *Pipeline) compare(ctx context.Context, eco ecosystem.Ecosystem, def *definition.BuildDefinition, up *ecosystem.Upstream, rebuilt string, res *verdict.Result, r *run) error {
	leftOut := r.leftOut
	set := eco.Stabilizers(up.Artifact)
	custom, err := stabilize.Custom(def.Stabilizers)
	if err != nil {
		return err
	}
	set = append(set, custom...)
	cmp, err := stabilize.Compare(up.Path, rebuilt, set, archive.DefaultLimits)
	if err != nil {
		return verdict.Wrap(verdict.BuildFailed, verdict.ReasonNoOutput, "reading the rebuilt artifact", err)
	}
	res.Rebuild = &verdict.Rebuilt{SHA256: cmp.RebuildSHA256, Size: fileSize(rebuilt)}
	switch {
	case cmp.Identical:
		res.Verdict = verdict.Identical
		res.StabilizedSHA256 = cmp.UpstreamSHA256
	case cmp.Equivalent:
		res.Verdict = verdict.Equivalent
		res.StabilizedSHA256 = cmp.StabilizedUpstreamSHA256
		res.Stabilizers = append(res.Stabilizers, cmp.Applied...)
	default:
		res.Verdict = verdict.Mismatch
		res.StabilizedSHA256 = cmp.StabilizedRebuildSHA256
		res.Stabilizers = append(res.Stabilizers, cmp.Applied...)
		tree := diff.Archives(cmp.Upstream, cmp.Rebuild, diff.Options{Labels: [2]string{"upstream", "rebuild"}})
		sum := tree.Summary(20)
		res.Diff = &sum
		res.Reason = verdict.ReasonContentMismatch
		if len(sum.OnlyUpstream)+len(sum.OnlyRebuild) > 0 {
			res.Reason = verdict.ReasonFileSetMismatch
		}
		res.Message = fmt.Sprintf("%d differences after stabilization", sum.Differences)
		for _, n := range def.Notes {
			// Newer dependencies change what a build generates, not which files it makes.
			// (A manifest that differs is the publisher's edit, not a dependency's output.)
			if strings.HasPrefix(n, definition.DriftNote) && slices.ContainsFunc(sum.Changed, func(c string) bool { return path.Base(c) != "package.json" }) ||
				strings.HasPrefix(n, definition.UncommittedNote) && len(sum.Changed) > 0 {
				res.Message += "; " + n
			}
		}
		if len(sum.Changed) == 1 && path.Base(sum.Changed[0]) == "package.json" && len(sum.OnlyUpstream)+len(sum.OnlyRebuild) == 0 {
			res.Message += "; only the manifest differs: the publisher changed package.json beyond the version before publishing (uncommitted edits, or another commit)"
		}
		if missing := unserved(sum.OnlyUpstream, leftOut); len(missing) > 0 {
			res.Message += fmt.Sprintf("; %d of the files only the registry's artifact has are in the repository, but its remote did not serve them to the checkout (%s)",
				len(missing), strings.Join(missing[:min(3, len(missing))], ", "))
		}
		if local := workingTreeFiles(sum.OnlyUpstream); len(local) > 0 {
			res.Message += fmt.Sprintf("; %d published files look like the publisher's working tree, not the repository (%s): publish from a clean checkout, or list the package's files in \"files\"",
				len(local), strings.Join(local[:min(3, len(local))], ", "))
		}
		if never := neverCommitted(ctx, r.repo, def.Location.Dir, sum.OnlyUpstream, leftOut); len(never) > 0 {
			res.Message += fmt.Sprintf("; never committed to the repository: %d of the files only the registry's artifact has (%s); the publisher's working tree had them, or a build step this rebuild did not run made them",
				len(never), strings.Join(never[:min(3, len(never))], ", "))
		}
		if edited := editedAfterCommit(ctx, r.repo, def, sum.Changed, cmp.Rebuild); len(edited) > 0 && !strings.Contains(res.Message, definition.UncommittedNote) {
			verb := "differ"
			if len(edited) == 1 {
				verb = "differs"
			}
			res.Message += fmt.Sprintf("; not the repository's contents: %s the build left as committed %s in the registry's artifact (%s): the publisher's working tree had edits the commit has not (publish from a clean checkout of the tagged commit)",
				files(len(edited)), verb, strings.Join(edited[:min(3, len(edited))], ", "))
		}
		if unpublished := committedOnlyInRebuild(ctx, r.repo, def, sum.OnlyRebuild); len(unpublished) > 0 && len(sum.OnlyRebuild) == len(unpublished) {
			res.Message += fmt.Sprintf("; the publisher left out %s the repository has at the commit (%s): its file selection (ignore rules, or a files list) was not the commit's",
				files(len(unpublished)), strings.Join(unpublished[:min(3, len(unpublished))], ", "))
		}
		if !strings.Contains(res.Message, ";") {
			// Nothing above explains it: say at least where the difference comes from.
			if gen := generatedFiles(ctx, r.repo, def, sum.Changed); len(gen) > 0 && len(gen) == len(sum.Changed) && len(sum.OnlyUpstream)+len(sum.OnlyRebuild) == 0 {
				res.Message += fmt.Sprintf("; only files the build generates differ (%s), and the published files that are in the repository match the commit: the publisher's build made them otherwise — from other sources than the commit's (an earlier build left in its working tree), with other tool or dependency versions, or nondeterministically; the diff shows how",
					strings.Join(gen[:min(3, len(gen))], ", "))
			}
		}
		if path, err := p.saveDiff(up, tree); err == nil {
			res.Diff.Path = path
		}
	}
	return nil
}

// committedOnlyInRebuild picks the artifact paths only the rebuild has that are files of the
// repository at the definition's commit, in its package directory. Nil when repo is nil.
func committedOnlyInRebuild(ctx context.Context, repo *source.Repo, def *definition.BuildDefinition, onlyRebuild []string) []string {
	if repo == nil || len(onlyRebuild) == 0 {
		return nil
	}
	files, err := repo.ListFiles(ctx, def.Location.Ref, def.Location.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range onlyRebuild {
		if _, rel, ok := strings.Cut(a, "/"); ok {
			if _, in := files[rel]; in {
				out = append(out, a)
			}
		}
	}
	return out
}

// editedAfterCommit picks, among the changed artifact paths (package.json aside), those whose
// rebuilt contents are the repository's file at the commit: the build left them as committed,
// so the registry's differing copy is the publisher's edit. Nil when repo is nil.
func editedAfterCommit(ctx context.Context, repo *source.Repo, def *definition.BuildDefinition, changed []string, rebuilt *archive.Archive) []string {
	if repo == nil || rebuilt == nil {
		return nil
	}
	data := map[string][]byte{}
	for _, e := range rebuilt.Entries {
		data[e.Name] = e.Data
	}
	var out []string
	checked := 0
	for _, a := range changed {
		_, rel, ok := strings.Cut(a, "/")
		if !ok || path.Base(a) == "package.json" {
			continue
		}
		if checked++; checked > maxHistoryChecks {
			break
		}
		b, err := repo.ReadFile(ctx, def.Location.Ref, path.Join(def.Location.Dir, rel))
		if d, in := data[a]; err == nil && in && bytes.Equal(b, d) {
			out = append(out, a)
		}
	}
	return out
}

// generatedFiles picks the changed artifact paths that are not files of the repository at
// the commit (in the package directory): the build made them. Nil when repo is nil.
func generatedFiles(ctx context.Context, repo *source.Repo, def *definition.BuildDefinition, changed []string) []string {
	if repo == nil || len(changed) == 0 {
		return nil
	}
	files, err := repo.ListFiles(ctx, def.Location.Ref, def.Location.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range changed {
		if _, rel, ok := strings.Cut(a, "/"); ok {
			if _, in := files[rel]; !in {
				out = append(out, a)
			}
		}
	}
	return out
}

// files is "1 file" or "N files".
func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return strconv.Itoa(n) + " files"
}

// maxHistoryChecks bounds the paths neverCommitted looks up.
const maxHistoryChecks = 10

// neverCommitted picks, among the artifact paths only the upstream artifact has (those the
// remote did not serve and editors' files aside), those no commit on a branch or tag of repo
// ever had in the package directory dir. Nil when repo is nil.
func neverCommitted(ctx context.Context, repo *source.Repo, dir string, onlyUpstream, leftOut []string) []string {
	if repo == nil {
		return nil
	}
	skip := map[string]bool{}
	for _, a := range append(unserved(onlyUpstream, leftOut), workingTreeFiles(onlyUpstream)...) {
		skip[a] = true
	}
	var out []string
	checked := 0
	for _, a := range onlyUpstream {
		_, rel, ok := strings.Cut(a, "/")
		if !ok || skip[a] {
			continue
		}
		if checked++; checked > maxHistoryChecks {
			break
		}
		if h, err := repo.FileHistory(ctx, path.Join(dir, rel), 1); err == nil && len(h) == 0 {
			out = append(out, a)
		}
	}
	return out
}

// unserved picks the artifact paths (package/dist/x.js) whose file the checkout lacks
// (leftOut, repository paths such as dist/x.js or packages/p/dist/x.js).
func unserved(artifactPaths, leftOut []string) []string {
	var out []string
	for _, a := range artifactPaths {
		_, rel, ok := strings.Cut(a, "/")
		if !ok {
			continue
		}
		for _, l := range leftOut {
			if l == rel || strings.HasSuffix(l, "/"+rel) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// checkoutName is the directory name a clone of repo gets (git clone's default), "src" when
// the URL has none that is safe.
func checkoutName(repo string) string {
	name := strings.TrimSuffix(path.Base(strings.TrimRight(repo, "/")), ".git")
	if name == "" || name == "." || name == ".." || strings.TrimLeft(name, "._-") == "" {
		return "src"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "src"
		}
	}
	return name
}

// saveDiff stores the full diff tree (canonical JSON) beside the run's artifacts.
func (p *Pipeline) saveDiff(up *ecosystem.Upstream, tree *diff.Node) (string, error) {
	b, err := json.MarshalIndent(tree, "", " ")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(filepath.Dir(up.Path), up.Artifact+".diff.json")
	return dst, writeAtomic(dst, b)
}

// finish signs and stores the attestation bundle and the run record. Upstream errors are not
// attested: there is no verified artifact to make a statement about (design §1.1).
func (p *Pipeline) finish(ctx context.Context, r *run, t target.Target, up *ecosystem.Upstream, def *definition.BuildDefinition) (*verdict.Result, error) {
	// An interrupted rebuild (Ctrl-C) has no verdict: its failure says nothing about the
	// package, so it is neither attested nor recorded (and a resumed batch runs it again).
	if err := ctx.Err(); errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("rebuilding %s: %w", t.PURL(), err)
	}
	res := r.res
	finished := time.Now().UTC()
	res.FinishedAt = finished.Format(time.RFC3339)
	if up != nil && r.log.Len() > 0 {
		logPath := filepath.Join(filepath.Dir(up.Path), up.Artifact+".build.log")
		if err := writeAtomic(logPath, r.log.Bytes()); err == nil {
			res.BuildLog = logPath
		}
	}
	if p.KeepWorkdir && r.workDir != "" {
		res.Findings = append(res.Findings, "work directory kept at "+r.workDir)
	}
	if res.Verdict != verdict.UpstreamError && up != nil {
		t0 := time.Now()
		bundle, err := attest.Bundle(p.Signer, attest.Input{
			Target: t, Result: res, Definition: def, BuildLog: r.log.Bytes(), Network: res.Network,
			BuilderID: p.BuilderID, Started: r.started, Finished: finished,
		})
		if err != nil {
			return nil, fmt.Errorf("creating attestation: %w", err)
		}
		path, err := p.Store.PutBundle(t, up.Artifact, bundle, up.SHA256, up.SHA512)
		if err != nil {
			return nil, fmt.Errorf("storing attestation: %w", err)
		}
		res.Attestation = path
		res.TimingsMS.Attest = ms(time.Since(t0))
	}
	if _, err := p.Store.PutRun(res); err != nil {
		return nil, fmt.Errorf("recording run: %w", err)
	}
	return res, nil
}

// fail records err's verdict and reason on res.
func fail(res *verdict.Result, err error) {
	if ve, ok := verdict.As(err); ok {
		res.Verdict, res.Reason, res.Message = ve.Verdict, ve.Reason, ve.Error()
		return
	}
	res.Verdict, res.Reason, res.Message = verdict.BuildFailed, verdict.ReasonSandbox, err.Error()
}

func (p *Pipeline) progress(format string, args ...any) {
	if p.Progress != nil {
		fmt.Fprintf(p.Progress, "vouch: "+format+"\n", args...)
	}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func short(ref string) string {
	if len(ref) > 12 {
		return ref[:12]
	}
	return ref
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeAtomic(dst, b)
}

func writeAtomic(dst string, b []byte) error { return atomicfile.Write(dst, b) }

// capWriter keeps the first max bytes of the build log and notes the truncation.
type capWriter struct {
	buf       *bytes.Buffer
	max       int
	truncated bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room <= 0 {
		if !c.truncated {
			c.truncated = true
			c.buf.WriteString("\n[vouch: build log truncated]\n")
		}
		return len(p), nil
	}
	if len(p) > room {
		c.buf.Write(p[:room])
		return len(p), nil
	}
	return c.buf.Write(p)
}

// workingTreeFiles picks the paths that editors, IDEs and tools leave in a developer's
// checkout but that no repository tracks: published, they show the package was packed from a
// working tree rather than from its source.
func workingTreeFiles(paths []string) []string {
	var out []string
	for _, p := range paths {
		base := path.Base(p)
		switch {
		case strings.Contains("/"+p+"/", "/.idea/"), strings.Contains("/"+p+"/", "/.vscode/"),
			strings.HasSuffix(base, ".iml"), strings.HasSuffix(base, ".swp"), strings.HasSuffix(base, "~"),
			strings.HasSuffix(base, ".orig"), strings.HasSuffix(base, ".rej"),
			base == ".DS_Store", base == "Thumbs.db", base == "npm-debug.log", strings.HasPrefix(base, "npm-debug.log."),
			base == ".eslintcache", base == ".jekyll-metadata", base == "yarn-error.log", base == ".nyc_output",
			strings.Contains("/"+p+"/", "/.nyc_output/"), strings.Contains("/"+p+"/", "/.cache/"):
			out = append(out, p)
		}
	}
	return out
}
