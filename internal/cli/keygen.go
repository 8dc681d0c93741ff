package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/vouch-dev/vouch/internal/attest"
)

func runKeygen(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return &UsageError{Msg: "usage: vouch keygen"}
	}
	home, err := a.Home()
	if err != nil {
		return err
	}
	dir := filepath.Join(home, "keys")
	s, err := attest.Generate(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "created signing key %s\npublic key:  %s\nkey id:      %s\nShare the public key; others verify your attestations with: vouch verify PURL --trust signing-key.pub\n",
		filepath.Join(dir, "signing-key.pem"), filepath.Join(dir, "signing-key.pub"), s.KeyID())
	return nil
}
