package target

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in       string
		want     Target
		purl     string
		pkg      string
		storeDir string
	}{
		{"pkg:npm/is-number@7.0.0", Target{Ecosystem: NPM, Name: "is-number", Version: "7.0.0"},
			"pkg:npm/is-number@7.0.0", "is-number", "npm/is-number/7.0.0/is-number-7.0.0.tgz"},
		{"pkg:npm/%40babel/core@7.24.0", Target{Ecosystem: NPM, Namespace: "@babel", Name: "core", Version: "7.24.0"},
			"pkg:npm/%40babel/core@7.24.0", "@babel/core", "npm/@babel/core/7.24.0/core-7.24.0.tgz"},
		{"pkg:npm/@babel/core@7.24.0", Target{Ecosystem: NPM, Namespace: "@babel", Name: "core", Version: "7.24.0"},
			"pkg:npm/%40babel/core@7.24.0", "@babel/core", "npm/@babel/core/7.24.0/core-7.24.0.tgz"},
		{"pkg:pypi/Foo_Bar@1.0", Target{Ecosystem: PyPI, Name: "foo-bar", Version: "1.0"},
			"pkg:pypi/foo-bar@1.0", "foo-bar", "pypi/foo-bar/1.0/foo_bar-1.0-py3-none-any.whl"},
		{"pkg:cargo/serde@1.0.200", Target{Ecosystem: CratesIO, Name: "serde", Version: "1.0.200"},
			"pkg:cargo/serde@1.0.200", "serde", "cratesio/serde/1.0.200/serde-1.0.200.crate"},
		{"pkg:maven/org.slf4j/slf4j-api@2.0.13?classifier=sources", Target{Ecosystem: Maven, Namespace: "org.slf4j", Name: "slf4j-api", Version: "2.0.13", Qualifiers: map[string]string{"classifier": "sources"}},
			"pkg:maven/org.slf4j/slf4j-api@2.0.13?classifier=sources", "org.slf4j:slf4j-api", "maven/org.slf4j~slf4j-api/2.0.13/slf4j-api-2.0.13-sources.jar"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if got.PURL() != tc.purl {
				t.Errorf("PURL() = %s, want %s", got.PURL(), tc.purl)
			}
			if got.PackageName() != tc.pkg {
				t.Errorf("PackageName() = %s, want %s", got.PackageName(), tc.pkg)
			}
			artifact := tc.storeDir[len(tc.storeDir)-len(lastElem(tc.storeDir)):]
			if d := got.StoreDir(artifact); d != tc.storeDir {
				t.Errorf("StoreDir = %s, want %s", d, tc.storeDir)
			}
			again, err := Parse(got.PURL())
			if err != nil || !cmp.Equal(again, got) {
				t.Errorf("round trip: %v %+v", err, again)
			}
		})
	}
}

func lastElem(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "is-number@7.0.0", "pkg:", "pkg:npm/", "pkg:npm/is-number", "pkg:gem/rails@7.0.0",
		"pkg:npm/%2e%2e@1.0.0", "pkg:npm/a@..", "pkg:npm/a@1.0.0%2f..%2f..", "pkg:maven/slf4j-api@2.0.13",
		"pkg:npm/-rf@1.0.0", "pkg:npm/a@1%0a0", "pkg:pypi/x@1.0?file_name=..%2fx.whl",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Parse(%q) = %v, want *InvalidError", in, err)
			}
			if inv.ExitCode() != 2 {
				t.Errorf("exit code %d", inv.ExitCode())
			}
		})
	}
}

func TestNormalizePyPI(t *testing.T) {
	for in, want := range map[string]string{"Foo_Bar": "foo-bar", "foo.bar": "foo-bar", "foo--_.bar": "foo-bar", "requests": "requests"} {
		if got := NormalizePyPI(in); got != want {
			t.Errorf("NormalizePyPI(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"pkg:npm/is-number@7.0.0", "pkg:npm/%40s/n@1?x=y#sub", "pkg:maven/g/a@1?classifier=c", "pkg:pypi/a@1", "pkg:cargo/x@0.1.0", "pkg:npm/%2e%2e@1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := Parse(s)
		if err != nil {
			return
		}
		// Anything accepted is safe to use as a path and round-trips.
		for _, part := range []string{tg.Namespace, tg.Name, tg.Version} {
			if part == ".." || part == "." {
				t.Fatalf("accepted traversal component in %q", s)
			}
		}
		if _, err := Parse(tg.PURL()); err != nil {
			t.Fatalf("PURL() of accepted %q does not parse: %v", s, err)
		}
	})
}
