// Package encliiinfra runs enclii-infra, the door of Enclii's control plane to its stacks, from Go:
// each method runs one command of the CLI with --json in a checkout of the repository and returns
// its typed result, with an error typed by its exit status (docs/control-plane.md#the-go-client).
package encliiinfra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Defaults for Client.GracePeriod and Client.KillDelay.
const (
	DefaultGracePeriod = 2 * time.Minute
	DefaultKillDelay   = 30 * time.Second
)

// stderrKept is how much of the CLI's stderr a ProtocolError keeps: its end, where the reason is.
const stderrKept = 16 << 10

// Client runs enclii-infra in one checkout. The zero value of every field but Dir is usable, and
// a Client may run several commands at once (the CLI itself waits for a stack another update holds).
type Client struct {
	// Dir is the checkout: the repository with npm ci run. The CLI runs there, since it works on
	// the stack files of its current directory.
	Dir string
	// Command runs the CLI; default: node, with the flags of launch.cjs' #! line, and
	// <Dir>/automation/launch.cjs (package.json's bin). The first element is looked up on this
	// process's PATH.
	Command []string
	// Env is added to this process's environment for the CLI (later entries win): the backend's
	// PULUMI_BACKEND_URL or PULUMI_HOME, PULUMI_CONFIG_PASSPHRASE, PATH with the Pulumi CLI, ….
	// Secrets go here, never into arguments, which any process on the machine can read.
	Env []string
	// Progress receives the CLI's progress (its stderr) as it comes; nil discards it. Its errors are
	// ignored.
	Progress io.Writer
	// GracePeriod is how long after the context is done the CLI has to cancel the update through
	// the engine (first SIGTERM; exit 11, the stack unlocked) before a second SIGTERM makes it
	// terminate the engine (exit 12, interrupted). Zero means DefaultGracePeriod.
	GracePeriod time.Duration
	// KillDelay is how long after the second SIGTERM the CLI has to exit before it is killed with
	// SIGKILL; the call then returns a *ProtocolError, and the engine's own processes and the
	// stack's lock may stay behind. Zero means DefaultKillDelay.
	KillDelay time.Duration
}

// nodeFlags are the flags launch.cjs' #! line gives node (automation/nodeFlags.ts, which says why):
// V8 reads them as it starts, so the default command passes them too.
var nodeFlags = []string{"--max-semi-space-size=64"}

func (c *Client) command() []string {
	if len(c.Command) > 0 {
		return c.Command
	}
	return append(append([]string{"node"}, nodeFlags...), filepath.Join(c.Dir, "automation", "launch.cjs"))
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Run runs one enclii-infra command with --json (args: the command and its flags, such as
// "deploy", "--env=staging", …) and returns its result. The error is nil for exit 0 and 3 (drift),
// an *ExitError for any other exit status with a well-formed result, a *ContractVersionError for a
// result of another major contract version, a *ProtocolError when the CLI broke the contract, or
// the error that kept the CLI from starting.
//
// When ctx is done before the CLI ends, the CLI gets SIGTERM: it cancels the update through the
// engine and exits 11 (cancelled); after GracePeriod a second SIGTERM makes it terminate the
// engine (exit 12, interrupted); after KillDelay more it is killed. The error then also matches the
// context's error with errors.Is. A CLI that finished its work anyway returns its result as usual.
func (c *Client) Run(ctx context.Context, args ...string) (*Result, error) {
	argv := append(append([]string{}, c.command()...), args...)
	argv = append(argv, "--json")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	// A process group of its own: a Ctrl-C meant for this program's terminal must not reach the CLI
	// as a first signal, so that only this client decides when the update is cancelled.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout bytes.Buffer
	stderr := &tail{max: stderrKept}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	if c.Progress != nil {
		cmd.Stderr = io.MultiWriter(stderr, lenient{c.Progress})
	}
	grace := orDefault(c.GracePeriod, DefaultGracePeriod)
	sig := &signals{}
	cmd.Cancel = func() error {
		sig.first(grace, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	// Counted from when ctx is done: past it, os/exec kills the CLI (SIGKILL) and stops reading its output.
	cmd.WaitDelay = grace + orDefault(c.KillDelay, DefaultKillDelay)
	err := cmd.Run()
	var cancelled error
	if sig.exited() {
		cancelled = ctx.Err()
	}
	if cmd.ProcessState == nil {
		return nil, fmt.Errorf("enclii-infra: could not run %s: %w", argv[0], err)
	}
	return interpret(cmd.ProcessState.ExitCode(), stdout.Bytes(), stderr.String(), cancelled)
}

// interpret turns what the CLI printed and how it exited into the result and error Run returns;
// cancelled is the context's error when the CLI was signalled because of it.
func interpret(code int, stdout []byte, stderr string, cancelled error) (*Result, error) {
	protocol := func(reason string) error {
		return &ProtocolError{Reason: reason, ExitCode: code, Stdout: string(stdout), Stderr: stderr, Context: cancelled}
	}
	if code < 0 {
		return nil, protocol("ended by a signal before it answered")
	}
	res, reason := decodeOne(stdout)
	if res == nil {
		return nil, protocol(reason)
	}
	if major(res.ContractVersion) != major(ContractVersion) {
		return nil, &ContractVersionError{Got: res.ContractVersion, Want: ContractVersion, Result: res}
	}
	if res.ExitCode != code {
		return nil, protocol(fmt.Sprintf("the result says exit %d (%s)", res.ExitCode, res.Status))
	}
	if code == ExitOK || code == ExitDrift {
		return res, nil
	}
	return res, &ExitError{Code: code, Status: res.Status, Result: res, Context: cancelled}
}

// decodeOne reads stdout as exactly one JSON object; on failure, a nil result and why.
func decodeOne(stdout []byte) (*Result, string) {
	trimmed := bytes.TrimSpace(stdout)
	if len(trimmed) == 0 {
		return nil, "nothing on stdout"
	}
	if trimmed[0] != '{' {
		return nil, fmt.Sprintf("stdout is not a JSON object: %.200q", trimmed)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var res Result
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Sprintf("stdout is not one result object: %v", err)
	}
	if dec.InputOffset() != int64(len(trimmed)) {
		return nil, fmt.Sprintf("stdout holds more after the result: %.200q", bytes.TrimSpace(trimmed[dec.InputOffset():]))
	}
	res.raw = trimmed
	return &res, ""
}

// signals remembers whether the CLI got the first SIGTERM, and holds the second until it is due.
type signals struct {
	mu     sync.Mutex
	second *time.Timer
	ended  bool
}

// first schedules the second signal, unless the CLI has exited already.
func (s *signals) first(grace time.Duration, second func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.second = time.AfterFunc(grace, second)
	}
}

// exited stops the second signal and says whether the first was sent.
func (s *signals) exited() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.second == nil {
		return false
	}
	s.second.Stop()
	return true
}

// lenient passes writes on and never fails: a Progress that fails must not stop os/exec reading
// the CLI's stderr, which would leave the CLI blocked on a full pipe.
type lenient struct{ w io.Writer }

func (l lenient) Write(p []byte) (int, error) {
	_, _ = l.w.Write(p)
	return len(p), nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
