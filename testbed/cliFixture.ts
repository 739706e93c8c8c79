/**
 * A repository-shaped directory where the real `enclii-infra` CLI runs against the real engine
 * (testbed/engine.ts): what the control plane's runner has, with the fixture programs standing in
 * for the platform and the tenants so that no cloud is needed.
 *
 *   const servers = new Servers();
 *   const engine = startEngine(servers, tools);              // tools: test/harness.ts requireBuilt
 *   const kube = await startKube(servers);                   // optional: without it no Kubernetes objects
 *   const cli = await cliFixtureRoot(engine, "cli", { kube });
 *   cli.run(["up", "--env", cli.environment, "--json"]);     // the bundled CLI, cwd = cli.root, env = cli.vars
 *   cli.run(["deploy", "--env", "cli", "--service", "switchyard-api", "--image", "ghcr.io/madfam-io/switchyard-api:1.4.3", "--force"]);
 *   cli.setConfig("fixture:failingImage", "ghcr.io/madfam-io/switchyard-api:1.4.4");  // the fixture's knobs
 *   cli.run(["domains", "add", "--env", "cli", "--tenant", "acme", "--hostname", "shop.acme.example", "--service", "storefront:8080"]);
 *   await servers.stopAll();                                 // removes the root with the engine's dir
 *
 * Another program (a Go client) runs the CLI as `cli.command` (node and automation/launch.cjs) with
 * the working directory `cli.root` and `cli.vars` over its own environment: PATH with the built
 * `pulumi` first, PULUMI_HOME logged in to the engine's file backend, PULUMI_CONFIG_PASSPHRASE, and
 * with a cluster ENCLII_TENANTS_TOKEN (the shards' token, which the CLI would otherwise mint over
 * SSH). Credentials reach the CLI through the environment only, never its arguments.
 *
 * The root holds:
 * - the engine fixture (testbed/engine-fixture, project `enclii-infra`) at its root, with the
 *   stack `<environment>` created in the backend and `Pulumi.<environment>.yaml` starting as the
 *   repository's Pulumi.staging.yaml, so `loadEnvironment` (automation/control/environment.ts)
 *   accepts it: the real platform schema, the repository's dogfooding/ specs (copied). The
 *   fixture's own knobs live in namespace `fixture` (`fixture:holdUntil`, `fixture:failingImage`,
 *   …: testbed/engine-fixture/index.ts), which that schema leaves alone; `enclii:services` is the
 *   real image-override key the CLI writes. With `kube`: `fixture:kubeconfig` (secret, through
 *   stdin) and the CloudNativePG CRD the fixture's Cluster needs (`fixtureCluster`).
 * - the tenants fixture in tenants/ (testbed/engine-fixture/tenants, project `enclii-tenants`):
 *   `domains add` creates its shard stack `<environment>-000` and file as it would in the
 *   repository. A shard reads `kubeApi` from the platform stack, so run `up` (or a deploy) of the
 *   platform once, with `kube`, before `domains add`/`status`.
 *
 * `--force` (or `--changed <path>`): the repository's switchyard-api spec has a deployFilter.
 * `spawn` starts the CLI for signals (test/engine-signals.real.test.ts): `fixture:holdStepUntil`
 * holds an update mid-step until a file exists.
 *
 * `engineLog`: every preview and update the CLI runs logs verbosely, and `engineRuns()` says what
 * each touched (testbed/engineLog.ts), for the tests and the bench that count it.
 *
 * One root per environment name and per API server: the fixture's objects live in the namespace
 * `enclii-platform`, and the stacks in the engine's backend (testbed/engine.ts's other tests use
 * `dev` and `staging`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { NODE_FLAGS } from "../automation/nodeFlags";
import { FIXTURE, fixtureCluster, type Engine } from "./engine";
import { engineRuns, installEngineLog, type EngineRun } from "./engineLog";
import type { Kube } from "./kube";

const REPO = join(__dirname, "..");
/** The CLI's entry as the package's `bin` runs it: the bundle, rebuilt first when a source is newer. */
export const LAUNCH = join(REPO, "automation", "launch.cjs");

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliFixture {
  /** The repository-shaped directory: the CLI's working directory. */
  root: string;
  /** The environment: the platform stack, and `--env` of every command. */
  environment: string;
  /** Environment variables for the CLI, over the caller's own. */
  vars: Record<string, string>;
  /** How to start the CLI: this, then the command's arguments. */
  command: string[];
  /** Runs the CLI to the end. */
  run(args: string[]): CliRun;
  /**
   * Starts the CLI, for signals and waits: `out` is what it has printed so far, `done` resolves
   * with its exit status and everything it printed once it has exited.
   */
  spawn(args: string[]): ChildProcess & { out: Omit<CliRun, "status">; done: Promise<CliRun> };
  /** `pulumi config set` on the platform stack (`--path` for a key with `.` or `[`); a secret goes through stdin. */
  setConfig(key: string, value: string, opts?: { secret?: boolean }): void;
  /** `pulumi config rm` on the platform stack. */
  removeConfig(key: string): void;
  /** With `engineLog`: each preview and update the CLI ran so far, in order, and what it touched. */
  engineRuns(): EngineRun[];
}

