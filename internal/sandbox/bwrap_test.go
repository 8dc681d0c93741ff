package sandbox

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vouch-dev/vouch/internal/egress"
	"github.com/vouch-dev/vouch/internal/verdict"
)

func TestMain(m *testing.M) {
	// Sessions without a privileged network namespace re-execute this binary as the forwarder.
	if egress.ForwarderRequested() {
		os.Exit(egress.ForwarderMain())
	}
	os.Exit(m.Run())
}

func requireBwrap(t testing.TB) {
	t.Helper()
	if err := BwrapAvailable(); err != nil {
		t.Skipf("bwrap sandbox unavailable on this host (needs bubblewrap and user namespaces): %v", err)
	}
}

// modes are the two ways a session reaches its proxy: a network namespace made by vouch (root)
// and the unprivileged forwarder.
var modes = []struct {
	name      string
	forwarder bool
}{{"netns", false}, {"forwarder", true}}

func start(t testing.TB, b *Bwrap, cfg Config) *bwrapSession {
	t.Helper()
	requireBwrap(t)
	s, err := b.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	bs := s.(*bwrapSession)
	if !b.forceForwarder && !bs.shareNet {
		t.Skipf("no privileges for a network namespace (%v); the forwarder mode covers this host", bs.notes)
	}
	return bs
}

// sh runs script with sh -c in a fresh writable work dir and returns its output.
func sh(t testing.TB, s Session, work, script string, env ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := s.Run(context.Background(), &Spec{
		Args: []string{"sh", "-c", script}, Dir: work, Writable: []string{work},
		Env: append([]string{"PATH=" + defaultPath}, env...), Stdout: &out, Stderr: &out,
	})
	return out.String(), err
}

