package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verify"
)

func runVerify(ctx context.Context, a *App, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	artifact := fs.String("artifact", "", "verify this local file instead of downloading the registry's artifact")
	var trust multiFlag
	fs.Var(&trust, "trust", "trust this public key (PEM); repeatable. Default: this machine's own key")
	server := fs.String("server", "", "read evidence from a vouch server or static mirror of the attestation layout")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &UsageError{Msg: "usage: vouch verify PURL|FILE [--artifact FILE] [--trust KEY.pub ...] [--server URL] [--json]"}
	}
	e, err := a.openEnv()
	if err != nil {
		return err
	}
	defer e.close()

	keys, err := trustedKeys(e, trust)
	if err != nil {
		return err
	}
	var src verify.Source = verify.StoreSource{Store: e.store}
	if *server != "" {
		if !strings.HasPrefix(*server, "https://") && !strings.HasPrefix(*server, "http://") {
			return &UsageError{Msg: "--server must be an http(s) URL"}
		}
		src = verify.HTTPSource{BaseURL: strings.TrimRight(*server, "/"), Client: &http.Client{Timeout: 60 * time.Second}}
	}

	var (
		t        target.Target
		artName  string
		sum      string
		arg      = pos[0]
		filePath = *artifact
	)
	if strings.HasPrefix(arg, "pkg:") {
		if t, err = parseTarget(arg); err != nil {
			return err
		}
		eco, ok := e.ecos[t.Ecosystem]
		if !ok {
			return &UsageError{Msg: fmt.Sprintf("vouch cannot verify %s packages yet", t.Ecosystem)}
		}
		if filePath == "" {
			fmt.Fprintf(a.Stderr, "vouch: downloading %s from the registry\n", t.PURL())
			up, err := eco.Resolve(ctx, t)
			if err != nil {
				return err
			}
			artName, sum = up.Artifact, up.SHA256
		} else {
			if sum, err = fileSHA256(filePath); err != nil {
				return &UsageError{Msg: err.Error()}
			}
			artName = artifactNameFor(t, filePath)
		}
	} else {
		if *artifact != "" {
			return &UsageError{Msg: "--artifact goes with a PURL; for a file, name the file"}
		}
		filePath = arg
		if sum, err = fileSHA256(filePath); err != nil {
			return &UsageError{Msg: err.Error()}
		}
		t, artName, err = identify(e, filePath, sum)
		if err != nil {
			return err
		}
	}
	rep, err := verify.Artifact(ctx, src, t, artName, sum, keys)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(a.Stdout, rep)
	}
	if code := rep.ExitCode(); code != 0 {
		return &exitError{code}
	}
	return nil
}

// trustedKeys is the --trust keys, or this machine's own public key.
func trustedKeys(e *env, trust []string) ([]*attest.PublicKey, error) {
	if len(trust) == 0 {
		own := filepath.Join(e.keyDir(), "signing-key.pub")
		if _, err := os.Stat(own); err != nil {
			return nil, &UsageError{Msg: "no trusted keys: pass --trust KEY.pub (a rebuilder's public key), or run vouch keygen / vouch rebuild to create your own"}
		}
		trust = []string{own}
	}
	keys, err := attest.LoadPublicKeys(trust...)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	return keys, nil
}

// identify finds which package a local file is: by digest in the local store first, else by
// reading its own manifest.
func identify(e *env, path, sum string) (target.Target, string, error) {
	if refs, err := e.store.FindByDigest(sum); err == nil && len(refs) > 0 {
		t, err := target.Parse(refs[0].PURL)
		if err == nil {
			return t, refs[0].Artifact, nil
		}
	}
	var errs []string
	for _, eco := range e.ecos {
		t, err := eco.Identify(path)
		if err == nil {
			return t, artifactNameFor(t, path), nil
		}
		errs = append(errs, err.Error())
	}
	return target.Target{}, "", &UsageError{Msg: fmt.Sprintf("cannot tell which package %s is: %s", path, strings.Join(errs, "; "))}
}

// artifactNameFor is the registry's file name for t's artifact, or the file's own name.
func artifactNameFor(t target.Target, path string) string {
	if t.Ecosystem == target.NPM {
		n := t.Name
		return n + "-" + t.Version + ".tgz"
	}
	return filepath.Base(path)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func printReport(w io.Writer, r *verify.Report) {
	fmt.Fprintf(w, "%s (%s)\n", r.PURL, r.Artifact)
	fmt.Fprintf(w, "  status:       %s\n", strings.ToUpper(r.Status))
	if r.Verdict != "" {
		fmt.Fprintf(w, "  attested:     %s", r.Verdict)
		if r.Reason != "" {
			fmt.Fprintf(w, " (%s)", r.Reason)
		}
		fmt.Fprintln(w)
	}
	if r.Message != "" {
		fmt.Fprintf(w, "  why:          %s\n", r.Message)
	}
	fmt.Fprintf(w, "  artifact:     sha256:%s\n", r.ArtifactSHA256)
	if r.Attestation != "" {
		fmt.Fprintf(w, "  evidence:     %s\n", r.Attestation)
	}
	if len(r.KeyIDs) > 0 {
		fmt.Fprintf(w, "  signed by:    %s\n", strings.Join(r.KeyIDs, ", "))
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  [%s] %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(w, ": %s", c.Detail)
		}
		fmt.Fprintln(w)
	}
}

var _ = errors.New
