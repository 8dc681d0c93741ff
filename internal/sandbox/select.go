package sandbox

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

var bwrapProbe struct {
	once sync.Once
	err  error
}

// BwrapAvailable reports whether bubblewrap can create the namespaces a session needs on this
// host, by running `bwrap --unshare-all --unshare-user --ro-bind / / true` once per process.
func BwrapAvailable() error {
	bwrapProbe.once.Do(func() {
		path, err := exec.LookPath("bwrap")
		if err != nil {
			bwrapProbe.err = fmt.Errorf("finding bwrap: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "true").CombinedOutput()
		if err != nil {
			bwrapProbe.err = fmt.Errorf("bwrap cannot create namespaces here: %w: %s", err, out)
		}
	})
	return bwrapProbe.err
}

// Auto returns the bwrap executor when it works on this host, else None.
func Auto() Executor {
	if BwrapAvailable() == nil {
		return &Bwrap{}
	}
	return None{}
}

// ByName returns the executor for --sandbox auto|bwrap|none. An explicit "bwrap" that
// cannot work on this host is an error rather than a silent downgrade.
func ByName(name string) (Executor, error) {
	switch name {
	case "", "auto":
		return Auto(), nil
	case "bwrap":
		if err := BwrapAvailable(); err != nil {
			return nil, err
		}
		return &Bwrap{}, nil
	case "none":
		return None{}, nil
	}
	return nil, fmt.Errorf("unknown sandbox %q (want auto, bwrap or none)", name)
}
