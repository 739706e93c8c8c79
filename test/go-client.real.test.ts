/**
 * The Go client (clients/go/enclii-infra), the `go test` of CI: its module gofmt- and vet-clean,
 * its unit tests against the stand-in CLIs in its testdata/, then its real-CLI tests
 * (`TestRealCLI`) driving the bundled `enclii-infra` in a CLI fixture root (testbed/cliFixture.ts)
 * against the real Pulumi engine, a file backend and a real API server. Those run only here: this
 * file sets ENCLII_GO_FIXTURE to a description of the fixture, and without it they skip (or, with
 * CI set, fail), so CI runs `go test` through this file alone (docs/control-plane.md#the-go-client).
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliFixtureRoot, type CliFixture } from "../testbed/cliFixture";
import { ENGINE_TOOLS, PROJECT, startEngine, type Engine } from "../testbed/engine";
import { startKube, type Kube } from "../testbed/kube";
import { Servers, waitFor } from "../testbed/servers";
import { requireBuilt, requireTool, ROOT } from "./harness";

const MODULE = join(ROOT, "clients", "go", "enclii-infra");
const ENVIRONMENT = "goclient";
/** TestRealCLI's steps, in order: each must be reported as passed, since a skip passes `go test` too. */
const STEPS = [
  "usage",
  "no-stack",
  "nothing-to-roll-back",
  "up",
  "deploy",
  "skipped",
  "rollback",
  "rolled-back",
  "drift",
  "domains",
  "history",
  "cancelled",
  "up-after-cancel",
];

const hasGo = requireTool("go", "golang (or the Go toolchain)");
const tools = Object.fromEntries([...ENGINE_TOOLS, "etcd", "kube-apiserver", "kubectl"].map((bin) => [bin, hasGo && requireBuilt(bin)]));
const built = Object.values(tools).every(Boolean);

/** `go` in the module; resolves with its exit status and everything it printed, interleaved. */
function go(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    // Not spawnSync: minutes of a blocked event loop would starve vitest's own messages.
    const child = spawn("go", args, { cwd: MODULE, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (output += t));
    child.on("close", (code) => resolve({ status: code ?? -1, output }));
  });
}

/** Processes working in `dir` (the CLI's engine and plugins run in the fixture root), by PID, through /proc. */
function processesIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

describe.skipIf(!hasGo)("the Go client's module", () => {
  it("is gofmt-clean and go vet-clean", async () => {
    const unformatted = spawnSync("gofmt", ["-l", MODULE], { encoding: "utf8" });
    expect(unformatted.stderr).toBe("");
    expect(unformatted.stdout).toBe("");
    const vet = await go(["vet", "./..."]);
    expect(vet.output.replace(/^go: downloading .*\n/gm, "")).toBe("");
    expect(vet.status).toBe(0);
  });

  it("passes its unit tests: every exit status, broken output, the contract's version and schema, the cancel path", async () => {
    const run = await go(["test", "-count=1", "-skip=^TestRealCLI$", "./..."]);
    expect(run.status, run.output).toBe(0);
  });
});

describe.skipIf(!built)("the Go client on the real CLI, engine and API server", () => {
  let servers: Servers;
  let engine: Engine;
  let kube: Kube;
  let cli: CliFixture;
  let fixture: string;

  beforeAll(async () => {
    servers = new Servers();
    engine = startEngine(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
    kube = (await startKube(servers))!;
    cli = await cliFixtureRoot(engine, ENVIRONMENT, { kube });
    // The file backend `pulumi login` chose, and its lock files' place (pkg/backend/diy/lock.go `lockPath`).
    const backend = (JSON.parse(readFileSync(join(engine.env.PULUMI_HOME, "credentials.json"), "utf8")) as { current: string }).current;
    const locks = join(new URL(backend).pathname, ".pulumi", "locks", "organization", PROJECT, ENVIRONMENT);
    fixture = join(servers.tempDir("go-client"), "fixture.json");
    // The passphrase and the shards' token are in `vars`: a file only this user reads, removed with the rest.
    const described = {
      root: cli.root,
      environment: ENVIRONMENT,
      command: cli.command,
      vars: cli.vars,
      kubectl: tools.kubectl,
      kubeconfig: kube.kubeconfig,
      locks,
    };
    writeFileSync(fixture, JSON.stringify(described), { mode: 0o600 });
  });
  afterAll(async () => {
    // A CLI that died without stopping the engine leaves it running, holding the stack's lock:
    // the test has failed then; what this test started goes with it.
    for (const pid of cli ? processesIn(cli.root) : []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    await servers?.stopAll();
  });

  it(
    "deploys, rolls back, is rolled back, finds drift, adds domains and cancels an update through the Go client",
    async () => {
      const run = await go(["test", "-count=1", "-v", "-timeout=40m", "-run=^TestRealCLI$", "./..."], {
        ...process.env,
        ENCLII_GO_FIXTURE: fixture,
      });
      expect(run.status, run.output).toBe(0);
      const passed = STEPS.filter((step) => run.output.includes(`--- PASS: TestRealCLI/${step} (`));
      expect(passed, run.output).toEqual(STEPS);
      expect(engine.locks(ENVIRONMENT)).toEqual([]);
      // Nothing the CLI started outlives it: the cancelled update's engine and plugins included.
      await waitFor("the engine's processes to exit", async () => (processesIn(cli.root).length === 0 ? true : undefined));
    },
    // A safety net, not a budget: about a dozen CLI runs, each a Node start and an engine run.
    2_700_000,
  );
});
