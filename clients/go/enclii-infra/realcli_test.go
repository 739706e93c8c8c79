package encliiinfra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// One stack, in order: each step starts from the state the last one left.
func TestRealCLI(t *testing.T) {
	f := loadFixture(t)
	var env []string
	for k, v := range f.Vars {
		env = append(env, k+"="+v)
	}
	r := realClient{&Client{Dir: f.Root, Command: f.Command, Env: env}, f}
	ctx := context.Background()
	stackFile := filepath.Join(f.Root, "Pulumi."+f.Environment+".yaml")

	t.Run("usage", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Deploy(ctx, f.Environment, "switchyard-api", "ghcr.io/madfam-io/switchyard-api:latest", DeployOptions{Force: true})
		})
		wantExit(t, res, err, ErrUsage, ExitUsage, StatusUsage)
		if want := `goclient (stack goclient): --image: "ghcr.io/madfam-io/switchyard-api:latest" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)`; res.Message != want {
			t.Errorf("message %q, want %q", res.Message, want)
		}
	})

	t.Run("no-stack", func(t *testing.T) {
		// A stack file the checkout has, for a stack the backend lacks.
		ghost := filepath.Join(f.Root, "Pulumi.ghost.yaml")
		text, err := os.ReadFile(stackFile)
		if err == nil {
			err = os.WriteFile(ghost, text, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(ghost)
		res, err := r.run(t, func(c *Client) (*Result, error) { return c.Outputs(ctx, "ghost") })
		wantExit(t, res, err, ErrNoStack, ExitNoStack, StatusNoStack)
		if want := "ghost: no such stack in the backend pulumi is logged in to; pulumi login to the right backend, or pulumi stack init ghost"; res.Message != want {
			t.Errorf("message %q, want %q", res.Message, want)
		}
	})

	t.Run("nothing-to-roll-back", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Rollback(ctx, f.Environment, "switchyard-api", RollbackOptions{})
		})
		wantExit(t, res, err, ErrNothingToRollBack, ExitNothingToRollBack, StatusNothingToRollBack)
		if want := "switchyard-api: none of the last 0 successful updates of goclient ran another recorded image; deploy an explicit --image instead"; res.Message != want {
			t.Errorf("message %q, want %q", res.Message, want)
		}
	})

	t.Run("up", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Up(ctx, f.Environment, UpOptions{Message: "go client: create"})
		})
		if err != nil || res.Status != StatusOK || res.Changes["create"] == 0 {
			t.Fatalf("up: %+v, %v", res, err)
		}
		if got := r.imageOf(t, "switchyard-api"); got != image("1.4.2") {
			t.Errorf("switchyard-api runs %s", got)
		}
	})

	t.Run("deploy", func(t *testing.T) {
		// The spec's deployFilter passes a path under apps/switchyard-api/.
		for _, tag := range []string{"1.4.3", "1.4.5"} {
			res, err := r.run(t, func(c *Client) (*Result, error) {
				return c.Deploy(ctx, f.Environment, "switchyard-api", image(tag), DeployOptions{Changed: []string{"apps/switchyard-api/main.go"}})
			})
			if err != nil || res.Status != StatusDeployed || res.ExitCode != ExitOK || !slices.Equal(res.Deploy.Targets, []string{apiURN}) {
				t.Fatalf("deploy %s: %+v, %v", tag, res, err)
			}
			if got := r.imageOf(t, "switchyard-api"); got != image(tag) {
				t.Errorf("switchyard-api runs %s after deploying %s", got, tag)
			}
		}
	})

	t.Run("skipped", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Deploy(ctx, f.Environment, "switchyard-api", image("1.4.6"), DeployOptions{Changed: []string{"README.md"}})
		})
		if err != nil || res.Status != StatusSkipped || r.imageOf(t, "switchyard-api") != image("1.4.5") {
			t.Fatalf("a push the filter does not pass: %+v, %v", res, err)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Rollback(ctx, f.Environment, "switchyard-api", RollbackOptions{})
		})
		if err != nil || res.Status != StatusDeployed || res.Deploy.Image != image("1.4.3") || res.Deploy.PreviousImage != image("1.4.5") {
			t.Fatalf("rollback: %+v, %v", res, err)
		}
		if got := r.imageOf(t, "switchyard-api"); got != image("1.4.3") {
			t.Errorf("switchyard-api runs %s after the rollback", got)
		}
	})

	t.Run("rolled-back", func(t *testing.T) {
		// The fixture's Deployment running this image waits for a rollout no controller performs.
		r.pulumi(t, "config", "set", "fixture:failingImage", image("1.4.4"))
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Deploy(ctx, f.Environment, "switchyard-api", image("1.4.4"), DeployOptions{Force: true})
		})
		wantExit(t, res, err, ErrRolledBack, ExitRolledBack, StatusRolledBack)
		if !strings.Contains(res.EngineMessage, "'switchyard-api' timed out waiting to be Ready") || res.Deploy.PreviousImage != image("1.4.3") {
			t.Errorf("engine message %q, previous image %q", res.EngineMessage, res.Deploy.PreviousImage)
		}
		if got := r.imageOf(t, "switchyard-api"); got != image("1.4.3") {
			t.Errorf("switchyard-api runs %s after the failed rollout", got)
		}
	})

	t.Run("drift", func(t *testing.T) {
		r.kubectl(t, "scale", "deployment/switchyard-ui", "--replicas=3")
		res, err := r.run(t, func(c *Client) (*Result, error) { return c.Drift(ctx, f.Environment) })
		if err != nil || res.Status != StatusDrift || res.ExitCode != ExitDrift || len(res.Drift) != 1 {
			t.Fatalf("drift is an answer, not an error: %+v, %v", res, err)
		}
		if d := res.Drift[0]; d.URN != uiURN || d.Op != "update" || !slices.Contains(d.Properties, "spec.replicas") {
			t.Errorf("drift %+v", d)
		}
		r.kubectl(t, "scale", "deployment/switchyard-ui", "--replicas=1")
		res, err = r.run(t, func(c *Client) (*Result, error) { return c.Drift(ctx, f.Environment) })
		if err != nil || res.Status != StatusNoDrift {
			t.Fatalf("after scaling back: %+v, %v", res, err)
		}
	})

	t.Run("domains", func(t *testing.T) {
		shard := f.Environment + "-000"
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.DomainsAdd(ctx, f.Environment, "acme", "shop.acme.example", DomainsOptions{Service: "storefront:8080"})
		})
		if err != nil || res.Status != StatusOK || res.Stack != shard || res.Domains.Shard != shard ||
			!slices.Equal(res.ChangedFiles, []string{"tenants/Pulumi." + shard + ".yaml"}) {
			t.Fatalf("domains add: %+v, %v", res, err)
		}
		records := func(res *Result) []string {
			var found []string
			for _, h := range res.Domains.Hostnames {
				for _, rec := range h.Records {
					found = append(found, h.Hostname+" "+rec.Type+" "+rec.Purpose)
				}
			}
			return found
		}
		want := []string{"shop.acme.example CNAME traffic", "shop.acme.example TXT ownership", "shop.acme.example TXT certificate"}
		if got := records(res); !slices.Equal(got, want) {
			t.Errorf("records %q, want %q", got, want)
		}
		if ns := r.kubectl(t, "get", "namespace/tenant-acme", "--output=name"); ns != "namespace/tenant-acme" {
			t.Errorf("namespace %q", ns)
		}
		res, err = r.run(t, func(c *Client) (*Result, error) { return c.DomainsStatus(ctx, f.Environment, "acme") })
		if err != nil || res.Status != StatusOK || !slices.Equal(records(res), want) || res.Domains.Hostnames[0].Status != "pending" {
			t.Fatalf("domains status: %+v, %v", res, err)
		}
		res, err = r.run(t, func(c *Client) (*Result, error) { return c.DomainsList(ctx, f.Environment, "") })
		wantTenants := []TenantEntry{{Name: "acme", Shard: shard, Hostnames: []string{"shop.acme.example"}, Service: "storefront:8080"}}
		if err != nil || res.Status != StatusOK || !slices.EqualFunc(res.Domains.Tenants, wantTenants, func(a, b TenantEntry) bool {
			return a.Name == b.Name && a.Shard == b.Shard && slices.Equal(a.Hostnames, b.Hostnames) && a.Service == b.Service
		}) {
			t.Fatalf("domains list: %+v, %v", res, err)
		}
	})

	t.Run("history", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) { return c.History(ctx, f.Environment, 3) })
		if err != nil || len(res.History) != 3 {
			t.Fatalf("history: %+v, %v", res, err)
		}
		// Newest first: the failed rollout's restore, the failed update, the rollback.
		h := res.History
		if h[0].Message != "enclii rollback switchyard-api "+image("1.4.3") || h[1].Result != "failed" || h[2].Image["switchyard-api"] != image("1.4.3") ||
			h[0].StartTime.IsZero() {
			t.Errorf("history %+v", h)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		// The fixture's program waits for this file in an update (not in its preview), holding the lock.
		release := filepath.Join(f.Root, "release")
		r.pulumi(t, "config", "set", "fixture:holdUntil", release)
		r.pulumi(t, "config", "set", "fixture:greeting", "cancel me")
		defer r.pulumi(t, "config", "rm", "fixture:holdUntil")
		// Whatever the outcome, nothing stays waiting for the file: a CLI that died without
		// cancelling would leave the engine holding the lock for ever.
		defer os.WriteFile(release, nil, 0o600)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type answer struct {
			res *Result
			err error
		}
		var progress strings.Builder
		done := make(chan answer, 1)
		go func() {
			c := *r.Client
			c.Progress = &progress
			res, err := c.Up(cctx, f.Environment, UpOptions{Message: "go client: cancelled"})
			done <- answer{res, err}
		}()
		waitFor(t, "the update to hold the stack's lock", func() bool { return len(r.locks(t)) > 0 })
		cancelled := time.Now()
		cancel()
		a := <-done
		t.Logf("the CLI answered %s after the context was cancelled", time.Since(cancelled).Round(time.Millisecond))
		res, err := r.check(t, a.res, a.err, &progress)
		wantExit(t, res, err, ErrCancelled, ExitCancelled, StatusCancelled)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not match context.Canceled", err)
		}
		if held := r.locks(t); len(held) > 0 {
			t.Errorf("the stack is still locked after exit 11: %v", held)
		}
	})

	t.Run("up-after-cancel", func(t *testing.T) {
		res, err := r.run(t, func(c *Client) (*Result, error) {
			return c.Up(ctx, f.Environment, UpOptions{Message: "go client: after"})
		})
		if err != nil || res.Status != StatusOK || res.Changes["update"] != 1 {
			t.Fatalf("the update after a cancelled one: %+v, %v", res, err)
		}
		res, err = r.run(t, func(c *Client) (*Result, error) { return c.Outputs(ctx, f.Environment) })
		if err != nil || string(res.Outputs["greeting"]) != `"cancel me"` {
			t.Fatalf("outputs: %+v, %v", res, err)
		}
	})
}
