package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// BenchmarkRebuildPackOnlyWarm times `vouch rebuild` of a pack-only npm package after one
// untimed rebuild has warmed the caches (git mirror, artifact, toolchain), and reports the
// mean of every phase and the median end to end.
//
// By default it is hermetic: the fake registry and a fixture repository, --sandbox none.
// VOUCH_BENCH_PURL rebuilds a real package instead (registry and repository as configured
// in the environment, e.g. GIT_CONFIG_GLOBAL pointing at local mirrors); VOUCH_BENCH_SANDBOX
// picks the sandbox (auto, bwrap, none):
//
//	VOUCH_BENCH_PURL=pkg:npm/is-number@7.0.0 VOUCH_BENCH_SANDBOX=bwrap GIT_CONFIG_GLOBAL=/tmp/mirrors.gitconfig \
//	  go test ./internal/cli -run '^$' -bench RebuildPackOnlyWarm -benchtime 10x
func BenchmarkRebuildPackOnlyWarm(b *testing.B) {
	purl := os.Getenv("VOUCH_BENCH_PURL")
	sb := os.Getenv("VOUCH_BENCH_SANDBOX")
	if sb == "" {
		sb = "none"
	}
	root := b.TempDir()
	b.Setenv("VOUCH_HOME", filepath.Join(root, "home"))
	if purl == "" {
		purl = hermeticPackage(b, root)
	}
	rebuild := func() *verdict.Result {
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"rebuild", purl, "--json", "--sandbox", sb}, &out, &errb)
		var res verdict.Result
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			b.Fatalf("rebuild: exit %d, no JSON: %v\n%s", code, err, errb.String())
		}
		if !res.Verdict.Success() {
			b.Fatalf("rebuild of %s: %s (%s: %s)", purl, res.Verdict, res.Reason, res.Message)
		}
		return &res
	}
	rebuild() // warm the caches

	var sum verdict.Timings
	var totals []time.Duration
	for b.Loop() {
		t0 := time.Now()
		res := rebuild()
		totals = append(totals, time.Since(t0))
		t := res.TimingsMS
		sum.Resolve += t.Resolve
		sum.Source += t.Source
		sum.Build += t.Build
		sum.Compare += t.Compare
		sum.Attest += t.Attest
	}
	n := float64(len(totals))
	b.ReportMetric(float64(sum.Resolve)/n, "resolve-ms")
	b.ReportMetric(float64(sum.Source)/n, "source-ms")
	b.ReportMetric(float64(sum.Build)/n, "build-ms")
	b.ReportMetric(float64(sum.Compare)/n, "compare-ms")
	b.ReportMetric(float64(sum.Attest)/n, "attest-ms")
	slices.Sort(totals)
	b.ReportMetric(float64(totals[len(totals)/2].Milliseconds()), "median-total-ms")
}

// hermeticPackage publishes a fixture package to a fake registry and returns its PURL.
func hermeticPackage(b *testing.B, root string) string {
	for _, tool := range []string{"git", "npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is required: %v", tool, err)
		}
	}
	reg := registrytest.NewNPM(b)
	gitc := filepath.Join(root, "gitconfig")
	dir := filepath.Join(root, "repos", "left-pad")
	b.Setenv("GIT_CONFIG_GLOBAL", gitc)
	b.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	b.Setenv("VOUCH_NPM_REGISTRY", reg.URL())
	b.Setenv("VOUCH_NPM_VERSIONS", "host")
	b.Setenv("npm_config_registry", reg.URL())
	b.Setenv("npm_config_cache", filepath.Join(root, "npm-cache"))
	if err := os.WriteFile(gitc, []byte("[user]\n\tname = Fixture\n\temail = fixture@example.com\n[init]\n\tdefaultBranch = main\n[url \""+dir+"\"]\n\tinsteadOf = https://github.com/fixture/left-pad\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for p, body := range leftPadFiles {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	run := func(dir string, name string, args ...string) []byte {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	run(dir, "git", "init", "-q")
	run(dir, "git", "add", "-A")
	run(dir, "git", "commit", "-q", "-m", "release")
	run(dir, "git", "tag", "v1.0.0")
	packDir := filepath.Join(root, "pack")
	os.MkdirAll(packDir, 0o755)
	run(dir, "npm", "pack", "--ignore-scripts", "--pack-destination", packDir)
	tgz, err := os.ReadFile(filepath.Join(packDir, "left-pad-fixture-1.0.0.tgz"))
	if err != nil {
		b.Fatal(err)
	}
	reg.Publish(tgz)
	return "pkg:npm/left-pad-fixture@1.0.0"
}
