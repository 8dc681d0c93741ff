package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// waitDelay bounds how long Run waits for output pipes after the command is gone.
const waitDelay = 5 * time.Second

// sandboxID is the unprivileged uid and gid the build runs as inside its user namespace.
const sandboxID = "1000"

// defaultPath is used when the Spec's environment has no PATH (Debian's default login PATH).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Bwrap runs each session in fresh user, mount, pid, ipc, uts and network namespaces with
// bubblewrap (design §5). The host root is visible read-only, Config.Hide paths are covered by
// empty tmpfs mounts, and the only way out of the network namespace is the session's recording
// egress proxy. Memory and pids limits use a per-session cgroup when vouch may create one (root);
// otherwise the session runs without them and its Notes say so.
//
// Sessions have a Notes() []string method listing isolation that is not in force on this host;
// callers may check for it with a type assertion and report it.
type Bwrap struct {
	// Path of the bwrap binary; empty means "bwrap" from PATH.
	Path string
	// UpstreamRootCAs verifies registry servers' certificates; nil means the system roots.
	UpstreamRootCAs *x509.CertPool

	// forceForwarder skips the privileged network namespace (tests of the unprivileged path).
	forceForwarder bool
}

var _ Executor = (*Bwrap)(nil)

func (*Bwrap) Name() string { return "bwrap" }

func (b *Bwrap) path() (string, error) {
	if b.Path != "" {
		return b.Path, nil
	}
	p, err := exec.LookPath("bwrap")
	if err != nil {
		return "", fmt.Errorf("finding bwrap: %w", err)
	}
	return p, nil
}

// Start prepares a session: scratch directories, the proxy and its CA, the network namespace and the cgroup.
func (b *Bwrap) Start(ctx context.Context, cfg Config) (_ Session, err error) {
	bw, err := b.path()
	if err != nil {
		return nil, verdict.Wrap(verdict.BuildFailed, verdict.ReasonSandbox, "bwrap sandbox unavailable", err)
	}
	s := &bwrapSession{bwrap: bw, cfg: cfg, deadline: deadline(cfg.Timeout)}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.scratch, err = os.MkdirTemp("", "vouch-sandbox-"); err != nil {
		return nil, fmt.Errorf("creating sandbox scratch dir: %w", err)
	}
	for _, d := range []string{"home", "tmp", "ca", "sock"} {
		if err := os.Mkdir(filepath.Join(s.scratch, d), 0o755); err != nil {
			return nil, fmt.Errorf("creating sandbox scratch dir: %w", err)
		}
	}
	s.proxy, err = egress.New(egress.Config{
		AllowHosts: cfg.AllowHosts, Cutoff: cfg.Cutoff, ToolchainEra: cfg.ToolchainEra,
		Dir: filepath.Join(s.scratch, "ca"), UpstreamRootCAs: b.UpstreamRootCAs,
	})
	if err != nil {
		return nil, fmt.Errorf("starting egress proxy: %w", err)
	}

	netErr := errors.New("disabled")
	if !b.forceForwarder {
		s.launch, netErr = startLauncher(true)
	}
	if netErr == nil {
		s.shareNet = true
		s.proxy.Serve(s.launch.ln)
		s.proxyEnv = s.proxy.Env(s.launch.ln.Addr().String())
	} else {
		// Unprivileged: bwrap gives the build its own network namespace, and a forwarder (this
		// binary, see egress.ForwarderMain) relays 127.0.0.1:<port> inside it to the proxy's unix socket.
		s.notes = append(s.notes, "network: "+netErr.Error()+"; the build reaches the proxy through an in-sandbox forwarder")
		if s.launch, err = startLauncher(false); err != nil {
			return nil, err
		}
		if s.exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the vouch binary for the forwarder: %w", err)
		}
		s.sock = filepath.Join(s.scratch, "sock", "proxy.sock")
		uln, err := net.Listen("unix", s.sock)
		if err != nil {
			return nil, fmt.Errorf("listening for the forwarder: %w", err)
		}
		s.proxy.Serve(uln)
		s.forwardAddr = "127.0.0.1:" + strconv.Itoa(20000+mrand.IntN(40000))
		s.proxyEnv = s.proxy.Env(s.forwardAddr)
	}

	mem, pids := cfg.MemoryBytes, cfg.MaxPids
	if mem <= 0 {
		mem = DefaultMemoryBytes
	}
	if pids <= 0 {
		pids = DefaultMaxPids
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	if cg, err := newCgroup("session-"+hex.EncodeToString(id[:]), mem, pids); err != nil {
		s.notes = append(s.notes, "limits: memory and pids limits not enforced: "+err.Error())
	} else {
		s.cg = cg
	}
	return s, nil
}

