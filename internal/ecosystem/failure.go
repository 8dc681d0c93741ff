package ecosystem

import (
	"errors"

	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// CommandFailure turns the error of a build command into a build_failed verdict: a non-zero
// exit gets reason (install_failed, build_command_failed, ...), a command that could not run
// at all gets sandbox_error, and errors that already carry a verdict (timeout, oom) pass.
func CommandFailure(err error, reason verdict.Reason, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := verdict.As(err); ok {
		return err
	}
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		return verdict.Wrap(verdict.BuildFailed, reason, what+" failed (see the build log)", err)
	}
	return verdict.Wrap(verdict.BuildFailed, verdict.ReasonSandbox, what+" could not run", err)
}
