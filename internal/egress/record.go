// Package egress is the build's only way out to the network: a recording HTTP(S) proxy
// with a per-build CA, a host policy and a registry time cut-off (design §5).
package egress

import "time"

// Record is one network request made by a build, as the proxy saw it.
type Record struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	URL    string    `json:"url"`
	// Status is the HTTP status returned to the build (403 for denied requests, 502 for dial failures).
	Status int   `json:"status"`
	Size   int64 `json:"size"`
	// SHA256 is the hex digest of the response body as delivered to the build.
	SHA256 string `json:"sha256,omitempty"`
	// Denied is true when policy refused the request; Finding explains it.
	Denied  bool   `json:"denied,omitempty"`
	Finding string `json:"finding,omitempty"`
	// Filtered is true when registry metadata was filtered by the time cut-off.
	Filtered bool   `json:"filtered,omitempty"`
	Error    string `json:"error,omitempty"`
}
