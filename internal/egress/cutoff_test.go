package egress

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testCutoff = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)

func TestApplyCutoff(t *testing.T) {
	tests := []struct {
		name         string
		path, ctype  string
		in           string
		want         string // "" means unchanged
		wantFiltered bool
		wantFinding  string
	}{
		{
			name: "npm drops later versions and moves latest",
			path: "/p", ctype: "application/json",
			in: `{"name":"p","dist-tags":{"latest":"2.0.0","next":"2.1.0-rc.1","old":"1.0.0"},` +
				`"versions":{"1.0.0":{},"1.2.0":{},"1.3.0-beta.1":{},"2.0.0":{},"2.1.0-rc.1":{},"0.9.0":{}},` +
				`"time":{"modified":"2024-01-01T00:00:00Z","1.0.0":"2020-01-01T00:00:00.000Z","1.2.0":"2021-06-01T00:00:00Z",` +
				`"1.3.0-beta.1":"2021-07-01T00:00:00Z","2.0.0":"2023-01-01T00:00:00Z","2.1.0-rc.1":"2023-02-01T00:00:00Z"}}`,
			want: `{"dist-tags":{"latest":"1.2.0","old":"1.0.0"},"name":"p",` +
				`"time":{"1.0.0":"2020-01-01T00:00:00.000Z","1.2.0":"2021-06-01T00:00:00Z","1.3.0-beta.1":"2021-07-01T00:00:00Z","modified":"2024-01-01T00:00:00Z"},` +
				`"versions":{"1.0.0":{},"1.2.0":{},"1.3.0-beta.1":{}}}`,
			wantFiltered: true,
		},
		{
			name: "npm nothing newer is unchanged", path: "/p", ctype: "application/json",
			in: `{"name":"p","versions":{"1.0.0":{}},"time":{"1.0.0":"2020-01-01T00:00:00Z"}}`,
		},
		{
			name: "npm without times is a finding", path: "/p", ctype: "application/vnd.npm.install-v1+json",
			in:          `{"name":"p","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{}},"modified":"2024-01-01T00:00:00Z"}`,
			wantFinding: "registry cut-off not applied: packument has no publish times",
		},
		{
			name: "pypi json drops releases and fixes info.version", path: "/pypi/demo/json", ctype: "application/json",
			in: `{"info":{"name":"demo","version":"2.0"},"urls":[{"filename":"demo-2.0.tar.gz"}],"releases":{` +
				`"1.0":[{"filename":"demo-1.0.tar.gz","upload_time":"2020-01-01T00:00:00","upload_time_iso_8601":"2020-01-01T00:00:00.000000Z"}],` +
				`"1.5":[{"filename":"demo-1.5.tar.gz","upload_time":"2021-03-01T10:00:00"},{"filename":"demo-1.5-py3-none-any.whl","upload_time":"2023-03-01T10:00:00"}],` +
				`"2.0":[{"filename":"demo-2.0.tar.gz","upload_time_iso_8601":"2023-01-01T00:00:00.000000Z"}],"3.0":[]}}`,
			want: `{"info":{"name":"demo","version":"1.5"},"releases":{` +
				`"1.0":[{"filename":"demo-1.0.tar.gz","upload_time":"2020-01-01T00:00:00","upload_time_iso_8601":"2020-01-01T00:00:00.000000Z"}],` +
				`"1.5":[{"filename":"demo-1.5.tar.gz","upload_time":"2021-03-01T10:00:00"}]},` +
				`"urls":[{"filename":"demo-1.5.tar.gz","upload_time":"2021-03-01T10:00:00"}]}`,
			wantFiltered: true,
		},
		{
			name: "simple json drops later and undated files", path: "/simple/demo/", ctype: "application/vnd.pypi.simple.v1+json",
			in: `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","upload-time":"2020-01-01T00:00:00.123Z"},` +
				`{"filename":"demo-2.0.tar.gz","upload-time":"2023-01-01T00:00:00Z"},{"filename":"demo-0.1.tar.gz"}],"versions":["0.1","1.0","2.0"]}`,
			want:         `{"files":[{"filename":"demo-1.0.tar.gz","upload-time":"2020-01-01T00:00:00.123Z"}],"meta":{"api-version":"1.1"},"name":"demo","versions":["0.1","1.0","2.0"]}`,
			wantFiltered: true,
		},
		{name: "not json", path: "/x", ctype: "application/json", in: `not json`},
		{name: "other json", path: "/x", ctype: "application/json", in: `{"hello":"world"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := applyCutoff(tc.path, tc.ctype, []byte(tc.in), testCutoff)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if diff := cmp.Diff(want, string(got.body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got.filtered != tc.wantFiltered || got.finding != tc.wantFinding {
				t.Errorf("filtered=%v finding=%q, want %v %q", got.filtered, got.finding, tc.wantFiltered, tc.wantFinding)
			}
		})
	}
}

func TestCompareSemver(t *testing.T) {
	// Semantic Versioning 2.0.0 §11 example order.
	order := []string{"not-a-version", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "2.0.0"}
	for i := range order {
		for j := range order {
			got := compareSemver(order[i], order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compareSemver(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if got := newestSemver([]string{"1.0.0", "1.10.0", "2.0.0-rc.1", "1.9.9"}); got != "1.10.0" {
		t.Errorf("newestSemver = %s, want 1.10.0", got)
	}
}

// FuzzApplyCutoff feeds untrusted registry metadata to the filter: it must not panic, and what it
// returns must be valid JSON whenever it changed anything.
func FuzzApplyCutoff(f *testing.F) {
	f.Add("/p", `{"name":"p","dist-tags":{"latest":"2.0.0"},"versions":{"1.0.0":{},"2.0.0":{}},"time":{"1.0.0":"2020-01-01T00:00:00Z","2.0.0":"2023-01-01T00:00:00Z"}}`)
	f.Add("/pypi/x/json", `{"info":{"version":"2"},"releases":{"1":[{"upload_time":"2020-01-01T00:00:00"}],"2":[{"upload_time":"2023-01-01T00:00:00"}]}}`)
	f.Add("/simple/x/", `{"meta":{},"files":[{"upload-time":"2023-01-01T00:00:00Z"},{"upload-time":7}]}`)
	f.Add("/p", `{"versions":{"1":1},"time":[],"dist-tags":"x"}`)
	f.Fuzz(func(t *testing.T, path, body string) {
		got := applyCutoff(path, "application/json", []byte(body), testCutoff)
		if got.filtered && !json.Valid(got.body) {
			t.Fatalf("filtered output is not JSON: %q", got.body)
		}
		if !got.filtered && string(got.body) != body {
			t.Fatalf("unfiltered output changed")
		}
	})
}
