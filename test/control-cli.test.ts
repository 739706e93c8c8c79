/**
 * `enclii-infra` as the control plane runs it: the bundled CLI, the real Automation API
 * (LocalWorkspace, Stack, its gRPC event stream) and a stand-in `pulumi` first on PATH
 * (testbed/pulumi), which records its arguments and replays engine event logs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../automation/commandLine";
import { EXIT } from "../model/controlPlane";
import { ROOT, copyRepo } from "./harness";

const STANDIN = join(ROOT, "testbed", "pulumi");
const SCENARIOS = join(STANDIN, "scenarios");
const NODE_DIR = dirname(process.execPath);
const API_DEPLOYMENT =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:apps:Apps$enclii:apps:Service$kubernetes:apps/v1:Deployment::enclii-apps-switchyard-api-deployment";
// switchyard-api's deployFilter judges the push's paths (docs/control-plane.md#when-a-deploy-may-run).
const DEPLOY = [
  "deploy",
  "--env",
  "staging",
  "--service",
  "switchyard-api",
  "--image",
  "ghcr.io/madfam-io/switchyard-api:1.4.3",
  "--changed",
  "apps/switchyard-api/main.go",
];

const tmp = mkdtempSync(join(tmpdir(), "enclii-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let state: string;
let n = 0;

beforeEach(() => {
  root = join(tmp, `repo-${n}`);
  state = join(tmp, `standin-${n++}`);
  copyRepo(root);
});

function cli(args: string[], opts: { scenario?: string; path?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const env = {
    ...process.env,
    PATH: (opts.path ?? [STANDIN, NODE_DIR, ...(process.env.PATH ?? "").split(delimiter)]).join(delimiter),
    ENCLII_STANDIN_SCENARIO: join(SCENARIOS, opts.scenario ?? "deploy-ok.json"),
    ENCLII_STANDIN_DIR: state,
    ...opts.env,
  };
  return spawnSync(process.execPath, [join(ROOT, "automation", "launch.cjs"), ...args], { cwd: root, env, encoding: "utf8" });
}

/** What the stand-in was asked, one argument list per invocation. */
const calls = (): string[][] =>
  readFileSync(join(state, "calls.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).args);
const stackFile = () => readFileSync(join(root, "Pulumi.staging.yaml"), "utf8");

describe("enclii-infra --help", () => {
  it("explains the program and every command", () => {
    const top = cli(["--help"]);
    expect(top.status).toBe(0);
    for (const command of ["plan", "preview", "up", "deploy", "rollback", "outputs", "history", "drift", "domains"])
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(top.stdout).toContain(
      "Exit status: 0 ok, 1 failed, 2 usage, 3 drift, 4 refused, 5 rolledBack, 6 rollbackFailed, 7 noCli, 8 busy, 9 noStack, 10 nothingToRollBack, 11 cancelled, 12 interrupted, 13 outsideWindow, 14 canaryAborted.",
    );
    for (const command of [["deploy"], ["rollback"], ["drift"], ["domains", "add"], ["domains", "status"], ["plan"]]) {
      const help = cli([...command, "--help"]);
      expect(help.status, command.join(" ")).toBe(0);
      expect(help.stdout).toContain(`Usage: enclii-infra ${command.join(" ")} [options]`);
    }
  });

  it("refuses a history --limit that is not a whole number from 1 to 100, and kube-token minutes outside 10 to 120", () => {
    for (const limit of ["0", "-1", "1.5", "ten", "101", "1e2"]) {
      const res = cli(["history", "--env", "staging", "--limit", limit]);
      expect(res.status, limit).toBe(EXIT.usage);
      expect(res.stderr, limit).toContain(`option '--limit <n>' argument '${limit}' is invalid. a whole number from 1 to 100`);
    }
    const res = cli(["kube-token", "--env", "staging", "--minutes", "5"]);
    expect(res.status).toBe(EXIT.usage);
    expect(res.stderr).toContain("a whole number of minutes from 10 to 120");
  });

  it("answers a usage error with exit 2, as JSON when asked", () => {
    const res = cli(["deploy", "--env", "staging", "--service", "switchyard-api", "--json"]);
    expect(res.status).toBe(EXIT.usage);
    expect(JSON.parse(res.stdout)).toMatchObject({
      status: "usage",
      exitCode: 2,
      message: "staging (stack staging): required option '--image <ref>' not specified",
    });
  });
});

describe("deploy through the Automation API", () => {
  it("without a Pulumi CLI: exit 7, says what to install, changes nothing", () => {
    const before = stackFile();
    const res = cli(DEPLOY, { path: [NODE_DIR] });
    expect(res.status).toBe(EXIT.noCli);
    expect(res.stderr).toContain("no pulumi executable on PATH; install the Pulumi CLI 3.270.0 or newer");
    expect(stackFile()).toBe(before);
  });

  it("with a CLI older than the SDK: exit 7 naming both versions", () => {
    const res = cli(DEPLOY, { scenario: "too-old.json" });
    expect(res.status).toBe(EXIT.noCli);
    expect(res.stderr).toContain("pulumi 3.100.0 is older than 3.270.0");
  });

  it("with a stack the backend does not have: exit 9 (noStack) saying so, the stack file unchanged", () => {
    const before = stackFile();
    const res = cli([...DEPLOY, "--json"], { scenario: "no-stack.json" });
    expect(res.status).toBe(EXIT.noStack);
    expect(JSON.parse(res.stdout).message).toBe(
      "staging: no such stack in the backend pulumi is logged in to; pulumi login to the right backend, or pulumi stack init staging",
    );
    expect(stackFile()).toBe(before);
  });

  it("deploys: the image in the stack file, an update targeted at the service's Deployment", () => {
    const res = cli(DEPLOY);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain("[1/1] update kubernetes:apps/v1:Deployment enclii-apps-switchyard-api-deployment");
    expect(res.stdout).toContain("switchyard-api runs ghcr.io/madfam-io/switchyard-api:1.4.3 in staging");
    expect(stackFile()).toContain("switchyard-api: { replicas: 1, image: ghcr.io/madfam-io/switchyard-api:1.4.3 }");
    const up = calls().find((a) => a[0] === "up")!;
    expect(up).toEqual(
      expect.arrayContaining([
        "--target",
        API_DEPLOYMENT,
        "--message",
        "enclii deploy switchyard-api ghcr.io/madfam-io/switchyard-api:1.4.3",
      ]),
    );
    // The engine's events arrived over the Automation API's gRPC stream, as from a CLI after 3.205.
    expect(calls().find((a) => a[0] === "preview")).toEqual(expect.arrayContaining([expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/)]));
  });

  it("rolls back when the rollout fails, and says so", () => {
    const before = stackFile();
    const res = cli([...DEPLOY, "--json"], { scenario: "deploy-rollout-fails.json" });
    expect(res.status).toBe(EXIT.rolledBack);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({
      status: "rolled-back",
      message:
        "switchyard-api: the update to ghcr.io/madfam-io/switchyard-api:1.4.3 failed; ghcr.io/madfam-io/switchyard-api:1.4.2 (its spec's image) is back",
    });
    expect(out.engineMessage).toContain("'switchyard-api' timed out waiting to be Ready");
    // The same config: the stand-in re-renders the whole file with the yaml package (a flow list
    // gains padding), where the real CLI edits it in place (sdk/go/common/util/yamlutil Edit).
    expect(parse(stackFile())).toEqual(parse(before));
    expect(calls().filter((a) => a[0] === "up")).toHaveLength(2);
    expect(calls().some((a) => a[0] === "config" && a[1] === "rm")).toBe(true);
  });

  it("domains add prints the customer's records as one JSON result", () => {
    const res = cli(
      [
        "domains",
        "add",
        "--env",
        "staging",
        "--tenant",
        "acme",
        "--hostname",
        "shop.acme.example",
        "--service",
        "storefront:8080",
        "--json",
      ],
      // The shard's token, as a runner that mints its own brings it (the stand-in CLI has no server to mint at).
      { scenario: "domains.json", env: { ENCLII_TENANTS_TOKEN: "brought.run.token" } },
    );
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.domains.hostnames[0].records).toEqual([
      { type: "CNAME", name: "shop.acme.example", value: "proxy.enclii.dev", purpose: "traffic" },
      { type: "TXT", name: "_cf-custom-hostname.shop.acme.example", value: "5cc07c04-ea62-4a5a-95f0-419334a875a4", purpose: "ownership" },
      { type: "TXT", name: "_acme-challenge.shop.acme.example", value: "ca3-574923932a82475cb8592200f1a2a23d", purpose: "certificate" },
    ]);
    expect(calls().map((a) => a.slice(0, 2).join(" "))).toEqual(
      expect.arrayContaining(["stack select", "stack init", "preview --target", "up --yes"]),
    );
    // The shard has outputs (an update made it before): the preview and the update target acme's resources alike.
    const scoped = (a: string[]) => [a.filter((_, i) => a[i - 1] === "--target"), a.includes("--target-dependents")];
    const [preview, up] = ["preview", "up"].map((c) => scoped(calls().find((a) => a[0] === c)!));
    expect(preview).toEqual(up);
    expect(up).toEqual([
      [
        ...["namespace", "quota", "limits", "policy", "route-service", "ingress"].map((o) => `tenants-acme-${o}`),
        "tenants-shop.acme.example",
        "tenants-probe",
      ].map((name) => `urn:pulumi:staging-000::enclii-tenants::**::${name}`),
      true,
    ]);
    expect(readFileSync(join(root, "tenants", "Pulumi.staging-000.yaml"), "utf8")).toContain("- shop.acme.example");
  });
});

