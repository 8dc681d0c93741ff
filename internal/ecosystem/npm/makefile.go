package npm

import (
	"bufio"
	"bytes"
	"path"
	"regexp"
	"strings"
)

// Some packages are released by a Makefile rather than npm scripts: a target whose recipe
// runs `npm publish` (react-modal: "publish-version: … npm publish", after "build: compile"
// ran babel and webpack), or publishes a directory the build assembles (async 2: "cd build/
// && npm publish"). The build is the Makefile's build target, run from the repository root,
// and the directory npm publish names is packed.

// makeRelease is what findMakeRelease read from a Makefile.
type makeRelease struct {
	Target     string // the build target: "build" or "dist"
	PublishDir string // the directory published, relative to the Makefile's ("." for itself)
	Line       string // the recipe line that publishes
}

var (
	makeRule    = regexp.MustCompile(`^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*::?(?:[^=]|$)`)
	makePublish = regexp.MustCompile(`(?:^|[;&|]\s*)(?:npm|yarn)\s+publish\b([^;&|]*)`)
	makeCd      = regexp.MustCompile(`(?:^|[;&|]\s*)cd\s+([\w./-]+)\s*(?:&&|;)\s*(?:npm|yarn)\s+publish\b`)
)

// maxMakefile bounds the Makefile read.
const maxMakefile = 256 << 10

// findMakeRelease reads a Makefile: the first recipe line that runs npm (or yarn) publish,
// and the build target the release builds with. False when there is no such line, or no
// build or dist target.
func findMakeRelease(mk []byte) (makeRelease, bool) {
	if len(mk) > maxMakefile {
		return makeRelease{}, false
	}
	targets := map[string]bool{}
	var rel makeRelease
	found := false
	sc := bufio.NewScanner(bytes.NewReader(mk))
	sc.Buffer(make([]byte, 0, 64<<10), maxMakefile)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") {
			cmd := strings.TrimLeft(strings.TrimSpace(line), "@-+")
			if found {
				continue
			}
			if m := makeCd.FindStringSubmatch(cmd); m != nil {
				rel, found = makeRelease{PublishDir: path.Clean(m[1]), Line: cmd}, true
			} else if m := makePublish.FindStringSubmatch(cmd); m != nil {
				if dir, ok := publishTarget(append([]string{"npm", "publish"}, strings.Fields(m[1])...)); ok && !strings.Contains(dir, "$") {
					rel, found = makeRelease{PublishDir: path.Clean(dir), Line: cmd}, true
				}
			}
			continue
		}
		if m := makeRule.FindStringSubmatch(line); m != nil {
			for _, t := range strings.Fields(m[1]) {
				targets[t] = true
			}
		}
	}
	if !found || strings.HasPrefix(rel.PublishDir, "..") || path.IsAbs(rel.PublishDir) {
		return makeRelease{}, false
	}
	for _, t := range []string{"build", "dist"} {
		if targets[t] {
			rel.Target = t
			return rel, true
		}
	}
	return makeRelease{}, false
}
