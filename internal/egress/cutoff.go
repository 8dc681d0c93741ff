package egress

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// filterResult says what the cut-off did to one metadata document.
type filterResult struct {
	body     []byte
	filtered bool   // versions or files were removed
	finding  string // set when the document could not be filtered
}

// pypiJSONPath matches the PyPI JSON API project endpoint (https://docs.pypi.org/api/json/).
var pypiJSONPath = regexp.MustCompile(`/pypi/[^/]+/json/?$`)

// applyCutoff hides registry versions published after cutoff in one metadata response.
// Formats: npm packuments (versions + time), the PyPI JSON API (releases[].upload_time) and
// PEP 691 Simple JSON (files[].upload-time, PEP 700). Anything else is returned unchanged.
// Versions or files without a parseable time are removed too: they cannot be shown to predate the cut-off.
func applyCutoff(path, contentType string, body []byte, cutoff time.Time) filterResult {
	keep := filterResult{body: body}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return keep
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return keep
	}
	switch {
	case isObject(doc["versions"]) && (doc["time"] != nil || doc["dist-tags"] != nil || doc["name"] != nil):
		return filterNPM(doc, body, cutoff)
	case pypiJSONPath.MatchString(path) && isObject(doc["releases"]):
		return filterPyPI(doc, body, cutoff)
	case strings.Contains(contentType, "application/vnd.pypi.simple") || (doc["meta"] != nil && isArray(doc["files"])):
		return filterSimple(doc, body, cutoff)
	}
	return keep
}

func isObject(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) > 0 && r[0] == '{'
}

func isArray(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) > 0 && r[0] == '['
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func filterNPM(doc map[string]json.RawMessage, body []byte, cutoff time.Time) filterResult {
	var versions map[string]json.RawMessage
	if err := json.Unmarshal(doc["versions"], &versions); err != nil {
		return filterResult{body: body}
	}
	var times map[string]json.RawMessage
	if doc["time"] == nil || json.Unmarshal(doc["time"], &times) != nil {
		if len(versions) == 0 {
			return filterResult{body: body}
		}
		return filterResult{body: body, finding: "registry cut-off not applied: packument has no publish times"}
	}
	dropped := map[string]bool{}
	for v := range versions {
		var ts string
		if json.Unmarshal(times[v], &ts) != nil {
			dropped[v] = true
			continue
		}
		t, ok := parseTime(ts)
		if !ok || t.After(cutoff) {
			dropped[v] = true
		}
	}
	return dropVersions(doc, body, versions, times, dropped)
}

// dropVersions removes the dropped versions from an npm packument (versions, time and
// dist-tags; "latest" becomes the newest remaining release).
func dropVersions(doc map[string]json.RawMessage, body []byte, versions, times map[string]json.RawMessage, dropped map[string]bool) filterResult {
	if len(dropped) == 0 {
		return filterResult{body: body}
	}
	var remaining []string
	for v := range versions {
		if dropped[v] {
			delete(versions, v)
			delete(times, v)
		} else {
			remaining = append(remaining, v)
		}
	}
	doc["versions"] = mustJSON(versions)
	if times != nil {
		doc["time"] = mustJSON(times)
	}
	var tags map[string]string
	if doc["dist-tags"] != nil && json.Unmarshal(doc["dist-tags"], &tags) == nil {
		for tag, v := range tags {
			if dropped[v] || versions[v] == nil {
				delete(tags, tag)
			}
		}
		if _, ok := tags["latest"]; !ok {
			if v := newestSemver(remaining); v != "" {
				tags["latest"] = v
			}
		}
		doc["dist-tags"] = mustJSON(tags)
	}
	return filterResult{body: mustJSON(doc), filtered: true}
}

type pypiFile struct {
	UploadTimeISO string `json:"upload_time_iso_8601"`
	UploadTime    string `json:"upload_time"`
}

func (f pypiFile) time() (time.Time, bool) {
	if t, ok := parseTime(f.UploadTimeISO); ok {
		return t, true
	}
	return parseTime(f.UploadTime) // "2006-01-02T15:04:05", UTC
}

