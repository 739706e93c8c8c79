// The cancel path against testdata/fake-cli-signals.sh: SIGTERM once the context is done, a second
// after GracePeriod, the kill after KillDelay.

package encliiinfra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// signalled is a Client running testdata/fake-cli-signals.sh with answers: the Nth SIGTERM prints
// answers[N] and exits with its exit code.
func signalled(t *testing.T, answers map[int]string) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	for n, status := range answers {
		code := map[string]int{string(StatusCancelled): ExitCancelled, string(StatusInterrupted): ExitInterrupted, string(StatusDeployed): ExitOK}[status]
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("answer-%d.json", n)), []byte(resultJSON(Status(status), code, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("answer-%d.exit", n)), []byte(fmt.Sprint(code)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs(filepath.Join("testdata", "fake-cli-signals.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Dir: dir, Command: []string{script}, Env: []string{"FAKE_DIR=" + dir}}, dir
}

// cancelOnceReady runs a deploy, cancels its context once the fake has set its trap, and returns
// what the deploy returned.
func cancelOnceReady(t *testing.T, c *Client, dir string) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type answer struct {
		res *Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Deploy(ctx, "staging", "switchyard-api", "ghcr.io/madfam-io/switchyard-api:1.4.3", DeployOptions{})
		done <- answer{res, err}
	}()
	waitFor(t, "the fake CLI to set its trap", func() bool {
		_, err := os.Stat(filepath.Join(dir, "ready"))
		return err == nil
	})
	cancel()
	a := <-done
	return a.res, a.err
}

func waitFor(t *testing.T, what string, ready func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestCancellingTheContextSendsSIGTERMAndReturnsTheCancelledResult(t *testing.T) {
	c, dir := signalled(t, map[int]string{1: string(StatusCancelled)})
	res, err := cancelOnceReady(t, c, dir)
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != ExitCancelled || res.Status != StatusCancelled {
		t.Fatalf("got %+v, %#v", res, err)
	}
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrInterrupted) {
		t.Errorf("%v should match ErrCancelled and context.Canceled only", err)
	}
	if got := read(t, filepath.Join(dir, "signals")); got != "1\n" {
		t.Errorf("signals received: %q, want one", got)
	}
}

func TestASecondSIGTERMAfterTheGracePeriodInterrupts(t *testing.T) {
	c, dir := signalled(t, map[int]string{2: string(StatusInterrupted)})
	// Not a timing assertion: the fake must have handled the first signal when the second comes,
	// since a shell merges two pending signals into one.
	c.GracePeriod = time.Second
	res, err := cancelOnceReady(t, c, dir)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || res.Status != StatusInterrupted {
		t.Fatalf("got %+v, %v", res, err)
	}
	if got := read(t, filepath.Join(dir, "signals")); got != "1\n2\n" {
		t.Errorf("signals received: %q, want two", got)
	}
}

func TestACLIThatIgnoresBothSignalsIsKilled(t *testing.T) {
	c, dir := signalled(t, nil)
	c.GracePeriod, c.KillDelay = time.Millisecond, time.Millisecond
	res, err := cancelOnceReady(t, c, dir)
	var protocol *ProtocolError
	if res != nil || !errors.As(err, &protocol) || protocol.ExitCode != -1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %+v, %#v", res, err)
	}
	if err.Error() != "enclii-infra broke its contract (exit -1): ended by a signal before it answered" {
		t.Errorf("error text %q", err)
	}
}

func TestAnUpdateThatFinishedDespiteTheSignalIsNoError(t *testing.T) {
	c, dir := signalled(t, map[int]string{1: string(StatusDeployed)})
	res, err := cancelOnceReady(t, c, dir)
	if err != nil || res.Status != StatusDeployed {
		t.Fatalf("got %+v, %v", res, err)
	}
}
