package npm

import (
	"bytes"
	"encoding/json"
	"time"
)

// Packument is the registry document of one package: every version and its metadata
// (https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md).
type Packument struct {
	Name     string
	Versions map[string]*Version
	// Time maps "created", "modified" and each version to an RFC 3339 timestamp. Values that
	// are not strings (such as the "unpublished" object) are dropped.
	Time     map[string]string
	DistTags map[string]string
	// Repository is the package-level repository (usually the latest version's); nil if absent.
	Repository *Repository
}

// UnmarshalJSON decodes a packument leniently: a field of an unexpected type is ignored
// rather than failing the whole document (old packuments hold all sorts of shapes).
func (p *Packument) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name       json.RawMessage            `json:"name"`
		Versions   map[string]json.RawMessage `json:"versions"`
		Time       map[string]json.RawMessage `json:"time"`
		DistTags   map[string]json.RawMessage `json:"dist-tags"`
		Repository json.RawMessage            `json:"repository"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = Packument{Name: str(raw.Name), Versions: map[string]*Version{}, Time: map[string]string{}, DistTags: map[string]string{}}
	for k, v := range raw.Versions {
		var ver Version
		if err := json.Unmarshal(v, &ver); err != nil {
			continue // not an object: not a usable version
		}
		p.Versions[k] = &ver
	}
	for k, v := range raw.Time {
		if s, ok := strOK(v); ok {
			p.Time[k] = s
		}
	}
	for k, v := range raw.DistTags {
		if s, ok := strOK(v); ok {
			p.DistTags[k] = s
		}
	}
	p.Repository = parseRepository(raw.Repository)
	return nil
}

// Version is one version document of a packument (the package.json as published plus
// registry fields). Missing fields are normal: the zero value means "not stated".
type Version struct {
	Name    string
	Version string
	Dist    Dist
	// GitHead is the commit npm recorded at publish time ("" if absent).
	GitHead     string
	NpmVersion  string // _npmVersion
	NodeVersion string // _nodeVersion
	Repository  *Repository
	Scripts     map[string]string
	// Workspaces reports whether the published package.json declares workspaces.
	Workspaces     bool
	PackageManager string
	// Raw is the whole version document as the registry served it.
	Raw json.RawMessage
	// PublishedAt is the packument's time for this version; zero when missing or unparseable.
	PublishedAt time.Time
}

// Dist is the "dist" object of a version.
type Dist struct {
	Tarball      string
	Integrity    string // Subresource Integrity string, e.g. "sha512-..."
	Shasum       string // hex sha1
	FileCount    int
	UnpackedSize int64
	Signatures   []Signature
	// Attestations is the raw "dist.attestations" object (npm provenance), nil if absent.
	Attestations json.RawMessage
}

// Signature is one registry signature over "name@version:integrity".
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Repository is the "repository" field. npm accepts a string or an object.
type Repository struct {
	Type      string `json:"type,omitempty"`
	URL       string `json:"url"`
	Directory string `json:"directory,omitempty"`
}

// UnmarshalJSON accepts both "url" and {"type","url","directory"}.
func (r *Repository) UnmarshalJSON(b []byte) error {
	if p := parseRepository(b); p != nil {
		*r = *p
		return nil
	}
	*r = Repository{}
	return nil
}

func parseRepository(b json.RawMessage) *Repository {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if s, ok := strOK(b); ok {
		if s == "" {
			return nil
		}
		return &Repository{URL: s}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err == nil {
		r := &Repository{Type: str(obj["type"]), URL: str(obj["url"]), Directory: str(obj["directory"])}
		if r.URL == "" && r.Directory == "" {
			return nil
		}
		return r
	}
	// Some old packages list several repositories; take the first usable one.
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err == nil {
		for _, e := range arr {
			if r := parseRepository(e); r != nil {
				return r
			}
		}
	}
	return nil
}

// UnmarshalJSON decodes a version document leniently and keeps it in Raw.
func (v *Version) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name           json.RawMessage `json:"name"`
		Version        json.RawMessage `json:"version"`
		Dist           json.RawMessage `json:"dist"`
		GitHead        json.RawMessage `json:"gitHead"`
		NpmVersion     json.RawMessage `json:"_npmVersion"`
		NodeVersion    json.RawMessage `json:"_nodeVersion"`
		Repository     json.RawMessage `json:"repository"`
		Scripts        json.RawMessage `json:"scripts"`
		Workspaces     json.RawMessage `json:"workspaces"`
		PackageManager json.RawMessage `json:"packageManager"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = Version{
		Name:           str(raw.Name),
		Version:        str(raw.Version),
		GitHead:        str(raw.GitHead),
		NpmVersion:     str(raw.NpmVersion),
		NodeVersion:    str(raw.NodeVersion),
		Repository:     parseRepository(raw.Repository),
		Workspaces:     len(raw.Workspaces) > 0 && string(bytes.TrimSpace(raw.Workspaces)) != "null",
		PackageManager: str(raw.PackageManager),
		Raw:            append(json.RawMessage(nil), b...),
	}
	var scripts map[string]json.RawMessage
	if json.Unmarshal(raw.Scripts, &scripts) == nil && len(scripts) > 0 {
		v.Scripts = map[string]string{}
		for k, s := range scripts {
			if s, ok := strOK(s); ok {
				v.Scripts[k] = s
			}
		}
	}
	var dist struct {
		Tarball      json.RawMessage `json:"tarball"`
		Integrity    json.RawMessage `json:"integrity"`
		Shasum       json.RawMessage `json:"shasum"`
		FileCount    json.RawMessage `json:"fileCount"`
		UnpackedSize json.RawMessage `json:"unpackedSize"`
		Signatures   json.RawMessage `json:"signatures"`
		Attestations json.RawMessage `json:"attestations"`
	}
	if json.Unmarshal(raw.Dist, &dist) == nil {
		v.Dist = Dist{
			Tarball:      str(dist.Tarball),
			Integrity:    str(dist.Integrity),
			Shasum:       str(dist.Shasum),
			FileCount:    int(num(dist.FileCount)),
			UnpackedSize: num(dist.UnpackedSize),
		}
		var sigs []Signature
		if json.Unmarshal(dist.Signatures, &sigs) == nil {
			v.Dist.Signatures = sigs
		}
		if a := bytes.TrimSpace(dist.Attestations); len(a) > 0 && string(a) != "null" {
			v.Dist.Attestations = append(json.RawMessage(nil), a...)
		}
	}
	return nil
}

func strOK(b json.RawMessage) (string, bool) {
	var s string
	if len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

func str(b json.RawMessage) string {
	s, _ := strOK(b)
	return s
}

func num(b json.RawMessage) int64 {
	var n int64
	if len(b) == 0 || json.Unmarshal(b, &n) != nil {
		return 0
	}
	return n
}
