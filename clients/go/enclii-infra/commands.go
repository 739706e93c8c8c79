package encliiinfra

import (
	"context"
	"strconv"
)

// Flags are passed as --name=value, so that a value starting with "-" is never read as a flag.
func flag(name, value string) string { return "--" + name + "=" + value }

func allowFlags(urns []string) []string {
	var args []string
	for _, urn := range urns {
		args = append(args, flag("allow", urn))
	}
	return args
}

// UpOptions are up's optional flags.
type UpOptions struct {
	// Allow names each resource URN the update may replace or delete (the guard refuses the rest).
	Allow []string
	// Message is recorded in the stack's history.
	Message string
}

// DeployOptions are deploy's optional flags.
type DeployOptions struct {
	// Changed are the paths the push changed, as git names them: a service whose spec has a
	// deployFilter deploys only when one of them passes it (else StatusSkipped), and without them
	// (or Force) the deploy is a usage error.
	Changed []string
	// Force deploys whatever the service's deployFilter, deploySchedule and error budget say; the
	// result's Deploy.Forced and the update's message record what it overrode.
	Force bool
	// Canary runs the image as a canary beside the stable pods, judged against the service's SLOs
	// before it is promoted (ErrCanaryAborted when it is not); the spec's deploy.canary.enabled
	// makes it the default.
	Canary bool
	// Allow names each resource URN the update may replace or delete.
	Allow []string
}

// RollbackOptions are rollback's optional flags.
type RollbackOptions struct {
	// Allow names each resource URN the update may replace or delete.
	Allow []string
}

// DomainsOptions are the domains commands' optional flags.
type DomainsOptions struct {
	// Service is name:port of the tenant's Service the hostname routes to; domains add needs it
	// for a new tenant.
	Service string
	// Allow names each resource URN the update may replace or delete: domains remove of a tenant's
	// last hostname removes its namespace, which must be named.
	Allow []string
}

// Preview previews an update of the platform stack env, with the guard's verdict (ErrRefused
// when the update would be refused).
func (c *Client) Preview(ctx context.Context, env string) (*Result, error) {
	return c.Run(ctx, "preview", flag("env", env))
}

// Up previews, guards and updates the whole platform stack env.
func (c *Client) Up(ctx context.Context, env string, opts UpOptions) (*Result, error) {
	args := append([]string{"up", flag("env", env)}, allowFlags(opts.Allow)...)
	if opts.Message != "" {
		args = append(args, flag("message", opts.Message))
	}
	return c.Run(ctx, args...)
}

// Deploy sets service's image in env and updates only that service's resources; when the update
// fails, the previous image is restored (ErrRolledBack, or ErrRollbackFailed). Outside the
// service's deploySchedule it is ErrOutsideWindow.
func (c *Client) Deploy(ctx context.Context, env, service, image string, opts DeployOptions) (*Result, error) {
	args := []string{"deploy", flag("env", env), flag("service", service), flag("image", image)}
	for _, path := range opts.Changed {
		args = append(args, flag("changed", path))
	}
	if opts.Force {
		args = append(args, "--force")
	}
	if opts.Canary {
		args = append(args, "--canary")
	}
	return c.Run(ctx, append(args, allowFlags(opts.Allow)...)...)
}

// Rollback deploys the image of service's previous successful deploy in env, found in the stack's
// history (ErrNothingToRollBack when there is none).
func (c *Client) Rollback(ctx context.Context, env, service string, opts RollbackOptions) (*Result, error) {
	args := append([]string{"rollback", flag("env", env), flag("service", service)}, allowFlags(opts.Allow)...)
	return c.Run(ctx, args...)
}

// Drift refreshes env's stack in preview mode. Drift is an answer, not an error: the result's
// Status is StatusDrift (exit 3, each resource in Result.Drift) or StatusNoDrift, and err is nil.
func (c *Client) Drift(ctx context.Context, env string) (*Result, error) {
	return c.Run(ctx, "drift", flag("env", env))
}

// Outputs reads env's stack outputs (Result.Outputs; secret ones as "[secret]").
func (c *Client) Outputs(ctx context.Context, env string) (*Result, error) {
	return c.Run(ctx, "outputs", flag("env", env))
}

// History reads env's last limit operations (1 to 100; 0 for the CLI's default, 10).
func (c *Client) History(ctx context.Context, env string, limit int) (*Result, error) {
	args := []string{"history", flag("env", env)}
	if limit != 0 {
		args = append(args, flag("limit", strconv.Itoa(limit)))
	}
	return c.Run(ctx, args...)
}

// DomainsAdd adds hostname to tenant in env (and the tenant, when new: opts.Service is then
// required), updates the tenant's shard and returns the records the customer must create.
func (c *Client) DomainsAdd(ctx context.Context, env, tenant, hostname string, opts DomainsOptions) (*Result, error) {
	args := append([]string{"domains", "add", flag("env", env), flag("tenant", tenant), flag("hostname", hostname)}, allowFlags(opts.Allow)...)
	if opts.Service != "" {
		args = append(args, flag("service", opts.Service))
	}
	return c.Run(ctx, args...)
}

// DomainsRemove removes hostname from tenant in env; removing its last hostname removes the
// tenant, whose namespace must be in opts.Allow.
func (c *Client) DomainsRemove(ctx context.Context, env, tenant, hostname string, opts DomainsOptions) (*Result, error) {
	args := append([]string{"domains", "remove", flag("env", env), flag("tenant", tenant), flag("hostname", hostname)}, allowFlags(opts.Allow)...)
	return c.Run(ctx, args...)
}

// DomainsList lists env's tenants, their shards and hostnames from the shard files (no Pulumi
// CLI); tenant "" lists them all.
func (c *Client) DomainsList(ctx context.Context, env, tenant string) (*Result, error) {
	args := []string{"domains", "list", flag("env", env)}
	if tenant != "" {
		args = append(args, flag("tenant", tenant))
	}
	return c.Run(ctx, args...)
}

// DomainsStatus re-reads each of tenant's hostnames' status (an update of its shard with refresh).
func (c *Client) DomainsStatus(ctx context.Context, env, tenant string) (*Result, error) {
	return c.Run(ctx, "domains", "status", flag("env", env), flag("tenant", tenant))
}