describe("the spec's deploy rules, before the Pulumi CLI runs", () => {
  /** A deploySchedule on switchyard-api whose window opens two hours from now (whole minutes, UTC); its opening instant. */
  function windowLater(): string {
    const opens = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 2 * 3_600_000);
    const utc = (d: Date) => `${d.toISOString().slice(11, 16)} UTC`;
    const file = join(root, "dogfooding", "switchyard-api.yaml");
    const schedule = `deploySchedule: { onlyAfter: "${utc(opens)}", onlyBefore: "${utc(new Date(opens.getTime() + 3_600_000))}" }`;
    writeFileSync(file, readFileSync(file, "utf8").replace("        deployFilter:", `        ${schedule}\n        deployFilter:`));
    return opens.toISOString().replace(".000Z", "Z");
  }

  it("outside the window: exit 13 naming when the next opens, the CLI never called; --force deploys", () => {
    const opensAt = windowLater();
    const before = stackFile();
    const res = cli([...DEPLOY, "--json"]);
    expect(res.status, res.stderr).toBe(EXIT.outsideWindow);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: "outside-window", exitCode: EXIT.outsideWindow });
    expect(out.message).toContain(
      `(deploySchedule in dogfooding/switchyard-api.yaml); the next window opens at ${opensAt}; nothing was changed`,
    );
    expect(existsSync(join(state, "calls.jsonl"))).toBe(false);
    expect(stackFile()).toBe(before);
    const forced = cli([...DEPLOY, "--force"]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(calls().filter((a) => a[0] === "up")).toHaveLength(1);
  });

  it("no changed path passes the deployFilter: skipped, exit 0, the CLI never called", () => {
    const res = cli([...DEPLOY.slice(0, -2), "--changed", "docs/services.md"]);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toBe(
      "switchyard-api: none of the 1 changed path(s) passes its deployFilter (paths [apps/switchyard-api/**, go.mod, go.sum], excludePaths [**/*.md], in dogfooding/switchyard-api.yaml); nothing was deployed\n",
    );
    expect(existsSync(join(state, "calls.jsonl"))).toBe(false);
  });
});

