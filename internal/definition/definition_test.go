package definition

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/target"
)

func valid() *BuildDefinition {
	cut := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	return &BuildDefinition{
		APIVersion:     APIVersion,
		PURL:           "pkg:npm/%40scope/pkg@1.2.3",
		Artifact:       "pkg-1.2.3.tgz",
		Location:       Location{Repo: "https://github.com/o/r", Ref: strings.Repeat("a", 40), Dir: "packages/pkg", Evidence: "tag:v1.2.3"},
		Strategy:       Strategy{Name: "npm-pack", Params: map[string]string{"set_version": "1.2.3"}},
		Toolchain:      map[string]string{"node": "20.20.2", "npm": "10.8.2"},
		Env:            map[string]string{"NODE_ENV": "production"},
		RegistryCutoff: &cut,
		Stabilizers: []CustomStabilizer{{Name: "drop-map", Kind: "exclude", Path: "package/*.map", Reason: "source maps embed absolute paths"},
			{Name: "banner", Kind: "replace", Path: "package/dist/*.js", Pattern: `built at \d+`, Replace: "built at 0", Reason: "build time banner"}},
		Timeout: Duration(15 * time.Minute),
	}
}

func TestRoundTrip(t *testing.T) {
	d := valid()
	for name, enc := range map[string]func() ([]byte, error){"yaml": d.YAML, "json": d.JSON} {
		t.Run(name, func(t *testing.T) {
			b, err := enc()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, b)
			}
			if diff := cmp.Diff(d, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*BuildDefinition)
		want   string
	}{
		{"api version", func(d *BuildDefinition) { d.APIVersion = "v0" }, "apiVersion"},
		{"purl", func(d *BuildDefinition) { d.PURL = "npm/x" }, "purl"},
		{"artifact path", func(d *BuildDefinition) { d.Artifact = "../x.tgz" }, "artifact"},
		{"short ref", func(d *BuildDefinition) { d.Location.Ref = "main" }, "full lowercase commit"},
		{"no repo", func(d *BuildDefinition) { d.Location.Repo = "" }, "location.repo"},
		{"dir escapes", func(d *BuildDefinition) { d.Location.Dir = "../../etc" }, "inside the repository"},
		{"absolute dir", func(d *BuildDefinition) { d.Location.Dir = "/etc" }, "inside the repository"},
		{"no strategy", func(d *BuildDefinition) { d.Strategy.Name = "" }, "strategy.name"},
		{"stabilizer without reason", func(d *BuildDefinition) { d.Stabilizers[0].Reason = " " }, "reason is required"},
		{"bad regexp", func(d *BuildDefinition) { d.Stabilizers[1].Pattern = "(" }, "regular expression"},
		{"bad kind", func(d *BuildDefinition) { d.Stabilizers[0].Kind = "rm" }, "kind must be"},
		{"bad env", func(d *BuildDefinition) { d.Env = map[string]string{"A=B": "x"} }, "env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := valid()
			tc.mutate(d)
			err := d.Validate()
			var inv *InvalidError
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want InvalidError mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseRejectsUnknownFieldsAndGarbage(t *testing.T) {
	b, _ := valid().YAML()
	for name, in := range map[string][]byte{
		"unknown field": append(b, []byte("surprise: 1\n")...),
		"empty":         nil,
		"not yaml":      []byte("{{{"),
		"too large":     make([]byte, MaxSize+1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(in); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestDirectoryLookup(t *testing.T) {
	root := t.TempDir()
	dir := Directory{Root: root}
	tg, _ := target.Parse("pkg:npm/%40scope/pkg@1.2.3")
	if d, err := dir.Lookup(tg); d != nil || err != nil {
		t.Fatalf("empty directory: %v %v", d, err)
	}
	p := dir.Path(tg)
	if want := filepath.Join(root, "npm", "@scope", "pkg", "1.2.3", "build.yaml"); p != want {
		t.Fatalf("Path = %s, want %s", p, want)
	}
	b, _ := valid().YAML()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := dir.Lookup(tg)
	if err != nil || d == nil || d.Location.Dir != "packages/pkg" {
		t.Fatalf("Lookup = %+v, %v", d, err)
	}
	other, _ := target.Parse("pkg:npm/%40scope/pkg@9.9.9")
	otherPath := dir.Path(other)
	_ = os.MkdirAll(filepath.Dir(otherPath), 0o755)
	_ = os.WriteFile(otherPath, b, 0o644)
	if _, err := dir.Lookup(other); err == nil {
		t.Fatal("a definition filed under the wrong version was accepted")
	}
}
