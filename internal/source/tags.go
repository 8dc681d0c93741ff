package source

import (
	"slices"
	"strings"
)

// TagCandidates lists the tag names a release of name@version commonly gets, most likely
// first: the forms npm version, lerna, changesets, release-please and hand-made release
// processes write. For scoped npm names both the full and the unscoped name are tried.
func TagCandidates(name, version string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	// A "-npm" tag marks a repository's generated npm distribution of the release (lodash
	// commits what lodash-cli builds under 4.17.21-npm): that is what was published, so it
	// comes before the source tag.
	add(version + "-npm")
	add("v" + version + "-npm")
	add("v" + version)
	add(version)
	names := []string{name}
	if i := strings.LastIndex(name, "/"); i >= 0 && strings.HasPrefix(name, "@") {
		names = append(names, name[i+1:])
	}
	for _, n := range names {
		add(n + "@" + version) // lerna, changesets
	}
	for _, n := range names {
		add(n + "-v" + version) // release-please
		add(n + "-" + version)
		add(n + "_v" + version)
		add(n + "@v" + version)
		add(n + "/v" + version)
	}
	add("release-" + version)
	add("release/" + version)
	add("version-" + version)
	return out
}

// MatchTags returns the tags that name a release of name@version, in TagCandidates order.
// The version part must match exactly (case-sensitive); the prefix (package name, "v",
// "release-") is compared case-insensitively.
func MatchTags(tags map[string]string, name, version string) []string {
	if version == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, cand := range TagCandidates(name, version) {
		if _, ok := tags[cand]; ok && !seen[cand] {
			seen[cand] = true
			out = append(out, cand)
		}
		prefix := cand[:len(cand)-len(version)]
		var folded []string
		for tag := range tags {
			if seen[tag] || len(tag) != len(cand) || !strings.HasSuffix(tag, version) {
				continue
			}
			if strings.EqualFold(tag[:len(tag)-len(version)], prefix) {
				folded = append(folded, tag)
			}
		}
		slices.Sort(folded)
		for _, tag := range folded {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	return out
}