type bwrapSession struct {
	bwrap    string
	cfg      Config
	deadline time.Time
	scratch  string
	proxy    *egress.Proxy
	proxyEnv []string
	launch   *launcher
	cg       *cgroup
	notes    []string

	shareNet    bool   // the launcher thread's network namespace holds the proxy listener
	exe         string // forwarder binary (unprivileged path)
	sock        string // proxy unix socket (unprivileged path)
	forwardAddr string // forwarder listen address inside the sandbox

	mu sync.Mutex // one command at a time
}

// Notes lists isolation that is not in force for this session (empty when everything is).
func (s *bwrapSession) Notes() []string { return append([]string(nil), s.notes...) }

func (s *bwrapSession) Network() []egress.Record {
	if s.proxy == nil {
		return nil
	}
	return s.proxy.Records()
}

func (s *bwrapSession) Close() error {
	var errs []error
	if s.proxy != nil {
		errs = append(errs, s.proxy.Close())
	}
	if s.launch != nil {
		s.launch.stop()
	}
	if s.cg != nil {
		errs = append(errs, s.cg.remove())
	}
	if s.scratch != "" {
		if err := os.RemoveAll(s.scratch); err != nil {
			errs = append(errs, fmt.Errorf("removing sandbox scratch dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// releaseScript holds the process until vouch has put it in the session cgroup, then becomes bwrap,
// so every process of the build starts inside the cgroup (fd 3 is the release pipe).
const releaseScript = `read -r _ <&3 || exit 125; exec 3<&-; exec "$0" "$@"`

func (s *bwrapSession) Run(ctx context.Context, spec *Spec) error {
	if len(spec.Args) == 0 {
		return errors.New("empty command")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	args, err := s.args(spec)
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	var release *os.File
	if s.cg != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("creating release pipe: %w", err)
		}
		defer r.Close()
		defer w.Close()
		release = w
		cmd = exec.Command("/bin/sh", append([]string{"-c", releaseScript, s.bwrap}, args...)...)
		cmd.ExtraFiles = []*os.File{r}
	} else {
		cmd = exec.Command(s.bwrap, args...)
	}
	cmd.Env = s.env(spec)
	cmd.Stdout, cmd.Stderr = limitOutputs(spec.Stdout, spec.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = waitDelay

	var oomBefore int64
	if s.cg != nil {
		oomBefore = s.cg.oomKills()
	}
	var startErr error
	s.launch.run(func() {
		if startErr = cmd.Start(); startErr != nil {
			return
		}
		if s.cg == nil {
			return
		}
		if err := s.cg.add(cmd.Process.Pid); err != nil {
			startErr = err
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return
		}
		_, _ = release.Write([]byte("\n"))
		_ = release.Close()
	})
	if startErr != nil {
		return verdict.Wrap(verdict.BuildFailed, verdict.ReasonSandbox, "starting sandbox for "+quoteArgs(spec.Args), startErr)
	}

	ctx, cancel := context.WithDeadline(ctx, s.deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		// pid 1 of the build's namespace has exited, so the kernel is killing the rest;
		// wait for them to leave the cgroup so no step outlives its Run.
		if s.cg != nil && !s.cg.killAll(10*time.Second) {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonSandbox,
				"processes of %s survived the kill", quoteArgs(spec.Args))
		}
		if err != nil && s.cg != nil && s.cg.oomKills() > oomBefore {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonOOM,
				"build exceeded its memory limit (%d bytes) running %s", s.memLimit(), quoteArgs(spec.Args))
		}
		return exitErr(spec.Args, err)
	case <-ctx.Done():
		// bwrap's monitor dies, its child (pid 1 of the build's pid namespace, --die-with-parent)
		// follows, and the kernel kills everything else in the namespace; the cgroup sweep
		// catches anything that raced out of it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		<-done
		if s.cg != nil && !s.cg.killAll(10*time.Second) {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonSandbox,
				"processes of %s survived the kill", quoteArgs(spec.Args))
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && !time.Now().Before(s.deadline) {
			return verdict.Errorf(verdict.BuildFailed, verdict.ReasonTimeout,
				"build exceeded its time limit running %s", quoteArgs(spec.Args))
		}
		return ctx.Err()
	}
}

func (s *bwrapSession) memLimit() int64 {
	if s.cfg.MemoryBytes > 0 {
		return s.cfg.MemoryBytes
	}
	return DefaultMemoryBytes
}

// args builds bwrap's command line. Mount order matters: later mounts cover earlier ones.
func (s *bwrapSession) args(spec *Spec) ([]string, error) {
	a := []string{
		"--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
		"--uid", sandboxID, "--gid", sandboxID,
	}
	if s.shareNet {
		a = append(a, "--share-net") // keep the launcher thread's namespace, where the proxy listens
	}
	a = append(a, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	var hidden []string
	for _, h := range s.cfg.Hide {
		fi, err := os.Stat(h)
		switch {
		case err != nil:
			if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("hiding %s: %w", h, err)
			}
		case fi.IsDir():
			a = append(a, "--tmpfs", h)
			hidden = append(hidden, h)
		default:
			a = append(a, "--ro-bind", "/dev/null", h)
		}
	}
	for _, r := range spec.ReadOnly {
		a = append(a, "--ro-bind", r, r)
	}
	home, tmp, ca := filepath.Join(s.scratch, "home"), filepath.Join(s.scratch, "tmp"), filepath.Join(s.scratch, "ca")
	a = append(a, "--bind", home, home, "--bind", tmp, tmp, "--ro-bind", ca, ca)
	if !s.shareNet {
		sockDir := filepath.Dir(s.sock)
		a = append(a, "--ro-bind", s.exe, s.exe, "--ro-bind", sockDir, sockDir)
	}
	for _, w := range spec.Writable {
		a = append(a, "--bind", w, w)
	}
	for _, h := range hidden {
		// Read-only once the mount points of the binds above exist in it.
		a = append(a, "--remount-ro", h)
	}
	if spec.Dir != "" {
		a = append(a, "--chdir", spec.Dir)
	}
	a = append(a, "--")
	if !s.shareNet {
		a = append(a, s.exe)
	}
	return append(a, spec.Args...), nil
}

// env is the Spec's environment with HOME, TMPDIR and PATH defaulted, plus the proxy and CA variables.
func (s *bwrapSession) env(spec *Spec) []string {
	set := map[string]bool{}
	for _, kv := range s.proxyEnv {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var env []string
	has := map[string]bool{}
	for _, kv := range spec.Env {
		k, _, _ := strings.Cut(kv, "=")
		if set[k] {
			continue
		}
		has[k] = true
		env = append(env, kv)
	}
	if !has["HOME"] {
		env = append(env, "HOME="+filepath.Join(s.scratch, "home"))
	}
	if !has["TMPDIR"] {
		env = append(env, "TMPDIR="+filepath.Join(s.scratch, "tmp"))
	}
	if !has["PATH"] {
		env = append(env, "PATH="+defaultPath)
	}
	env = append(env, s.proxyEnv...)
	if !s.shareNet {
		env = append(env, egress.ForwarderEnv(s.forwardAddr, s.sock))
	}
	if !spec.Clock.IsZero() {
		// The proxy's certificates are valid from egress.EarliestClock, so TLS still verifies.
		why := ""
		if lib := FakeTimeLib(); lib == "" {
			why = "libfaketime is not installed"
		} else if spec.Clock.Before(egress.EarliestClock) {
			why = "it is before " + egress.EarliestClock.Format("2006-01-02")
		} else {
			env = clockEnv(env, spec.Clock, lib)
		}
		if why != "" && spec.Stderr != nil {
			fmt.Fprintf(spec.Stderr, "vouch: the build sees the real clock, not %s: %s\n", spec.Clock.UTC().Format(time.RFC3339), why)
		}
	}
	return env
}
