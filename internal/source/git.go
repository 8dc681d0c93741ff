package source

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// safetyConfig is passed to every git invocation. ext:: runs arbitrary commands; autocrlf
// would rewrite files differently per host; submodules are never fetched; hooks never run.
var safetyConfig = []string{
	"-c", "protocol.ext.allow=never",
	"-c", "core.autocrlf=false",
	"-c", "core.eol=lf",
	"-c", "submodule.recurse=false",
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.fsmonitor=false",
}

// scrubbedEnv are variables that would point git at another repository than the one given.
var scrubbedEnv = map[string]bool{
	"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_INDEX_FILE": true, "GIT_OBJECT_DIRECTORY": true,
	"GIT_ALTERNATE_OBJECT_DIRECTORIES": true, "GIT_NAMESPACE": true, "GIT_COMMON_DIR": true,
	"GIT_CEILING_DIRECTORIES": true, "GIT_EXTERNAL_DIFF": true, "GIT_SSH_COMMAND": true,
}

func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !scrubbedEnv[k] {
			env = append(env, kv)
		}
	}
	// Never prompt for credentials; LFS content would be fetched from the network.
	return append(env, "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never", "GIT_LFS_SKIP_SMUDGE=1")
}

// gitError is a failed git command; Stderr is trimmed and stripped of credentials.
type gitError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *gitError) Error() string {
	msg := "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.Err }

var credRE = regexp.MustCompile(`(://)[^/@\s]*@`)

func cleanStderr(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return credRE.ReplaceAllString(s, "${1}REDACTED@")
}

// limitedBuffer keeps at most max bytes and notes whether more were written.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	exceeded bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); len(p) > room {
		l.exceeded = true
		if room > 0 {
			l.buf.Write(p[:room])
		}
		return 0, errOutputTooLarge
	}
	return l.buf.Write(p)
}

var errOutputTooLarge = errors.New("git output exceeds the limit")

// maxGitOutput bounds the output of one git command held in memory.
const maxGitOutput = 256 << 20

// git runs git with the safety configuration in dir (may be "") and returns stdout.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return gitLimit(ctx, dir, maxGitOutput, args...)
}

// gitStdin runs git against the bare repository gitDir with input on stdin.
func gitStdin(ctx context.Context, gitDir, input string, args ...string) ([]byte, error) {
	return gitRun(ctx, "", input, maxGitOutput, append([]string{"--git-dir=" + gitDir}, args...)...)
}

func gitLimit(ctx context.Context, dir string, limit int, args ...string) ([]byte, error) {
	return gitRun(ctx, dir, "", limit, args...)
}

func gitRun(ctx context.Context, dir, input string, limit int, args ...string) ([]byte, error) {
	full := append(append([]string{}, safetyConfig...), args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	stdout := &limitedBuffer{max: limit}
	stderr := &limitedBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	err := cmd.Run()
	if stdout.exceeded {
		return nil, &gitError{Args: args, Err: errOutputTooLarge}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &gitError{Args: args, Stderr: cleanStderr(stderr.buf.Bytes()), Err: err}
	}
	return stdout.buf.Bytes(), nil
}

// BlobHash is the git blob id (sha1) of data, as `git hash-object` computes it.
func BlobHash(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{4,64}$`)
