package pypi

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/vouch-dev/vouch/internal/verdict"
)

// simpleDoc is a PEP 691 project page.
type simpleDoc struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name  string `json:"name"`
	Files []struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython string            `json:"requires-python"`
		Yanked         any               `json:"yanked"`
		UploadTime     string            `json:"upload-time"` // PEP 700
		Size           int64             `json:"size"`        // PEP 700
	} `json:"files"`
}

// SimpleFiles lists a project's files from the Simple API, PEP 691 JSON when the index
// serves it, PEP 503 HTML otherwise. Relative URLs are resolved against the page.
func (c *Client) SimpleFiles(ctx context.Context, name string) ([]File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	u := c.SimpleURL() + url.PathEscape(Normalize(name)) + "/"
	body, ct, err := c.get(ctx, u, simpleAccept, c.maxMetadata)
	if err != nil {
		if isNotFound(err) {
			return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonNotFound, "PyPI project "+name, err)
		}
		return nil, registryError(u, err)
	}
	base, _ := url.Parse(u)
	if strings.Contains(ct, "json") {
		files, err := parseSimpleJSON(body, base)
		if err != nil {
			return nil, verdict.Wrap(verdict.UpstreamError, verdict.ReasonBadMetadata, "parsing "+u, err)
		}
		return files, nil
	}
	return ParseSimpleHTML(body, base), nil
}

func parseSimpleJSON(body []byte, base *url.URL) ([]File, error) {
	var doc simpleDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var out []File
	for _, f := range doc.Files {
		ref, err := url.Parse(f.URL)
		if err != nil {
			continue
		}
		yanked := false
		switch y := f.Yanked.(type) {
		case bool:
			yanked = y
		case string:
			yanked = true
		}
		out = append(out, File{
			Filename: f.Filename, URL: base.ResolveReference(ref).String(), Digests: f.Hashes,
			Size: f.Size, UploadTime: f.UploadTime, Yanked: yanked, RequiresPython: f.RequiresPython,
			PackageType: packageType(f.Filename),
		})
	}
	return out, nil
}

var (
	anchorRE = regexp.MustCompile(`(?is)<a\s([^>]*)>(.*?)</a>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// ParseSimpleHTML reads the anchors of a PEP 503 page: the href's fragment carries the
// digest (#sha256=...), data-yanked marks yanked files (PEP 592).
func ParseSimpleHTML(body []byte, base *url.URL) []File {
	var out []File
	for _, m := range anchorRE.FindAllSubmatch(body, -1) {
		attrs := map[string]string{}
		hasYanked := false
		for _, a := range attrRE.FindAllSubmatch(m[1], -1) {
			v := string(a[2])
			if len(a[3]) > 0 {
				v = string(a[3])
			}
			attrs[strings.ToLower(string(a[1]))] = html.UnescapeString(v)
		}
		if _, ok := attrs["data-yanked"]; ok {
			hasYanked = true
		}
		href := attrs["href"]
		if href == "" {
			continue
		}
		ref, err := url.Parse(href)
		if err != nil {
			continue
		}
		abs := base.ResolveReference(ref)
		digests := map[string]string{}
		if alg, sum, ok := strings.Cut(abs.Fragment, "="); ok {
			digests[strings.ToLower(alg)] = strings.ToLower(sum)
		}
		abs.Fragment = ""
		name := strings.TrimSpace(html.UnescapeString(string(m[2])))
		if p := abs.Path; name == "" || strings.ContainsAny(name, "<>") {
			name = p[strings.LastIndex(p, "/")+1:]
		}
		out = append(out, File{
			Filename: name, URL: abs.String(), Digests: digests, Yanked: hasYanked,
			RequiresPython: attrs["data-requires-python"], PackageType: packageType(name),
		})
	}
	return out
}
