package pypi

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vouch-dev/vouch/internal/registry/pypi"
)

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             Manifest
	}{
		{"pep621 static", "pyproject.toml", `
[build-system]
requires = [
  "setuptools>=61",  # comment, with ] inside
  'wheel',
]
build-backend = "setuptools.build_meta"

[project]
name = "My_Pkg"
version = "1.2.3"  # trailing
description = """multi
line = "not a key"
"""
dependencies = ["a", "b>=2"]
`, Manifest{File: "pyproject.toml", Name: "my-pkg", Version: "1.2.3", Requires: []string{"setuptools>=61", "wheel"}, BuildBackend: "setuptools.build_meta"}},
		{"dynamic with hatch-vcs", "pyproject.toml", `[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"
[project]
name = "pkg"
dynamic = ["version"]
`, Manifest{File: "pyproject.toml", Name: "pkg", Dynamic: true, Requires: []string{"hatchling", "hatch-vcs"}, BuildBackend: "hatchling.build", SCM: "hatch-vcs"}},
		{"poetry", "pyproject.toml", `[tool.poetry]
name = "poetry-demo"
version = "0.1.0"
[build-system]
requires = ["poetry-core>=1.0.0"]
build-backend = "poetry.core.masonry.api"
`, Manifest{File: "pyproject.toml", Name: "poetry-demo", Version: "0.1.0", Requires: []string{"poetry-core>=1.0.0"}, BuildBackend: "poetry.core.masonry.api"}},
		{"pdm scm", "pyproject.toml", "[project]\nname = \"x\"\ndynamic = [\"version\"]\n[tool.pdm.version]\nsource = \"scm\"\n",
			Manifest{File: "pyproject.toml", Name: "x", Dynamic: true, SCM: "pdm-backend-scm"}},
		{"array of tables is skipped", "pyproject.toml", "[[tool.x]]\nname = \"no\"\n[project]\nname = \"yes\"\nversion = \"1\"\n",
			Manifest{File: "pyproject.toml", Name: "yes", Version: "1"}},
		{"setup.cfg attr version", "setup.cfg", "[metadata]\nname = Foo.Bar\nversion = attr: foo.__version__\n[options]\nname = no\n",
			Manifest{File: "setup.cfg", Name: "foo-bar", Dynamic: true}},
		{"setup.cfg static", "setup.cfg", "[metadata]\nname = foo\nversion = 2.0\n", Manifest{File: "setup.cfg", Name: "foo", Version: "2.0"}},
		{"setup.py literals", "setup.py", "from setuptools import setup\nsetup(\n    name='six',\n    version=\"1.17.0\",\n)\n",
			Manifest{File: "setup.py", Name: "six", Version: "1.17.0"}},
		{"setup.py name constant", "setup.py", "NAME = 'colorama'\nsetup(\n    name=NAME,\n    version=get_version('x'),\n)\n",
			Manifest{File: "setup.py", Name: "colorama", Dynamic: true}},
		{"setup.py computed", "setup.py", "setup(name=\"x\", version=get_version())\n", Manifest{File: "setup.py", Name: "x", Dynamic: true}},
		{"setup.py scm", "setup.py", "setup(name='x', use_scm_version=True)\n", Manifest{File: "setup.py", Name: "x", Dynamic: true, SCM: "setuptools-scm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseManifest(tc.file, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParsePyproject(f *testing.F) {
	f.Add("[project]\nname = \"a\"\nversion = \"1\"\n")
	f.Add("[build-system]\nrequires = [\"x\",\n'y' # c\n]\nv = {a = \"b\", c = [1,2]}\n")
	f.Add("k = \"\"\"\nunterminated")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParsePyproject([]byte(s))
		if err == nil && m.Name != "" && m.Name != pypi.Normalize(m.Name) {
			t.Errorf("name %q not normalised", m.Name)
		}
	})
}

func TestRequirement(t *testing.T) {
	for _, tc := range []struct{ req, name, spec string }{
		{"setuptools>=61", "setuptools", ">=61"},
		{"setuptools[core] >= 61, <70 ; python_version >= '3.8'", "setuptools", ">= 61, <70"},
		{"flit_core >=3.2,<4", "flit-core", ">=3.2,<4"},
		{"hatchling", "hatchling", ""},
		{"pkg @ https://example.com/pkg.whl", "pkg", ""},
		{"Cython (>=0.29)", "cython", ">=0.29"},
	} {
		if n, s := requirementName(tc.req), requirementSpec(tc.req); n != tc.name || s != tc.spec {
			t.Errorf("%q: got %q %q, want %q %q", tc.req, n, s, tc.name, tc.spec)
		}
	}
}

