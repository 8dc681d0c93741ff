package npm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Publishing tools that annotate the manifest: lerna publish (and tools built on it, and
// some projects' own release scripts) write "gitHead": "<commit>" into each package.json
// before packing, so the published manifest names the commit it was made from; npm itself
// puts gitHead only into the registry's metadata. The strategy parameter git_head repeats
// that: "end" appends the field (lerna), "after:KEY" puts it after the top-level KEY (a
// release script that keeps keys sorted). The value is the commit the rebuild checked out.

// gitHeadPlacement says where the published package.json up has a top-level "gitHead" that
// the repository's src lacks, as a git_head parameter value.
func gitHeadPlacement(up, src []byte) (string, bool) {
	upKeys, err := topLevelKeys(up)
	if err != nil {
		return "", false
	}
	srcKeys, err := topLevelKeys(src)
	if err != nil {
		return "", false
	}
	for _, k := range srcKeys {
		if k == "gitHead" {
			return "", false
		}
	}
	for i, k := range upKeys {
		if k != "gitHead" {
			continue
		}
		switch {
		case i == len(upKeys)-1:
			return "end", true
		case i == 0:
			return "", false // no tool is known to put it first
		default:
			return "after:" + upKeys[i-1], true
		}
	}
	return "", false
}

// topLevelKeys lists the keys of the JSON object b in order.
func topLevelKeys(b []byte) ([]string, error) {
	var keys []string
	err := walkObject(b, func(key string, _ int64) bool {
		keys = append(keys, key)
		return true
	})
	return keys, err
}

// walkObject calls f with each top-level key of the JSON object b and the offset of the end
// of its value, until f returns false.
func walkObject(b []byte, f func(key string, end int64) bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("package.json is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return errors.New("package.json: object key expected")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if !f(key, dec.InputOffset()) {
			return nil
		}
	}
	return nil
}

// annotateGitHead writes "gitHead": commit into the package.json file at the placement
// (gitHeadPlacement's value), in the file's own indentation and line endings.
func annotateGitHead(file, commit, placement string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	after, byKey := strings.CutPrefix(placement, "after:")
	if !byKey && placement != "end" {
		return fmt.Errorf("strategy parameter git_head %q: want \"end\" or \"after:KEY\"", placement)
	}
	at := int64(-1)
	var last int64 = -1
	err = walkObject(b, func(key string, end int64) bool {
		if key == "gitHead" {
			at, last = -2, -2
			return false
		}
		last = end
		if byKey && key == after {
			at = end
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", file, err)
	case at == -2:
		return nil // already there
	case at < 0:
		at = last // the key is gone: lerna's place, the end
	}
	if at < 0 {
		return fmt.Errorf("%s: an empty object", file)
	}
	nl, indent := "\n", "  "
	if bytes.Contains(b, []byte("\r\n")) {
		nl = "\r\n"
	}
	// The indentation of the first key.
	if open := bytes.IndexByte(b, '{'); open >= 0 {
		rest := b[open+1:]
		ws := rest[:len(rest)-len(bytes.TrimLeft(rest, " \t\r\n"))]
		if i := bytes.LastIndexByte(ws, '\n'); i >= 0 {
			indent = string(ws[i+1:])
		} else {
			nl, indent = "", " "
		}
	}
	value, _ := json.Marshal(commit)
	insert := "," + nl + indent + `"gitHead": ` + string(value)
	out := make([]byte, 0, len(b)+len(insert))
	out = append(append(append(out, b[:at]...), insert...), b[at:]...)
	return os.WriteFile(file, out, 0o644)
}
