/**
 * The real Pulumi engine for the tests (test/engine.real.test.ts): the CLI, the Node.js language
 * host and the Kubernetes provider built by `npm run toolchain`, driven through the Automation API
 * exactly as the control-plane library drives them (automation/control/workspace.ts
 * `localStacks`), with everything local and nothing reaching the network:
 *
 * - a Pulumi installation of our own (`<dir>/bin`, links to the built binaries), which the
 *   Automation API puts first on the CLI's PATH: the language host and the provider are found
 *   there, the provider as an ambient plugin whatever version the npm SDK asks for; its `pulumi`
 *   is a script that records each call's arguments (`calls()`) and then execs the built CLI, so
 *   the process the SDK starts and signals is the CLI itself;
 * - a temp PULUMI_HOME, `pulumi login file://<dir>/state` (the self-managed backend, with its lock
 *   files), and the passphrase secrets provider, its passphrase only ever in the environment;
 * - no update check, no plugin download;
 * - the program (testbed/engine-fixture) copied to a temp dir, with the repository's node_modules
 *   linked beside it, so stack files are written there and never into the checkout.
 *
 * The caller owns `servers`; `servers.stopAll()` removes every temp dir.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import {
  LocalWorkspace,
  PulumiCommand,
  type EngineEvent,
  type PreviewOptions,
  type RefreshOptions,
  type UpOptions,
} from "@pulumi/pulumi/automation";
import { localStacks, type ControlStack, type OpenStack, type StackRef } from "../automation/control/workspace";
import type { Kube } from "./kube";
import { waitFor, type Servers } from "./servers";

export const ENGINE_TOOLS = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes"] as const;
export const FIXTURE = join(__dirname, "engine-fixture");
/** The fixture's project, as its Pulumi.yaml names it (the platform's). */
export const PROJECT = "enclii-infra";

export interface Engine {
  /** The program's copy: a repository root as `localStacks` sees one (the platform project at its root). */
  root: string;
  /**
   * What every CLI call runs with, over this process's environment: PATH with this installation's
   * `bin` first, PULUMI_HOME (logged in to the file backend), the passphrase, no update check.
   */
  env: Record<string, string>;
  /** The CLI in `cwd` (default `root`), `input` on its stdin. */
  pulumi(args: string[], opts?: { cwd?: string; input?: string }): { status: number; stdout: string; stderr: string };
  /** Every CLI call so far (the SDK's and the tests'), as its argument list. */
  calls(): string[][];
  /** The passphrase of the stacks' secrets provider, for tests that check it never leaks. */
  passphrase: string;
  /** Stacks opened as the library opens them, with this engine's CLI and environment. */
  open: OpenStack;
  /**
   * Sets a secret config value through stdin (pkg/cmd/pulumi/config/config.go `configSetCmd.Run`
   * reads it there when no value is given): the Automation API's `setConfig` passes the value as
   * an argument (localWorkspace.js `setConfig`), which any process on the machine can read.
   */
  setSecret(stack: string, key: string, value: string): void;
  /** Starts the CLI, its output in `log`; `killTree` ends it as a crash would. */
  spawnPulumi(args: string[], log: string): ChildProcess;
  /** The lock files held on `stack` in the backend (pkg/backend/diy/lock.go `lockPath`). */
  locks(stack: string): string[];
  /** Resolves once an update holds `stack`'s lock. */
  locked(stack: string): Promise<void>;
  /** `pulumi cancel` through the Automation API (`Stack.cancel`): the self-managed backend deletes the stack's locks. */
  cancel(stack: string): Promise<void>;
}

