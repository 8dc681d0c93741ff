package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// None runs commands directly on the host, without isolation or network recording.
// It exists for hosts without namespaces; results say so.
type None struct{}

var _ Executor = None{}

func (None) Name() string { return "none" }

func (None) Start(ctx context.Context, cfg Config) (Session, error) {
	return &noneSession{cfg: cfg, deadline: deadline(cfg.Timeout)}, nil
}

// DefaultTimeout bounds a build when the definition does not say.
const DefaultTimeout = 30 * time.Minute

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		d = DefaultTimeout
	}
	return time.Now().Add(d)
}

type noneSession struct {
	cfg      Config
	deadline time.Time
}

func (s *noneSession) Run(ctx context.Context, spec *Spec) error {
	if len(spec.Args) == 0 {
		return errors.New("empty command")
	}
	ctx, cancel := context.WithDeadline(ctx, s.deadline)
	defer cancel()
	cmd := exec.Command(spec.Args[0], spec.Args[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = limitOutputs(spec.Stdout, spec.Stderr)
	if !spec.Clock.IsZero() && spec.Stderr != nil {
		fmt.Fprintf(spec.Stderr, "vouch: the build sees the real clock, not %s (setting it needs --sandbox bwrap, whose proxy certificates are valid then)\n", spec.Clock.UTC().Format(time.RFC3339))
	}
	// Background processes holding the output pipes must not keep Run waiting forever.
	cmd.WaitDelay = waitDelay
	// Own process group so the whole tree dies on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", spec.Args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitErr(spec.Args, err)
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && time.Now().After(s.deadline.Add(-time.Second)) {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonTimeout, "build exceeded its time limit running %s", quoteArgs(spec.Args))
		}
		return ctx.Err()
	}
}

func exitErr(args []string, err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Args: args, Code: ee.ExitCode()}
	}
	return err
}

func (s *noneSession) Network() []egress.Record { return nil }
func (s *noneSession) Close() error             { return nil }

func quoteArgs(a []string) string {
	q := make([]string, len(a))
	for i, s := range a {
		if strings.ContainsAny(s, " \t\"'") || s == "" {
			s = strconv.Quote(s)
		}
		q[i] = s
	}
	return strings.Join(q, " ")
}

func itoa(i int) string { return strconv.Itoa(i) }