func TestSatisfies(t *testing.T) {
	for _, tc := range []struct {
		v, spec string
		want    bool
	}{
		{"68.2.2", ">=61", true},
		{"60.0", ">=61", false},
		{"69.0.0", ">=61,<69", false},
		{"3.9.0", "~=3.2", true},
		{"4.0", "~=3.2", false},
		{"1.4.2", "==1.4.*", true},
		{"1.5", "==1.4.*", false},
		{"2.0", "!=2.0", false},
		{"2.0.0", "==2", true},
		{"1.0rc1", "<1.0", true},
		{"1.0.post1", ">1.0", true},
		{"7", "weird", true},
	} {
		if got := satisfies(tc.v, tc.spec); got != tc.want {
			t.Errorf("satisfies(%q, %q) = %v, want %v", tc.v, tc.spec, got, tc.want)
		}
	}
}

func TestParseGenerator(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Generator
	}{
		{"bdist_wheel (0.41.2)", Generator{Raw: "bdist_wheel (0.41.2)", Package: "wheel", Version: "0.41.2"}},
		{"setuptools (75.1.0)", Generator{Raw: "setuptools (75.1.0)", Package: "setuptools", Version: "75.1.0"}},
		{"flit 3.9.0", Generator{Raw: "flit 3.9.0", Package: "flit-core", Version: "3.9.0"}},
		{"hatchling 1.21.1", Generator{Raw: "hatchling 1.21.1", Package: "hatchling", Version: "1.21.1"}},
		{"poetry-core 1.9.0", Generator{Raw: "poetry-core 1.9.0", Package: "poetry-core", Version: "1.9.0"}},
		{"poetry 1.0.7", Generator{Raw: "poetry 1.0.7", Package: "poetry-core", Version: "1.0.7", Ambiguous: true}},
		{"pdm-backend (2.1.8)", Generator{Raw: "pdm-backend (2.1.8)", Package: "pdm-backend", Version: "2.1.8"}},
		{"mystery 1.0", Generator{Raw: "mystery 1.0"}},
	} {
		if diff := cmp.Diff(tc.want, ParseGenerator(tc.in)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestRepoCandidates(t *testing.T) {
	info := pypi.Info{
		Name:     "my-pkg",
		HomePage: "https://my-pkg.readthedocs.io",
		ProjectURLs: map[string]string{
			"Documentation": "https://my-pkg.readthedocs.io",
			"Bug Tracker":   "https://github.com/org/issues-only/issues",
			"Source Code":   "https://github.com/Org/My-Pkg.git",
			"Homepage":      "https://gitlab.com/group/home",
		},
		Description: "![ci](https://github.com/someone/else/actions) see https://github.com/org/my_pkg and https://github.com/org/my_pkg/blob/main/x",
	}
	var got []string
	for _, c := range repoCandidates(info) {
		got = append(got, c.URL+" "+c.Evidence)
	}
	want := []string{
		"https://github.com/Org/My-Pkg project_urls[Source Code]",
		"https://gitlab.com/group/home project_urls[Homepage]",
		"https://github.com/org/issues-only project_urls[Bug Tracker]",
		"https://github.com/org/my_pkg description",
		"https://github.com/someone/else description",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c := repoCandidates(pypi.Info{Name: "x", HomePage: "https://example.com/x"}); len(c) != 0 {
		t.Errorf("a homepage off the forges became a repository: %v", c)
	}
}

func TestMergeManifests(t *testing.T) {
	files := map[string]string{
		"pyproject.toml": "[build-system]\nrequires = [\"setuptools>=45\", \"setuptools_scm>=6.2\"]\n[tool.black]\nline-length = 99\n",
		"setup.py":       "setup(name='merged', use_scm_version=True)\n",
	}
	got := mergeManifests(func(f string) ([]byte, bool) {
		s, ok := files[f]
		return []byte(s), ok
	})
	want := &Manifest{File: "setup.py", Name: "merged", Dynamic: true, Requires: []string{"setuptools>=45", "setuptools_scm>=6.2"}, SCM: "setuptools-scm"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if m := mergeManifests(func(string) ([]byte, bool) { return nil, false }); m != nil {
		t.Errorf("no files: %+v", m)
	}
}
