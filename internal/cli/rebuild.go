package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func runRebuild(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	defFile := fs.String("definition", "", "build from this BuildDefinition (YAML or JSON) instead of inferring one")
	asJSON := fs.Bool("json", false, "print the result as one JSON document")
	sb := fs.String("sandbox", "auto", "isolation: auto, bwrap or none")
	keep := fs.Bool("keep-workdir", false, "keep the build's work directory")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &UsageError{Msg: "usage: vouch rebuild PURL [--definition FILE] [--json] [--sandbox auto|bwrap|none] [--keep-workdir]"}
	}
	t, err := parseTarget(pos[0])
	if err != nil {
		return err
	}
	var def *definition.BuildDefinition
	if *defFile != "" {
		if def, err = definition.Load(*defFile); err != nil {
			return err
		}
		dt, _ := def.Target()
		if dt.PURL() != t.PURL() {
			return &UsageError{Msg: fmt.Sprintf("%s describes %s, not %s", *defFile, def.PURL, t.PURL())}
		}
		def.Location.Evidence = "definition"
	}
	if err := checkCacheMax(a); err != nil {
		return err
	}
	e, err := a.openEnv()
	if err != nil {
		return err
	}
	defer e.close()
	defer autoPrune(a, e.home)
	p, err := e.buildPipeline(a, *sb)
	if err != nil {
		return err
	}
	p.KeepWorkdir = *keep
	res, err := p.Rebuild(ctx, t, def)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(a.Stdout, res); err != nil {
			return err
		}
	} else {
		printResult(a.Stdout, res)
	}
	if code := res.Verdict.ExitCode(); code != 0 {
		return &exitError{code}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printResult(w io.Writer, r *verdict.Result) {
	fmt.Fprintf(w, "%s\n", r.PURL)
	fmt.Fprintf(w, "  verdict:      %s", strings.ToUpper(string(r.Verdict)))
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	fmt.Fprintln(w)
	if r.Message != "" {
		fmt.Fprintf(w, "  why:          %s\n", r.Message)
	}
	if r.Artifact != "" {
		fmt.Fprintf(w, "  artifact:     %s\n", r.Artifact)
	}
	if s := r.Source; s != nil {
		dir := ""
		if s.Dir != "" {
			dir = " dir " + s.Dir
		}
		fmt.Fprintf(w, "  source:       %s @ %s%s (found by %s)\n", s.Repo, s.Ref, dir, s.Evidence)
	}
	if r.Strategy != "" {
		var tc []string
		for _, k := range definition.SortedKeys(r.Toolchain) {
			tc = append(tc, k+" "+r.Toolchain[k])
		}
		fmt.Fprintf(w, "  strategy:     %s (%s), sandbox %s\n", r.Strategy, strings.Join(tc, ", "), r.Sandbox)
	}
	if r.Upstream != nil {
		fmt.Fprintf(w, "  upstream:     sha256:%s\n", r.Upstream.SHA256)
	}
	if r.Rebuild != nil {
		fmt.Fprintf(w, "  rebuilt:      sha256:%s\n", r.Rebuild.SHA256)
	}
	if len(r.Stabilizers) > 0 {
		fmt.Fprintf(w, "  normalised:   %s\n", strings.Join(r.Stabilizers, ", "))
	}
	if d := r.Diff; d != nil {
		fmt.Fprintf(w, "  differences:  %d\n", d.Differences)
		for _, f := range d.OnlyUpstream {
			fmt.Fprintf(w, "    - %s (only in the registry's artifact)\n", f)
		}
		for _, f := range d.OnlyRebuild {
			fmt.Fprintf(w, "    + %s (only in the rebuild)\n", f)
		}
		for _, f := range d.Changed {
			fmt.Fprintf(w, "    ~ %s\n", f)
		}
		if d.Path != "" {
			fmt.Fprintf(w, "  full diff:    %s (vouch diff renders archives as text or HTML)\n", d.Path)
		}
	}
	// Each finding once (a build that retries a denied host repeats it), with its count.
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f]++
	}
	for _, f := range r.Findings {
		switch n := counts[f]; {
		case n == 0:
			continue
		case n > 1:
			fmt.Fprintf(w, "  finding:      %s (%d times)\n", f, n)
		default:
			fmt.Fprintf(w, "  finding:      %s\n", f)
		}
		counts[f] = 0
	}
	var denied int
	for _, n := range r.Network {
		if n.Denied {
			denied++
		}
	}
	if len(r.Network) > 0 {
		fmt.Fprintf(w, "  network:      %d requests recorded, %d denied\n", len(r.Network), denied)
	}
	if r.BuildLog != "" {
		fmt.Fprintf(w, "  build log:    %s\n", r.BuildLog)
	}
	if r.Attestation != "" {
		fmt.Fprintf(w, "  attestation:  %s\n", r.Attestation)
	}
	t := r.TimingsMS
	fmt.Fprintf(w, "  timings:      resolve %s, source %s, build %s, compare %s, attest %s\n",
		msStr(t.Resolve), msStr(t.Source), msStr(t.Build), msStr(t.Compare), msStr(t.Attest))
}

func msStr(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%dms", ms)
	}
	return fmt.Sprintf("%.1fs", float64(ms)/1000)
}
