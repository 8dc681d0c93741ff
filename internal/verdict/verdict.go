// Package verdict holds the outcome tiers of a rebuild and the stable machine reason codes
// that explain every non-success (design §1.5).
package verdict

import (
	"errors"
	"fmt"
)

// Verdict is the outcome tier of one rebuild.
type Verdict string

const (
	Identical     Verdict = "identical"      // bit-for-bit equal
	Equivalent    Verdict = "equivalent"     // equal after the listed stabilizers
	Mismatch      Verdict = "mismatch"       // content differs; a diff tree says where
	BuildFailed   Verdict = "build_failed"   // the build ran and failed or produced no artifact
	NoSource      Verdict = "no_source"      // no repository / commit could be established
	UpstreamError Verdict = "upstream_error" // registry or artifact unavailable, or failed its own digest
)

// Success reports whether the verdict means "reproduced".
func (v Verdict) Success() bool { return v == Identical || v == Equivalent }

// ExitCode is the exit status of `vouch rebuild` for this verdict.
func (v Verdict) ExitCode() int {
	switch v {
	case Identical, Equivalent:
		return 0
	case Mismatch:
		return 1
	default:
		return 3
	}
}

// Reason is a stable machine code explaining a verdict. Codes are part of the JSON contract:
// add new ones, never rename.
type Reason string

const (
	// upstream_error
	ReasonNotFound       Reason = "not_found"       // package, version or file absent from the registry
	ReasonRegistry       Reason = "registry_error"  // registry unreachable or answered with an error
	ReasonDigestMismatch Reason = "digest_mismatch" // artifact does not match the registry's own digest
	ReasonBadMetadata    Reason = "bad_metadata"    // metadata unparseable or over limits
	ReasonNoArtifact     Reason = "no_artifact"     // no artifact of the requested kind
	ReasonUnsafeArtifact Reason = "unsafe_artifact" // upstream archive with escaping paths, bombs, ...
	// no_source
	ReasonNoRepoURL        Reason = "no_repo_url"       // metadata names no repository
	ReasonUnsupportedRepo  Reason = "unsupported_repo"  // repository URL refused (scheme, host, ...)
	ReasonCloneFailed      Reason = "clone_failed"      // git could not fetch the repository
	ReasonNoGitRef         Reason = "no_git_ref"        // no commit matched the version
	ReasonManifestMismatch Reason = "manifest_mismatch" // the candidate commit's manifest names another package/version
	ReasonNoPackageDir     Reason = "no_package_dir"    // package directory not found in the repository
	// build_failed
	ReasonBuildCommand  Reason = "build_command_failed" // a build command exited non-zero
	ReasonInstallFailed Reason = "install_failed"       // dependency installation failed
	ReasonNoOutput      Reason = "no_output"            // the build produced no artifact
	ReasonTimeout       Reason = "timeout"              // wall-clock limit reached
	ReasonOOM           Reason = "oom"                  // memory limit reached
	ReasonToolchain     Reason = "toolchain_unavailable"
	ReasonSandbox       Reason = "sandbox_error"
	// mismatch
	ReasonContentMismatch Reason = "content_mismatch"  // files differ after stabilization
	ReasonFileSetMismatch Reason = "file_set_mismatch" // files only on one side
)

// Error is a failure that carries its verdict and reason. Any pipeline stage returns it
// (possibly wrapped); callers branch with errors.As.
type Error struct {
	Verdict Verdict
	Reason  Reason
	Msg     string
	Err     error
}

// Error returns Msg, which already includes the wrapped error's text.
func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error; a %w verb in format is kept as the wrapped error.
func Errorf(v Verdict, r Reason, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Verdict: v, Reason: r, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Wrap attaches a verdict and reason to err with a short message.
func Wrap(v Verdict, r Reason, msg string, err error) *Error {
	if err != nil {
		msg = msg + ": " + err.Error()
	}
	return &Error{Verdict: v, Reason: r, Msg: msg, Err: err}
}

// As extracts an *Error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ExitCode maps the error's verdict to the exit status of the command that hit it.
func (e *Error) ExitCode() int { return e.Verdict.ExitCode() }
