package npm

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLocalDeps(t *testing.T) {
	src := `{"name": "a", "dependencies": {"u": "file:../util", "x": "^1.0.0", "w": "workspace:*"}, "devDependencies": {"t": "workspace:^"}}`
	for _, c := range []struct {
		up         string
		names      []string
		wantPrefix string
	}{
		{`{"dependencies": {"u": "^3.0.0", "x": "^1.0.0", "w": "3.0.0"}, "devDependencies": {"t": "^3.0.0"}}`, []string{"t", "u", "w"}, "^"},
		{`{"dependencies": {"u": "3.0.0", "w": "3.0.0"}}`, []string{"u", "w"}, "exact"},
		{`{"dependencies": {"u": "~3.0.0"}}`, []string{"u"}, "~"},
		{`{"dependencies": {"u": "file:../util", "w": "workspace:*"}}`, nil, "^"}, // published as they were
		{`not json`, nil, ""},
	} {
		names, prefix := localDeps([]byte(src), []byte(c.up))
		if !reflect.DeepEqual(names, c.names) || prefix != c.wantPrefix {
			t.Errorf("localDeps(%s) = %v %q, want %v %q", c.up, names, prefix, c.names, c.wantPrefix)
		}
	}
}

func TestPublishedSpec(t *testing.T) {
	for _, c := range []struct{ spec, prefix, want string }{
		{"workspace:*", "^", "1.2.3"},
		{"workspace:^", "^", "^1.2.3"},
		{"workspace:~", "^", "~1.2.3"},
		{"workspace:^1.0.0", "^", "^1.0.0"},
		{"workspace:../b", "^", "1.2.3"},
		{"file:../b", "^", "^1.2.3"},
		{"file:../b", "~", "~1.2.3"},
		{"file:../b", "exact", "1.2.3"},
	} {
		if got, ok := publishedSpec(c.spec, "1.2.3", c.prefix); !ok || got != c.want {
			t.Errorf("publishedSpec(%q, %q) = %q %v, want %q", c.spec, c.prefix, got, ok, c.want)
		}
	}
	if _, ok := publishedSpec("file:../b", "", "^"); ok {
		t.Error("a sibling without a version was rewritten")
	}
}

func TestRewriteLocalDeps(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"packages/util/package.json":  `{"name": "@s/util", "version": "3.0.0"}`,
		"packages/types/package.json": `{"name": "@s/types", "version": "3.1.0"}`,
		"node_modules/x/package.json": `{"name": "@s/types", "version": "9.9.9"}`, // not a sibling
		"outside-ref/package.json":    `{"name": "far", "version": "1.0.0"}`,
		"packages/a/package.json":     "{\n  \"name\": \"@s/a\",\n  \"version\": \"3.0.0\",\n  \"dependencies\": {\n    \"@s/util\": \"file:../util\",\n    \"@s/types\": \"workspace:^\",\n    \"left\": \"^1.0.0\",\n    \"gone\": \"workspace:*\",\n    \"escape\": \"file:../../../elsewhere\"\n  }\n}\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := filepath.Join(root, "packages", "a")
	changed, err := rewriteLocalDeps(pkg, root, "^")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"@s/types workspace:^ → ^3.1.0", "@s/util file:../util → ^3.0.0"}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("changed %q, want %q", changed, want)
	}
	b, _ := os.ReadFile(filepath.Join(pkg, "package.json"))
	// Formatting and key order kept; specs it cannot resolve left alone.
	wantJSON := "{\n  \"name\": \"@s/a\",\n  \"version\": \"3.0.0\",\n  \"dependencies\": {\n    \"@s/util\": \"^3.0.0\",\n    \"@s/types\": \"^3.1.0\",\n    \"left\": \"^1.0.0\",\n    \"gone\": \"workspace:*\",\n    \"escape\": \"file:../../../elsewhere\"\n  }\n}\n"
	if string(b) != wantJSON {
		t.Errorf("package.json:\n%s\nwant:\n%s", b, wantJSON)
	}
}
