package encliiinfra

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fake is a Client running testdata/fake-cli.sh, which prints stdout and exits with code.
func fake(t *testing.T, stdout string, code string) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stdout"), []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "fake-cli.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Dir: dir, Command: []string{script}, Env: []string{"FAKE_DIR=" + dir, "FAKE_EXIT=" + code}}, dir
}

func resultJSON(status Status, code int, extra string) string {
	return fmt.Sprintf(`{"contractVersion":"1.3.0","operation":"deploy","environment":"staging","stack":"staging","status":%q,"exitCode":%d,"message":"what happened"%s}`+"\n", status, code, extra)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exitStatuses is docs/control-plane.md#exit-status: each code, its EXIT name, the status a
// result of that code has (one of them), and the sentinel it is (nil: an answer, not an error).
var exitStatuses = []struct {
	code     int
	name     string
	statuses []Status
	sentinel error
}{
	{ExitOK, "ok", []Status{StatusOK, StatusDeployed, StatusUnchanged, StatusNoDrift, StatusSkipped}, nil},
	{ExitFailed, "failed", []Status{StatusFailed, StatusSLOMissed}, ErrFailed},
	{ExitUsage, "usage", []Status{StatusUsage}, ErrUsage},
	{ExitDrift, "drift", []Status{StatusDrift}, nil},
	{ExitRefused, "refused", []Status{StatusRefused, StatusBudgetExhausted}, ErrRefused},
	{ExitRolledBack, "rolledBack", []Status{StatusRolledBack}, ErrRolledBack},
	{ExitRollbackFailed, "rollbackFailed", []Status{StatusRollbackFailed}, ErrRollbackFailed},
	{ExitNoCLI, "noCli", []Status{StatusNoCLI}, ErrNoCLI},
	{ExitBusy, "busy", []Status{StatusBusy}, ErrBusy},
	{ExitNoStack, "noStack", []Status{StatusNoStack}, ErrNoStack},
	{ExitNothingToRollBack, "nothingToRollBack", []Status{StatusNothingToRollBack}, ErrNothingToRollBack},
	{ExitCancelled, "cancelled", []Status{StatusCancelled}, ErrCancelled},
	{ExitInterrupted, "interrupted", []Status{StatusInterrupted}, ErrInterrupted},
	{ExitOutsideWindow, "outsideWindow", []Status{StatusOutsideWindow}, ErrOutsideWindow},
	{ExitCanaryAborted, "canaryAborted", []Status{StatusCanaryAborted}, ErrCanaryAborted},
}

func TestEveryExitStatus(t *testing.T) {
	for _, x := range exitStatuses {
		for _, status := range x.statuses {
			t.Run(string(status), func(t *testing.T) {
				c, _ := fake(t, resultJSON(status, x.code, ""), fmt.Sprint(x.code))
				res, err := c.Deploy(context.Background(), "staging", "switchyard-api", "ghcr.io/madfam-io/switchyard-api:1.4.3", DeployOptions{})
				if res == nil || res.Status != status || res.ExitCode != x.code || res.Message != "what happened" {
					t.Fatalf("result %+v", res)
				}
				validResult(t, res.raw)
				if x.sentinel == nil {
					if err != nil {
						t.Fatalf("exit %d is an answer, got error %v", x.code, err)
					}
					return
				}
				var exit *ExitError
				if !errors.As(err, &exit) || exit.Code != x.code || exit.Status != status || exit.Result != res {
					t.Fatalf("want an *ExitError for exit %d, got %#v", x.code, err)
				}
				want := fmt.Sprintf("enclii-infra deploy: %s (exit %d): what happened", status, x.code)
				if err.Error() != want {
					t.Errorf("error text %q, want %q", err, want)
				}
				for _, other := range exitStatuses {
					if other.sentinel != nil && errors.Is(err, other.sentinel) != (other.code == x.code) {
						t.Errorf("errors.Is(exit %d, sentinel of %d) = %v", x.code, other.code, !(other.code == x.code))
					}
				}
				if errors.Is(err, context.Canceled) {
					t.Error("an uncancelled run matches context.Canceled")
				}
			})
		}
	}
}

func TestAnExitStatusThisClientDoesNotKnowIsAnErrorMatchingNoSentinel(t *testing.T) {
	c, _ := fake(t, resultJSON("paused", 15, ""), "15")
	_, err := c.Preview(context.Background(), "staging")
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 15 || exit.Status != "paused" {
		t.Fatalf("got %#v", err)
	}
	for _, x := range exitStatuses {
		if x.sentinel != nil && errors.Is(err, x.sentinel) {
			t.Errorf("exit 15 matches the sentinel of %d", x.code)
		}
	}
}

func TestArgumentsAreFlagsWithValuesAttachedAndSecretsStayInTheEnvironment(t *testing.T) {
	ok := resultJSON(StatusOK, 0, "")
	cases := []struct {
		run  func(c *Client) (*Result, error)
		argv []string
	}{
		{func(c *Client) (*Result, error) {
			return c.Deploy(context.Background(), "staging", "switchyard-api", "ghcr.io/madfam-io/switchyard-api:1.4.3", DeployOptions{Allow: []string{"urn:a", "urn:b"}})
		}, []string{"deploy", "--env=staging", "--service=switchyard-api", "--image=ghcr.io/madfam-io/switchyard-api:1.4.3", "--allow=urn:a", "--allow=urn:b", "--json"}},
		{func(c *Client) (*Result, error) {
			return c.Deploy(context.Background(), "staging", "janua", "ghcr.io/madfam-io/janua:0.9.4", DeployOptions{Changed: []string{"src/a.go", "-b"}, Force: true})
		}, []string{"deploy", "--env=staging", "--service=janua", "--image=ghcr.io/madfam-io/janua:0.9.4", "--changed=src/a.go", "--changed=-b", "--force", "--json"}},
		{func(c *Client) (*Result, error) {
			return c.Rollback(context.Background(), "staging", "janua", RollbackOptions{})
		},
			[]string{"rollback", "--env=staging", "--service=janua", "--json"}},
		{func(c *Client) (*Result, error) {
			return c.Up(context.Background(), "production", UpOptions{Message: "--not-a-flag", Allow: []string{"urn:x"}})
		}, []string{"up", "--env=production", "--allow=urn:x", "--message=--not-a-flag", "--json"}},
		{func(c *Client) (*Result, error) { return c.Preview(context.Background(), "staging") }, []string{"preview", "--env=staging", "--json"}},
		{func(c *Client) (*Result, error) { return c.Drift(context.Background(), "staging") }, []string{"drift", "--env=staging", "--json"}},
		{func(c *Client) (*Result, error) { return c.Outputs(context.Background(), "staging") }, []string{"outputs", "--env=staging", "--json"}},
		{func(c *Client) (*Result, error) { return c.History(context.Background(), "staging", 0) }, []string{"history", "--env=staging", "--json"}},
		{func(c *Client) (*Result, error) { return c.History(context.Background(), "staging", 25) }, []string{"history", "--env=staging", "--limit=25", "--json"}},
		{func(c *Client) (*Result, error) {
			return c.DomainsAdd(context.Background(), "staging", "acme", "shop.acme.example", DomainsOptions{Service: "storefront:8080"})
		}, []string{"domains", "add", "--env=staging", "--tenant=acme", "--hostname=shop.acme.example", "--service=storefront:8080", "--json"}},
		{func(c *Client) (*Result, error) {
			return c.DomainsRemove(context.Background(), "staging", "acme", "shop.acme.example", DomainsOptions{Allow: []string{"urn:ns"}})
		}, []string{"domains", "remove", "--env=staging", "--tenant=acme", "--hostname=shop.acme.example", "--allow=urn:ns", "--json"}},
		{func(c *Client) (*Result, error) { return c.DomainsList(context.Background(), "staging", "") }, []string{"domains", "list", "--env=staging", "--json"}},
		{func(c *Client) (*Result, error) { return c.DomainsList(context.Background(), "staging", "acme") },
			[]string{"domains", "list", "--env=staging", "--tenant=acme", "--json"}},
		{func(c *Client) (*Result, error) { return c.DomainsStatus(context.Background(), "staging", "acme") },
			[]string{"domains", "status", "--env=staging", "--tenant=acme", "--json"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.argv[:3], " "), func(t *testing.T) {
			c, dir := fake(t, ok, "0")
			c.Env = append(c.Env, "PULUMI_CONFIG_PASSPHRASE=s3cret-passphrase")
			var progress strings.Builder
			c.Progress = &progress
			if _, err := tc.run(c); err != nil {
				t.Fatal(err)
			}
			if got := strings.Split(strings.TrimSuffix(read(t, filepath.Join(dir, "argv")), "\n"), "\n"); strings.Join(got, " ") != strings.Join(tc.argv, " ") {
				t.Errorf("argv %q, want %q", got, tc.argv)
			}
			if got := strings.TrimSpace(read(t, filepath.Join(dir, "pwd"))); got != dir {
				t.Errorf("ran in %s, want the checkout %s", got, dir)
			}
			env := read(t, filepath.Join(dir, "env"))
			if !strings.Contains(env, "\nPULUMI_CONFIG_PASSPHRASE=s3cret-passphrase\n") || !strings.Contains(env, "\nPATH=") {
				t.Errorf("the CLI's environment lacks the passphrase or this process's PATH:\n%s", env)
			}
			if progress.String() != "fake: working\n" {
				t.Errorf("progress %q", progress.String())
			}
		})
	}
}

func TestTheDefaultCommandIsNodeOnTheCheckoutsLauncher(t *testing.T) {
	c, dir := fake(t, resultJSON(StatusOK, 0, ""), "0")
	bin := t.TempDir()
	if err := os.Symlink(c.Command[0], filepath.Join(bin, "node")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	c.Command = nil
	if _, err := c.Outputs(context.Background(), "staging"); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(append(append([]string{}, nodeFlags...), filepath.Join(dir, "automation", "launch.cjs")), "\n") + "\noutputs\n--env=staging\n--json\n"
	if got := read(t, filepath.Join(dir, "argv")); got != want {
		t.Errorf("node ran with %q, want %q", got, want)
	}
}

func TestOutputThatBreaksTheContract(t *testing.T) {
	ok := resultJSON(StatusOK, 0, "")
	cases := []struct {
		name, stdout, code, reason string
		exit                       int
	}{
		{"nothing", "", "1", "nothing on stdout", 1},
		{"text", "Error: Cannot find module 'commander'\n", "1", `stdout is not a JSON object: "Error: Cannot find module 'commander'"`, 1},
		{"an array", "[1]\n", "0", `stdout is not a JSON object: "[1]"`, 0},
		{"two objects", ok + ok, "0", `stdout holds more after the result: ` + fmt.Sprintf("%.200q", ok[:len(ok)-1]), 0},
		{"trailing text", strings.TrimSpace(ok) + " done\n", "0", `stdout holds more after the result: "done"`, 0},
		{"cut short", ok[:40], "0", "stdout is not one result object: unexpected EOF", 0},
		{"a field of the wrong type", strings.Replace(ok, `"exitCode":0`, `"exitCode":"0"`, 1), "0",
			"stdout is not one result object: json: cannot unmarshal string into Go struct field Result.exitCode of type int", 0},
		{"another exit status than the result's", resultJSON(StatusRolledBack, 5, ""), "1", "the result says exit 5 (rolled-back)", 1},
		{"killed", "", "KILL", "ended by a signal before it answered", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fake(t, tc.stdout, tc.code)
			res, err := c.Drift(context.Background(), "staging")
			var protocol *ProtocolError
			if res != nil || !errors.As(err, &protocol) {
				t.Fatalf("want a *ProtocolError and no result, got %+v, %#v", res, err)
			}
			if protocol.Reason != tc.reason || protocol.ExitCode != tc.exit || protocol.Stdout != tc.stdout {
				t.Errorf("got reason %q, exit %d, stdout %q; want %q, %d", protocol.Reason, protocol.ExitCode, protocol.Stdout, tc.reason, tc.exit)
			}
			if want := fmt.Sprintf("enclii-infra broke its contract (exit %d): %s; stderr ends: fake: working", tc.exit, tc.reason); err.Error() != want {
				t.Errorf("error text %q, want %q", err, want)
			}
		})
	}
}

func TestAnotherMajorContractVersionIsRefused(t *testing.T) {
	for version, want := range map[string]string{
		"2.0.0": "enclii-infra answered with contract version 2.0.0; this client reads major 1 (1.3.0)",
		"0.9.1": "enclii-infra answered with contract version 0.9.1; this client reads major 1 (1.3.0)",
		"":      "enclii-infra answered with contract version none; this client reads major 1 (1.3.0)",
	} {
		stdout := strings.Replace(resultJSON(StatusOK, 0, ""), `"1.3.0"`, fmt.Sprintf("%q", version), 1)
		c, _ := fake(t, stdout, "0")
		res, err := c.Outputs(context.Background(), "staging")
		var mismatch *ContractVersionError
		if res != nil || !errors.As(err, &mismatch) || mismatch.Got != version || mismatch.Result.Status != StatusOK || err.Error() != want {
			t.Errorf("%q: got %+v, %v", version, res, err)
		}
	}
	// A newer minor only adds fields: read, and what this client does not know is ignored.
	c, _ := fake(t, strings.Replace(resultJSON(StatusOK, 0, `,"newField":{"a":1}`), `"1.3.0"`, `"1.4.0"`, 1), "0")
	if res, err := c.Outputs(context.Background(), "staging"); err != nil || res.ContractVersion != "1.4.0" {
		t.Errorf("a newer minor: %+v, %v", res, err)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("the log is gone") }

func TestAProgressWriterThatFailsDoesNotStopTheCLI(t *testing.T) {
	c, _ := fake(t, resultJSON(StatusDeployed, 0, ""), "0")
	c.Progress = failing{}
	if res, err := c.Outputs(context.Background(), "staging"); err != nil || res.Status != StatusDeployed {
		t.Errorf("got %+v, %v", res, err)
	}
}

func TestACLIThatCannotStart(t *testing.T) {
	c := &Client{Dir: t.TempDir(), Command: []string{filepath.Join(t.TempDir(), "no-such-cli")}}
	_, err := c.Outputs(context.Background(), "staging")
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "enclii-infra: could not run ") {
		t.Errorf("got %v", err)
	}
}
