package egress

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// The npm mirrors some rebuilds see have no trustworthy publish times, so a repository without
// a lockfile installs today's dependencies. The compilers that shape a package's files are the
// exception: TypeScript's and Babel's release dates are public, and their versions decide what
// is emitted (Babel 7.20 stopped keeping blank lines) and which type packages parse. With
// Config.ToolchainEra (the release commit's time) the proxy points the "latest" tag of
// typescript and of each @babel/* package at its newest release before then, and that of each
// @types package at its newest version whose typeScriptVersion (the oldest TypeScript it
// supports) was out by then. npm prefers the latest tag when it satisfies a range, so a
// devDependency "typescript": "^4.1" or "@babel/core": "^7.12.0" resolves as the publisher's
// did then, within a minor version. Nothing is hidden: a range only newer versions satisfy (a
// dependency resolved today that needs @types/estree ^1.0.6) still resolves.

// typeScriptReleases are the general-availability dates of TypeScript's minor releases.
var typeScriptReleases = map[string]string{
	"2.0": "2016-09-22", "2.1": "2016-12-07", "2.2": "2017-02-22", "2.3": "2017-04-27", "2.4": "2017-06-27",
	"2.5": "2017-08-31", "2.6": "2017-10-31", "2.7": "2018-01-31", "2.8": "2018-03-27", "2.9": "2018-05-31",
	"3.0": "2018-07-30", "3.1": "2018-09-27", "3.2": "2018-11-29", "3.3": "2019-01-31", "3.4": "2019-03-29",
	"3.5": "2019-05-29", "3.6": "2019-08-28", "3.7": "2019-11-05", "3.8": "2020-02-20", "3.9": "2020-05-12",
	"4.0": "2020-08-20", "4.1": "2020-11-19", "4.2": "2021-02-23", "4.3": "2021-05-26", "4.4": "2021-08-26",
	"4.5": "2021-11-17", "4.6": "2022-02-28", "4.7": "2022-05-24", "4.8": "2022-08-25", "4.9": "2022-11-15",
	"5.0": "2023-03-16", "5.1": "2023-06-01", "5.2": "2023-08-24", "5.3": "2023-11-20", "5.4": "2024-03-06",
	"5.5": "2024-06-20", "5.6": "2024-09-09", "5.7": "2024-11-22", "5.8": "2025-02-28", "5.9": "2025-08-01",
}

// babelReleases are the release dates of Babel 7's minor releases (all @babel/* packages
// share its version numbers).
var babelReleases = map[string]string{
	"7.0": "2018-08-27", "7.1": "2018-09-17", "7.2": "2018-12-03", "7.3": "2019-01-21", "7.4": "2019-03-19",
	"7.5": "2019-07-04", "7.6": "2019-09-06", "7.7": "2019-11-05", "7.8": "2020-01-11", "7.9": "2020-03-20",
	"7.10": "2020-05-26", "7.11": "2020-07-30", "7.12": "2020-10-14", "7.13": "2021-02-22", "7.14": "2021-04-29",
	"7.15": "2021-08-04", "7.16": "2021-10-29", "7.17": "2022-02-02", "7.18": "2022-05-19", "7.19": "2022-09-05",
	"7.20": "2022-10-27", "7.21": "2023-02-20", "7.22": "2023-05-26", "7.23": "2023-09-25", "7.24": "2024-02-28",
	"7.25": "2024-07-24", "7.26": "2024-10-25", "7.27": "2025-03-24", "7.28": "2025-07-02",
}

// minorReleased is when the minor release of version v ("4.5", "4.5.2", "4.5.0-beta") came
// out according to table; false for releases it does not know.
func minorReleased(table map[string]string, v string) (time.Time, bool) {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return time.Time{}, false
	}
	d, ok := table[parts[0]+"."+parts[1]]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", d)
	return t, err == nil
}

// typeScriptReleased is when the minor release of version v ("4.5", "4.5.2", "4.5.0-beta")
// came out; false for releases the table does not know.
func typeScriptReleased(v string) (time.Time, bool) { return minorReleased(typeScriptReleases, v) }

// newestKnownTypeScript is the last date of the table: releases after it are unknown, and
// an era after it filters nothing (it cannot tell what came later).
func newestKnownTypeScript() time.Time {
	var last time.Time
	for k := range typeScriptReleases {
		if t, ok := typeScriptReleased(k); ok && t.After(last) {
			last = t
		}
	}
	return last
}

// applyToolchainEra moves the latest tag of the typescript, @babel/* and @types/* packuments
// (see above); other documents are returned unchanged.
func applyToolchainEra(body []byte, era time.Time) filterResult {
	keep := filterResult{body: body}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || era.After(newestKnownTypeScript()) {
		return keep
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil || !isObject(doc["versions"]) {
		return keep
	}
	var name string
	if json.Unmarshal(doc["name"], &name) != nil || (name != "typescript" && !strings.HasPrefix(name, "@types/") && !strings.HasPrefix(name, "@babel/")) {
		return keep
	}
	var versions map[string]json.RawMessage
	if json.Unmarshal(doc["versions"], &versions) != nil {
		return keep
	}
	var allowed []string
	for v, meta := range versions {
		var m struct {
			TypeScriptVersion string          `json:"typeScriptVersion"`
			Deprecated        json.RawMessage `json:"deprecated"`
		}
		if json.Unmarshal(meta, &m) != nil || len(m.Deprecated) > 0 && string(m.Deprecated) != "false" && string(m.Deprecated) != `""` {
			continue // a deprecated release (an @types stub) is not the era's choice
		}
		var t time.Time
		var ok bool
		switch {
		case name == "typescript": // the release itself
			t, ok = typeScriptReleased(v)
		case strings.HasPrefix(name, "@babel/"):
			t, ok = minorReleased(babelReleases, v)
		default: // @types: the oldest TypeScript it supports
			t, ok = typeScriptReleased(m.TypeScriptVersion)
		}
		if ok && !t.After(era) && !strings.Contains(v, "-") {
			allowed = append(allowed, v)
		}
	}
	var tags map[string]string
	if json.Unmarshal(doc["dist-tags"], &tags) != nil || tags == nil {
		return keep
	}
	newest := newestSemver(allowed)
	if newest == "" || tags["latest"] == newest || slices.Contains(allowed, tags["latest"]) {
		return keep
	}
	tags["latest"] = newest
	doc["dist-tags"] = mustJSON(tags)
	return filterResult{body: mustJSON(doc), filtered: true}
}

// eraPackument reports whether an npm registry path asks for the typescript, an @types/* or
// an @babel/* packument.
func eraPackument(p string) bool {
	p = strings.ToLower(p)
	for _, scope := range []string{"@types", "@babel"} {
		if strings.Contains(p, "/"+scope+"/") || strings.Contains(p, "/"+scope+"%2f") {
			return true
		}
	}
	return strings.HasSuffix(p, "/typescript")
}
