package npm

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/vouch-dev/vouch/internal/ecosystem"
	"github.com/vouch-dev/vouch/internal/verdict"
)

var (
	urlRE     = regexp.MustCompile(`https?://[^\s'"]+`)
	notInReg  = regexp.MustCompile(`'([^'\s]+)' is not in (?:this|the npm) registry`)
	gitRemote = regexp.MustCompile(`git (?:--no-replace-objects )?ls-remote (?:-h -t )?(\S+)`)
)

// installProblems reads an install's output for causes a maintainer can act on: packages the
// registry does not serve (HTTP 404: a partial mirror, an unpublished version) and git
// dependencies that could not be fetched.
func installProblems(out []byte) (missing, gitDeps []string) {
	seen := map[string]bool{}
	add := func(list *[]string, s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			*list = append(*list, s)
		}
	}
	recent404 := 0 // lines since a 404 (yarn prints the URL a few lines after the code)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		is404 := strings.Contains(line, " 404") || strings.Contains(line, "404 Not Found") || strings.Contains(line, "(Not Found)")
		if is404 {
			recent404 = 4
		} else if recent404 > 0 {
			recent404--
		}
		if m := notInReg.FindStringSubmatch(line); m != nil {
			add(&missing, m[1])
			continue
		}
		if m := gitRemote.FindStringSubmatch(line); m != nil {
			add(&gitDeps, m[1])
			continue
		}
		if recent404 > 0 && (is404 || strings.Contains(line, "Request URL:")) {
			if u := urlRE.FindString(line); u != "" {
				add(&missing, packageOfURL(u))
			}
		}
	}
	return missing, gitDeps
}

// packageOfURL names the package a registry URL is for: name@version for a tarball
// (/@scope/name/-/name-1.0.0.tgz), the name for a packument (/@scope%2fname).
func packageOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		p = u.Path
	}
	p = strings.TrimPrefix(p, "/")
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		base := name[strings.LastIndex(name, "/")+1:]
		if v, ok := strings.CutPrefix(strings.TrimSuffix(file, ".tgz"), base+"-"); ok {
			return name + "@" + v
		}
		return name
	}
	return p
}

// installFailure is the error for a failed install: the command's failure, with what
// installProblems found in its output.
func installFailure(err error, what string, out []byte) error {
	ferr := ecosystem.CommandFailure(err, verdict.ReasonInstallFailed, what)
	ve, ok := verdict.As(ferr)
	if !ok || ve.Reason != verdict.ReasonInstallFailed {
		return ferr
	}
	missing, gitDeps := installProblems(out)
	var why []string
	if len(missing) > 0 {
		why = append(why, fmt.Sprintf("the registry does not serve %d of the packages it needs (HTTP 404: %s): the registry or mirror lacks them", len(missing), listSome(missing, 3)))
	}
	if len(gitDeps) > 0 {
		why = append(why, fmt.Sprintf("git dependencies could not be fetched (%s): the build reaches package registries only", listSome(gitDeps, 3)))
	}
	if len(why) == 0 {
		return ferr
	}
	return verdict.Wrap(verdict.BuildFailed, verdict.ReasonInstallFailed, what+" failed: "+strings.Join(why, "; "), err)
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// tailWriter keeps the last n bytes written to it (at most 2n in memory): an install's errors
// come at the end of its output, after any number of warnings.
type tailWriter struct {
	buf []byte
	n   int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

// Bytes returns the last n bytes written.
func (t *tailWriter) Bytes() []byte {
	if len(t.buf) > t.n {
		return t.buf[len(t.buf)-t.n:]
	}
	return t.buf
}
