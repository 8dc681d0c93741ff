package npm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestGitHeadPlacement(t *testing.T) {
	src := []byte(`{"name":"x","version":"1.0.0","funding":"u","keywords":[]}`)
	for _, c := range []struct {
		up, want string
		ok       bool
	}{
		{`{"name":"x","version":"1.0.0","funding":"u","keywords":[],"gitHead":"abc"}`, "end", true},
		{`{"name":"x","version":"1.0.0","funding":"u","gitHead":"abc","keywords":[]}`, "after:funding", true},
		{`{"name":"x","version":"1.0.0","funding":"u","keywords":[]}`, "", false},
		{`not json`, "", false},
	} {
		got, ok := gitHeadPlacement([]byte(c.up), src)
		if got != c.want || ok != c.ok {
			t.Errorf("gitHeadPlacement(%s) = %q, %v; want %q, %v", c.up, got, ok, c.want, c.ok)
		}
	}
	// The repository already has one: nothing to repeat.
	if _, ok := gitHeadPlacement([]byte(`{"gitHead":"a","x":1}`), []byte(`{"gitHead":"b"}`)); ok {
		t.Error("placement reported for a repository manifest that has gitHead")
	}
}

func TestAnnotateGitHead(t *testing.T) {
	const commit = "60248f32491b13e914f801402d3041a37e4bf44a"
	for _, c := range []struct{ in, at, want string }{
		{
			"{\n  \"name\": \"x\",\n  \"funding\": [\n    \"u\"\n  ],\n  \"keywords\": [\"a\"]\n}\n", "after:funding",
			"{\n  \"name\": \"x\",\n  \"funding\": [\n    \"u\"\n  ],\n  \"gitHead\": \"" + commit + "\",\n  \"keywords\": [\"a\"]\n}\n",
		},
		{
			"{\r\n\t\"name\": \"x\",\r\n\t\"version\": \"1.0.0\"\r\n}\r\n", "end",
			"{\r\n\t\"name\": \"x\",\r\n\t\"version\": \"1.0.0\",\r\n\t\"gitHead\": \"" + commit + "\"\r\n}\r\n",
		},
		{`{"name":"x","version":"1.0.0"}`, "after:gone", `{"name":"x","version":"1.0.0", "gitHead": "` + commit + `"}`},
		{`{"name":"x","gitHead":"old"}`, "end", `{"name":"x","gitHead":"old"}`},
	} {
		f := filepath.Join(t.TempDir(), "package.json")
		if err := os.WriteFile(f, []byte(c.in), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := annotateGitHead(f, commit, c.at); err != nil {
			t.Fatalf("annotateGitHead(%q): %v", c.in, err)
		}
		got, _ := os.ReadFile(f)
		if string(got) != c.want {
			t.Errorf("annotateGitHead(%q, %s):\n got %q\nwant %q", c.in, c.at, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("annotateGitHead(%q) wrote invalid JSON", c.in)
		}
	}
	f := filepath.Join(t.TempDir(), "package.json")
	os.WriteFile(f, []byte(`[1]`), 0o644)
	if err := annotateGitHead(f, commit, "end"); err == nil {
		t.Error("annotateGitHead accepted a manifest that is not an object")
	}
}