/** A fresh engine home, backend and program copy, logged in; `tools` are the built binaries. */
export function startEngine(servers: Servers, tools: Record<(typeof ENGINE_TOOLS)[number], string>): Engine {
  const dir = servers.tempDir("engine");
  const bin = join(dir, "pulumi", "bin");
  mkdirSync(bin, { recursive: true });
  for (const name of ENGINE_TOOLS.filter((t) => t !== "pulumi")) symlinkSync(tools[name], join(bin, name));
  // The dynamic providers' plugin, as the Node.js SDK's distribution ships it
  // (sdk/nodejs/dist/pulumi-resource-pulumi-nodejs): the SDK's provider, from the program's node_modules.
  writeFileSync(
    join(bin, "pulumi-resource-pulumi-nodejs"),
    `#!/bin/sh\nexec node "$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" "$@"\n`,
    { mode: 0o755 },
  );
  const callLog = join(dir, "calls.log");
  // One write per call (a line of arguments, each ended by US), so concurrent calls never
  // interleave; `exec`, so the SDK's child is the CLI and its SIGINT reaches the engine.
  writeFileSync(
    join(bin, "pulumi"),
    `#!/bin/sh\nus=$(printf '\\037')\nline=""\nfor a in "$@"; do line="$line$a$us"; done\nprintf '%s\\n' "$line" >> '${callLog}'\nexec '${tools.pulumi}' "$@"\n`,
    { mode: 0o755 },
  );
  const state = join(dir, "state");
  const root = join(dir, "program");
  mkdirSync(state);
  cpSync(FIXTURE, root, { recursive: true });
  symlinkSync(join(FIXTURE, "..", "..", "node_modules"), join(root, "node_modules"));

  const passphrase = randomBytes(18).toString("base64");
  const env: Record<string, string> = {
    // The language host runs `node` from PATH.
    PATH: [bin, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
    PULUMI_HOME: join(dir, "home"),
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The provider binary on PATH is used whatever version @pulumi/kubernetes asks for, unless this
    // is true (sdk/go/common/workspace/plugins.go); the environment cannot unset it, so it says false.
    PULUMI_IGNORE_AMBIENT_PLUGINS: "false",
    // The repository's tsc checks the fixture; ts-node only needs to transpile it.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  };
  const fullEnv = () => ({ ...process.env, ...env });
  const pulumi: Engine["pulumi"] = (args, opts = {}) => {
    const r = spawnSync(join(bin, "pulumi"), [...args, "--non-interactive"], {
      cwd: opts.cwd ?? root,
      env: fullEnv(),
      encoding: "utf8",
      input: opts.input,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const login = pulumi(["login", `file://${state}`]);
  if (login.status !== 0) throw new Error(`pulumi login file://${state} failed: ${login.stderr}`);

  const pulumiRoot = join(dir, "pulumi");
  const locks = (stack: string) => {
    const lockDir = join(state, ".pulumi", "locks", "organization", PROJECT, stack);
    return existsSync(lockDir) ? readdirSync(lockDir).filter((f) => f.endsWith(".json")) : [];
  };
  return {
    root,
    env,
    pulumi,
    calls: () =>
      existsSync(callLog)
        ? readFileSync(callLog, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => line.split("\u001f").slice(0, -1))
        : [],
    passphrase,
    open: localStacks(root, { pulumiRoot, envVars: env }),
    setSecret(stack, key, value) {
      const r = pulumi(["config", "set", "--secret", key, "--stack", stack], { input: value });
      if (r.status !== 0) throw new Error(`pulumi config set --secret ${key} failed: ${r.stderr}`);
    },
    spawnPulumi(args, log) {
      const fd = openSync(log, "a");
      const child = spawn(join(bin, "pulumi"), [...args, "--non-interactive"], { cwd: root, env: fullEnv(), stdio: ["ignore", fd, fd] });
      closeSync(fd);
      return child;
    },
    locks,
    locked: async (stack) => {
      await waitFor(`an update to hold ${stack}'s lock`, async () => (locks(stack).length > 0 ? true : undefined));
    },
    cancel: async (stack) => {
      const opened = await LocalWorkspace.selectStack(
        { stackName: stack, workDir: root },
        { pulumiCommand: await PulumiCommand.get({ root: pulumiRoot }), envVars: env },
      );
      await opened.cancel();
    },
  };
}

/**
 * The fixture's cluster: the CloudNativePG Cluster's CRD as vendored (schemas/), created unless
 * it is there (apply's annotation cannot hold it) and waited for; returns kubectl in the fixture's namespace, throwing
 * with kubectl's words when it fails.
 */
export async function fixtureCluster(kube: Kube): Promise<(...args: string[]) => string> {
  const kubectl = (...args: string[]) => {
    const r = kube.kubectl(["--namespace=enclii-platform", ...args]);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  // Once per API server: another fixture on the same server may have created it.
  if (kube.kubectl(["get", "crd/clusters.postgresql.cnpg.io"]).status !== 0)
    kubectl("create", `--filename=${join(__dirname, "..", "schemas", "crds", "cnpg", "postgresql.cnpg.io_clusters.yaml")}`);
  // `kubectl wait` fails outright while the CRD has no conditions yet.
  const established = '--output=jsonpath={.status.conditions[?(@.type=="Established")].status}';
  await waitFor("the Cluster CRD to be established", async () =>
    kubectl("get", "crd/clusters.postgresql.cnpg.io", established) === "True" ? true : undefined,
  );
  return kubectl;
}

/** One engine command the library ran: its name, the events it sent, and what it returned or threw. */
export interface Run {
  method: "preview" | "up" | "previewRefresh";
  events: EngineEvent[];
  result?: unknown;
  error?: unknown;
}

/**
 * Opens stacks through `open` and keeps the events of every preview, update and refresh preview
 * the library runs on them, as the Automation API hands them over; `since()` gives the runs from
 * then on.
 */
export function recording(open: OpenStack): OpenStack & { runs: Run[]; since(): () => Run[] } {
  const runs: Run[] = [];
  const wrap = (stack: ControlStack): ControlStack => {
    const watch = <O extends PreviewOptions | UpOptions | RefreshOptions, R>(
      method: Run["method"],
      call: (opts: O) => Promise<R>,
    ): ((opts?: O) => Promise<R>) => {
      return async (opts) => {
        const run: Run = { method, events: [] };
        runs.push(run);
        const given = opts?.onEvent;
        try {
          return (run.result = await call({ ...opts, onEvent: (e: EngineEvent) => (run.events.push(e), given?.(e)) } as O));
        } catch (err) {
          run.error = err;
          throw err;
        }
      };
    };
    return {
      name: stack.name,
      getConfig: (key, path) => stack.getConfig(key, path),
      setConfig: (key, value, path) => stack.setConfig(key, value, path),
      removeConfig: (key, path) => stack.removeConfig(key, path),
      preview: watch("preview", (o: PreviewOptions) => stack.preview(o)),
      up: watch("up", (o: UpOptions) => stack.up(o)),
      refresh: (o) => stack.refresh(o),
      previewRefresh: watch("previewRefresh", (o: RefreshOptions) => stack.previewRefresh(o)),
      outputs: () => stack.outputs(),
      history: (size, page, secrets) => stack.history(size, page, secrets),
    };
  };
  const since = () => {
    const start = runs.length;
    return () => runs.slice(start);
  };
  return Object.assign(async (ref: StackRef) => wrap(await open(ref)), { runs, since });
}

/** The PIDs under `pid`, children first found through /proc (Linux). */
function descendants(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  const children = readdirSync(tasks).flatMap((tid) => {
    try {
      return readFileSync(`${tasks}/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/**
 * SIGKILL to a process and everything under it, each by its PID: the CLI starts its plugins in
 * process groups of their own, so a group kill would leave the language host running.
 */
export function killTree(pid: number): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
