// Package ecosystem is the seam between the ecosystem-neutral pipeline and each package
// ecosystem (npm, PyPI, ...). An ecosystem resolves a target to its upstream artifact, finds
// its source, infers a BuildDefinition, builds it, and names the stabilizers that apply.
package ecosystem

import (
	"context"
	"io"
	"time"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/stabilize"
	"github.com/vouch-dev/vouch/internal/target"
)

// Upstream is a registry's artifact, downloaded and checked against the registry's own digest.
type Upstream struct {
	Target target.Target
	// Artifact is the file name (e.g. is-number-7.0.0.tgz).
	Artifact string
	URL      string
	// Path is the verified local copy.
	Path   string
	SHA256 string
	SHA512 string // hex; npm only
	Size   int64
	// RepoURL is the repository as the metadata states it (not canonicalised); "" if absent.
	RepoURL string
	// RepoDir is a directory hint from metadata (npm repository.directory).
	RepoDir string
	// OtherRepos are the repositories other metadata of the package names (its newest
	// release's, the package-level one), as stated: a repository renamed or moved since this
	// release is still found when RepoURL can no longer be fetched.
	OtherRepos []OtherRepo
	// Commit is a commit named by the metadata or provenance, with the evidence name.
	Commit         string
	CommitEvidence string
	// PublishedAt is the registry's publish time (zero when unknown or untrustworthy).
	PublishedAt time.Time
	// Meta is ecosystem-specific metadata (e.g. the npm version document).
	Meta any
}

// OtherRepo is a repository URL and directory hint, as metadata states them.
type OtherRepo struct{ URL, Dir string }

// Env is what a build gets from the pipeline.
type Env struct {
	Session sandbox.Session
	// SrcDir is a fresh checkout of Location.Ref (writable; the package is at SrcDir/Dir()).
	SrcDir string
	// OutDir is a fresh, empty directory; the artifact must be written here.
	OutDir string
	// WorkDir is scratch space for HOME, TMPDIR and caches (writable).
	WorkDir string
	// CacheDir is vouch's persistent cache (toolchains); builds may read it.
	CacheDir string
	// ReadOnly are host paths every command must see read-only (the git mirror the
	// checkout's .git borrows objects from).
	ReadOnly []string
	Log      io.Writer
	Upstream *Upstream
	// Clock, when set, is the time the build's commands see (sandbox.Spec.Clock).
	Clock time.Time
}

// Ecosystem is one package ecosystem.
type Ecosystem interface {
	Name() target.Ecosystem
	// Resolve fetches metadata and the upstream artifact into cacheDir, verifying the
	// registry's digest. Errors are *verdict.Error with verdict upstream_error.
	Resolve(ctx context.Context, t target.Target) (*Upstream, error)
	// Locate finds the source repository, commit and package directory. Errors are
	// *verdict.Error with verdict no_source.
	Locate(ctx context.Context, up *Upstream, mirrors *source.Mirrors) (definition.Location, error)
	// Infer produces the BuildDefinition for up built from loc.
	Infer(ctx context.Context, up *Upstream, loc definition.Location, mirrors *source.Mirrors) (*definition.BuildDefinition, error)
	// Build runs def and returns the path of the artifact inside env.OutDir. Errors are
	// *verdict.Error with verdict build_failed.
	Build(ctx context.Context, def *definition.BuildDefinition, env *Env) (string, error)
	// Stabilizers are the ecosystem's normalizers for this artifact, in order.
	Stabilizers(artifact string) []stabilize.Stabilizer
	// Identify reads a local artifact file and says which package version it claims to be.
	Identify(path string) (target.Target, error)
	// SandboxConfig is the isolation a build of def needs (registry hosts, cut-off).
	SandboxConfig(def *definition.BuildDefinition) sandbox.Config
}
