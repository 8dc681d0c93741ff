package egress

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
)

// maxMetadataBytes caps a registry metadata document read into memory for the cut-off filter.
// The largest npm packuments are a few tens of MiB.
const maxMetadataBytes = 256 << 20

// Config is the policy of one build's proxy.
type Config struct {
	// AllowHosts are the hosts the build may reach: "host" (any port) or "host:port". Case-insensitive.
	AllowHosts []string
	// Cutoff, when set, hides registry versions published after it.
	Cutoff *time.Time
	// ToolchainEra, when set, points the latest tags of typescript and @types packages at
	// their versions of that time (see era.go), for registries without trustworthy times.
	ToolchainEra *time.Time
	// Dir receives the CA files (see Files); it must be readable by the build.
	Dir string
	// UpstreamRootCAs verifies registry servers; nil means the system roots.
	UpstreamRootCAs *x509.CertPool
}

// Proxy is a recording, policy-enforcing HTTP(S) forward proxy for one build.
// HTTPS is intercepted with a per-session CA so response bodies can be hashed and filtered.
type Proxy struct {
	cfg   Config
	allow map[string]bool
	files Files
	ca    tls.Certificate
	gp    *goproxy.ProxyHttpServer
	tr    *http.Transport

	mu      sync.Mutex
	records []Record
	// pending counts forwarded requests not yet recorded (body still being delivered).
	pending int
	servers []*http.Server
	closed  bool
}

// New creates the session CA and its files in cfg.Dir and prepares the proxy. Call Serve to accept connections.
func New(cfg Config) (*Proxy, error) {
	if cfg.Dir == "" {
		return nil, errors.New("egress: Config.Dir is required")
	}
	now := time.Now()
	ca, der, err := newCA(now)
	if err != nil {
		return nil, err
	}
	files, err := writeCAFiles(cfg.Dir, der, now)
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, allow: map[string]bool{}, files: files, ca: ca}
	for _, h := range cfg.AllowHosts {
		p.allow[strings.ToLower(h)] = true
	}
	p.tr = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.UpstreamRootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 30 * time.Second,
	}
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = discardLogger{}
	gp.Tr = p.tr
	leaves := newCertStore()
	gp.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "vouch egress proxy: only proxy requests are served", http.StatusBadRequest)
	})
	mitm := &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: func(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
		name := hostOnly(host)
		cert, err := leaves.Fetch(name, func() (*tls.Certificate, error) { return signLeaf(p.ca, name) })
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}, nil
	}}
	gp.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if p.allowed(host) {
			return mitm, host
		}
		u := "https://" + host
		p.deny(ctx.Req.Method, u, hostOnly(host))
		ctx.Resp = goproxy.NewResponse(ctx.Req, "text/plain", http.StatusForbidden, denyMessage(hostOnly(host)))
		return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
	})
	gp.OnRequest().DoFunc(func(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		if !p.allowed(req.URL.Host) {
			p.deny(req.Method, req.URL.String(), req.URL.Hostname())
			return req, goproxy.NewResponse(req, "text/plain", http.StatusForbidden, denyMessage(req.URL.Hostname()))
		}
		if cfg.Cutoff != nil || cfg.ToolchainEra != nil && eraPackument(req.URL.Path) {
			askForTimes(req) // the abbreviated packument has neither times nor typeScriptVersion
		}
		ctx.RoundTripper = goproxy.RoundTripperFunc(p.roundTrip)
		return req, nil
	})
	p.gp = gp
	return p, nil
}

// Files returns the CA files written for this session.
func (p *Proxy) Files() Files { return p.files }

// Serve accepts proxy connections on ln in the background until Close.
func (p *Proxy) Serve(ln net.Listener) {
	srv := &http.Server{Handler: p.gp, ReadHeaderTimeout: time.Minute, ErrorLog: nil}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = ln.Close()
		return
	}
	p.servers = append(p.servers, srv)
	p.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Env returns the environment variables that send the usual build tools through the proxy
