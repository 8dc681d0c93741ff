package verdict

import "github.com/vouch-dev/vouch/internal/egress"

// Result is the canonical machine form of one rebuild: the document `vouch rebuild --json`
// prints (design §2; field names are a stable contract) and the run record the store keeps.
type Result struct {
	PURL     string  `json:"purl"`
	Artifact string  `json:"artifact"`
	Verdict  Verdict `json:"verdict"`
	Reason   Reason  `json:"reason,omitempty"`
	Message  string  `json:"message,omitempty"`

	Source    *Source           `json:"source,omitempty"`
	Strategy  string            `json:"strategy,omitempty"`
	Toolchain map[string]string `json:"toolchain,omitempty"`

	Upstream         *Upstream `json:"upstream,omitempty"`
	Rebuild          *Rebuilt  `json:"rebuild,omitempty"`
	StabilizedSHA256 string    `json:"stabilized_sha256,omitempty"`
	// Stabilizers lists the normalizers that changed something, in order.
	Stabilizers []string     `json:"stabilizers"`
	Diff        *DiffSummary `json:"diff,omitempty"`

	// Attestation is the path or URL of the signed bundle.
	Attestation string `json:"attestation,omitempty"`
	// BuildLog is the path of the stored build log, when a build ran.
	BuildLog  string  `json:"build_log,omitempty"`
	TimingsMS Timings `json:"timings_ms"`

	// Sandbox names the executor ("bwrap", "none").
	Sandbox string `json:"sandbox,omitempty"`
	// Network is every request the build made (when the executor records it).
	Network []egress.Record `json:"network,omitempty"`
	// Findings are notable facts about the build (hidden remote dependencies, unsandboxed run, ...).
	Findings []string `json:"findings,omitempty"`
	// StartedAt and FinishedAt are RFC 3339 times.
	StartedAt  string `json:"started_at,omitempty"`
	FinishedAt string `json:"finished_at,omitempty"`
	// Batch is the id of the `vouch batch` run this rebuild belongs to, if any.
	Batch string `json:"batch,omitempty"`
}

// Source is where the rebuild took its source from.
type Source struct {
	Repo     string `json:"repo"`
	Ref      string `json:"ref"`
	Dir      string `json:"dir,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

// Upstream is the registry's artifact.
type Upstream struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// Rebuilt is the artifact vouch built.
type Rebuilt struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
}

// DiffSummary condenses the diff tree of a mismatch.
type DiffSummary struct {
	// Differences counts differing leaves of the diff tree.
	Differences int `json:"differences"`
	// OnlyUpstream / OnlyRebuild / Changed list entry paths (capped).
	OnlyUpstream []string `json:"only_upstream,omitempty"`
	OnlyRebuild  []string `json:"only_rebuild,omitempty"`
	Changed      []string `json:"changed,omitempty"`
	// Path is where the full diff (JSON) was stored, if it was.
	Path string `json:"path,omitempty"`
}

// Timings are per-phase wall-clock milliseconds.
type Timings struct {
	Resolve int64 `json:"resolve"`
	Source  int64 `json:"source"`
	Build   int64 `json:"build"`
	Compare int64 `json:"compare"`
	Attest  int64 `json:"attest"`
}