func TestBwrapFilesystem(t *testing.T) {
	requireBwrap(t)
	host := t.TempDir()
	hidden := filepath.Join(host, "vouch-home")
	tools := filepath.Join(hidden, "toolchains")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(hidden, "signing.key"), "SECRET")
	mustWrite(t, filepath.Join(tools, "tool.txt"), "toolchain")
	outside := filepath.Join(host, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(outside, "keep.txt"), "original")
	work := filepath.Join(host, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	s := start(t, &Bwrap{}, Config{Hide: []string{hidden}})
	ro := func(spec *Spec) *Spec { spec.ReadOnly = []string{tools, outside}; return spec }

	t.Run("hidden dir invisible", func(t *testing.T) {
		var out bytes.Buffer
		err := s.Run(context.Background(), ro(&Spec{Args: []string{"cat", filepath.Join(hidden, "signing.key")},
			Dir: work, Writable: []string{work}, Stdout: &out, Stderr: &out}))
		if err == nil || strings.Contains(out.String(), "SECRET") {
			t.Fatalf("hidden file readable: err=%v out=%q", err, out.String())
		}
	})
	t.Run("read-only path under hidden dir visible", func(t *testing.T) {
		var out bytes.Buffer
		err := s.Run(context.Background(), ro(&Spec{Args: []string{"cat", filepath.Join(tools, "tool.txt")},
			Dir: work, Writable: []string{work}, Stdout: &out, Stderr: &out}))
		if err != nil || out.String() != "toolchain" {
			t.Fatalf("read-only path: err=%v out=%q", err, out.String())
		}
	})
	t.Run("writes outside writable dirs fail", func(t *testing.T) {
		for _, target := range []string{filepath.Join(outside, "keep.txt"), "/etc/vouch-sandbox-test", filepath.Join(hidden, "x")} {
			var out bytes.Buffer
			err := s.Run(context.Background(), ro(&Spec{Args: []string{"sh", "-c", `echo changed > "$1"`, "sh", target},
				Dir: work, Writable: []string{work}, Stdout: &out, Stderr: &out}))
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Errorf("writing %s: err=%v, want an exit error", target, err)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "keep.txt")); string(b) != "original" {
			t.Errorf("host file changed: %q", b)
		}
		if _, err := os.Stat("/etc/vouch-sandbox-test"); err == nil {
			t.Errorf("/etc/vouch-sandbox-test created on the host")
		}
		if _, err := os.Stat(filepath.Join(hidden, "x")); err == nil {
			t.Errorf("file created in the hidden dir on the host")
		}
	})
	t.Run("work dir writable, identity unprivileged", func(t *testing.T) {
		out, err := sh(t, s, work, `echo built > artifact && id -u && id -g && echo "$HOME" && touch "$HOME/h" "$TMPDIR/t"`)
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want := fmt.Sprintf("1000\n1000\n%s\n", filepath.Join(s.scratch, "home"))
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
		if b, _ := os.ReadFile(filepath.Join(work, "artifact")); string(b) != "built\n" {
			t.Errorf("artifact = %q", b)
		}
	})
	t.Run("environment cleared", func(t *testing.T) {
		t.Setenv("VOUCH_SANDBOX_LEAK", "leaked")
		out, err := sh(t, s, work, `echo "leak=$VOUCH_SANDBOX_LEAK given=$GIVEN"`, "GIVEN=yes")
		if err != nil || out != "leak= given=yes\n" {
			t.Errorf("err=%v out=%q", err, out)
		}
	})
	t.Run("non-zero exit", func(t *testing.T) {
		_, err := sh(t, s, work, "exit 7")
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 7 {
			t.Errorf("err = %v, want exit status 7", err)
		}
	})
}

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBwrapNetwork(t *testing.T) {
	body := []byte("artifact bytes " + strings.Repeat("x", 1000))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	allowed := strings.TrimPrefix(srv.URL, "https://")

	// A listener on the host's loopback: the build must not reach it directly.
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := hostLn.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := start(t, &Bwrap{UpstreamRootCAs: pool, forceForwarder: m.forwarder}, Config{AllowHosts: []string{allowed}})
			work := t.TempDir()

			t.Run("direct connection to host loopback fails", func(t *testing.T) {
				out, err := sh(t, s, work, "curl --noproxy '*' -sS -m 10 http://"+hostLn.Addr().String()+"/")
				if err == nil {
					t.Errorf("direct connection succeeded: %s", out)
				}
				if n := accepted.Load(); n != 0 {
					t.Errorf("host listener accepted %d connections", n)
				}
			})
			t.Run("denied host answered 403 and recorded", func(t *testing.T) {
				out, err := sh(t, s, work, "curl -sS -o /dev/null -w '%{http_code}' http://denied.example/tool.sh; echo; curl -sS https://denied.example/x || echo connect-refused")
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				if !strings.HasPrefix(out, "403\n") || !strings.Contains(out, "connect-refused") {
					t.Errorf("output %q, want 403 and a refused CONNECT", out)
				}
				var denied []egress.Record
				for _, r := range s.Network() {
					if r.Denied {
						r.Time = time.Time{}
						denied = append(denied, r)
					}
				}
				want := []egress.Record{
					{Method: "GET", URL: "http://denied.example/tool.sh", Status: 403, Denied: true, Finding: "hidden remote dependency: denied.example"},
					{Method: "CONNECT", URL: "https://denied.example:443", Status: 403, Denied: true, Finding: "hidden remote dependency: denied.example"},
				}
				if diff := cmp.Diff(want, denied); diff != "" {
					t.Errorf("denied records (-want +got):\n%s", diff)
				}
			})
			t.Run("allowed HTTPS fetch recorded with digest", func(t *testing.T) {
				out, err := sh(t, s, work, "curl -sSf -o fetched "+srv.URL+"/pkg.tgz")
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				got, _ := os.ReadFile(filepath.Join(work, "fetched"))
				if !bytes.Equal(got, body) {
					t.Fatalf("fetched %d bytes, want the server's body", len(got))
				}
				sum := sha256.Sum256(body)
				r := findRecord(t, s.Network(), srv.URL+"/pkg.tgz")
				if r.SHA256 != hex.EncodeToString(sum[:]) || r.Size != int64(len(body)) || r.Status != 200 {
					t.Errorf("record %+v, want sha256 %x size %d", r, sum, len(body))
				}
			})
		})
	}
}

func findRecord(t testing.TB, recs []egress.Record, url string) egress.Record {
	t.Helper()
	for _, r := range recs {
		if r.URL == url {
			return r
		}
	}
	t.Fatalf("no record for %s in %+v", url, recs)
	return egress.Record{}
}

