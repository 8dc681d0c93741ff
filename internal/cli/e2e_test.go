package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vouch-dev/vouch/internal/archive"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// fixture is a hermetic world: a fake npm registry, a git config that maps
// https://github.com/fixture/* to local repositories, and an empty VOUCH_HOME.
type fixture struct {
	t    *testing.T
	reg  *registrytest.NPM
	home string
	root string
	gitc string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	for _, tool := range []string{"git", "npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for these tests: %v", tool, err)
		}
	}
	root := t.TempDir()
	f := &fixture{t: t, reg: registrytest.NewNPM(t), home: filepath.Join(root, "home"), root: root,
		gitc: filepath.Join(root, "gitconfig")}
	if err := os.WriteFile(f.gitc, []byte("[user]\n\tname = Fixture\n\temail = fixture@example.com\n[init]\n\tdefaultBranch = main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", f.gitc)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("VOUCH_HOME", f.home)
	t.Setenv("VOUCH_NPM_REGISTRY", f.reg.URL())
	t.Setenv("VOUCH_NPM_VERSIONS", "host")
	t.Setenv("npm_config_registry", f.reg.URL())
	t.Setenv("npm_config_cache", filepath.Join(root, "npm-cache"))
	return f
}

// repo creates a git repository named https://github.com/fixture/<name> with files committed
// in one commit, optionally tagged, and returns its commit.
func (f *fixture) repo(name string, files map[string]string, tag string) (dir, commit string) {
	f.t.Helper()
	dir = filepath.Join(f.root, "repos", name)
	writeFiles(f.t, dir, files)
	f.git(dir, "init", "-q")
	f.git(dir, "add", "-A")
	f.git(dir, "commit", "-q", "-m", "release")
	if tag != "" {
		f.git(dir, "tag", tag)
	}
	commit = strings.TrimSpace(f.git(dir, "rev-parse", "HEAD"))
	f.git(f.root, "config", "--global", "--add", "url."+dir+".insteadOf", "https://github.com/fixture/"+name)
	return dir, commit
}

// writeFiles writes files (slash-separated paths relative to dir), creating directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) git(dir string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// npmPack packs dir with the host npm (scripts off) and returns the tarball bytes.
func (f *fixture) npmPack(dir string) []byte { return f.pack(dir, "--ignore-scripts") }

// npmPackWithScripts packs dir with its lifecycle scripts, as `npm publish` would.
func (f *fixture) npmPackWithScripts(dir string) []byte { return f.pack(dir) }

