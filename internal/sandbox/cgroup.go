package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for Config.MemoryBytes and Config.MaxPids.
const (
	DefaultMemoryBytes = 4 << 30
	DefaultMaxPids     = 1024
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroup is one session's control group: a leaf named after the session under a "vouch" parent,
// in the memory and pids hierarchies (cgroup v1) or the unified hierarchy (v2).
type cgroup struct {
	v2      bool
	memDir  string // v1 memory leaf, or the v2 leaf
	pidsDir string // v1 pids leaf, or the v2 leaf
}

// newCgroup creates and configures the session's cgroup. It fails without privileges
// (or without the controllers); the caller then runs without memory and pids limits.
func newCgroup(name string, memBytes int64, maxPids int) (*cgroup, error) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.limit_in_bytes")); err == nil {
		return newCgroupV1(name, memBytes, maxPids)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return newCgroupV2(name, memBytes, maxPids)
	}
	return nil, errors.New("no cgroup memory controller found")
}

// ownCgroup returns this process's path in the v1 hierarchy of controller (from /proc/self/cgroup),
// so session cgroups nest under (and stay bounded by) the cgroup vouch itself runs in.
func ownCgroup(controller string) string {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "/"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2]
			}
		}
	}
	return "/"
}

func newCgroupV1(name string, memBytes int64, maxPids int) (*cgroup, error) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "pids")); err != nil {
		return nil, fmt.Errorf("cgroup v1 pids hierarchy: %w", err)
	}
	c := &cgroup{
		memDir:  filepath.Join(cgroupRoot, "memory", ownCgroup("memory"), "vouch", name),
		pidsDir: filepath.Join(cgroupRoot, "pids", ownCgroup("pids"), "vouch", name),
	}
	for _, d := range []string{c.memDir, c.pidsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			c.remove()
			return nil, fmt.Errorf("creating cgroup: %w", err)
		}
	}
	mem := strconv.FormatInt(memBytes, 10)
	if err := writeFile(filepath.Join(c.memDir, "memory.limit_in_bytes"), mem); err != nil {
		c.remove()
		return nil, err
	}
	// memsw (RAM+swap) exists only with swap accounting; without it swap is not limited.
	if _, err := os.Stat(filepath.Join(c.memDir, "memory.memsw.limit_in_bytes")); err == nil {
		_ = writeFile(filepath.Join(c.memDir, "memory.memsw.limit_in_bytes"), mem)
	}
	if err := writeFile(filepath.Join(c.pidsDir, "pids.max"), strconv.Itoa(maxPids)); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func newCgroupV2(name string, memBytes int64, maxPids int) (*cgroup, error) {
	// A v2 cgroup with processes cannot delegate controllers ("no internal processes"),
	// so the parent lives at the root, where the controllers are enabled top-down.
	parent := filepath.Join(cgroupRoot, "vouch")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	for _, d := range []string{cgroupRoot, parent} {
		if err := writeFile(filepath.Join(d, "cgroup.subtree_control"), "+memory +pids"); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup: %w", err)
	}
	c := &cgroup{v2: true, memDir: dir, pidsDir: dir}
	mem := strconv.FormatInt(memBytes, 10)
	for file, v := range map[string]string{"memory.max": mem, "memory.swap.max": "0", "pids.max": strconv.Itoa(maxPids)} {
		if err := writeFile(filepath.Join(dir, file), v); err != nil && file != "memory.swap.max" {
			c.remove()
			return nil, err
		}
	}
	return c, nil
}

func writeFile(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// add moves pid into the cgroup; its future children inherit it.
func (c *cgroup) add(pid int) error {
	for _, d := range c.dirs() {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (c *cgroup) dirs() []string {
	if c.v2 {
		return []string{c.memDir}
	}
	return []string{c.memDir, c.pidsDir}
}

// oomKills counts processes the kernel OOM-killed in this cgroup
// (v1 memory.oom_control "oom_kill", kernel >= 4.13; v2 memory.events "oom_kill").
func (c *cgroup) oomKills() int64 {
	if c.v2 {
		return readKeyed(filepath.Join(c.memDir, "memory.events"), "oom_kill")
	}
	return readKeyed(filepath.Join(c.memDir, "memory.oom_control"), "oom_kill")
}

// pidsLimitHits counts forks refused by pids.max.
func (c *cgroup) pidsLimitHits() int64 {
	return readKeyed(filepath.Join(c.pidsDir, "pids.events"), "max")
}

func readKeyed(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func (c *cgroup) procs() []int {
	b, err := os.ReadFile(filepath.Join(c.pidsDir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// killAll SIGKILLs every process in the cgroup until it is empty or the wait runs out,
// and reports whether it is empty.
func (c *cgroup) killAll(wait time.Duration) bool {
	end := time.Now().Add(wait)
	for {
		pids := c.procs()
		if len(pids) == 0 {
			return true
		}
		if c.v2 {
			_ = os.WriteFile(filepath.Join(c.pidsDir, "cgroup.kill"), []byte("1"), 0o644)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// remove kills what is left and deletes the session's cgroup directories.
func (c *cgroup) remove() error {
	c.killAll(5 * time.Second)
	var errs []error
	for _, d := range c.dirs() {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}
