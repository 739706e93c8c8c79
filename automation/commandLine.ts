/**
 * The `enclii-infra` command line: the offline plan (`plan`, no credentials) and the control plane's door (every
 * other command, through Pulumi's Automation API and the Pulumi CLI on PATH). Arguments are parsed
 * by commander; a usage error exits 2 (with --json, as a result object).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { operationResult } from "../model/contract";
import { EXIT, type OperationResult } from "../model/controlPlane";
import type { ControlArgs, ControlDeps, Io } from "./control/commands";
import { RUN_TOKEN_TTL_S } from "../components/k3s/credential";
import { ACCOUNTS, type KubeTokenArgs } from "./control/kubeToken";
import type { LoadtestArgs } from "./control/loadtest";
import {
  LOADTEST_DEFAULTS,
  RULES,
  STOP_RULE,
  parseConnections,
  parseDuration,
  parseMaxErrorRatio,
  parsePath,
  parseRps,
} from "../model/loadtest";
import { allowArg, changedArg, environmentArg, stackFileArg, stackListArg } from "./cliArgs";
import { planCommand } from "./planCommand";
import { DEFAULT_ROTATION_PERIOD_DAYS, ROTATABLE_SECRETS, type RotatableSecret } from "../model/rotation";
import type { RotateArgs } from "./control/rotate";

const EXIT_HELP = `
Exit status: ${Object.entries(EXIT)
  .map(([name, code]) => `${code} ${name}`)
  .join(", ")}.
With --json, stdout holds one JSON object (docs/control-plane.md); progress goes to stderr.`;

/** TokenRequest's floor is 10 minutes; above the run's two hours a token is not short-lived. */
const TOKEN_MINUTES = { min: 10, max: RUN_TOKEN_TTL_S / 60 };
/** The history page the CLI asks for: a whole number, at most what one page of the backend holds. */
const HISTORY_MAX = 100;
function historyLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > HISTORY_MAX) throw new InvalidArgumentError(`a whole number from 1 to ${HISTORY_MAX}`);
  return n;
}
/** An option value `parse` accepts, else a usage error saying what the value must be. */
const checked =
  <T>(parse: (text: string) => T | undefined, rule: string) =>
  (value: string): T => {
    const parsed = parse(value);
    if (parsed === undefined) throw new InvalidArgumentError(rule);
    return parsed;
  };
function minutes(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < TOKEN_MINUTES.min || n > TOKEN_MINUTES.max)
    throw new InvalidArgumentError(`a whole number of minutes from ${TOKEN_MINUTES.min} to ${TOKEN_MINUTES.max}`);
  return n;
}

