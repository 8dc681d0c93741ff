package egress

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
	"unicode/utf16"
)

// caValidity bounds the per-session CA: a build never outlives it, and a leaked key is useless a day later.
const caValidity = 24 * time.Hour

// TrustStorePassword protects nothing (the store holds one public certificate); Java requires one.
const TrustStorePassword = "changeit"

// Files are the CA files written for one session, readable by the build.
type Files struct {
	// CA is the session CA certificate (PEM).
	CA string
	// Bundle is the system CA bundle followed by the session CA (PEM), for tools whose
	// CA setting replaces the system store (SSL_CERT_FILE, npm cafile, pip, cargo, git).
	Bundle string
	// TrustStore is a Java KeyStore (JKS) holding the session CA, password TrustStorePassword.
	TrustStore string
}

// EarliestClock is the earliest time a build's clock may be set to (a release commit's time,
// see sandbox.Spec.Clock): the session's certificates are valid from then, so that TLS to the
// proxy still verifies under such a clock. They still expire caValidity after they are made.
var EarliestClock = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// newCA creates a self-signed ECDSA P-256 CA, valid from EarliestClock for caValidity.
func newCA(now time.Time) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generating CA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generating CA serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vouch build egress CA", Organization: []string{"vouch"}},
		NotBefore:             EarliestClock,
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, der, nil
}

// systemBundles are the usual locations of the system CA bundle (Go's crypto/x509 root_linux.go list).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// writeCAFiles writes the CA, the combined bundle and the Java trust store into dir.
func writeCAFiles(dir string, der []byte, now time.Time) (Files, error) {
	f := Files{
		CA:         filepath.Join(dir, "vouch-ca.pem"),
		Bundle:     filepath.Join(dir, "ca-bundle.pem"),
		TrustStore: filepath.Join(dir, "truststore.jks"),
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(f.CA, caPEM, 0o644); err != nil {
		return Files{}, fmt.Errorf("writing CA: %w", err)
	}
	var bundle bytes.Buffer
	for _, p := range systemBundles {
		b, err := os.ReadFile(p)
		if err == nil {
			bundle.Write(b)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				bundle.WriteByte('\n')
			}
			break
		}
	}
	bundle.Write(caPEM)
	if err := os.WriteFile(f.Bundle, bundle.Bytes(), 0o644); err != nil {
		return Files{}, fmt.Errorf("writing CA bundle: %w", err)
	}
	jks, err := encodeJKS("vouch-ca", der, TrustStorePassword, now)
	if err != nil {
		return Files{}, err
	}
	if err := os.WriteFile(f.TrustStore, jks, 0o644); err != nil {
		return Files{}, fmt.Errorf("writing trust store: %w", err)
	}
	return f, nil
}

// encodeJKS writes a Java KeyStore with one trusted-certificate entry. The format is
// sun.security.provider.JavaKeyStore (engineStore): magic 0xFEEDFEED, version 2, entry count,
// entries (tag 2 = trusted cert: alias, date in ms, cert type, length, DER), then a SHA-1 over
// the password as UTF-16BE, the string "Mighty Aphrodite" and everything before it.
// Writing it here avoids starting a JVM (keytool) for every build.
func encodeJKS(alias string, der []byte, password string, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.BigEndian, v) }
	utf := func(s string) error {
		if len(s) > 0xffff {
			return fmt.Errorf("jks: string too long")
		}
		w(uint16(len(s)))
		b.WriteString(s) // ASCII only here, where modified UTF-8 equals UTF-8
		return nil
	}
	w(uint32(0xFEEDFEED))
	w(uint32(2))
	w(uint32(1))
	w(uint32(2))
	if err := utf(alias); err != nil {
		return nil, err
	}
	w(now.UnixMilli())
	if err := utf("X.509"); err != nil {
		return nil, err
	}
	w(uint32(len(der)))
	b.Write(der)
	h := sha1.New()
	for _, r := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(r >> 8), byte(r)})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(b.Bytes())
	b.Write(h.Sum(nil))
	return b.Bytes(), nil
}

// signLeaf makes the MITM certificate for host, signed by ca and valid as long as it.
func signLeaf(ca tls.Certificate, host string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for %s: %w", host, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"vouch build egress proxy"}},
		NotBefore:             ca.Leaf.NotBefore,
		NotAfter:              ca.Leaf.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Leaf, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Certificate[0]}, PrivateKey: key, Leaf: leaf}, nil
}
