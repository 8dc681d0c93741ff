package npm

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"

	"github.com/vouch-dev/vouch/internal/definition"
	"github.com/vouch-dev/vouch/internal/source"
)

// Release scripts that bump the version as their last step build first: the bundler writes
// the commit it ran at (git rev-parse HEAD) into the license banner, which is then the parent
// of the release commit ("Rollup.js v3.29.4 … - commit 4e92d60", tagged a6448b9). A rebuild
// of the tagged commit writes the tag's hash. When the published banners name the source
// commit's parent, the definition gets a stabilizer that replaces both hashes, and the
// note says so; every other difference still counts.

// bannerHex finds commit hashes in the first bytes of a text file, where banners are.
var bannerHex = regexp.MustCompile(`\b[0-9a-f]{7,40}\b`)

// bannerBytes bounds how much of each file is searched, maxBannerFiles how many files.
const (
	bannerBytes    = 2 << 10
	maxBannerFiles = 2000
)

// preReleaseCommit returns the custom stabilizer and note for published banners that name
// commit's parent, or false.
func preReleaseCommit(ctx context.Context, repo *source.Repo, commit string, up *upstreamPkg) (definition.CustomStabilizer, string, bool) {
	parent, err := repo.ResolveCommit(ctx, commit+"^")
	if err != nil || len(commit) != 40 {
		return definition.CustomStabilizer{}, "", false
	}
	var files []string
	seen := 0
	for _, f := range up.files {
		if seen++; seen > maxBannerFiles {
			break
		}
		d := up.data[f]
		head := d[:min(len(d), bannerBytes)]
		if bytes.IndexByte(head, 0) >= 0 {
			continue
		}
		for _, h := range bannerHex.FindAll(head, -1) {
			if bytes.HasPrefix([]byte(parent), h) {
				files = append(files, f)
				break
			}
		}
	}
	if len(files) == 0 {
		return definition.CustomStabilizer{}, "", false
	}
	sort.Strings(files)
	// The hashes at any abbreviation of 7 or more.
	pattern := fmt.Sprintf(`\b(?:%s[0-9a-f]{0,33}|%s[0-9a-f]{0,33})\b`, parent[:7], commit[:7])
	s := definition.CustomStabilizer{
		Name:    "pre-release-commit",
		Kind:    "replace",
		Path:    "**",
		Pattern: pattern,
		Replace: "<release commit>",
		Reason: fmt.Sprintf("the publisher built at %s, the commit before the release commit %s, and the build wrote that commit into %d published files (e.g. %s): the commit hashes %s… and %s… are replaced",
			parent[:12], commit[:12], len(files), files[0], parent[:7], commit[:7]),
	}
	note := fmt.Sprintf("the published files name commit %s, the parent of %s: the release script built before committing the version bump, so the two hashes are compared as one (stabilizer pre-release-commit)", parent[:12], commit[:12])
	return s, note, true
}
