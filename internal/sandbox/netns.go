package sandbox

import (
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// launcher owns one locked OS thread that starts the session's processes.
//
// With isolateNet it first moves that thread (only that thread) into a new network namespace,
// brings loopback up and opens the proxy's listener there: a socket belongs to the namespace
// it was created in, so the proxy accepts inside the build's namespace while its goroutines,
// running on the process's other threads, dial out from the host namespace. Processes started
// from the thread inherit its namespace (bwrap then runs with --share-net).
//
// The goroutine never unlocks: the thread is discarded when it returns, and it must outlive
// every process it started because Pdeathsig fires when the parent thread exits (design §5).
type launcher struct {
	jobs chan func()
	done chan struct{}
	ln   net.Listener // proxy listener inside the namespace; nil without isolateNet
}

func startLauncher(isolateNet bool) (*launcher, error) {
	l := &launcher{jobs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(l.done)
		runtime.LockOSThread()
		if isolateNet {
			ln, err := enterNetns()
			if err != nil {
				ready <- err
				return // the thread, now in an unknown state, dies with the goroutine
			}
			l.ln = ln
		}
		ready <- nil
		for job := range l.jobs {
			job()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

// enterNetns runs on the locked thread. CLONE_NEWNET needs CAP_SYS_ADMIN (root); a multithreaded
// process cannot CLONE_NEWUSER, so unprivileged callers get EPERM and use the forwarder instead.
func enterNetns() (net.Listener, error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("unsharing network namespace: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening in the build network namespace: %w", err)
	}
	return ln, nil
}

// loopbackUp sets IFF_UP on "lo" in the current thread's network namespace (netdevice(7) SIOCSIFFLAGS).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	return nil
}

// run executes f on the launcher thread and waits for it.
func (l *launcher) run(f func()) {
	finished := make(chan struct{})
	l.jobs <- func() { f(); close(finished) }
	<-finished
}

// stop ends the thread. Call it only when no started process is alive.
func (l *launcher) stop() {
	close(l.jobs)
	<-l.done
}
