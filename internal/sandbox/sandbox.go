// Package sandbox runs build commands. Every strategy runs its commands through an Executor,
// so isolation and network recording apply to all of them (design §5).
package sandbox

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/egress"
)

// Config describes one build's isolation: what it may reach and how long it may run.
type Config struct {
	// AllowHosts are the registry hosts the build may reach (exact host names, optionally host:port).
	AllowHosts []string
	// Cutoff, when set, hides registry versions published after it (npm packuments, PyPI JSON/Simple).
	Cutoff *time.Time
	// ToolchainEra, when set, makes the registry's latest TypeScript and @types versions
	// those of that time (the egress proxy's filter; for registries without trustworthy times).
	ToolchainEra *time.Time
	// Timeout bounds the whole build session; zero means the executor's default.
	Timeout time.Duration
	// MemoryBytes and MaxPids bound the build's process tree; zero means the executor's default.
	MemoryBytes int64
	MaxPids     int
	// Hide lists host paths that must not be visible to the build (e.g. $VOUCH_HOME).
	Hide []string
}

// Spec is one command of a build.
type Spec struct {
	Args []string
	// Dir is the working directory; it must be inside one of Writable.
	Dir string
	// Env is the complete environment (the executor adds proxy and CA variables).
	Env []string
	// Writable are the only host paths the command may write.
	Writable []string
	// ReadOnly are extra host paths made visible read-only even if under a hidden path
	// (e.g. a toolchain cache inside $VOUCH_HOME).
	ReadOnly       []string
	Stdout, Stderr io.Writer
	// Clock, when set, is the time the command's clock starts at (a release commit's time,
	// for builds that stamp the date into their output). The bwrap executor sets it with
	// libfaketime, whose absence it logs; the none executor cannot (TLS to real hosts would
	// fail under an old clock) and logs that it runs the real clock.
	Clock time.Time
}

// Executor starts build sessions.
type Executor interface {
	// Name is recorded in results and attestations ("none", "bwrap").
	Name() string
	Start(ctx context.Context, cfg Config) (Session, error)
}

// Session runs the commands of one build and records its network use.
type Session interface {
	// Run runs one command to completion. A non-zero exit is an *ExitError; hitting a limit
	// is a *verdict.Error with reason timeout or oom.
	Run(ctx context.Context, spec *Spec) error
	// Network returns the requests recorded so far (nil when the executor does not record).
	Network() []egress.Record
	Close() error
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Args []string
	Code int
}

func (e *ExitError) Error() string {
	return "command " + quoteArgs(e.Args) + " exited with status " + itoa(e.Code)
}

// fakeTimeLibs are where distributions install libfaketime's thread-safe library.
var fakeTimeLibs = []string{
	"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
	"/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
	"/usr/lib64/faketime/libfaketimeMT.so.1",
	"/usr/lib/faketime/libfaketimeMT.so.1",
	"/usr/local/lib/faketime/libfaketimeMT.so.1",
}

// FakeTimeLib is the libfaketime library used for Spec.Clock, "" when none is installed.
func FakeTimeLib() string {
	for _, p := range fakeTimeLibs {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// clockEnv is the environment that starts a command's clock at t (libfaketime at lib): the
// wall clock only (timers and monotonic time run as they are), file times as they are.
func clockEnv(env []string, t time.Time, lib string) []string {
	out := append([]string(nil), env...)
	preload := lib
	hasTZ := false
	for i, kv := range out {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "LD_PRELOAD":
			preload = lib + " " + v
			out[i] = ""
		case "TZ":
			hasTZ = true
		}
	}
	out = slices.DeleteFunc(out, func(kv string) bool { return kv == "" })
	out = append(out, "LD_PRELOAD="+preload, "FAKETIME=@"+t.UTC().Format("2006-01-02 15:04:05"),
		"NO_FAKE_STAT=1", "FAKETIME_DONT_FAKE_MONOTONIC=1", "DONT_FAKE_MONOTONIC=1")
	if !hasTZ {
		out = append(out, "TZ=UTC") // FAKETIME is read as local time
	}
	return out
}