describe("a preview the engine fails", () => {
  it("for a protected resource it would replace: exit 4, the violation named, nothing updated", () => {
    const res = cli(["up", "--env", "staging", "--json"], { scenario: "protected-replace.json" });
    expect(res.status, res.stderr).toBe(EXIT.refused);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ status: "refused", violations: [{ op: "replace", because: ["metadata.name"], holds: "the database" }] });
    expect(out.violations[0].urn).toMatch(/kubernetes:postgresql\.cnpg\.io\/v1:Cluster::enclii-data-postgres-enclii-pg$/);
    expect(out.engineMessage).toContain("as it is currently marked for protection");
    expect(calls().filter((a) => a[0] === "up")).toEqual([]);
  });
});

describe("the launcher on the Node it runs on", () => {
  // @types/node is Node 20's, which has no compile cache.
  const hasCompileCache = typeof (Module as { enableCompileCache?: unknown }).enableCompileCache === "function";

  it(`keeps the Automation API in Node's compile cache ${hasCompileCache ? "(Node 22+)" : "only on Node 22+, not this one"}`, () => {
    const tmpDir = join(tmp, `os-tmpdir-${n}`);
    mkdirSync(tmpDir);
    // The cache goes where the launcher's own call puts it: under the temporary directory.
    const res = cli(DEPLOY, {
      path: [NODE_DIR],
      env: { TMPDIR: tmpDir, NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: undefined },
    });
    expect(res.status, res.stderr).toBe(EXIT.noCli);
    const cache = join(tmpDir, "node-compile-cache");
    if (hasCompileCache) {
      // One directory per Node version, one file per module: the Automation API is hundreds of them.
      const [versionDir, ...others] = readdirSync(cache);
      expect(others).toEqual([]);
      expect(readdirSync(join(cache, versionDir)).length).toBeGreaterThan(100);
    } else {
      expect(existsSync(cache)).toBe(false);
    }
  });
});

describe("the Automation API's errors, as the CLI raises them", () => {
  it("a concurrent update (HTTP 409 from the backend) is retried, then the deploy runs", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PATH: [STANDIN, NODE_DIR, process.env.PATH].join(delimiter),
      ENCLII_STANDIN_SCENARIO: join(SCENARIOS, "busy-once.json"),
      ENCLII_STANDIN_DIR: state,
    });
    const out: string[] = [];
    const slept: number[] = [];
    try {
      const code = await runCli(
        DEPLOY,
        { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
        { root, sleep: async (ms) => void slept.push(ms) },
      );
      expect(code, out.join("")).toBe(0);
    } finally {
      process.env = saved;
    }
    expect(slept).toEqual([5000]);
    expect(out.join("")).toContain("staging: another update is running; retrying in 5 s (attempt 2 of 5)");
    expect(calls().filter((a) => a[0] === "up")).toHaveLength(2);
  });
});
