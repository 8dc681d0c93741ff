// Package store keeps signed attestation bundles and run records on one machine: bundles as
// files under root/attestations in the OSS Rebuild layout ({target.StoreDir(artifact)}/
// rebuild.intoto.jsonl), so the tree can be served or mirrored as static files, and an
// SQLite database root/vouch.db (pure Go, WAL mode) with run records and a digest index.
// Several processes may use one store at the same time.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vouch-dev/vouch/internal/attest"
	"github.com/vouch-dev/vouch/internal/target"
	"github.com/vouch-dev/vouch/internal/verdict"
)

// Names inside the store root.
const (
	AttestationsDir = "attestations"
	DatabaseFile    = "vouch.db"
)

// busyTimeout is how long a writer waits for another process's write lock.
const busyTimeout = 30 * time.Second

// ErrNotFound is returned when the store holds no bundle for an artifact.
var ErrNotFound = errors.New("no attestation in the store")

// Store is an open attestation and run store.
type Store struct {
	root    string
	attRoot string
	db      *sql.DB
}

// Ref locates one stored bundle.
type Ref struct {
	PURL     string `json:"purl"`
	Artifact string `json:"artifact"`
	// Path is the bundle's file path.
	Path string `json:"path"`
}

// Open opens (creating if needed) the store at root, usually $VOUCH_HOME, and brings the
// database schema up to date.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("opening store: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	attRoot := filepath.Join(abs, AttestationsDir)
	if err := os.MkdirAll(attRoot, 0o755); err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	// modernc.org/sqlite DSN: _pragma values run on every new connection, in order (busy
	// timeout first so that switching to WAL waits for other processes); _txlock=immediate
	// makes every transaction take the write lock up front, avoiding deadlocked upgrades.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: filepath.Join(abs, DatabaseFile), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	s := &Store{root: abs, attRoot: attRoot, db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Root is the store's root directory (absolute).
func (s *Store) Root() string { return s.root }

// AttestationRoot is the directory holding the bundle tree, suitable for static serving.
func (s *Store) AttestationRoot() string { return s.attRoot }

// migrations are applied in order; the database's user_version is how many have run.
// Append only.
var migrations = []string{
	`CREATE TABLE runs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		purl TEXT NOT NULL,
		ecosystem TEXT NOT NULL,
		package TEXT NOT NULL,
		version TEXT NOT NULL,
		artifact TEXT NOT NULL,
		verdict TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		upstream_sha256 TEXT NOT NULL DEFAULT '',
		started_at TEXT NOT NULL DEFAULT '',
		finished_at TEXT NOT NULL DEFAULT '',
		result_json TEXT NOT NULL
	);
	CREATE INDEX runs_purl ON runs (purl, id);
	CREATE INDEX runs_upstream_sha256 ON runs (upstream_sha256);
	CREATE TABLE attestations (
		upstream_sha256 TEXT NOT NULL DEFAULT '',
		sha512 TEXT NOT NULL DEFAULT '',
		purl TEXT NOT NULL,
		artifact TEXT NOT NULL,
		path TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		PRIMARY KEY (purl, artifact)
	);
	CREATE INDEX attestations_upstream_sha256 ON attestations (upstream_sha256);`,
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one process migrates at a time
	if err != nil {
		return fmt.Errorf("migrating database: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrating database: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this vouch (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrating database to version %d: %w", i+1, err)
		}
	}
	if version == len(migrations) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrating database: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating database: %w", err)
	}
	return nil
}

// bundleRel returns the bundle's path relative to the attestation root, refusing names
// that could leave it.
func bundleRel(t target.Target, artifact string) (string, error) {
	if e, err := target.ParseEcosystem(string(t.Ecosystem)); err != nil || e != t.Ecosystem {
		return "", fmt.Errorf("unknown ecosystem %q", t.Ecosystem)
	}
	if err := t.Validate(); err != nil {
		return "", err
	}
	if err := checkArtifactName(artifact); err != nil {
		return "", err
	}
	rel := filepath.FromSlash(t.StoreDir(artifact))
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("attestation path %q leaves the store", rel)
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("attestation path %q has an empty or relative component", rel)
		}
	}
	return filepath.Join(rel, attest.BundleFile), nil
}

func checkArtifactName(a string) error {
	if a == "" || a == "." || a == ".." || strings.ContainsAny(a, "/\\\x00") || strings.HasPrefix(a, "-") {
		return fmt.Errorf("artifact %q is not a plain file name", a)
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("artifact %q contains control characters", a)
		}
	}
	return nil
}

// within checks that path, after resolving symbolic links of its existing directory,
// is still under the attestation root.
func (s *Store) within(dir string) error {
	realRoot, err := filepath.EvalSymlinks(s.attRoot)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("%s resolves outside the store", dir)
	}
	return nil
}

// mkdirWithin creates rel's directories under the attestation root one at a time,
// refusing to pass through anything that is not a plain directory (a symbolic link could
// lead outside the store).
func (s *Store) mkdirWithin(rel string) error {
	cur := s.attRoot
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			fi, err = os.Lstat(cur)
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory (symbolic links are not followed in the store)", cur)
		}
	}
	return nil
}

// testHookBeforeRename, when set by tests, runs after the temp file is written and before
// it is renamed into place; an error aborts the write.
var testHookBeforeRename func(tmp string) error

