package rebuild

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkingTreeFiles(t *testing.T) {
	got := workingTreeFiles([]string{
		"package/clone.iml", "package/.idea/workspace.xml", "package/lib/index.js", "package/.DS_Store",
		"package/dist/app.js.orig", "package/README.md", "package/src/idea.js", "package/npm-debug.log",
		"package/.eslintcache", "package/.jekyll-metadata", "package/src/cache.js",
	})
	want := []string{"package/clone.iml", "package/.idea/workspace.xml", "package/.DS_Store", "package/dist/app.js.orig", "package/npm-debug.log",
		"package/.eslintcache", "package/.jekyll-metadata"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCheckoutName(t *testing.T) {
	for repo, want := range map[string]string{
		"https://github.com/TehShrike/deepmerge":         "deepmerge",
		"https://github.com/kelektiv/node.bcrypt.js.git": "node.bcrypt.js",
		"https://gitlab.com/group/sub/proj/":             "proj",
		"":                                               "src",
		"https://github.com/o/..":                        "src",
		"https://example.com/o/we ird":                   "src",
		"https://example.com/o/...":                      "src",
	} {
		if got := checkoutName(repo); got != want {
			t.Errorf("checkoutName(%q) = %q, want %q", repo, got, want)
		}
	}
}

func TestUnserved(t *testing.T) {
	got := unserved([]string{"package/dist/aws-sdk.js", "package/dist/other.js", "package/README.md", "odd"},
		[]string{"dist/aws-sdk.js", "packages/x/README.md", "benchmark/huge.yaml"})
	want := []string{"package/dist/aws-sdk.js", "package/README.md"}
	if !slices.Equal(got, want) {
		t.Errorf("unserved = %v, want %v", got, want)
	}
}
