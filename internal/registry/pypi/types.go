package pypi

import (
	"strings"
	"time"
)

// Info is the "info" object of the JSON API (the core metadata of one version).
type Info struct {
	Name                   string            `json:"name"`
	Version                string            `json:"version"`
	Summary                string            `json:"summary,omitempty"`
	HomePage               string            `json:"home_page,omitempty"`
	DownloadURL            string            `json:"download_url,omitempty"`
	ProjectURLs            map[string]string `json:"project_urls,omitempty"`
	Description            string            `json:"description,omitempty"`
	DescriptionContentType string            `json:"description_content_type,omitempty"`
	RequiresPython         string            `json:"requires_python,omitempty"`
	// InfoFromLatest is set (by the client) when the links come from the project's latest
	// version because the index did not serve this version's own metadata.
	InfoFromLatest bool `json:"-"`
}

// File is one distribution file of a release.
type File struct {
	Filename string `json:"filename"`
	URL      string `json:"url"`
	// PackageType is "bdist_wheel" or "sdist" (older uploads: bdist_egg, bdist_wininst, ...).
	PackageType   string            `json:"packagetype"`
	PythonVersion string            `json:"python_version,omitempty"`
	Digests       map[string]string `json:"digests"`
	Size          int64             `json:"size"`
	UploadTime    string            `json:"upload_time_iso_8601,omitempty"`
	// UploadTimeNaive is the older "upload_time" field (UTC, no zone).
	UploadTimeNaive string `json:"upload_time,omitempty"`
	Yanked          bool   `json:"yanked,omitempty"`
	RequiresPython  string `json:"requires_python,omitempty"`
}

// SHA256 is the file's hex sha256 as the index states it ("" when absent).
func (f File) SHA256() string { return strings.ToLower(f.Digests["sha256"]) }

// Uploaded is the upload time, zero when the index does not say.
func (f File) Uploaded() time.Time {
	for _, s := range []string{f.UploadTime, f.UploadTimeNaive} {
		if s == "" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

// IsWheel reports a wheel (PEP 427 file name).
func (f File) IsWheel() bool { return strings.HasSuffix(f.Filename, ".whl") }

// IsSdist reports a source distribution (.tar.gz per PEP 625, or the legacy .zip).
func (f File) IsSdist() bool {
	return f.PackageType == "sdist" || strings.HasSuffix(f.Filename, ".tar.gz") ||
		(strings.HasSuffix(f.Filename, ".zip") && f.PackageType != "bdist_wheel")
}

// WheelTags returns the python, abi and platform tags of a wheel file name
// ({name}-{ver}(-{build})?-{python}-{abi}-{platform}.whl, PEP 427), ok=false otherwise.
func WheelTags(filename string) (py, abi, plat string, ok bool) {
	base, found := strings.CutSuffix(filename, ".whl")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(base, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return "", "", "", false
	}
	n := len(parts)
	return parts[n-3], parts[n-2], parts[n-1], true
}

// IsPureWheel reports a wheel for any platform and ABI (py3-none-any, py2.py3-none-any).
func IsPureWheel(filename string) bool {
	py, abi, plat, ok := WheelTags(filename)
	if !ok || abi != "none" || plat != "any" {
		return false
	}
	for _, t := range strings.Split(py, ".") {
		if strings.HasPrefix(t, "py3") || t == "py2" || strings.HasPrefix(t, "py") {
			return true
		}
	}
	return false
}

// Project is the JSON API project document.
type Project struct {
	Info     Info              `json:"info"`
	Releases map[string][]File `json:"releases"`
	URLs     []File            `json:"urls"`
}

type versionDoc struct {
	Info Info   `json:"info"`
	URLs []File `json:"urls"`
}

// Release is one version with its files.
type Release struct {
	Name, Version string
	Info          Info
	Files         []File
	// Source names the API that answered: json-version, json-project or simple.
	Source string
}

// Select picks the artifact to rebuild: the file named fileName when given, else the pure
// wheel (py3-none-any before py2.py3-none-any and others), else the sdist. ok=false when
// none fits.
func (r *Release) Select(fileName string) (File, bool) {
	if fileName != "" {
		for _, f := range r.Files {
			if f.Filename == fileName {
				return f, true
			}
		}
		return File{}, false
	}
	best, rank := File{}, 0
	for _, f := range r.Files {
		if f.Yanked && rank > 0 {
			continue
		}
		k := 0
		switch {
		case strings.HasSuffix(f.Filename, "-py3-none-any.whl"):
			k = 4
		case IsPureWheel(f.Filename):
			k = 3
		case f.IsSdist() && strings.HasSuffix(f.Filename, ".tar.gz"):
			k = 2
		case f.IsSdist():
			k = 1
		}
		if k > rank {
			best, rank = f, k
		}
	}
	return best, rank > 0
}

// Sdist returns the release's source distribution (.tar.gz preferred).
func (r *Release) Sdist() (File, bool) {
	var zip File
	for _, f := range r.Files {
		if f.IsSdist() && strings.HasSuffix(f.Filename, ".tar.gz") {
			return f, true
		}
		if f.IsSdist() && zip.Filename == "" {
			zip = f
		}
	}
	return zip, zip.Filename != ""
}

func packageType(filename string) string {
	switch {
	case strings.HasSuffix(filename, ".whl"):
		return "bdist_wheel"
	case strings.HasSuffix(filename, ".tar.gz"), strings.HasSuffix(filename, ".zip"), strings.HasSuffix(filename, ".tar.bz2"):
		return "sdist"
	case strings.HasSuffix(filename, ".egg"):
		return "bdist_egg"
	}
	return ""
}

// fileVersion reads the version from a wheel or sdist file name of the project with
// normalised name norm; "" when the name does not parse.
func fileVersion(filename, norm string) string {
	if strings.HasSuffix(filename, ".whl") {
		parts := strings.Split(strings.TrimSuffix(filename, ".whl"), "-")
		if len(parts) >= 5 && Normalize(parts[0]) == norm {
			return parts[1]
		}
		return ""
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2"} {
		if base, ok := strings.CutSuffix(filename, ext); ok {
			// The name may itself contain "-" in legacy sdists: split at the last "-" whose
			// prefix normalises to the project name.
			for i := len(base) - 1; i > 0; i-- {
				if base[i] == '-' && Normalize(base[:i]) == norm {
					return base[i+1:]
				}
			}
		}
	}
	return ""
}
