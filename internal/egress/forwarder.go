package egress

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// forwarderEnv selects the forwarder mode of the vouch binary (see ForwarderMain).
const forwarderEnv = "VOUCH_EGRESS_FORWARD"

// ForwarderEnv is the environment entry that makes the vouch binary, started inside a sandbox
// whose network namespace has only loopback, listen on listen (e.g. "127.0.0.1:3128") and relay
// every connection to the proxy's unix socket, which the sandbox bind-mounts from the host.
func ForwarderEnv(listen, socket string) string {
	return forwarderEnv + "=" + listen + "=" + socket
}

// ForwarderRequested reports whether this process was started as a forwarder.
// The CLI's main checks it first: if egress.ForwarderRequested() { os.Exit(egress.ForwarderMain()) }.
func ForwarderRequested() bool { return os.Getenv(forwarderEnv) != "" }

// ForwarderMain runs the forwarder: it listens, then runs os.Args[1:] as a child with the
// forwarder variable removed, relays connections until the child exits, and returns the
// child's exit status (128+signal when killed). Messages go to stderr: this is a process entry point.
func ForwarderMain() int {
	spec := os.Getenv(forwarderEnv)
	_ = os.Unsetenv(forwarderEnv)
	listen, socket, ok := strings.Cut(spec, "=")
	if !ok || len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "vouch forwarder: usage: "+forwarderEnv+"=LISTEN=SOCKET vouch COMMAND [ARG...]")
		return 125
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vouch forwarder: %v\n", err)
		return 125
	}
	go serveForward(ln, socket)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	_ = ln.Close()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "vouch forwarder: %v\n", err)
		return 127
	}
}

func serveForward(ln net.Listener, socket string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go relay(c, socket)
	}
}

func relay(c net.Conn, socket string) {
	defer c.Close()
	u, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer u.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	go pipe(u, c)
	go pipe(c, u)
	wg.Wait()
}