/** The admin's bearer token in a testbed/kube.ts kubeconfig. */
function kubeToken(kube: Kube): string {
  const m = /^\s+token: (\S+)$/m.exec(kube.kubeconfigText);
  if (!m) throw new Error("the test API server's kubeconfig has no token");
  return m[1];
}

/** A CLI fixture root in `engine`'s directory, its stack `environment` created; see the file's header. */
export async function cliFixtureRoot(
  engine: Engine,
  environment: string,
  opts: { kube?: Kube; engineLog?: boolean } = {},
): Promise<CliFixture> {
  const root = join(dirname(engine.root), `cli-${environment}`);
  mkdirSync(root);
  cpSync(FIXTURE, root, { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
  cpSync(join(REPO, "dogfooding"), join(root, "dogfooding"), { recursive: true });
  writeFileSync(join(root, `Pulumi.${environment}.yaml`), readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8"));

  const pulumi = (args: string[], input?: string) => {
    const r = engine.pulumi([...args, "--stack", environment], { cwd: root, input });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} in ${root} failed: ${r.stderr}`);
  };
  pulumi(["stack", "init"]);
  const vars = { ...engine.env };
  if (opts.kube) {
    await fixtureCluster(opts.kube);
    pulumi(["config", "set", "--secret", "fixture:kubeconfig"], opts.kube.kubeconfigText);
    vars.ENCLII_TENANTS_TOKEN = kubeToken(opts.kube);
  }
  const logDir = join(dirname(engine.root), `cli-${environment}-log`);
  if (opts.engineLog) vars.PATH = installEngineLog(logDir, vars.PATH);

  const command = [process.execPath, ...NODE_FLAGS, LAUNCH];
  const env = () => ({ ...process.env, ...vars });
  return {
    root,
    environment,
    vars,
    command,
    run(args) {
      const r = spawnSync(command[0], [...command.slice(1), ...args], { cwd: root, env: env(), encoding: "utf8" });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    spawn(args) {
      const child = spawn(command[0], [...command.slice(1), ...args], { cwd: root, env: env(), stdio: ["ignore", "pipe", "pipe"] });
      const out = { stdout: "", stderr: "" };
      child.stdout.setEncoding("utf8").on("data", (t: string) => (out.stdout += t));
      child.stderr.setEncoding("utf8").on("data", (t: string) => (out.stderr += t));
      const done = new Promise<CliRun>((resolve) => child.on("close", (code) => resolve({ status: code ?? -1, ...out })));
      return Object.assign(child, { out, done });
    },
    setConfig(key, value, o = {}) {
      const path = /[.[]/.test(key.slice(key.indexOf(":") + 1)) ? ["--path"] : [];
      if (o.secret) pulumi(["config", "set", "--secret", ...path, key], value);
      else pulumi(["config", "set", ...path, key, value]);
    },
    removeConfig(key) {
      pulumi(["config", "rm", key]);
    },
    engineRuns() {
      if (!opts.engineLog) throw new Error("engineRuns: the fixture was made without engineLog");
      return engineRuns(logDir);
    },
  };
}