// PutBundle stores a bundle atomically (a reader sees the old or the new file, never a part)
// and indexes it by the upstream digests. It returns the bundle's path. The bundle must
// parse (attest.ParseBundle); signatures are not checked here.
func (s *Store) PutBundle(t target.Target, artifact string, bundle []byte, upstreamSHA256, upstreamSHA512 string) (string, error) {
	rel, err := bundleRel(t, artifact)
	if err != nil {
		return "", fmt.Errorf("storing attestation: %w", err)
	}
	if upstreamSHA256 != "" && !sha256RE.MatchString(upstreamSHA256) {
		return "", fmt.Errorf("storing attestation: bad sha256 %q", upstreamSHA256)
	}
	if upstreamSHA512 != "" && !sha512RE.MatchString(upstreamSHA512) {
		return "", fmt.Errorf("storing attestation: bad sha512 %q", upstreamSHA512)
	}
	if _, err := attest.ParseBundle(bundle); err != nil {
		return "", fmt.Errorf("storing attestation: %w", err)
	}
	path := filepath.Join(s.attRoot, rel)
	if err := s.mkdirWithin(filepath.Dir(rel)); err != nil {
		return "", fmt.Errorf("storing attestation: %w", err)
	}
	if err := writeAtomic(path, bundle); err != nil {
		return "", fmt.Errorf("storing attestation: %w", err)
	}
	_, err = s.db.Exec(`INSERT INTO attestations (upstream_sha256, sha512, purl, artifact, path, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (purl, artifact) DO UPDATE SET
			upstream_sha256 = excluded.upstream_sha256, sha512 = excluded.sha512,
			path = excluded.path, updated_at = excluded.updated_at`,
		upstreamSHA256, upstreamSHA512, t.PURL(), artifact, filepath.ToSlash(rel), time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return "", fmt.Errorf("indexing attestation: %w", err)
	}
	return path, nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	err = f.Chmod(0o644)
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
		return err
	}
	if testHookBeforeRename != nil {
		if err := testHookBeforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// GetBundle reads the bundle of one artifact; ErrNotFound if there is none.
func (s *Store) GetBundle(t target.Target, artifact string) ([]byte, string, error) {
	rel, err := bundleRel(t, artifact)
	if err != nil {
		return nil, "", fmt.Errorf("reading attestation: %w", err)
	}
	path := filepath.Join(s.attRoot, rel)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return nil, path, fmt.Errorf("reading attestation: %w", err)
	}
	defer f.Close()
	if err := s.within(filepath.Dir(path)); err != nil {
		return nil, path, fmt.Errorf("reading attestation: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, attest.MaxBundleSize+1))
	if err != nil {
		return nil, path, fmt.Errorf("reading attestation: %w", err)
	}
	if len(b) > attest.MaxBundleSize {
		return nil, path, fmt.Errorf("reading attestation %s: larger than %d bytes", path, attest.MaxBundleSize)
	}
	return b, path, nil
}

var (
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sha512RE = regexp.MustCompile(`^[0-9a-f]{128}$`)
)

// FindByDigest lists the stored bundles whose upstream artifact has this sha256 (lowercase hex).
func (s *Store) FindByDigest(sha256 string) ([]Ref, error) {
	sha256 = strings.ToLower(sha256)
	if !sha256RE.MatchString(sha256) {
		return nil, fmt.Errorf("finding attestations: %q is not a hex sha256 digest", sha256)
	}
	rows, err := s.db.Query(`SELECT purl, artifact, path FROM attestations WHERE upstream_sha256 = ? ORDER BY purl, artifact`, sha256)
	if err != nil {
		return nil, fmt.Errorf("finding attestations: %w", err)
	}
	defer rows.Close()
	var refs []Ref
	for rows.Next() {
		var r Ref
		var rel string
		if err := rows.Scan(&r.PURL, &r.Artifact, &rel); err != nil {
			return nil, fmt.Errorf("finding attestations: %w", err)
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("finding attestations: corrupt index path %q", rel)
		}
		r.Path = filepath.Join(s.attRoot, filepath.FromSlash(rel))
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding attestations: %w", err)
	}
	return refs, nil
}

// PutRun records one run and returns its ID.
func (s *Store) PutRun(res *verdict.Result) (int64, error) {
	if res == nil {
		return 0, errors.New("recording run: nil result")
	}
	t, err := target.Parse(res.PURL)
	if err != nil {
		return 0, fmt.Errorf("recording run: %w", err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return 0, fmt.Errorf("recording run: %w", err)
	}
	var up string
	if res.Upstream != nil {
		up = res.Upstream.SHA256
	}
	r, err := s.db.Exec(`INSERT INTO runs (purl, ecosystem, package, version, artifact, verdict, reason,
		upstream_sha256, started_at, finished_at, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.PURL(), string(t.Ecosystem), t.PackageName(), t.Version, res.Artifact, string(res.Verdict), string(res.Reason),
		up, res.StartedAt, res.FinishedAt, string(b))
	if err != nil {
		return 0, fmt.Errorf("recording run: %w", err)
	}
	id, err := r.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("recording run: %w", err)
	}
	return id, nil
}

// Runs returns the most recent runs of purl, newest first; all packages when purl is "".
// limit <= 0 means no limit.
func (s *Store) Runs(purl string, limit int) ([]*verdict.Result, error) {
	if purl != "" {
		t, err := target.Parse(purl)
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		purl = t.PURL()
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.Query(`SELECT result_json FROM runs WHERE ? = '' OR purl = ? ORDER BY id DESC LIMIT ?`, purl, purl, limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	defer rows.Close()
	var out []*verdict.Result
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		var r verdict.Result
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			return nil, fmt.Errorf("listing runs: decoding record: %w", err)
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return out, nil
}