export function buildCli(io: Io, deps: ControlDeps, done: (code: number) => void): Command {
  const program = new Command("enclii-infra")
    .description("Plan, preview, update and deploy Enclii's environments (platform stacks) and tenant shards")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError()
    .addHelpText("after", EXIT_HELP);

  const withEnv = (parent: Command, name: string, description: string, env: string) =>
    parent
      .command(name)
      .description(description)
      .requiredOption("--env <environment>", env, environmentArg(deps.root))
      .option("--json", "print one JSON result on stdout")
      .exitOverride();
  const control = (name: string, description: string) =>
    withEnv(program, name, description, "the environment: a platform stack with a Pulumi.<environment>.yaml");
  const run = (command: string) => async (opts: Omit<ControlArgs, "command">) => {
    const { runControl } = await import("./control/commands");
    done(await runControl({ command, ...opts }, io, deps));
  };
  const allow = new Option("--allow <urn>", "accept replacing or deleting this resource (repeat for each)").argParser(allowArg).default([]);

  program
    .command("plan")
    .description("the offline plan: the real program under Pulumi's mocks, no credentials, files under plan/<stack>/")
    .argument("<stack>", "a platform stack (production) or one tenant shard (staging-003)")
    .option("--out <dir>", "where the plan goes (default plan/<stack>)")
    .option("--config <file>", "a stack file other than Pulumi.<stack>.yaml")
    .option("--tenants <dir>", "where the shard stack files are (default tenants/)")
    .option(
      "--against <dir|ref>",
      "compare with another plan: a plan directory or a git ref (exit 3 changes, 4 replaces something holding data)",
    )
    .option(
      "--jobs <n>",
      "worker processes planning the tenant shards (default: one fewer than the cores, at least 1; 1 plans them in this process)",
    )
    .option("--skip-same <file>", "leave out the shards whose digests FILE has (what a plan --against a git ref gives the ref's planner)")
    .option("--json", "print cost, capacity and the diff as one JSON object")
    .exitOverride()
    .action(async (stack: string, opts: Record<string, string | boolean>) => {
      // commander names options in camelCase; the plan parses them as typed.
      const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const argv = [stack, ...Object.entries(opts).flatMap(([k, v]) => (v === true ? [flag(k)] : [flag(k), String(v)]))];
      done(await planCommand(argv, io));
    });
  program
    .command("drill")
    .description(
      "the restore drill: the database restored from R2 into a throw-away cluster, row counts through PgBouncer, the etcd snapshot's age",
    )
    .argument("<stack>", "a platform stack (Pulumi.<stack>.yaml)")
    .option("--config <file>", "a stack file other than Pulumi.<stack>.yaml", stackFileArg(deps.root))
    .option("--run", "run it against the cluster kubectl points at (default: print it)")
    .exitOverride()
    .action(async (stack: string, opts: { config?: string; run?: boolean }) => {
      const { drillCommand } = await import("./drillCommand");
      done(await drillCommand(stack, opts, io, deps.root));
    });
  program
    .command("pr-comment")
    .description("the pull request's plan comment: each stack's offline plan against the base ref, its bill and capacity (no credentials)")
    .requiredOption("--base <ref>", "the git ref the pull request merges into (origin/main)")
    .option("--stacks <list>", "comma-separated platform stacks", stackListArg(deps.root), "staging,production")
    .exitOverride()
    .action(async (opts: { base: string; stacks: string }) => {
      const { prComment } = await import("./prComment");
      const { body, exitCode } = await prComment(opts.stacks.split(","), opts.base);
      io.stdout(body);
      done(exitCode);
    });
  program
    .command("kube-token")
    .description(
      "a short-lived Kubernetes token, minted over SSH at the environment's first server: ENCLII_TENANTS_TOKEN=$(enclii-infra kube-token --env E) pulumi up, in tenants/",
    )
    .requiredOption("--env <environment>", "the environment: a platform stack with a Pulumi.<environment>.yaml", environmentArg(deps.root))
    .addOption(
      new Option("--account <name>", "tenants: the shards' account; platform: cluster-admin, for break-glass work")
        .choices(Object.keys(ACCOUNTS))
        .default("tenants"),
    )
    .option("--minutes <n>", "how long the token lives (10 to 120)", minutes, RUN_TOKEN_TTL_S / 60)
    .option("--revoke", "refuse every token of the account from now on, instead of minting one")
    .exitOverride()
    .action(async (opts: KubeTokenArgs) => {
      const { kubeTokenCommand } = await import("./control/kubeToken");
      const { localStacks } = await import("./control/workspace");
      const open = deps.open ?? localStacks(deps.root);
      done(await kubeTokenCommand(opts, io, (stack) => open({ project: "platform", stack })));
    });
  // Rotation (docs/runbooks/rotations.md): each step's config written before its guarded update, so a rerun resumes.
  const MAX_ROTATION_PERIOD_DAYS = 3650;
  const rotationPeriod = (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > MAX_ROTATION_PERIOD_DAYS)
      throw new InvalidArgumentError(`a whole number of days from 1 to ${MAX_ROTATION_PERIOD_DAYS}`);
    return n;
  };
  program
    .command("rotate")
    .description("move a secret to its next generation, one guarded update per step; running it again resumes a rotation that stopped")
    .argument("[secret]", `the secret: ${ROTATABLE_SECRETS.join(", ")}`, (value: string) => {
      if (!(ROTATABLE_SECRETS as string[]).includes(value)) throw new InvalidArgumentError(`one of ${ROTATABLE_SECRETS.join(", ")}`);
      return value as RotatableSecret;
    })
    .requiredOption("--env <environment>", "the environment: a platform stack with a Pulumi.<environment>.yaml", environmentArg(deps.root))
    .option("--due", "every secret older than its period (or left mid-rotation), one result per secret")
    .option("--older-than-days <n>", `with --due: the period, in days (default ${DEFAULT_ROTATION_PERIOD_DAYS})`, rotationPeriod)
    .option("--dry-run", "with --due: say what is due, rotate nothing")
    .addOption(allow)
    .option("--json", "print one JSON result on stdout")
    .exitOverride()
    .action(async (secret: RotatableSecret | undefined, opts: Omit<RotateArgs, "secret">) => {
      const { rotateCommand } = await import("./control/rotate");
      done(await rotateCommand({ ...opts, secret }, io, { root: deps.root, sleep: deps.sleep, now: deps.now }));
    });
  control("preview", "what an update would change, with the guard's verdict (exit 4 when it would refuse)").action(run("preview"));
  control("up", "preview, guard, then update the platform stack")
    .addOption(allow)
    .option("--message <text>", "recorded in the stack's history")
    .action(run("up"));
  control("deploy", "set one service's image and update only that service; the previous image comes back if the update fails")
    .requiredOption("--service <name>", "a service from dogfooding/ (switchyard-api, janua, …)")
    .requiredOption("--image <ref>", "a pinned image: name:tag (not latest) or name@sha256:…")
    .option(
      "--changed <path>",
      "a path the push changed, as git names it (repeat for each): judged by the service's deployFilter",
      changedArg,
      [],
    )
    .option("--force", "deploy whatever the service's deploySchedule, deployFilter and error budget say (recorded in the history)")
    .option("--canary", "run the image as a canary beside the stable pods, judged by the service's SLOs before it is promoted")
    .option("--no-canary", "deploy plainly even where the spec's deploy.canary.enabled asks for a canary")
    .addOption(allow)
    .action(run("deploy"));
  control("rollback", "deploy the image of the previous successful deploy, found in the stack's history")
    .requiredOption("--service <name>", "a service from dogfooding/")
    .addOption(allow)
    .action(run("rollback"));
  control("outputs", "the stack's outputs, secrets shown as [secret]").action(run("outputs"));
  control("history", "the stack's last operations and the images they ran")
    .option("--limit <n>", `how many (1 to ${HISTORY_MAX})`, historyLimit, 10)
    .action(run("history"));
  control("drift", "refresh in preview mode: exit 3 when the world differs from the state").action(run("drift"));
  control(
    "rebuild-first-server",
    "the lost first server of a multi-server cluster: set enclii:k3s.joinVia, then update replacing the first server and its bootstrap, which joins the survivors",
  )
    .option("--via <server>", "the surviving server it joins through (default: the second server)")
    .action(run("rebuild-first-server"));
  program
    .command("loadtest")
    .description(
      "drive the environment's public hostnames at a fixed rate (autocannon); report latency, errors and the SLOs, and the burn rates Prometheus saw (exit 1 when an SLO is missed)",
    )
    .requiredOption("--env <environment>", "the environment: a platform stack with a Pulumi.<environment>.yaml", environmentArg(deps.root))
    .addOption(
      new Option("--rps <n>", "requests a second, over all the hostnames driven")
        .argParser(checked(parseRps, RULES.rps))
        .default(LOADTEST_DEFAULTS.rps),
    )
    .addOption(
      new Option("--duration <time>", "how long: 30s, 5m")
        .argParser(checked(parseDuration, RULES.duration))
        .default(parseDuration(LOADTEST_DEFAULTS.duration), LOADTEST_DEFAULTS.duration),
    )
    .addOption(
      new Option("--path <path>", "the path requested at each hostname")
        .argParser(checked(parsePath, RULES.path))
        .default(LOADTEST_DEFAULTS.path),
    )
    .option("--host <hostname>", "drive only this public hostname (default: all of them, sharing the rate)")
    .addOption(
      new Option("--connections <n>", "connections to open (default: one per 5 requests a second, at least 10)").argParser(
        checked(parseConnections, RULES.connections),
      ),
    )
    .addOption(
      new Option(
        "--max-error-ratio <ratio>",
        `stop when more than this share of the last ${STOP_RULE.windowSeconds} s of requests failed (once there are ${STOP_RULE.minRequests})`,
      )
        .argParser(checked(parseMaxErrorRatio, RULES.maxErrorRatio))
        .default(LOADTEST_DEFAULTS.maxErrorRatio),
    )
    .option("--allow-production", "run it against production, whose hostnames customers use")
    .option("--json", "print the report as one JSON object")
    .exitOverride()
    .action(async (opts: LoadtestArgs) => {
      const { loadtestCommand } = await import("./control/loadtest");
      done(await loadtestCommand(opts, io, { root: deps.root, env: process.env }));
    });

  const domains = program
    .command("domains")
    .description("a tenant's custom hostnames (Cloudflare for SaaS), in its shard stack")
    .exitOverride();
  const domain = (name: string, description: string) => withEnv(domains, name, description, "the environment whose shards hold the tenant");
  domain("add", "add a hostname (and the tenant, when new) and print the DNS records the customer must create")
    .requiredOption("--tenant <name>", "the tenant")
    .requiredOption("--hostname <fqdn>", "the customer's hostname")
    .option("--service <name:port>", "the tenant's Service the hostname routes to (required for a new tenant)")
    .addOption(allow)
    .action(run("domains add"));
  domain("remove", "remove a hostname; removing the last one removes the tenant (its namespace needs --allow)")
    .requiredOption("--tenant <name>", "the tenant")
    .requiredOption("--hostname <fqdn>", "the hostname to remove")
    .addOption(allow)
    .action(run("domains remove"));
  domain("list", "the environment's tenants, their shards and hostnames (no Pulumi CLI needed)")
    .option("--tenant <name>", "only this tenant")
    .action(run("domains list"));
  domain("status", "re-read each hostname's ownership and certificate status from Cloudflare")
    .requiredOption("--tenant <name>", "the tenant")
    .action(run("domains status"));
  return program;
}

/**
 * A usage error commander found, as the result the command would have given: named by its
 * command (`domains add`) and the environment it was asked for (its platform stack: a shard is
 * only chosen once the arguments are good).
 */
function usageResult(argv: string[], message: string): OperationResult {
  const firstFlag = argv.findIndex((a) => a.startsWith("-"));
  const words = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
  const at = argv.findIndex((a) => a === "--env" || a.startsWith("--env="));
  const env = at < 0 ? "" : argv[at].startsWith("--env=") ? argv[at].slice("--env=".length) : (argv[at + 1] ?? "");
  const environment = env.startsWith("-") ? "" : env;
  return operationResult({ operation: words.join(" "), environment, stack: environment }, "usage", message.replace(/^error: /, ""));
}

/** Parses `argv` and runs the command; resolves with its exit status. */
export async function runCli(argv: string[], io: Io, deps: ControlDeps): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildCli(io, deps, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return EXIT.ok; // --help, --version
    if (argv.includes("--json")) io.stdout(`${JSON.stringify(usageResult(argv, err.message))}\n`);
    return EXIT.usage;
  }
  return code;
}