func (f *fixture) pack(dir string, flags ...string) []byte {
	f.t.Helper()
	out := f.t.TempDir()
	cmd := exec.Command("npm", append([]string{"pack", "--pack-destination", out}, flags...)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("npm pack: %v\n%s", err, b)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 {
		f.t.Fatalf("npm pack made %d files", len(ents))
	}
	b, err := os.ReadFile(filepath.Join(out, ents[0].Name()))
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// vouch runs the CLI and returns exit code, stdout and stderr.
func (f *fixture) vouch(args ...string) (int, string, string) {
	f.t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func (f *fixture) rebuildJSON(purl string, extra ...string) (int, *verdict.Result) {
	f.t.Helper()
	code, out, stderr := f.vouch(append([]string{"rebuild", purl, "--json", "--sandbox", "none"}, extra...)...)
	return code, decodeResult(f.t, out, stderr)
}

func decodeResult(t *testing.T, out, stderr string) *verdict.Result {
	t.Helper()
	var res verdict.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("rebuild --json printed no JSON document: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	return &res
}

// repack rewrites a tarball the way another npm/gzip would: entries in reverse order,
// different mtimes and owners, maximum compression. Content is unchanged.
func repack(t *testing.T, tgz []byte, mutate func(*archive.Entry)) []byte {
	t.Helper()
	a, err := archive.Read(tgz, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(a.Entries)-1; i < j; i, j = i+1, j-1 {
		a.Entries[i], a.Entries[j] = a.Entries[j], a.Entries[i]
	}
	for _, e := range a.Entries {
		e.UID, e.GID, e.Uname, e.Gname = 501, 20, "dev", "staff"
		e.ModTime = e.ModTime.Add(1234567e9)
		if mutate != nil {
			mutate(e)
		}
	}
	var buf bytes.Buffer
	if err := a.WriteTarGz(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var leftPadFiles = map[string]string{
	"package.json": `{
  "name": "left-pad-fixture",
  "version": "1.0.0",
  "description": "pads",
  "main": "index.js",
  "license": "MIT",
  "repository": {"type": "git", "url": "git+https://github.com/fixture/left-pad.git"}
}
`,
	"index.js":  "module.exports = function leftPad(s, n, c) {\n  s = String(s);\n  while (s.length < n) s = (c || ' ') + s;\n  return s;\n};\n",
	"README.md": "# left-pad-fixture\n",
	"LICENSE":   "MIT\n",
	"test.js":   "// not published? it is: no files field\n",
}

func TestRebuildVerifyEndToEnd(t *testing.T) {
	f := newFixture(t)
	dir, commit := f.repo("left-pad", leftPadFiles, "v1.0.0")
	good := repack(t, f.npmPack(dir), nil)
	f.reg.Publish(good)
	purl := "pkg:npm/left-pad-fixture@1.0.0"

	code, res := f.rebuildJSON(purl)
	if code != 0 || res.Verdict != verdict.Equivalent {
		t.Fatalf("rebuild: exit %d verdict %s (%s: %s)", code, res.Verdict, res.Reason, res.Message)
	}
	if res.Source == nil || res.Source.Ref != commit || res.Source.Repo != "https://github.com/fixture/left-pad" || !strings.HasPrefix(res.Source.Evidence, "tag") {
		t.Errorf("source = %+v, want commit %s found by tag", res.Source, commit)
	}
	if len(res.Stabilizers) == 0 {
		t.Errorf("equivalent without stabilizers listed")
	}
	if res.Attestation == "" {
		t.Fatalf("no attestation path")
	}
	if _, err := os.Stat(res.Attestation); err != nil {
		t.Fatalf("attestation not written: %v", err)
	}
	wantPath := filepath.Join(f.home, "attestations", "npm", "left-pad-fixture", "1.0.0", "left-pad-fixture-1.0.0.tgz", "rebuild.intoto.jsonl")
	if res.Attestation != wantPath {
		t.Errorf("attestation at %s, want %s", res.Attestation, wantPath)
	}

	// verify by PURL (downloads the registry's tarball) and by local file.
	if code, out, errb := f.vouch("verify", purl); code != 0 {
		t.Fatalf("verify PURL: exit %d\n%s\n%s", code, out, errb)
	}
	local := filepath.Join(f.root, "left-pad-fixture-1.0.0.tgz")
	if err := os.WriteFile(local, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errb := f.vouch("verify", local); code != 0 {
		t.Fatalf("verify FILE: exit %d\n%s\n%s", code, out, errb)
	}
	// A file that is not the attested artifact fails verification.
	other := repack(t, good, func(e *archive.Entry) {
		if strings.HasSuffix(e.Name, "index.js") {
			e.Data = append([]byte("// injected\n"), e.Data...)
		}
	})
	bad := filepath.Join(f.root, "tampered.tgz")
	if err := os.WriteFile(bad, other, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := f.vouch("verify", purl, "--artifact", bad); code != 1 {
		t.Fatalf("verify of a tampered file: exit %d, want 1\n%s", code, out)
	}

	// The registry now serves a tarball with one byte changed in index.js.
	flipped := repack(t, good, func(e *archive.Entry) {
		if strings.HasSuffix(e.Name, "index.js") {
			e.Data = bytes.Replace(e.Data, []byte("' '"), []byte("'*'"), 1)
		}
	})
	f.reg.Publish(flipped)
	code, res = f.rebuildJSON(purl)
	if code != 1 || res.Verdict != verdict.Mismatch {
		t.Fatalf("tampered upstream: exit %d verdict %s, want 1 mismatch", code, res.Verdict)
	}
	if res.Reason != verdict.ReasonContentMismatch || res.Diff == nil || !contains(res.Diff.Changed, "package/index.js") {
		t.Fatalf("mismatch reason %s diff %+v, want content_mismatch naming package/index.js", res.Reason, res.Diff)
	}
	if code, out, _ := f.vouch("verify", purl); code != 1 || !strings.Contains(out, "mismatch") {
		t.Fatalf("verify after a mismatch: exit %d, want 1 with the attested verdict\n%s", code, out)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// npmRun runs the host npm in dir.
func (f *fixture) npmRun(dir string, args ...string) {
	f.t.Helper()
	cmd := exec.Command("npm", args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("npm %v: %v\n%s", args, err, b)
	}
}

// commitFile writes one file and commits it.
func (f *fixture) commitFile(dir, name, body string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git(dir, "add", name)
	f.git(dir, "commit", "-q", "-m", "change "+name)
}

// repackAdd returns tgz with one more file.
func repackAdd(t *testing.T, tgz []byte, name, body string) []byte {
	t.Helper()
	a, err := archive.Read(tgz, archive.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *a.Entries[0]
	tmpl.Name, tmpl.Data, tmpl.Type = name, []byte(body), archive.TypeFile
	a.Entries = append(a.Entries, &tmpl)
	var buf bytes.Buffer
	if err := a.WriteTarGz(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
