package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMirrorMaxAge: a second process (a new Mirrors value) skips the fetch while the stamp is
// younger than MaxAge, and fetches again once it is older.
func TestMirrorMaxAge(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	old := fx.commit("first", map[string]string{"package.json": pkgJSON("a", "1.0.0")})
	root := t.TempDir()
	first := &Mirrors{Root: root, MaxAge: time.Hour}
	r, err := first.Sync(ctx, fx.URL)
	if err != nil {
		t.Fatal(err)
	}
	newCommit := fx.commit("later", map[string]string{"later.txt": "later\n"})

	second := &Mirrors{Root: root, MaxAge: time.Hour}
	if _, err := second.Sync(ctx, fx.URL); err != nil {
		t.Fatal(err)
	}
	if r.HasCommit(ctx, newCommit) {
		t.Fatalf("mirror fetched although its stamp was fresh")
	}
	if !r.HasCommit(ctx, old) {
		t.Fatalf("mirror lost %s", old)
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Clean(r.Dir)+".fetched", past, past); err != nil {
		t.Fatal(err)
	}
	third := &Mirrors{Root: root, MaxAge: time.Hour}
	if _, err := third.Sync(ctx, fx.URL); err != nil {
		t.Fatal(err)
	}
	if !r.HasCommit(ctx, newCommit) {
		t.Fatalf("stale mirror was not fetched")
	}
}

// TestSyncRemembersFailure: a repository that cannot be fetched is not tried again by the same
// Mirrors (a batch with many versions of one broken repository), but a new process tries again.
func TestSyncRemembersFailure(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	m := &Mirrors{Root: root}
	url := "https://github.com/nobody/missing-for-now"
	if _, err := m.Sync(ctx, url); err == nil {
		t.Fatal("fetched a repository that does not exist")
	}
	fx := &fixture{t: t, dir: filepath.Join(fixtureRoot, "nobody", "missing-for-now")}
	t.Cleanup(func() { os.RemoveAll(fx.dir) })
	if err := os.MkdirAll(fx.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fx.git("init", "--quiet")
	fx.commit("now it exists", map[string]string{"a": "1"})
	if _, err := m.Sync(ctx, url); err == nil {
		t.Fatal("the same Mirrors retried a failed repository")
	}
	if _, err := (&Mirrors{Root: root}).Sync(ctx, url); err != nil {
		t.Fatalf("a new Mirrors must try again: %v", err)
	}
}