func filterPyPI(doc map[string]json.RawMessage, body []byte, cutoff time.Time) filterResult {
	var releases map[string][]json.RawMessage
	if err := json.Unmarshal(doc["releases"], &releases); err != nil {
		return filterResult{body: body}
	}
	changed := false
	newest, newestAt := "", time.Time{}
	for v, files := range releases {
		var kept []json.RawMessage
		var latest time.Time
		for _, raw := range files {
			var f pypiFile
			t, ok := time.Time{}, false
			if json.Unmarshal(raw, &f) == nil {
				t, ok = f.time()
			}
			if !ok || t.After(cutoff) {
				changed = true
				continue
			}
			kept = append(kept, raw)
			if t.After(latest) {
				latest = t
			}
		}
		if len(kept) == 0 {
			delete(releases, v)
			changed = true
			continue
		}
		releases[v] = kept
		if latest.After(newestAt) || (latest.Equal(newestAt) && v > newest) {
			newest, newestAt = v, latest
		}
	}
	if !changed {
		return filterResult{body: body}
	}
	doc["releases"] = mustJSON(releases)
	var info map[string]json.RawMessage
	if doc["info"] != nil && json.Unmarshal(doc["info"], &info) == nil {
		var cur string
		_ = json.Unmarshal(info["version"], &cur)
		if _, ok := releases[cur]; !ok {
			// The project's current version was hidden: show the newest remaining release instead.
			info["version"] = mustJSON(newest)
			doc["info"] = mustJSON(info)
			urls := releases[newest]
			if urls == nil {
				urls = []json.RawMessage{}
			}
			doc["urls"] = mustJSON(urls)
		}
	}
	return filterResult{body: mustJSON(doc), filtered: true}
}

func filterSimple(doc map[string]json.RawMessage, body []byte, cutoff time.Time) filterResult {
	var files []map[string]json.RawMessage
	if err := json.Unmarshal(doc["files"], &files); err != nil {
		return filterResult{body: body}
	}
	kept := make([]map[string]json.RawMessage, 0, len(files))
	for _, f := range files {
		var ts string
		if json.Unmarshal(f["upload-time"], &ts) != nil {
			continue
		}
		if t, ok := parseTime(ts); ok && !t.After(cutoff) {
			kept = append(kept, f)
		}
	}
	if len(kept) == len(files) {
		return filterResult{body: body}
	}
	doc["files"] = mustJSON(kept)
	return filterResult{body: mustJSON(doc), filtered: true}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values decoded from JSON above are marshalled; this cannot fail.
		panic(err)
	}
	return b
}

// newestSemver returns the highest release version (no prerelease) in vs, else the highest version,
// by Semantic Versioning 2.0.0 §11 precedence. Unparseable versions rank lowest.
func newestSemver(vs []string) string {
	sorted := append([]string(nil), vs...)
	sort.Slice(sorted, func(i, j int) bool { return compareSemver(sorted[i], sorted[j]) > 0 })
	for _, v := range sorted {
		if sv, ok := parseSemver(v); ok && len(sv.pre) == 0 {
			return v
		}
	}
	if len(sorted) > 0 {
		return sorted[0]
	}
	return ""
}

type semver struct {
	nums [3]uint64
	pre  []string
}

func parseSemver(v string) (semver, bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	var s semver
	core := v
	if i := strings.IndexByte(v, '-'); i >= 0 {
		core = v[:i]
		s.pre = strings.Split(v[i+1:], ".")
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}, false
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return semver{}, false
		}
		s.nums[i] = n
	}
	return s, true
}

func compareSemver(a, b string) int {
	sa, oka := parseSemver(a)
	sb, okb := parseSemver(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range sa.nums {
		if sa.nums[i] != sb.nums[i] {
			if sa.nums[i] < sb.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(sa.pre) == 0 && len(sb.pre) == 0:
		return 0
	case len(sa.pre) == 0:
		return 1
	case len(sb.pre) == 0:
		return -1
	}
	for i := 0; i < len(sa.pre) && i < len(sb.pre); i++ {
		x, y := sa.pre[i], sb.pre[i]
		nx, ex := strconv.ParseUint(x, 10, 64)
		ny, ey := strconv.ParseUint(y, 10, 64)
		switch {
		case ex == nil && ey == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		case ex == nil:
			return -1
		case ey == nil:
			return 1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(sa.pre) < len(sb.pre):
		return -1
	case len(sa.pre) > len(sb.pre):
		return 1
	}
	return 0
}
