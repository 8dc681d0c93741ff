package registrytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/registry/registrytest"
)

func get(t *testing.T, reg *registrytest.NPM, path string) (int, []byte) {
	t.Helper()
	resp, err := reg.Client().Get(reg.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestRoutes(t *testing.T) {
	reg := registrytest.NewNPM(t)
	tgz := registrytest.NPMTarball(t, map[string]string{"package.json": `{"name":"@s/p","version":"1.0.0"}`})
	pub := reg.Publish(tgz, registrytest.WithGitHead("abc"))
	reg.Publish(registrytest.NPMTarball(t, map[string]string{"package.json": `{"name":"@s/p","version":"2.0.0"}`}))

	for _, p := range []string{"/@s%2fp", "/@s%2Fp", "/@s/p", "/%40s%2fp"} {
		code, body := get(t, reg, p)
		var doc struct {
			Name     string                     `json:"name"`
			Versions map[string]json.RawMessage `json:"versions"`
			Time     map[string]string          `json:"time"`
			DistTags map[string]string          `json:"dist-tags"`
		}
		if code != 200 || json.Unmarshal(body, &doc) != nil {
			t.Fatalf("%s: %d %s", p, code, body)
		}
		if doc.Name != "@s/p" || len(doc.Versions) != 2 || doc.DistTags["latest"] != "2.0.0" || doc.Time["1.0.0"] == "" || doc.Time["created"] == "" {
			t.Errorf("%s: unexpected packument %s", p, body)
		}
	}
	code, body := get(t, reg, "/@s%2fp/1.0.0")
	var v map[string]any
	if code != 200 || json.Unmarshal(body, &v) != nil || v["gitHead"] != "abc" || v["version"] != "1.0.0" {
		t.Errorf("version document: %d %s", code, body)
	}
	code, body = get(t, reg, "/@s/p/-/p-1.0.0.tgz")
	if code != 200 || string(body) != string(tgz) {
		t.Errorf("tarball: %d, %d bytes", code, len(body))
	}
	if pub.TarballURL != reg.URL()+"/@s/p/-/p-1.0.0.tgz" {
		t.Errorf("tarball URL %s", pub.TarballURL)
	}
	for _, p := range []string{"/nope", "/@s%2fp/3.0.0", "/@s/p/-/p-3.0.0.tgz", "/@s/p/1.0.0/x"} {
		if code, _ := get(t, reg, p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	reg.FailNext(2)
	var codes []int
	for range 3 {
		c, _ := get(t, reg, "/@s/p")
		codes = append(codes, c)
	}
	if diff := cmp.Diff([]int{500, 500, 200}, codes); diff != "" {
		t.Errorf("FailNext (-want +got):\n%s", diff)
	}
	reqs := reg.Requests()
	if len(reqs) != 4+1+1+4+3 || reqs[0].Path != "/@s%2fp" || reqs[0].Method != http.MethodGet {
		t.Errorf("requests recorded: %+v", reqs)
	}
}

func TestCorruptTarball(t *testing.T) {
	reg := registrytest.NewNPM(t)
	tgz := registrytest.NPMTarball(t, map[string]string{"package.json": `{"name":"c","version":"1.0.0"}`})
	pub := reg.Publish(tgz, registrytest.WithCorruptTarball())
	_, body := get(t, reg, "/c/-/c-1.0.0.tgz")
	if string(body) == string(tgz) || len(body) != len(tgz) || string(pub.Tarball) != string(tgz) {
		t.Error("served tarball should differ from the published one")
	}
}

// TestNPMInstall checks the fake serves the real npm client.
func TestNPMInstall(t *testing.T) {
	npmBin, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed")
	}
	reg := registrytest.NewNPM(t)
	reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name":"@acme/dep","version":"1.0.1","main":"index.js"}`,
		"index.js":     "module.exports = 'dep'\n",
	}))
	reg.Publish(registrytest.NPMTarball(t, map[string]string{
		"package.json": `{"name":"leftpad-ish","version":"2.0.0","dependencies":{"@acme/dep":"^1.0.0"}}`,
		"index.js":     "module.exports = require('@acme/dep')\n",
	}))
	dir := t.TempDir()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"app","version":"0.0.0","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npmBin, "install", "--no-audit", "--no-fund", "--registry", reg.URL()+"/", "leftpad-ish@2.0.0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "npm_config_cache="+filepath.Join(home, "cache"),
		"npm_config_userconfig="+filepath.Join(home, "npmrc"), "npm_config_update_notifier=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@acme", "dep", "index.js"))
	if err != nil || string(b) != "module.exports = 'dep'\n" {
		t.Fatalf("installed dependency: %q, %v", b, err)
	}
	var lock struct {
		Packages map[string]struct {
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	lb, _ := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err := json.Unmarshal(lb, &lock); err != nil || lock.Packages["node_modules/leftpad-ish"].Integrity == "" {
		t.Errorf("package-lock.json lacks integrity: %s", lb)
	}
}