// listening at addr (host:port as seen by the build) and make them trust the session CA (design §5).
func (p *Proxy) Env(addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	proxyURL := "http://" + addr
	java := strings.Join([]string{
		"-Djavax.net.ssl.trustStore=" + p.files.TrustStore,
		"-Djavax.net.ssl.trustStorePassword=" + TrustStorePassword,
		"-Djavax.net.ssl.trustStoreType=JKS",
		"-Dhttp.proxyHost=" + host, "-Dhttp.proxyPort=" + port,
		"-Dhttps.proxyHost=" + host, "-Dhttps.proxyPort=" + port,
		"-Dhttp.nonProxyHosts=",
	}, " ")
	return []string{
		"HTTP_PROXY=" + proxyURL,
		"HTTPS_PROXY=" + proxyURL,
		"http_proxy=" + proxyURL,
		"https_proxy=" + proxyURL,
		"NO_PROXY=",
		"no_proxy=",
		"npm_config_proxy=" + proxyURL,
		"npm_config_https_proxy=" + proxyURL,
		"npm_config_noproxy=",
		"npm_config_cafile=" + p.files.Bundle,
		"YARN_HTTP_PROXY=" + proxyURL, // Yarn ≥ 2 reads only its own settings
		"YARN_HTTPS_PROXY=" + proxyURL,
		"YARN_CA_FILE_PATH=" + p.files.Bundle,
		"NODE_EXTRA_CA_CERTS=" + p.files.CA,
		"PIP_CERT=" + p.files.Bundle,
		"SSL_CERT_FILE=" + p.files.Bundle,
		"REQUESTS_CA_BUNDLE=" + p.files.Bundle,
		"CURL_CA_BUNDLE=" + p.files.Bundle,
		"CARGO_HTTP_CAINFO=" + p.files.Bundle,
		"GIT_SSL_CAINFO=" + p.files.Bundle,
		"JAVA_TOOL_OPTIONS=" + java,
		"MAVEN_OPTS=" + java,
	}
}

// Records returns a copy of the requests recorded so far, in completion order.
// Requests whose response is still being delivered are waited for (briefly: a build that
// exited may leave the proxy finishing the last body), so a record is never lost to that race.
func (p *Proxy) Records() []Record {
	deadline := time.Now().Add(recordsWait)
	for {
		p.mu.Lock()
		if p.pending == 0 || time.Now().After(deadline) {
			defer p.mu.Unlock()
			return append([]Record(nil), p.records...)
		}
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// recordsWait bounds how long Records waits for responses still in flight.
const recordsWait = 3 * time.Second

// Close stops serving and closes idle upstream connections. Records stay readable.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	servers := p.servers
	p.servers = nil
	p.mu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.tr.CloseIdleConnections()
	return errors.Join(errs...)
}

func (p *Proxy) allowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if p.allow[hostport] {
		return true
	}
	return p.allow[hostOnly(hostport)]
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(h)
	}
	return strings.Trim(strings.ToLower(hostport), "[]")
}

func denyMessage(host string) string {
	return "vouch egress proxy: " + host + " is not an allowed registry host for this build\n"
}

// FindingPrefix starts the finding recorded for every denied request.
const FindingPrefix = "hidden remote dependency: "

func (p *Proxy) deny(method, u, host string) {
	p.add(Record{
		Time: time.Now().UTC(), Method: method, URL: u, Status: http.StatusForbidden,
		Denied: true, Finding: FindingPrefix + host,
	})
}

func (p *Proxy) add(r Record) {
	p.mu.Lock()
	p.records = append(p.records, r)
	p.mu.Unlock()
}

// complete records a forwarded request that roundTrip counted as pending.
func (p *Proxy) complete(r Record) {
	p.mu.Lock()
	p.records = append(p.records, r)
	p.pending--
	p.mu.Unlock()
}

// askForTimes makes registries send publish times the cut-off needs: npm's abbreviated
// ("corgi") packuments omit "time" (npm registry API, package metadata formats), and PyPI's
// HTML simple pages carry none, unlike PEP 691 JSON.
func askForTimes(req *http.Request) {
	accept := req.Header.Get("Accept")
	if strings.Contains(accept, "application/vnd.npm.install-v1+json") {
		req.Header.Set("Accept", "application/json")
	}
	if strings.Contains(req.URL.Path, "/simple/") && !strings.Contains(accept, "application/vnd.pypi.simple.v1+json") && strings.Contains(accept, "text/html") {
		req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
	}
}