func TestBwrapLimits(t *testing.T) {
	requireCgroup := func(t *testing.T, s *bwrapSession) {
		if s.cg == nil {
			t.Skipf("cgroup limits unavailable here (needs root): %v", s.notes)
		}
	}
	t.Run("fork bomb bounded by pids", func(t *testing.T) {
		s := start(t, &Bwrap{}, Config{MaxPids: 64, Timeout: 2 * time.Minute})
		requireCgroup(t, s)
		// Each level forks a copy and recurses; dash exits when fork fails.
		out, err := sh(t, s, t.TempDir(), "bomb() { bomb & bomb; }; bomb")
		if err == nil {
			t.Fatalf("fork bomb succeeded: %s", out)
		}
		if _, isLimit := verdict.As(err); isLimit {
			t.Fatalf("fork bomb ended with a limit error (%v), want it stopped by failed forks", err)
		}
		if hits := s.cg.pidsLimitHits(); hits == 0 {
			t.Errorf("pids limit never hit (err %v)", err)
		}
		if procs := s.cg.procs(); len(procs) != 0 {
			t.Errorf("processes left in the cgroup: %v", procs)
		}
	})
	t.Run("memory limit gives oom", func(t *testing.T) {
		s := start(t, &Bwrap{}, Config{MemoryBytes: 64 << 20})
		requireCgroup(t, s)
		out, err := sh(t, s, t.TempDir(), `perl -e '$x = "a" x (512*1024*1024); print length($x)'`)
		ve, ok := verdict.As(err)
		if !ok || ve.Reason != verdict.ReasonOOM || ve.Verdict != verdict.BuildFailed {
			t.Fatalf("err = %v (output %q), want reason oom", err, out)
		}
	})
	t.Run("timeout kills the whole tree", func(t *testing.T) {
		s := start(t, &Bwrap{}, Config{Timeout: 2 * time.Second})
		marker := fmt.Sprintf("%d.%d", 3000+os.Getpid()%1000, time.Now().UnixNano()%1000)
		_, err := sh(t, s, t.TempDir(), "sleep "+marker+"1 & (sleep "+marker+"2 &) ; sleep "+marker+"3")
		ve, ok := verdict.As(err)
		if !ok || ve.Reason != verdict.ReasonTimeout {
			t.Fatalf("err = %v, want reason timeout", err)
		}
		if left := processesMatching(marker); len(left) != 0 {
			t.Errorf("processes survived the timeout: %v", left)
		}
	})
}

// processesMatching lists host processes whose command line contains s.
func processesMatching(s string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, d+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// fakeNPM is a minimal npm registry over TLS: one packument with two versions and their tarballs.
type fakeNPM struct {
	srv      *httptest.Server
	pool     *x509.CertPool
	url      string            // https://localhost:port
	tarballs map[string][]byte // version -> .tgz
}

func newFakeNPM(t testing.TB, times map[string]time.Time) *fakeNPM {
	t.Helper()
	f := &fakeNPM{tarballs: map[string][]byte{}}
	mux := http.NewServeMux()
	f.srv, f.pool = localhostTLS(t, mux)
	f.url = "https://localhost:" + strings.TrimPrefix(f.srv.URL, "https://127.0.0.1:")
	versions := map[string]any{}
	timeField := map[string]string{"created": "2019-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z"}
	latest := ""
	for v, at := range times {
		tgz := npmTarball(t, "vouch-fixture", v)
		f.tarballs[v] = tgz
		s1 := sha1.Sum(tgz)
		s512 := sha512.Sum512(tgz)
		versions[v] = map[string]any{
			"name": "vouch-fixture", "version": v,
			"dist": map[string]any{
				"tarball":   f.url + "/vouch-fixture/-/vouch-fixture-" + v + ".tgz",
				"shasum":    hex.EncodeToString(s1[:]),
				"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
			},
		}
		timeField[v] = at.UTC().Format("2006-01-02T15:04:05.000Z")
		if latest == "" || v > latest {
			latest = v
		}
		mux.HandleFunc("/vouch-fixture/-/vouch-fixture-"+v+".tgz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(tgz)
		})
	}
	packument, err := json.Marshal(map[string]any{
		"name": "vouch-fixture", "dist-tags": map[string]string{"latest": latest},
		"versions": versions, "time": timeField,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/vouch-fixture", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(packument)
	})
	return f
}

// localhostTLS starts a TLS server whose certificate names localhost, trusted by the returned pool.
func localhostTLS(t testing.TB, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return srv, pool
}

