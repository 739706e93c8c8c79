package encliiinfra

import (
	"errors"
	"fmt"
	"strings"
)

// Exit statuses of enclii-infra, one per outcome the control plane acts on differently
// (model/contract.ts EXIT, docs/control-plane.md#exit-status).
const (
	ExitOK                = 0
	ExitFailed            = 1
	ExitUsage             = 2
	ExitDrift             = 3
	ExitRefused           = 4
	ExitRolledBack        = 5
	ExitRollbackFailed    = 6
	ExitNoCLI             = 7
	ExitBusy              = 8
	ExitNoStack           = 9
	ExitNothingToRollBack = 10
	ExitCancelled         = 11
	ExitInterrupted       = 12
	ExitOutsideWindow     = 13
	ExitCanaryAborted     = 14
)

// One sentinel per exit status that is an error; a returned *ExitError matches exactly one of them
// with errors.Is. Exit 0 (done, or nothing to do) and 3 (drift: the world differs from the state)
// are answers, not failures: the method returns the result and a nil error, and the caller reads
// Result.Status.
var (
	ErrFailed            = errors.New("the engine failed")
	ErrUsage             = errors.New("bad arguments or config; nothing started")
	ErrRefused           = errors.New("the guard refused; nothing ran")
	ErrRolledBack        = errors.New("the update failed; the previous image is back")
	ErrRollbackFailed    = errors.New("the update failed and so did restoring the previous image")
	ErrNoCLI             = errors.New("no usable Pulumi CLI")
	ErrBusy              = errors.New("another update held the stack through every retry")
	ErrNoStack           = errors.New("no such stack in the backend")
	ErrNothingToRollBack = errors.New("nothing to roll back to")
	ErrCancelled         = errors.New("the update was cancelled")
	ErrInterrupted       = errors.New("the update was interrupted")
	ErrOutsideWindow     = errors.New("outside the service's deploy window")
	ErrCanaryAborted     = errors.New("the canary was aborted; the service runs what it ran before")
)

var exitErrors = map[int]error{
	ExitFailed:            ErrFailed,
	ExitUsage:             ErrUsage,
	ExitRefused:           ErrRefused,
	ExitRolledBack:        ErrRolledBack,
	ExitRollbackFailed:    ErrRollbackFailed,
	ExitNoCLI:             ErrNoCLI,
	ExitBusy:              ErrBusy,
	ExitNoStack:           ErrNoStack,
	ExitNothingToRollBack: ErrNothingToRollBack,
	ExitCancelled:         ErrCancelled,
	ExitInterrupted:       ErrInterrupted,
	ExitOutsideWindow:     ErrOutsideWindow,
	ExitCanaryAborted:     ErrCanaryAborted,
}

// ExitError is a well-formed result whose exit status is an error. errors.Is matches it against
// the sentinel of its code (ErrRolledBack for 5, …; none for a code this client does not know) and,
// when the call's context was done before the CLI ended, against the context's error
// (context.Canceled or context.DeadlineExceeded).
type ExitError struct {
	Code   int
	Status Status
	// Result is the CLI's whole answer: the message, the engine's words, violations, ….
	Result *Result
	// Context is the call's context error when it was done before the CLI ended, else nil.
	Context error
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("enclii-infra %s: %s (exit %d): %s", e.Result.Operation, e.Status, e.Code, e.Result.Message)
}

// Unwrap gives the code's sentinel and the context's error, for errors.Is.
func (e *ExitError) Unwrap() []error {
	var errs []error
	if s, ok := exitErrors[e.Code]; ok {
		errs = append(errs, s)
	}
	if e.Context != nil {
		errs = append(errs, e.Context)
	}
	return errs
}

// ProtocolError is a CLI run that did not keep the contract: stdout was not one JSON object, the
// result's exitCode differs from the process's, or the process ended by a signal (the kill after
// Client.KillDelay among them). Stderr holds the end of what the CLI wrote there.
type ProtocolError struct {
	Reason string
	// ExitCode is the process's exit status; -1 when a signal ended it.
	ExitCode int
	Stdout   string
	Stderr   string
	// Context is the call's context error when it was done before the CLI ended, else nil.
	Context error
}

func (e *ProtocolError) Error() string {
	text := fmt.Sprintf("enclii-infra broke its contract (exit %d): %s", e.ExitCode, e.Reason)
	if tail := strings.TrimSpace(e.Stderr); tail != "" {
		text += "; stderr ends: " + lastLines(tail, 5)
	}
	return text
}

func (e *ProtocolError) Unwrap() error { return e.Context }

// ContractVersionError is a result of another major contract version than ContractVersion: its
// fields may not mean what this client reads them as. Result is what the CLI printed, decoded as
// well as this client could.
type ContractVersionError struct {
	Got    string
	Want   string
	Result *Result
}

func (e *ContractVersionError) Error() string {
	got := e.Got
	if got == "" {
		got = "none"
	}
	return fmt.Sprintf("enclii-infra answered with contract version %s; this client reads major %s (%s)", got, major(e.Want), e.Want)
}

func major(version string) string {
	m, _, _ := strings.Cut(version, ".")
	return m
}

func lastLines(text string, n int) string {
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
