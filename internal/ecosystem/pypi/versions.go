package pypi

import (
	"strconv"
	"strings"
)

// pepVersion is the part of a PEP 440 version vouch orders by: the release segments, and
// whether it is a pre-release or development release (https://peps.python.org/pep-0440/).
type pepVersion struct {
	release []int
	pre     bool
	post    int
}

// parsePEP440 reads versions such as 1.2, v1.2.3, 2.0.0rc1, 1.0.post2, 3.1.dev0, 1!2.0
// (the epoch is ignored), and 1.0+local (the local part is ignored).
func parsePEP440(v string) (pepVersion, bool) {
	v = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "v")
	if i := strings.IndexByte(v, '!'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	var p pepVersion
	i := 0
	for {
		j := i
		for j < len(v) && v[j] >= '0' && v[j] <= '9' {
			j++
		}
		if j == i {
			return p, false
		}
		n, err := strconv.Atoi(v[i:j])
		if err != nil {
			return p, false
		}
		p.release = append(p.release, n)
		i = j
		if i < len(v) && v[i] == '.' && i+1 < len(v) && v[i+1] >= '0' && v[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	rest := strings.TrimLeft(v[i:], ".-_")
	switch {
	case rest == "":
	case strings.HasPrefix(rest, "a"), strings.HasPrefix(rest, "b"), strings.HasPrefix(rest, "c"),
		strings.HasPrefix(rest, "rc"), strings.HasPrefix(rest, "pre"), strings.HasPrefix(rest, "dev"):
		p.pre = true // a, b, c, rc, alpha, beta, pre, preview, dev
	case strings.HasPrefix(rest, "post"), strings.HasPrefix(rest, "rev"), strings.HasPrefix(rest, "r"):
		n, _ := strconv.Atoi(strings.TrimLeft(strings.TrimLeft(rest, "postrev"), ".-_"))
		p.post = n + 1
	default:
		return p, false
	}
	return p, true
}

func (a pepVersion) cmp(b pepVersion) int {
	n := max(len(a.release), len(b.release))
	for i := 0; i < n; i++ {
		x, y := 0, 0
		if i < len(a.release) {
			x = a.release[i]
		}
		if i < len(b.release) {
			y = b.release[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre != b.pre:
		if a.pre {
			return -1
		}
		return 1
	case a.post != b.post:
		if a.post < b.post {
			return -1
		}
		return 1
	}
	return 0
}

// satisfies reports whether version meets a PEP 440 specifier set (">=61,<70", "~=1.2",
// "==3.*"). Clauses it cannot read are treated as met: the pin is a preference, and pip
// has the last word.
func satisfies(version, spec string) bool {
	v, ok := parsePEP440(version)
	if !ok {
		return true
	}
	for _, clause := range strings.Split(spec, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		op := ""
		for _, o := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
			if strings.HasPrefix(clause, o) {
				op = o
				break
			}
		}
		if op == "" {
			continue
		}
		rhs := strings.TrimSpace(clause[len(op):])
		if op == "==" || op == "!=" {
			if prefix, ok := strings.CutSuffix(rhs, ".*"); ok {
				pv, ok := parsePEP440(prefix)
				if !ok {
					continue
				}
				match := len(v.release) >= len(pv.release)
				for i := 0; match && i < len(pv.release); i++ {
					match = v.release[i] == pv.release[i]
				}
				if match != (op == "==") {
					return false
				}
				continue
			}
		}
		w, ok := parsePEP440(rhs)
		if !ok {
			continue
		}
		c := v.cmp(w)
		switch op {
		case "==", "===":
			if c != 0 {
				return false
			}
		case "!=":
			if c == 0 {
				return false
			}
		case "<=":
			if c > 0 {
				return false
			}
		case ">=":
			if c < 0 {
				return false
			}
		case "<":
			if c >= 0 {
				return false
			}
		case ">":
			if c <= 0 {
				return false
			}
		case "~=":
			if c < 0 || len(w.release) < 2 {
				return c >= 0
			}
			for i := 0; i < len(w.release)-1; i++ {
				if i >= len(v.release) || v.release[i] != w.release[i] {
					return false
				}
			}
		}
	}
	return true
}