// roundTrip forwards one allowed request and records it. Transport failures (dial, TLS) become
// a recorded 502 so the build sees an HTTP error rather than a dropped connection.
func (p *Proxy) roundTrip(req *http.Request, _ *goproxy.ProxyCtx) (*http.Response, error) {
	if req.URL.Scheme == "http" && req.URL.Port() == "" {
		// Old lockfiles record http://registry.npmjs.org/... tarball URLs: the registry is
		// fetched over TLS (the content is checked against the lockfile's digest either way).
		u := *req.URL
		u.Scheme = "https"
		req.URL = &u
		req.Host = ""
	}
	rec := Record{Time: time.Now().UTC(), Method: req.Method, URL: redact(req.URL)}
	p.mu.Lock()
	p.pending++
	p.mu.Unlock()
	resp, err := p.tr.RoundTrip(req)
	if err != nil {
		rec.Status = http.StatusBadGateway
		rec.Error = err.Error()
		p.complete(rec)
		return goproxy.NewResponse(req, "text/plain", http.StatusBadGateway, "vouch egress proxy: "+err.Error()+"\n"), nil
	}
	rec.Status = resp.StatusCode
	if (p.cfg.Cutoff != nil || p.cfg.ToolchainEra != nil) && resp.StatusCode == http.StatusOK && req.Method == http.MethodGet &&
		strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
		_ = resp.Body.Close()
		if err == nil && len(body) > maxMetadataBytes {
			err = fmt.Errorf("metadata larger than %d bytes", maxMetadataBytes)
		}
		if err != nil {
			rec.Status = http.StatusBadGateway
			rec.Error = "reading registry metadata for the cut-off: " + err.Error()
			p.complete(rec)
			return goproxy.NewResponse(req, "text/plain", http.StatusBadGateway, "vouch egress proxy: "+rec.Error+"\n"), nil
		}
		res := filterResult{body: body}
		if p.cfg.Cutoff != nil {
			res = applyCutoff(req.URL.Path, resp.Header.Get("Content-Type"), body, *p.cfg.Cutoff)
		}
		if p.cfg.ToolchainEra != nil {
			if era := applyToolchainEra(res.body, *p.cfg.ToolchainEra); era.filtered {
				res.body, res.filtered = era.body, true
			}
		}
		rec.Filtered = res.filtered
		rec.Finding = res.finding
		resp.Body = io.NopCloser(strings.NewReader(string(res.body)))
		resp.ContentLength = int64(len(res.body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(res.body)))
		resp.Header.Del("Content-Encoding")
		if res.filtered {
			// The filtered document is not the one the registry's validators describe.
			resp.Header.Del("ETag")
			resp.Header.Del("Last-Modified")
		}
	}
	resp.Body = &recordingBody{rc: resp.Body, h: sha256.New(), rec: rec, done: p.complete}
	return resp, nil
}

// redact drops URL credentials: they must never reach the network log.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}

// recordingBody hashes the body as the build reads it and records the request when it is closed.
type recordingBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	eof  bool
	rec  Record
	done func(Record)
	once sync.Once
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *recordingBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		// Bodies never read (HEAD, 304) carry no digest; a body cut short says so.
		b.rec.Size = b.n
		if b.eof || b.n > 0 {
			b.rec.SHA256 = hex.EncodeToString(b.h.Sum(nil))
		}
		if !b.eof && b.n > 0 {
			b.rec.Error = "response body not fully delivered"
		}
		b.done(b.rec)
	})
	return err
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// certStore caches one MITM leaf certificate per host name.
type certStore struct {
	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func newCertStore() *certStore { return &certStore{certs: map[string]*tls.Certificate{}} }

func (s *certStore) Fetch(host string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.certs[host]; ok {
		return c, nil
	}
	c, err := gen()
	if err != nil {
		return nil, err
	}
	s.certs[host] = c
	return c, nil
}
