package pypi_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/archive/archivetest"
	"github.com/vouch-dev/vouch/internal/definition"
	pypieco "github.com/vouch-dev/vouch/internal/ecosystem/pypi"
	"github.com/vouch-dev/vouch/internal/registry/pypi"
	"github.com/vouch-dev/vouch/internal/registry/registrytest"
	"github.com/vouch-dev/vouch/internal/source"
	"github.com/vouch-dev/vouch/internal/target"
)

func TestIdentify(t *testing.T) {
	dir := t.TempDir()
	whl := filepath.Join(dir, "Foo_Bar-1.0-py3-none-any.whl")
	os.WriteFile(whl, archivetest.Zip(t,
		archivetest.File{Name: "foo_bar/__init__.py"},
		archivetest.File{Name: "foo_bar-1.0.dist-info/METADATA", Body: "Metadata-Version: 2.1\r\nName: Foo_Bar\r\nVersion: 1.0\r\n\r\nbody"},
	), 0o644)
	sdist := filepath.Join(dir, "foo_bar-1.0.tar.gz")
	os.WriteFile(sdist, archivetest.TarGz(t,
		archivetest.File{Name: "foo_bar-1.0/PKG-INFO", Body: "Metadata-Version: 2.1\nName: foo.bar\nVersion: 1.0\n"},
		archivetest.File{Name: "foo_bar-1.0/src/foo_bar.egg-info/PKG-INFO", Body: "Name: other\nVersion: 9\n"},
	), 0o644)
	notPkg := filepath.Join(dir, "x.zip")
	os.WriteFile(notPkg, archivetest.Zip(t, archivetest.File{Name: "a.txt"}), 0o644)

	eco := pypieco.NewWithClient(pypi.New("https://pypi.org"), t.TempDir(), "", "")
	want := target.Target{Ecosystem: target.PyPI, Name: "foo-bar", Version: "1.0"}
	for _, p := range []string{whl, sdist} {
		got, err := eco.Identify(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", filepath.Base(p), diff)
		}
	}
	if _, err := eco.Identify(notPkg); err == nil {
		t.Error("a zip without core metadata was identified")
	}
}

func TestSandboxConfig(t *testing.T) {
	for _, tc := range []struct {
		index string
		loc   definition.Location
		want  []string
	}{
		{"https://pypi.org", definition.Location{Repo: "https://github.com/a/b"}, []string{"pypi.org", "files.pythonhosted.org"}},
		{"http://127.0.0.1:8080", definition.Location{Repo: "https://github.com/a/b"}, []string{"127.0.0.1:8080"}},
		{"https://mirror.example/pypi", definition.Location{Repo: "https://files.example/x-1.tar.gz", Evidence: pypieco.EvidenceSdist}, []string{"mirror.example", "files.example"}},
	} {
		eco := pypieco.NewWithClient(pypi.New(tc.index), t.TempDir(), "", "")
		got := eco.SandboxConfig(&definition.BuildDefinition{Location: tc.loc}).AllowHosts
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.index, diff)
		}
	}
}

// TestLocate finds commits through tags in a monorepo (with a dynamic version) and through
// a content search against the sdist when there is no tag.
func TestLocate(t *testing.T) {
	dynamic := "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\nbuild-backend = \"hatchling.build\"\n[project]\nname = \"mono-pkg\"\ndynamic = [\"version\"]\n"
	fixtureRepo(t, "mono", map[string]string{
		"README.md":                        "root\n",
		"packages/mono-pkg/pyproject.toml": dynamic,
		"packages/mono-pkg/mono_pkg/a.py":  "A = 1\n",
		"packages/other/pyproject.toml":    "[project]\nname = \"other\"\nversion = \"1.0.0\"\n",
	}, "mono-pkg-v1.0.0")
	index := registrytest.NewPyPI(t)
	sdist := archivetest.TarGz(t,
		archivetest.File{Name: "nontagged-2.0/PKG-INFO", Body: "Metadata-Version: 2.1\nName: nontagged\nVersion: 2.0\n"},
		archivetest.File{Name: "nontagged-2.0/setup.py", Body: "from setuptools import setup\nsetup(name='nontagged', version=VERSION)\n"},
		archivetest.File{Name: "nontagged-2.0/nontagged.py", Body: "print(2)\n"},
	)
	fixtureRepo(t, "nontagged", map[string]string{
		"setup.py":     "from setuptools import setup\nsetup(name='nontagged', version=VERSION)\n",
		"nontagged.py": "print(2)\n",
	}, "")
	index.Publish("nontagged", "2.0", "nontagged-2.0.tar.gz", sdist, registrytest.WithProjectURLs(map[string]string{"Source": "https://github.com/fixture/nontagged"}))
	index.Publish("mono-pkg", "1.0.0", "mono_pkg-1.0.0.tar.gz", archivetest.TarGz(t, archivetest.File{Name: "mono_pkg-1.0.0/PKG-INFO", Body: "Name: mono-pkg\n"}),
		registrytest.WithProjectURLs(map[string]string{"Repository": "https://github.com/fixture/mono"}))

	home := t.TempDir()
	eco := pypieco.NewWithClient(pypi.New(index.URL()), home, pypieco.SourceRepo, "")
	mirrors := &source.Mirrors{Root: filepath.Join(home, "git")}
	for _, tc := range []struct {
		purl     string
		dir      string
		evidence string
	}{
		{"pkg:pypi/mono-pkg@1.0.0", "packages/mono-pkg", "tag:mono-pkg-v1.0.0(dynamic version)"},
		{"pkg:pypi/nontagged@2.0", "", "content_search(dynamic version)"},
	} {
		tg, _ := target.Parse(tc.purl)
		up, err := eco.Resolve(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := eco.Locate(context.Background(), up, mirrors)
		if err != nil {
			t.Fatalf("%s: %v", tc.purl, err)
		}
		if loc.Dir != tc.dir || loc.Evidence != tc.evidence || len(loc.Ref) != 40 {
			t.Errorf("%s: %+v, want dir %q evidence %q", tc.purl, loc, tc.dir, tc.evidence)
		}
	}
}
