// Command vouch rebuilds published packages from source and verifies them against signed evidence.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vouch-dev/vouch/internal/cli"
	"github.com/vouch-dev/vouch/internal/egress"
)

func main() {
	// Inside an unprivileged sandbox vouch re-executes itself as the loopback forwarder
	// that relays the build's traffic to the egress proxy.
	if egress.ForwarderRequested() {
		os.Exit(egress.ForwarderMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
