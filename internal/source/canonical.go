// Package source finds the source of a package version: it canonicalises repository URLs
// from registry metadata, keeps bare git mirrors of repositories, and locates the commit and
// directory a version was built from (design §1.2).
package source

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// knownHosts are the forges whose URL layout Canonicalize understands. ssh:// and scp-like
// URLs are only accepted for them (design §2: no ssh to arbitrary hosts; vouch fetches over
// https anyway).
var knownHosts = map[string]bool{
	"github.com": true, "gitlab.com": true, "bitbucket.org": true,
	"codeberg.org": true, "git.sr.ht": true, "gitee.com": true,
}

// shorthands are the "provider:owner/repo" forms npm accepts
// (https://docs.npmjs.com/cli/v10/configuring-npm/package-json#repository).
var shorthands = map[string]string{"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}

var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_.~][A-Za-z0-9_.~-]*$`)
	hostRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$`)
	// scp-like syntax: [user@]host:path, the path not starting with "/" or a second ":".
	scpRE = regexp.MustCompile(`^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+):([^/:][^:]*)$`)
	// npm's bare "owner/repo" shorthand means GitHub; GitHub owners have no dots.
	bareRE   = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$`)
	dirSegRE = regexp.MustCompile(`^[A-Za-z0-9_.@+~-]+$`)
)

func refuse(raw, why string) error {
	return verdict.Errorf(verdict.NoSource, verdict.ReasonUnsupportedRepo, "repository URL %q refused: %s", safeShow(raw), why)
}

// safeShow shortens and de-credentials a URL for a message.
func safeShow(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 && strings.Contains(rest[:at], ":") {
			raw = raw[:i+3] + "REDACTED@" + rest[at+1:]
		}
	}
	if len(raw) > 200 {
		raw = raw[:200] + "..."
	}
	return raw
}

// Canonicalize turns a repository URL as registries state it into
// https://host/owner/repo (lowercase host, no ".git", no trailing slash), and a directory
// inside the repository when the URL names one (…/tree/<ref>/packages/x → packages/x).
// URLs that could make git do anything but fetch over https are refused with a
// *verdict.Error (no_source/unsupported_repo); an empty URL gives no_source/no_repo_url.
func Canonicalize(raw string) (repo, dir string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", verdict.Errorf(verdict.NoSource, verdict.ReasonNoRepoURL, "the package metadata names no repository")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\\' {
			return "", "", refuse(raw, "contains whitespace, control or backslash characters")
		}
	}
	if strings.HasPrefix(s, "-") {
		return "", "", refuse(raw, "starts with '-'")
	}
	if strings.Contains(s, "::") {
		return "", "", refuse(raw, "git remote-helper syntax (such as ext::) is not allowed")
	}
	// Drop a fragment (#readme, #branch, #semver:^1) and a query: they never name the repository.
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}

	var host, p string
	switch {
	case strings.Contains(s, "://"):
		host, p, err = parseURL(raw, s)
		if err != nil {
			return "", "", err
		}
	case bareRE.MatchString(s):
		host, p = "github.com", s
	default:
		if prefix, rest, ok := strings.Cut(s, ":"); ok {
			if h, ok := shorthands[strings.ToLower(prefix)]; ok {
				host, p = h, rest
				break
			}
			switch strings.ToLower(prefix) {
			case "file", "gist", "git", "http", "https", "ssh":
				return "", "", refuse(raw, "unsupported form "+prefix+":")
			}
			if m := scpRE.FindStringSubmatch(s); m != nil {
				host = strings.ToLower(m[2])
				if strings.HasPrefix(host, "www.") {
					host = host[4:]
				}
				if !knownHosts[host] {
					return "", "", refuse(raw, "ssh access to "+host+" is not supported; only https is fetched")
				}
				p = m[3]
				break
			}
			return "", "", refuse(raw, "unknown scheme "+prefix+":")
		}
		// host/owner/repo without a scheme (a dot in the first segment makes it a host).
		first, rest, ok := strings.Cut(s, "/")
		if !ok || !strings.Contains(first, ".") {
			return "", "", refuse(raw, "not a repository URL")
		}
		host, p = strings.ToLower(first), rest
		if strings.HasPrefix(host, "www.") {
			host = host[4:]
		}
	}
	if !hostRE.MatchString(host) {
		return "", "", refuse(raw, "bad host")
	}
	repoPath, dir, err := splitPath(raw, host, p)
	if err != nil {
		return "", "", err
	}
	return "https://" + host + "/" + repoPath, dir, nil
}

// parseURL handles scheme://… forms and returns the lowercase host and the path.
func parseURL(raw, s string) (host, p string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", refuse(raw, "unparseable URL")
	}
	scheme := strings.ToLower(u.Scheme)
	host = strings.ToLower(u.Host)
	if strings.HasPrefix(host, "www.") {
		host = host[4:]
	}
	switch scheme {
	case "https", "http", "git+https", "git+http", "git":
		if u.User != nil {
			if _, hasPass := u.User.Password(); hasPass || u.User.Username() != "git" {
				return "", "", refuse(raw, "the URL carries credentials or a user name")
			}
		}
	case "ssh", "git+ssh":
		if _, hasPass := u.User.Password(); hasPass {
			return "", "", refuse(raw, "the URL carries credentials")
		}
		if u.Port() != "" {
			host = strings.ToLower(u.Hostname())
		}
		if !knownHosts[host] {
			return "", "", refuse(raw, "ssh access to "+host+" is not supported; only https is fetched")
		}
		// ssh://git@github.com:owner/repo (an scp path after a colon) is a common mistake.
		if u.Port() != "" && !isDigits(u.Port()) {
			return "", "", refuse(raw, "bad port")
		}
	case "file":
		return "", "", refuse(raw, "file: URLs from package metadata are not fetched (configure a local mirror with git's url.<base>.insteadOf)")
	default:
		return "", "", refuse(raw, "unsupported scheme "+u.Scheme+":")
	}
	if host == "" || strings.HasPrefix(host, "-") {
		return "", "", refuse(raw, "bad host")
	}
	if u.RawPath != "" || strings.Contains(u.Path, "%") {
		return "", "", refuse(raw, "percent-encoded path")
	}
	return host, strings.TrimPrefix(u.Path, "/"), nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// splitPath separates the repository path from a directory named by a forge's web URL.
func splitPath(raw, host, p string) (repoPath, dir string, err error) {
	p = strings.Trim(p, "/")
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	var rest []string
	switch host {
	case "github.com", "bitbucket.org", "codeberg.org", "gitee.com":
		if len(segs) < 2 {
			return "", "", refuse(raw, "expected "+host+"/owner/repository")
		}
		segs, rest = segs[:2], segs[2:]
		// …/tree/<ref>/<dir> and …/blob/<ref>/<file> (GitHub, Codeberg: src/branch/<ref>),
		// …/src/<ref>/<dir> (Bitbucket).
		dir = webDir(rest, map[string]bool{"tree": true, "blob": false, "src": true})
	case "gitlab.com":
		// GitLab allows subgroups; "/-/" starts the web part.
		for i, s := range segs {
			if s == "-" {
				segs, rest = segs[:i], segs[i+1:]
				break
			}
		}
		if len(segs) < 2 {
			return "", "", refuse(raw, "expected gitlab.com/group/repository")
		}
		dir = webDir(rest, map[string]bool{"tree": true, "blob": false})
	default:
		if len(segs) < 1 {
			return "", "", refuse(raw, "no repository path")
		}
	}
	last := len(segs) - 1
	segs[last] = strings.TrimSuffix(segs[last], ".git")
	for _, s := range segs {
		if !segmentRE.MatchString(s) || s == "." || s == ".." {
			return "", "", refuse(raw, fmt.Sprintf("bad path segment %q", s))
		}
	}
	return strings.Join(segs, "/"), dir, nil
}

// webDir reads <kind>/<ref>/<path...> from a forge web URL; kinds mapped to false name a
// file, so its directory is returned. Unsafe directories are dropped (a hint only).
func webDir(rest []string, kinds map[string]bool) string {
	if len(rest) < 3 {
		return ""
	}
	isDir, ok := kinds[rest[0]]
	if !ok {
		return ""
	}
	parts := rest[2:]
	if rest[0] == "src" && len(rest) >= 4 && (rest[1] == "branch" || rest[1] == "tag" || rest[1] == "commit") {
		parts = rest[3:] // Codeberg/Gitea: src/branch/<ref>/<dir>
	}
	if !isDir {
		parts = parts[:len(parts)-1]
	}
	for _, s := range parts {
		if !dirSegRE.MatchString(s) || s == "." || s == ".." {
			return ""
		}
	}
	return path.Join(parts...)
}
