// The real-CLI tests' fixture (testbed/cliFixture.ts, described by the vitest driver) and helpers.

package encliiinfra

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureEnv names the file that describes a CLI fixture root (testbed/cliFixture.ts): the real
// enclii-infra against the real Pulumi engine, a file backend and a real API server. Only the
// vitest driver sets it up: `npx vitest run test/go-client.real.test.ts`.
const fixtureEnv = "ENCLII_GO_FIXTURE"

type realFixture struct {
	Root        string            `json:"root"`
	Environment string            `json:"environment"`
	Command     []string          `json:"command"`
	Vars        map[string]string `json:"vars"`
	Kubectl     string            `json:"kubectl"`
	Kubeconfig  string            `json:"kubeconfig"`
	// Locks is the backend's lock directory of the platform stack (pkg/backend/diy/lock.go lockPath).
	Locks string `json:"locks"`
}

const (
	serviceURN = "urn:pulumi:goclient::enclii-infra::enclii:platform:Platform$enclii:apps:Apps$enclii:apps:Service$kubernetes:apps/v1:Deployment::"
	apiURN     = serviceURN + "enclii-apps-switchyard-api-deployment"
	uiURN      = serviceURN + "enclii-apps-switchyard-ui-deployment"
)

func image(tag string) string { return "ghcr.io/madfam-io/switchyard-api:" + tag }

// loadFixture reads the driver's fixture; without one the test is skipped, or fails where CI is
// set, since CI runs these tests through the driver and a skip there would pass as nothing.
func loadFixture(t *testing.T) realFixture {
	t.Helper()
	path := os.Getenv(fixtureEnv)
	if path == "" {
		how := fixtureEnv + " is not set: the real-CLI tests run through npx vitest run test/go-client.real.test.ts"
		if os.Getenv("CI") != "" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	var f realFixture
	text, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(text, &f)
	}
	if err != nil {
		t.Fatalf("%s=%s: %v", fixtureEnv, path, err)
	}
	return f
}

// realClient is a Client on the fixture, every result it gets validated against the schema and
// logged with the CLI's progress.
type realClient struct {
	*Client
	f realFixture
}

func (r realClient) check(t *testing.T, res *Result, err error, progress *strings.Builder) (*Result, error) {
	t.Helper()
	var exit *ExitError
	if errors.As(err, &exit) {
		res = exit.Result
	}
	if res != nil {
		validResult(t, res.raw)
		t.Logf("%s: %s (exit %d): %s\n%s", res.Operation, res.Status, res.ExitCode, res.Message, progress)
	} else {
		t.Logf("no result: %v\n%s", err, progress)
	}
	return res, err
}

// run calls one method of the client, keeping the CLI's progress for the log.
func (r realClient) run(t *testing.T, call func(c *Client) (*Result, error)) (*Result, error) {
	t.Helper()
	var progress strings.Builder
	c := *r.Client
	c.Progress = &progress
	res, err := call(&c)
	return r.check(t, res, err, &progress)
}

func (r realClient) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(r.f.Kubectl, append([]string{"--kubeconfig=" + r.f.Kubeconfig, "--namespace=enclii-platform"}, args...)...).Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func (r realClient) imageOf(t *testing.T, deployment string) string {
	return r.kubectl(t, "get", "deployment/"+deployment, "--output=jsonpath={.spec.template.spec.containers[0].image}")
}

// pulumi runs the engine's CLI on the platform stack, for the fixture's own knobs (fixture:…):
// the one on the fixture's PATH, which this process's PATH may lack.
func (r realClient) pulumi(t *testing.T, args ...string) {
	t.Helper()
	var bin string
	for _, dir := range filepath.SplitList(r.f.Vars["PATH"]) {
		if info, err := os.Stat(filepath.Join(dir, "pulumi")); err == nil && !info.IsDir() {
			bin = filepath.Join(dir, "pulumi")
			break
		}
	}
	cmd := exec.Command(bin, append(args, "--stack="+r.f.Environment, "--non-interactive")...)
	cmd.Dir, cmd.Env = r.f.Root, append(os.Environ(), r.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (r realClient) locks(t *testing.T) []string {
	entries, err := os.ReadDir(r.f.Locks)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func wantExit(t *testing.T, res *Result, err error, sentinel error, code int, status Status) {
	t.Helper()
	var exit *ExitError
	if !errors.Is(err, sentinel) || !errors.As(err, &exit) || exit.Code != code || exit.Status != status || res == nil {
		t.Fatalf("want exit %d (%s), got %v", code, status, err)
	}
}
