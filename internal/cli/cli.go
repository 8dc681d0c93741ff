// Package cli implements the vouch command line (design §2). main calls Main; every
// subcommand lives in its own file.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/ecosystem/npm"
	"github.com/vouch-dev/vouch/internal/ecosystem/pypi"
	"github.com/vouch-dev/vouch/internal/rebuild"
	"github.com/vouch-dev/vouch/internal/sandbox"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/store"
	"github.com/vouch-dev/vouch/internal/target"
)

// Exit codes (design §1.5, §1.8).
const (
	ExitOK       = 0
	ExitFailed   = 1
	ExitUsage    = 2
	ExitNoResult = 3
)

// UsageError is bad input: exit code 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) ExitCode() int { return ExitUsage }

// exitError carries an exit code chosen by a subcommand after it printed its result.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
func (e *exitError) ExitCode() int { return e.code }

// App is one invocation's I/O.
type App struct {
	Stdout, Stderr io.Writer
	Log            *slog.Logger
	Getenv         func(string) string
}

type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, a *App, args []string) error
}

func commands() []command {
	return []command{
		{"rebuild", "rebuild PURL [--definition FILE] [--json] [--sandbox auto|bwrap|none] [--keep-workdir]", "rebuild a package version from source and compare it with the registry's artifact", runRebuild},
		{"infer", "infer PURL [--json]", "print the BuildDefinition a rebuild would use, without building", runInfer},
		{"verify", "verify PURL|FILE [--artifact FILE] [--trust KEY.pub ...] [--server URL] [--json]", "check an artifact against signed rebuild evidence", runVerify},
		{"diff", "diff A B [--stabilize ECOSYSTEM] [--format text|json|html]", "show how two archives differ", runDiff},
		{"keygen", "keygen", "create the local signing key", runKeygen},
		{"cache", "cache prune [--max SIZE] [--json]", "evict least recently used cache entries (git mirrors, artifacts, toolchains) down to a size limit", runCache},
		{"batch", "batch PACKAGESET.json [--jobs N] [--resume] [--report FILE] [--filter EXPR] | --compare OLD.json NEW.json", "rebuild a package set and report what reproduces and why not", runBatch},
	}
}

// Main runs vouch with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &App{Stdout: stdout, Stderr: stderr, Getenv: os.Getenv,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	err := a.run(ctx, args)
	if err == nil {
		return ExitOK
	}
	var ec interface{ ExitCode() int }
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "vouch: %v\n", err)
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return ExitFailed
}

func (a *App) run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		a.usage(a.Stdout)
		if len(args) == 0 {
			return &exitError{ExitUsage}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, a, args[1:])
		}
	}
	a.usage(a.Stderr)
	return &UsageError{Msg: fmt.Sprintf("unknown command %q", args[0])}
}

func (a *App) usage(w io.Writer) {
	fmt.Fprintln(w, "vouch — is this package really built from the source it claims?\n\nUsage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  vouch %s\n        %s\n", c.usage, c.summary)
	}
	fmt.Fprintln(w, "\nState lives in $VOUCH_HOME (default $XDG_DATA_HOME/vouch). Exit codes: 0 ok, 1 mismatch or verification failed, 2 bad input, 3 no result (build failed, no source, registry error, no evidence).")
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &UsageError{Msg: "usage: vouch " + fs.Name() + " " + flagHelp(fs)}
			}
			return nil, &UsageError{Msg: fmt.Sprintf("%s: %v", fs.Name(), err)}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(&b, "[--%s] ", f.Name) })
	return b.String()
}

// multiFlag collects repeated string flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// Home is vouch's state directory: $VOUCH_HOME, else $XDG_DATA_HOME/vouch, else ~/.local/share/vouch.
func (a *App) Home() (string, error) {
	if h := a.Getenv("VOUCH_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if x := a.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "vouch"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a home directory; set VOUCH_HOME: %w", err)
	}
	return filepath.Join(home, ".local", "share", "vouch"), nil
}

// env is the shared state of commands that touch the store.
type env struct {
	home  string
	store *store.Store
	ecos  map[target.Ecosystem]ecosystem.Ecosystem
}

func (a *App) openEnv() (*env, error) {
	home, err := a.Home()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", home, err)
	}
	st, err := store.Open(home)
	if err != nil {
		return nil, fmt.Errorf("opening the store in %s: %w", home, err)
	}
	cache := filepath.Join(home, "cache")
	return &env{home: home, store: st, ecos: map[target.Ecosystem]ecosystem.Ecosystem{
		target.NPM:  npm.New(cache),
		target.PyPI: pypi.New(cache),
	}}, nil
}

func (e *env) close() { e.store.Close() }

func (e *env) keyDir() string { return filepath.Join(e.home, "keys") }

func (e *env) pipeline(a *App, sandboxName string, signer *attest.Signer) (*rebuild.Pipeline, error) {
	ex, err := sandbox.ByName(sandboxName)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	builder := a.Getenv("VOUCH_BUILDER_ID")
	if builder == "" {
		builder = rebuild.DefaultBuilderID
	}
	defsDir := a.Getenv("VOUCH_DEFINITIONS")
	maxAge := 10 * time.Minute
	if v := a.Getenv("VOUCH_GIT_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, &UsageError{Msg: "VOUCH_GIT_MAX_AGE must be a duration such as 10m or 0s"}
		}
		maxAge = d
	}
	return &rebuild.Pipeline{
		Ecosystems:  e.ecos,
		Mirrors:     &source.Mirrors{Root: filepath.Join(e.home, "cache", "git"), MaxAge: maxAge},
		Store:       e.store,
		Signer:      signer,
		Executor:    ex,
		Definitions: definition.Directory{Root: defsDir},
		BuilderID:   builder,
		Hide:        []string{e.home},
		Progress:    a.Stderr,
	}, nil
}

// buildPipeline loads (or creates) the signing key and returns a pipeline that signs with
// it, warning loudly when builds will run unsandboxed.
func (e *env) buildPipeline(a *App, sandboxName string) (*rebuild.Pipeline, error) {
	signer, created, err := attest.LoadOrCreate(e.keyDir())
	if err != nil {
		return nil, fmt.Errorf("loading the signing key: %w", err)
	}
	if created {
		fmt.Fprintf(a.Stderr, "vouch: created a signing key in %s (key id %s)\n", e.keyDir(), signer.KeyID())
	}
	p, err := e.pipeline(a, sandboxName, signer)
	if err != nil {
		return nil, err
	}
	if p.Executor.Name() == "none" {
		fmt.Fprintln(a.Stderr, "vouch: WARNING: building WITHOUT a sandbox: build scripts run with your rights and network. This is recorded in the attestation.")
	}
	return p, nil
}

func parseTarget(s string) (target.Target, error) {
	t, err := target.Parse(s)
	if err != nil {
		return target.Target{}, err
	}
	return t, nil
}
