package rebuild

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkingTreeFiles(t *testing.T) {
	got := workingTreeFiles([]string{
		"package/clone.iml", "package/.idea/workspace.xml", "package/lib/index.js", "package/.DS_Store",
		"package/dist/app.js.orig", "package/README.md", "package/src/idea.js", "package/npm-debug.log",
	})
	want := []string{"package/clone.iml", "package/.idea/workspace.xml", "package/.DS_Store", "package/dist/app.js.orig", "package/npm-debug.log"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
