package egress

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// startProxy serves a proxy on loopback and returns a client that uses it and trusts its CA.
func startProxy(t *testing.T, cfg Config) (*Proxy, *http.Client) {
	t.Helper()
	cfg.Dir = t.TempDir()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Serve(ln)
	t.Cleanup(func() { _ = p.Close() })
	caPEM, err := os.ReadFile(p.Files().CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("session CA not parseable")
	}
	proxyURL, _ := url.Parse("http://" + ln.Addr().String())
	return p, &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:           http.ProxyURL(proxyURL),
			TLSClientConfig: &tls.Config{RootCAs: pool},
		},
	}
}

func TestProxyPolicyAndRecording(t *testing.T) {
	body := "registry artifact"
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	defer upstream.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	defer plain.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	pool := x509.NewCertPool()
	pool.AddCert(upstream.Certificate())
	upHost := strings.TrimPrefix(upstream.URL, "https://")
	plainHost := strings.TrimPrefix(plain.URL, "http://")
	p, client := startProxy(t, Config{AllowHosts: []string{upHost, plainHost, closedAddr}, UpstreamRootCAs: pool})

	sum := sha256.Sum256([]byte(body))
	digest := hex.EncodeToString(sum[:])
	tests := []struct {
		name       string
		url        string
		host       string // Host header override
		wantStatus int    // 0: the request itself fails
		want       Record
	}{
		{name: "allowed https", url: upstream.URL + "/a.tgz", wantStatus: 200,
			want: Record{Method: "GET", URL: upstream.URL + "/a.tgz", Status: 200, Size: int64(len(body)), SHA256: digest}},
		{name: "allowed http", url: plain.URL + "/b", wantStatus: 200,
			want: Record{Method: "GET", URL: plain.URL + "/b", Status: 200, Size: int64(len(body)), SHA256: digest}},
		{name: "denied http", url: "http://evil.example/x.sh", wantStatus: 403,
			want: Record{Method: "GET", URL: "http://evil.example/x.sh", Status: 403, Denied: true, Finding: "hidden remote dependency: evil.example"}},
		{name: "denied connect", url: "https://evil.example/x.sh",
			want: Record{Method: "CONNECT", URL: "https://evil.example:443", Status: 403, Denied: true, Finding: "hidden remote dependency: evil.example"}},
		{name: "host header smuggled through allowed tunnel", url: upstream.URL + "/c", host: "evil.example", wantStatus: 403,
			want: Record{Method: "GET", URL: "https://evil.example/c", Status: 403, Denied: true, Finding: "hidden remote dependency: evil.example"}},
		{name: "dial failure recorded", url: "http://" + closedAddr + "/d", wantStatus: 502,
			want: Record{Method: "GET", URL: "http://" + closedAddr + "/d", Status: 502}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(p.Records())
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tc.url, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := client.Do(req)
			if tc.wantStatus == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request succeeded with %s, want failure", resp.Status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
			}
			var got []Record
			for i := 0; i < 100; i++ { // the record lands when the proxy closes the upstream body
				if got = p.Records()[before:]; len(got) > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if len(got) != 1 {
				t.Fatalf("records %+v, want one", got)
			}
			if tc.want.Status == 502 && got[0].Error == "" {
				t.Errorf("dial failure without error text: %+v", got[0])
			}
			opts := cmp.Options{cmpopts.IgnoreFields(Record{}, "Time", "Error")}
			if tc.want.Status != 502 {
				opts = cmp.Options{cmpopts.IgnoreFields(Record{}, "Time")}
			}
			if diff := cmp.Diff(tc.want, got[0], opts); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProxyCutoffRewritesPackument(t *testing.T) {
	packument := `{"name":"p","dist-tags":{"latest":"1.1.0"},"versions":{"1.0.0":{"version":"1.0.0"},"1.1.0":{"version":"1.1.0"}},` +
		`"time":{"created":"2019-01-01T00:00:00.000Z","1.0.0":"2020-01-01T00:00:00.000Z","1.1.0":"2024-01-01T00:00:00.000Z"}}`
	var gotAccept string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAccept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, packument)
	}))
	defer upstream.Close()
	cutoff := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	p, client := startProxy(t, Config{AllowHosts: []string{strings.TrimPrefix(upstream.URL, "http://")}, Cutoff: &cutoff})
	req, _ := http.NewRequest(http.MethodGet, upstream.URL+"/p", nil)
	req.Header.Set("Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if gotAccept != "application/json" {
		t.Errorf("upstream Accept %q, want the full packument requested", gotAccept)
	}
	want := `{"dist-tags":{"latest":"1.0.0"},"name":"p","time":{"1.0.0":"2020-01-01T00:00:00.000Z","created":"2019-01-01T00:00:00.000Z"},"versions":{"1.0.0":{"version":"1.0.0"}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	time.Sleep(50 * time.Millisecond)
	recs := p.Records()
	sum := sha256.Sum256(got)
	if len(recs) != 1 || !recs[0].Filtered || recs[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("records %+v, want one filtered record with the delivered body's digest", recs)
	}
}

func TestEnvNamesCAFiles(t *testing.T) {
	p, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range p.Env("127.0.0.1:3128") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	f := p.Files()
	want := map[string]string{
		"HTTP_PROXY": "http://127.0.0.1:3128", "HTTPS_PROXY": "http://127.0.0.1:3128",
		"http_proxy": "http://127.0.0.1:3128", "https_proxy": "http://127.0.0.1:3128",
		"NO_PROXY": "", "no_proxy": "", "npm_config_noproxy": "",
		"npm_config_proxy": "http://127.0.0.1:3128", "npm_config_https_proxy": "http://127.0.0.1:3128",
		"NODE_EXTRA_CA_CERTS": f.CA, "npm_config_cafile": f.Bundle, "PIP_CERT": f.Bundle,
		"SSL_CERT_FILE": f.Bundle, "REQUESTS_CA_BUNDLE": f.Bundle, "CURL_CA_BUNDLE": f.Bundle,
		"CARGO_HTTP_CAINFO": f.Bundle, "GIT_SSL_CAINFO": f.Bundle,
		"YARN_HTTP_PROXY": "http://127.0.0.1:3128", "YARN_HTTPS_PROXY": "http://127.0.0.1:3128", "YARN_CA_FILE_PATH": f.Bundle,
		"JAVA_TOOL_OPTIONS": env["JAVA_TOOL_OPTIONS"], "MAVEN_OPTS": env["JAVA_TOOL_OPTIONS"],
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	for _, opt := range []string{"-Djavax.net.ssl.trustStore=" + f.TrustStore, "-Dhttps.proxyHost=127.0.0.1", "-Dhttps.proxyPort=3128"} {
		if !strings.Contains(env["JAVA_TOOL_OPTIONS"], opt) {
			t.Errorf("JAVA_TOOL_OPTIONS %q lacks %s", env["JAVA_TOOL_OPTIONS"], opt)
		}
	}
	bundle, _ := os.ReadFile(f.Bundle)
	ca, _ := os.ReadFile(f.CA)
	if !strings.HasSuffix(string(bundle), string(ca)) || len(bundle) == len(ca) && hasSystemBundle() {
		t.Errorf("bundle does not end with the session CA after the system CAs")
	}
}

func hasSystemBundle() bool {
	for _, p := range systemBundles {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func TestTrustStoreReadableByKeytool(t *testing.T) {
	keytool, err := exec.LookPath("keytool")
	if err != nil {
		t.Skip("keytool not installed")
	}
	dir := t.TempDir()
	p, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keytool, "-list", "-v", "-keystore", p.Files().TrustStore,
		"-storepass", TrustStorePassword, "-storetype", "JKS").CombinedOutput()
	if err != nil {
		t.Fatalf("keytool -list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "vouch-ca") || !strings.Contains(string(out), "trustedCertEntry") ||
		!strings.Contains(string(out), "vouch build egress CA") {
		t.Errorf("keytool output lacks the CA entry:\n%s", out)
	}
	// A wrong password must fail the integrity check, proving the digest is computed as Java does.
	if out, err := exec.Command(keytool, "-list", "-keystore", filepath.Join(dir, "truststore.jks"),
		"-storepass", "wrong-password", "-storetype", "JKS").CombinedOutput(); err == nil {
		t.Errorf("keytool accepted a wrong password:\n%s", out)
	}
}

// Builds may run with their clock at a release commit's time: the session CA and the proxy's
// certificates must verify then, and still expire with the session.
func TestCertificatesValidUnderAnOldClock(t *testing.T) {
	now := time.Now()
	ca, _, err := newCA(now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := signLeaf(ca, "registry.npmjs.org")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	for _, at := range []time.Time{time.Date(2012, 6, 1, 0, 0, 0, 0, time.UTC), EarliestClock, now} {
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "registry.npmjs.org", CurrentTime: at}); err != nil {
			t.Errorf("at %s: %v", at, err)
		}
	}
	for _, at := range []time.Time{EarliestClock.Add(-time.Hour), now.Add(caValidity + time.Hour)} {
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "registry.npmjs.org", CurrentTime: at}); err == nil {
			t.Errorf("at %s: verified", at)
		}
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "evil.example"}); err == nil {
		t.Error("the certificate verifies for another host")
	}
}

// An old lockfile's http://registry.npmjs.org/... URL is fetched over TLS.
func TestProxyUpgradesPlainHTTPToTLS(t *testing.T) {
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "over TLS "+r.URL.Path)
	}))
	defer upstream.Close()
	pool := x509.NewCertPool()
	pool.AddCert(upstream.Certificate())
	p, client := startProxy(t, Config{AllowHosts: []string{"example.com"}, UpstreamRootCAs: pool})
	// example.com (a name httptest's certificate carries), port 443, is the test server.
	p.tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "example.com:443" {
			return nil, fmt.Errorf("dialled %s, want example.com:443", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, strings.TrimPrefix(upstream.URL, "https://"))
	}
	resp, err := client.Get("http://example.com/onetime/-/onetime-1.1.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "over TLS /onetime/-/onetime-1.1.0.tgz" {
		t.Fatalf("status %d body %q", resp.StatusCode, b)
	}
	recs := p.Records()
	if len(recs) != 1 || recs[0].URL != "https://example.com/onetime/-/onetime-1.1.0.tgz" {
		t.Errorf("records %+v, want the https URL fetched", recs)
	}
}
