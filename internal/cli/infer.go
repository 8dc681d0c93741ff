package cli

import (
	"context"
	"flag"
)

func runInfer(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &UsageError{Msg: "usage: vouch infer PURL [--json]"}
	}
	t, err := parseTarget(pos[0])
	if err != nil {
		return err
	}
	e, err := a.openEnv()
	if err != nil {
		return err
	}
	defer e.close()
	p, err := e.pipeline(a, "none", nil)
	if err != nil {
		return err
	}
	def, _, err := p.Plan(ctx, t)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.Stdout, def)
	}
	b, err := def.YAML()
	if err != nil {
		return err
	}
	_, err = a.Stdout.Write(b)
	return err
}
