package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Key file names inside the key directory ($VOUCH_HOME/keys by convention of the CLI).
const (
	PrivateKeyFile = "signing-key.pem"
	PublicKeyFile  = "signing-key.pub"
)

// maxKeyFile bounds a PEM key file read from disk.
const maxKeyFile = 64 << 10

// ErrKeyExists is returned by Generate when a signing key is already present.
var ErrKeyExists = errors.New("signing key already exists")

// Signer signs DSSE envelopes with an ECDSA P-256 key (SHA-256, ASN.1 DER signatures).
type Signer struct {
	priv   *ecdsa.PrivateKey
	pub    *PublicKey
	pubPEM []byte
}

// PublicKey is a trusted verification key.
type PublicKey struct {
	// ID is the key ID: lowercase hex SHA-256 of the key's PKIX (SubjectPublicKeyInfo) DER
	// encoding. It is the "keyid" of every DSSE signature the matching Signer makes.
	ID  string
	Key *ecdsa.PublicKey
}

// KeyID returns the key ID: lowercase hex SHA-256 of the PKIX DER encoding of the public key
// (the same bytes as the base64 body of signing-key.pub).
func (s *Signer) KeyID() string { return s.pub.ID }

// PublicPEM returns the public key as a PKIX "PUBLIC KEY" PEM block.
func (s *Signer) PublicPEM() []byte { return append([]byte(nil), s.pubPEM...) }

// Public returns the signer's public key.
func (s *Signer) Public() *PublicKey { return s.pub }

// NewSigner wraps an ECDSA P-256 private key.
func NewSigner(priv *ecdsa.PrivateKey) (*Signer, error) {
	if priv == nil || priv.Curve != elliptic.P256() {
		return nil, errors.New("signing key must be ECDSA P-256")
	}
	pub, der, err := newPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Signer{
		priv:   priv,
		pub:    pub,
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	}, nil
}

func newPublicKey(k *ecdsa.PublicKey) (*PublicKey, []byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &PublicKey{ID: hex.EncodeToString(sum[:]), Key: k}, der, nil
}

// Generate creates a new P-256 key pair in dir: signing-key.pem (PKCS#8, mode 0600) and
// signing-key.pub (PKIX). It never overwrites an existing private key (ErrKeyExists).
func Generate(dir string) (*Signer, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	s, err := NewSigner(priv)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key directory: %w", err)
	}
	privPath := filepath.Join(dir, PrivateKeyFile)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeNew(privPath, privPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeReplace(filepath.Join(dir, PublicKeyFile), s.pubPEM, 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadOrCreate loads dir/signing-key.pem, generating a key pair first if there is none.
// created reports whether a new key was generated.
func LoadOrCreate(dir string) (s *Signer, created bool, err error) {
	path := filepath.Join(dir, PrivateKeyFile)
	s, err = LoadSigner(path)
	if err == nil {
		return s, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	s, err = Generate(dir)
	if errors.Is(err, ErrKeyExists) {
		// Another process generated it first.
		s, err = LoadSigner(path)
		return s, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// LoadSigner reads a PKCS#8 PEM ("PRIVATE KEY") ECDSA P-256 private key.
func LoadSigner(path string) (*Signer, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: want a PKCS#8 PEM block (BEGIN PRIVATE KEY)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T is not an ECDSA key", path, k)
	}
	s, err := NewSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return s, nil
}

// ParsePublicKeyPEM reads a PKIX PEM ("PUBLIC KEY") ECDSA P-256 public key.
func ParsePublicKeyPEM(b []byte) (*PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("want a PKIX PEM block (BEGIN PUBLIC KEY)")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%T is not an ECDSA P-256 key", k)
	}
	pub, _, err := newPublicKey(ek)
	return pub, err
}

// LoadPublicKeys reads PKIX PEM public keys, one per file.
func LoadPublicKeys(paths ...string) ([]*PublicKey, error) {
	var keys []*PublicKey
	for _, p := range paths {
		b, err := readBounded(p)
		if err != nil {
			return nil, fmt.Errorf("reading public key: %w", err)
		}
		k, err := ParsePublicKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyFile)
	}
	return b, nil
}

// writeNew writes data to path atomically and fails with ErrKeyExists if path exists:
// the data goes to a synced temp file that is then hard-linked into place (link never replaces).
func writeNew(path string, data []byte, mode os.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrKeyExists)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// writeReplace writes data to path atomically (temp file + rename).
func writeReplace(path string, data []byte, mode os.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	name := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// envelopeSigner adapts Signer to dsse.SignerVerifier.
type envelopeSigner struct{ s *Signer }

var _ dsse.SignerVerifier = envelopeSigner{}

func (e envelopeSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return ecdsa.SignASN1(rand.Reader, e.s.priv, h[:])
}

func (e envelopeSigner) Verify(ctx context.Context, data, sig []byte) error {
	return envelopeVerifier{e.s.pub}.Verify(ctx, data, sig)
}

func (e envelopeSigner) KeyID() (string, error) { return e.s.pub.ID, nil }

func (e envelopeSigner) Public() crypto.PublicKey { return e.s.pub.Key }

// envelopeVerifier adapts PublicKey to dsse.Verifier.
type envelopeVerifier struct{ k *PublicKey }

var _ dsse.Verifier = envelopeVerifier{}

func (v envelopeVerifier) Verify(_ context.Context, data, sig []byte) error {
	h := sha256.Sum256(data)
	if !ecdsa.VerifyASN1(v.k.Key, h[:], sig) {
		return errors.New("ecdsa: invalid signature")
	}
	return nil
}

func (v envelopeVerifier) KeyID() (string, error) { return v.k.ID, nil }

func (v envelopeVerifier) Public() crypto.PublicKey { return v.k.Key }