func npmTarball(t testing.TB, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"package/package.json": fmt.Sprintf(`{"name":%q,"version":%q,"main":"index.js"}`, name, version),
		"package/index.js":     "module.exports = " + fmt.Sprintf("%q", version) + ";\n",
	}
	for _, n := range []string{"package/package.json", "package/index.js"} {
		c := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), ModTime: time.Unix(499162500, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBwrapNPMInstall(t *testing.T) {
	requireBwrap(t)
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	cutoff := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		cutoff       *time.Time
		forwarder    bool
		wantVersion  string
		wantFiltered bool
	}{
		{name: "no cutoff", wantVersion: "1.1.0"},
		{name: "cutoff hides newer version", cutoff: &cutoff, wantVersion: "1.0.0", wantFiltered: true},
		{name: "cutoff via forwarder", cutoff: &cutoff, forwarder: true, wantVersion: "1.0.0", wantFiltered: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// npm's proxy agent rejects MITM certificates for IP-address hosts, so the registry is "localhost".
			reg := newFakeNPM(t, map[string]time.Time{"1.0.0": old, "1.1.0": recent})
			s := start(t, &Bwrap{UpstreamRootCAs: reg.pool, forceForwarder: tc.forwarder},
				Config{AllowHosts: []string{strings.TrimPrefix(reg.url, "https://")}, Cutoff: tc.cutoff})
			work := t.TempDir()
			mustWrite(t, filepath.Join(work, "package.json"), `{"name":"consumer","version":"0.0.0","private":true}`)
			out, err := sh(t, s, work, "npm install --no-audit --no-fund --loglevel=error vouch-fixture@^1.0.0",
				"npm_config_registry="+reg.url+"/", "npm_config_update_notifier=false", "npm_config_fetch_retries=0")
			if err != nil {
				t.Fatalf("npm install: %v\n%s\nnetwork: %+v", err, out, s.Network())
			}
			var pj struct{ Version string }
			b, err := os.ReadFile(filepath.Join(work, "node_modules", "vouch-fixture", "package.json"))
			if err != nil || json.Unmarshal(b, &pj) != nil {
				t.Fatalf("installed package.json: %v", err)
			}
			if pj.Version != tc.wantVersion {
				t.Errorf("installed %s, want %s", pj.Version, tc.wantVersion)
			}
			recs := s.Network()
			meta := findRecord(t, recs, reg.url+"/vouch-fixture")
			if meta.Status != 200 || meta.Filtered != tc.wantFiltered || meta.SHA256 == "" {
				t.Errorf("packument record %+v, want status 200 filtered=%v", meta, tc.wantFiltered)
			}
			tgz := findRecord(t, recs, reg.url+"/vouch-fixture/-/vouch-fixture-"+tc.wantVersion+".tgz")
			sum := sha256.Sum256(reg.tarballs[tc.wantVersion])
			if tgz.SHA256 != hex.EncodeToString(sum[:]) || tgz.Size != int64(len(reg.tarballs[tc.wantVersion])) {
				t.Errorf("tarball record %+v, want sha256 %x", tgz, sum)
			}
			for _, r := range recs {
				if r.Denied || r.Error != "" {
					t.Errorf("unexpected record %+v", r)
				}
			}
		})
	}
}

func BenchmarkSessionStartup(b *testing.B) {
	for _, ex := range []Executor{&Bwrap{}, None{}} {
		b.Run(ex.Name(), func(b *testing.B) {
			if ex.Name() == "bwrap" {
				requireBwrap(b)
			}
			work := b.TempDir()
			for b.Loop() {
				s, err := ex.Start(context.Background(), Config{})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Run(context.Background(), &Spec{Args: []string{"true"}, Dir: work, Writable: []string{work},
					Env: []string{"PATH=" + defaultPath}}); err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Spec.Clock starts a command's wall clock at a release commit's time (libfaketime, which
// scripts/setup.sh installs); timers and later commands are unaffected.
func TestBwrapClock(t *testing.T) {
	if FakeTimeLib() == "" {
		t.Skip("libfaketime is not installed (scripts/setup.sh installs it)")
	}
	s := start(t, &Bwrap{forceForwarder: true}, Config{})
	work := t.TempDir()
	at := time.Date(2016, 2, 10, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	err := s.Run(context.Background(), &Spec{
		Args: []string{"sh", "-c", "date -u +%Y-%m-%dT%H; sleep 1; date -u +%Y-%m-%dT%H"}, Dir: work, Writable: []string{work},
		Env: []string{"PATH=" + defaultPath}, Stdout: &out, Stderr: &out, Clock: at,
	})
	if err != nil || out.String() != "2016-02-10T12\n2016-02-10T12\n" {
		t.Errorf("with Clock: %q, %v", out.String(), err)
	}
	got, err := sh(t, s, work, "date -u +%Y")
	if err != nil || strings.TrimSpace(got) != strconv.Itoa(time.Now().UTC().Year()) {
		t.Errorf("without Clock: %q, %v", got, err)
	}
}

// The none executor cannot set the clock (TLS to real hosts would fail): it says so.
func TestNoneClock(t *testing.T) {
	s, err := None{}.Start(context.Background(), Config{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	err = s.Run(context.Background(), &Spec{Args: []string{"date", "-u", "+%Y"}, Dir: t.TempDir(), Env: []string{"PATH=" + defaultPath},
		Stdout: &out, Stderr: &out, Clock: time.Date(2016, 2, 10, 12, 0, 0, 0, time.UTC)})
	if err != nil || !strings.Contains(out.String(), "the build sees the real clock") || !strings.Contains(out.String(), strconv.Itoa(time.Now().UTC().Year())) {
		t.Errorf("none with Clock: %q, %v", out.String(), err)
	}
}
