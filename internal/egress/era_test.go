package egress

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestApplyToolchainEra(t *testing.T) {
	era := time.Date(2021, 10, 1, 0, 0, 0, 0, time.UTC) // TypeScript 4.4 was the newest
	versionsOf := func(body []byte) (vs []string, latest string) {
		var doc struct {
			DistTags map[string]string          `json:"dist-tags"`
			Versions map[string]json.RawMessage `json:"versions"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		for v := range doc.Versions {
			vs = append(vs, v)
		}
		return vs, doc.DistTags["latest"]
	}
	for _, c := range []struct {
		name, doc  string
		filtered   bool
		wantLatest string
		wantN      int
	}{
		{"typescript", `{"name":"typescript","dist-tags":{"latest":"5.9.2","beta":"4.5.0-beta"},"versions":{"4.3.5":{},"4.4.3":{},"4.4.4":{},"4.5.0-beta":{},"4.9.5":{},"5.9.2":{}}}`, true, "4.4.4", 6},
		{"@types", `{"name":"@types/node","dist-tags":{"latest":"26.0.0"},"versions":{"16.10.2":{"typeScriptVersion":"3.7"},"16.18.0":{"typeScriptVersion":"4.1"},"20.10.0":{"typeScriptVersion":"4.5"},"26.0.0":{"typeScriptVersion":"5.2"},"0.0.1":{}}}`, true, "16.18.0", 5},
		{"@types stub", `{"name":"@types/minimatch","dist-tags":{"latest":"6.0.0"},"versions":{"3.0.5":{"typeScriptVersion":"3.6"},"6.0.0":{"deprecated":"This is a stub types definition."}}}`, true, "3.0.5", 2},
		{"latest already of the era", `{"name":"@types/old","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"typeScriptVersion":"3.0"},"1.1.0":{"typeScriptVersion":"3.5"}}}`, false, "1.0.0", 2},
		{"@babel", `{"name":"@babel/core","dist-tags":{"latest":"7.28.0","next":"8.0.0-beta.1"},"versions":{"7.15.5":{},"7.15.8":{},"7.16.0":{},"7.28.0":{},"8.0.0-beta.1":{}}}`, true, "7.15.8", 5},
		{"other packages", `{"name":"tslib","dist-tags":{"latest":"2.8.1"},"versions":{"2.8.1":{"typeScriptVersion":"5.0"}}}`, false, "2.8.1", 1},
		{"all would go", `{"name":"@types/new","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"typeScriptVersion":"5.0"}}}`, false, "1.0.0", 1},
		{"a TypeScript newer than the table", `{"name":"typescript","dist-tags":{"latest":"9.0.0"},"versions":{"4.0.2":{},"9.0.0":{}}}`, true, "4.0.2", 2},
	} {
		res := applyToolchainEra([]byte(c.doc), era)
		vs, latest := versionsOf(res.body)
		if res.filtered != c.filtered || latest != c.wantLatest || len(vs) != c.wantN {
			t.Errorf("%s: filtered %v, latest %q, versions %v; want %v, %q, %d", c.name, res.filtered, latest, vs, c.filtered, c.wantLatest, c.wantN)
		}
	}
	// An era after the newest TypeScript the table knows changes nothing.
	if res := applyToolchainEra([]byte(`{"name":"typescript","dist-tags":{"latest":"9.0.0"},"versions":{"4.0.2":{},"5.9.2":{}}}`), time.Now().AddDate(5, 0, 0)); res.filtered {
		t.Error("a future era filtered the typescript packument")
	}
}

func TestProxyToolchainEra(t *testing.T) {
	var gotAccept string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAccept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/typescript":
			_, _ = io.WriteString(w, `{"name":"typescript","dist-tags":{"latest":"5.9.2"},"versions":{"4.4.4":{},"5.9.2":{}}}`)
		default:
			_, _ = io.WriteString(w, `{"name":"left-pad","dist-tags":{"latest":"1.3.0"},"versions":{"1.3.0":{}}}`)
		}
	}))
	defer upstream.Close()
	era := time.Date(2021, 10, 1, 0, 0, 0, 0, time.UTC)
	_, client := startProxy(t, Config{AllowHosts: []string{strings.TrimPrefix(upstream.URL, "http://")}, ToolchainEra: &era})
	get := func(p string) string {
		req, _ := http.NewRequest(http.MethodGet, upstream.URL+p, nil)
		req.Header.Set("Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/typescript"); !strings.Contains(got, `"latest":"4.4.4"`) || !strings.Contains(got, `"5.9.2":{}`) || gotAccept != "application/json" {
		t.Errorf("typescript packument %s (Accept %q), want latest 4.4.4, 5.9.2 kept, and the full packument asked for", got, gotAccept)
	}
	if got := get("/left-pad"); !strings.Contains(got, `"1.3.0"`) || gotAccept == "application/json" {
		t.Errorf("left-pad packument %s (Accept %q), want it untouched", got, gotAccept)
	}
}
