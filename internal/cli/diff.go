package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/diff"
	"github.com/vouch-dev/vouch/internal/stabilize"
	"github.com/vouch-dev/vouch/internal/target"
)

func runDiff(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	stab := fs.String("stabilize", "", "normalise both sides first with an ecosystem's stabilizers (npm)")
	format := fs.String("format", "text", "text, json or html")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return &UsageError{Msg: "usage: vouch diff A B [--stabilize ECOSYSTEM] [--format text|json|html]"}
	}
	if *format != "text" && *format != "json" && *format != "html" {
		return &UsageError{Msg: "--format must be text, json or html"}
	}
	for _, p := range pos {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return &UsageError{Msg: fmt.Sprintf("%s: not a readable file", p)}
		}
	}
	opts := diff.Options{Labels: [2]string{pos[0], pos[1]}}
	var tree *diff.Node
	if *stab != "" {
		eco, err := target.ParseEcosystem(*stab)
		if err != nil {
			return &UsageError{Msg: err.Error()}
		}
		set, err := stabilizersFor(eco, filepath.Base(pos[1]))
		if err != nil {
			return err
		}
		cmp, err := stabilize.Compare(pos[0], pos[1], set, archive.DefaultLimits)
		if err != nil {
			return err
		}
		if cmp.Identical || cmp.Equivalent {
			tree = &diff.Node{Kind: diff.KindArchive}
			if len(cmp.Applied) > 0 {
				fmt.Fprintf(a.Stderr, "vouch: equivalent after normalising: %s\n", strings.Join(cmp.Applied, ", "))
			}
		} else {
			tree = diff.Archives(cmp.Upstream, cmp.Rebuild, opts)
		}
	} else if tree, err = diff.Files(pos[0], pos[1], opts); err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(tree)
	case "html":
		err = diff.RenderHTML(a.Stdout, tree)
	default:
		err = diff.RenderText(a.Stdout, tree)
	}
	if err != nil {
		return err
	}
	if tree.Summary(0).Differences > 0 {
		return &exitError{ExitFailed}
	}
	return nil
}

// stabilizersFor is eco's set for an artifact named artifact (PyPI: wheel or sdist).
func stabilizersFor(eco target.Ecosystem, artifact string) ([]stabilize.Stabilizer, error) {
	switch eco {
	case target.NPM:
		return stabilize.NPM(), nil
	case target.PyPI:
		return stabilize.PyPI(artifact), nil
	default:
		return nil, &UsageError{Msg: fmt.Sprintf("no stabilizer set for %s yet", eco)}
	}
}
