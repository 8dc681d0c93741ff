package sandbox

import (
	"io"
	"strconv"
	"sync"
)

// DefaultMaxOutput caps what one command may write to each of its output streams.
const DefaultMaxOutput = 16 << 20

// LimitWriter passes the first n bytes to w, then writes one truncation note and discards the rest.
// Writes never fail once truncated, so the build does not die of a broken pipe. Safe for concurrent use.
func LimitWriter(w io.Writer, n int64) io.Writer {
	return &limitWriter{w: w, left: n, limit: n}
}

type limitWriter struct {
	mu        sync.Mutex
	w         io.Writer
	left      int64
	limit     int64
	truncated bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated {
		return len(p), nil
	}
	if int64(len(p)) <= l.left {
		l.left -= int64(len(p))
		_, err := l.w.Write(p)
		return len(p), err
	}
	head := p[:l.left]
	l.left = 0
	l.truncated = true
	if _, err := l.w.Write(head); err != nil {
		return len(p), err
	}
	_, err := io.WriteString(l.w, "\n[vouch: output truncated after "+strconv.FormatInt(l.limit, 10)+" bytes]\n")
	return len(p), err
}

// limitOutputs wraps a command's stdout and stderr, keeping one shared wrapper when both are
// the same writer (exec then uses one pipe and the writer sees no concurrent writes).
func limitOutputs(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	wrap := func(w io.Writer) io.Writer {
		if w == nil {
			return nil
		}
		return LimitWriter(w, DefaultMaxOutput)
	}
	if stdout != nil && stdout == stderr {
		w := wrap(stdout)
		return w, w
	}
	return wrap(stdout), wrap(stderr)
}
