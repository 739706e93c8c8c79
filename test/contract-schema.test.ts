/**
 * The contract a Go program holds: every `--json` result the CLI can give, one per status the
 * stand-in engine can lead it to, validated against the committed JSON Schema (testbed/contract.ts,
 * Ajv), its exit code the process's own and the one the status table gives; and the schema is
 * the zod types' (model/contract.ts), so a field added to one is in the other.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../automation/commandLine";
import { CONTRACT_VERSION, EXIT, STATUS_EXIT, operationResultSchema } from "../model/contract";
import { configProblems, resultProblems } from "../testbed/contract";
import { parse } from "yaml";
import { ROOT } from "./harness";

const STANDIN = join(ROOT, "testbed", "pulumi");
const tmp = mkdtempSync(join(tmpdir(), "enclii-contract-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A checkout with the stand-in's state of its own; runs one command in this process, as the CLI would. */
async function run(argv: string[], scenario = "contract.json", pulumi = true) {
  const root = join(tmp, `repo-${n}`);
  const state = join(tmp, `standin-${n++}`);
  mkdirSync(join(root, "tenants"), { recursive: true });
  for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml", "dogfooding", join("tenants", "Pulumi.yaml")])
    cpSync(join(ROOT, f), join(root, f), { recursive: true });
  const saved = { ...process.env };
  Object.assign(process.env, {
    // The stand-in is a shell script that needs the system's tools (dirname) after it; without
    // it, only node: no pulumi anywhere.
    PATH: (pulumi ? [STANDIN, dirname(process.execPath), saved.PATH ?? ""] : [dirname(process.execPath)]).join(delimiter),
    ENCLII_STANDIN_SCENARIO: join(STANDIN, "scenarios", scenario),
    ENCLII_STANDIN_DIR: state,
    // The shards' Kubernetes token, brought rather than minted over SSH (workspace.ts localStacks).
    ENCLII_TENANTS_TOKEN: "contract-test-token",
  });
  const out: string[] = [];
  try {
    const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: () => undefined }, { root, sleep: async () => undefined });
    return { code, stdout: out.join(""), root };
  } finally {
    process.env = saved;
  }
}

// go.mod passes switchyard-api's deployFilter (dogfooding/switchyard-api.yaml).
const DEPLOY = [
  "deploy",
  "--env",
  "staging",
  "--service",
  "switchyard-api",
  "--changed",
  "go.mod",
  "--image",
  "ghcr.io/madfam-io/switchyard-api:1.4.3",
];
const ADD = ["domains", "add", "--env", "staging", "--tenant", "acme", "--hostname", "shop.acme.example", "--service", "storefront:8080"];

/** Each command line, the scenario it runs in, and the status it must answer with. */
const CASES: [string, string[], string, OperationResultStatus][] = [
  ["preview", ["preview", "--env", "staging"], "contract.json", "ok"],
  ["up", ["up", "--env", "staging"], "contract.json", "ok"],
  ["deploy", DEPLOY, "contract.json", "deployed"],
  ["deploy, the rollout failing", DEPLOY, "deploy-rollout-fails.json", "rolled-back"],
  ["preview of a protected replacement", ["preview", "--env", "staging"], "protected-replace.json", "refused"],
  ["deploy while a protected replacement is pending elsewhere", DEPLOY, "protected-replace.json", "refused"],
  ["deploy, the stack held throughout", DEPLOY, "always-busy.json", "busy"],
  ["deploy to a missing stack", DEPLOY, "no-stack.json", "no-stack"],
  ["deploy with an old CLI", DEPLOY, "too-old.json", "no-cli"],
  ["deploy of a bad image", [...DEPLOY.slice(0, -1), "ghcr.io/Madfam/api:1"], "contract.json", "usage"],
  ["deploy without --image", DEPLOY.slice(0, -2), "contract.json", "usage"],
  ["rollback", ["rollback", "--env", "staging", "--service", "switchyard-api"], "contract.json", "deployed"],
  ["rollback with no history", ["rollback", "--env", "staging", "--service", "switchyard-api"], "deploy-ok.json", "nothing-to-roll-back"],
  ["drift", ["drift", "--env", "staging"], "contract.json", "drift"],
  ["outputs", ["outputs", "--env", "staging"], "contract.json", "ok"],
  ["history", ["history", "--env", "staging"], "contract.json", "ok"],
  ["domains add", ADD, "domains.json", "ok"],
  ["domains list", ["domains", "list", "--env", "staging"], "contract.json", "ok"],
  ["domains status of an unknown tenant", ["domains", "status", "--env", "staging", "--tenant", "nobody"], "domains.json", "usage"],
];
type OperationResultStatus = keyof typeof STATUS_EXIT;

describe("every --json result is what the JSON Schema describes", () => {
  it.each(CASES)("%s", async (_, argv, scenario, status) => {
    const res = await run([...argv, "--json"], scenario);
    expect(resultProblems(res.stdout), res.stdout).toEqual([]);
    const parsed = JSON.parse(res.stdout) as { status: string; exitCode: number; contractVersion: string; environment: string };
    expect(parsed).toMatchObject({ status, exitCode: res.code, contractVersion: CONTRACT_VERSION, environment: "staging" });
    expect(res.code).toBe(EXIT[STATUS_EXIT[status]]);
    // Outputs marked secret never reach a result.
    expect(res.stdout).not.toContain("s3cr3t-value");
  });

  it("without a Pulumi CLI: no-cli, in the same envelope", async () => {
    const res = await run([...DEPLOY, "--json"], "contract.json", false);
    expect(resultProblems(res.stdout)).toEqual([]);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "no-cli", exitCode: EXIT.noCli });
  });

  it("plan --json: the plan in the same envelope", async () => {
    const out = join(tmp, "plan");
    const res = await run(["plan", "staging", "--config", join(ROOT, "Pulumi.staging.yaml"), "--out", out, "--json"]);
    expect(resultProblems(res.stdout), res.stdout).toEqual([]);
    expect(JSON.parse(res.stdout)).toMatchObject({
      operation: "plan",
      environment: "staging",
      stack: "staging",
      status: "ok",
      exitCode: 0,
    });
    expect(JSON.parse(res.stdout).plan.cost.monthlyUsd).toBeGreaterThan(0);
  });

  it("plan --json with bad arguments: a usage result naming the environment and stack", async () => {
    const res = await run(["plan", "staging", "--config", join(tmp, "nowhere.yaml"), "--json"]);
    expect(resultProblems(res.stdout), res.stdout).toEqual([]);
    expect(JSON.parse(res.stdout)).toMatchObject({ operation: "plan", status: "usage", exitCode: EXIT.usage });
    expect(JSON.parse(res.stdout).message).toMatch(/^staging \(stack staging\): /);
  });

  it("rejects what breaks the contract: a missing version, an unknown status or field", () => {
    const good = JSON.stringify({
      contractVersion: "1.0.0",
      operation: "up",
      environment: "e",
      stack: "e",
      status: "ok",
      exitCode: 0,
      message: "m",
    });
    expect(resultProblems(good)).toEqual([]);
    const { contractVersion: _, ...noVersion } = JSON.parse(good) as Record<string, unknown>;
    expect(resultProblems(JSON.stringify(noVersion))).toEqual(["/ must have required property 'contractVersion'"]);
    expect(resultProblems(JSON.stringify({ ...JSON.parse(good), status: "maybe" }))).toEqual([
      "/status must be equal to one of the allowed values",
    ]);
    expect(resultProblems(JSON.stringify({ ...JSON.parse(good), extra: 1 }))).toEqual(["/ must NOT have additional properties"]);
  });

  it("lists every status of the table, and the zod schema and the JSON Schema agree on them", () => {
    const enumerated = operationResultSchema.shape.status.options;
    expect([...enumerated].sort()).toEqual(Object.keys(STATUS_EXIT).sort());
  });
});

describe("the config the control plane writes", () => {
  const configOf = (file: string) => (parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
  const writable = (config: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(config).filter(([k]) => ["enclii:services", "enclii-tenants:tenants"].includes(k)));

  it("what deploy and domains add wrote passes the config schema", async () => {
    const deployed = await run(DEPLOY);
    expect(deployed.code).toBe(0);
    const platform = writable(configOf(join(deployed.root, "Pulumi.staging.yaml")));
    expect(platform["enclii:services"]).toMatchObject({ "switchyard-api": { image: "ghcr.io/madfam-io/switchyard-api:1.4.3" } });
    expect(configProblems(platform)).toEqual([]);
    const added = await run(ADD, "domains.json");
    expect(added.code).toBe(0);
    const shard = writable(configOf(join(added.root, "tenants", "Pulumi.staging-000.yaml")));
    expect(shard["enclii-tenants:tenants"]).toHaveLength(1);
    expect(configProblems(shard)).toEqual([]);
  });

  it("refuses an image no registry would parse, a tenant without hostnames, and keys the control plane never writes", () => {
    expect(configProblems({ "enclii:services": { api: { image: "Bad/Image" } } })).toEqual([
      expect.stringMatching(/^\/enclii:services\/api\/image must match pattern/),
    ]);
    expect(configProblems({ "enclii-tenants:tenants": [{ name: "acme", hostnames: [], service: { name: "web", port: 80 } }] })).toEqual([
      "/enclii-tenants:tenants/0/hostnames must NOT have fewer than 1 items",
    ]);
    expect(configProblems({ "enclii:domain": "enclii.dev" })).toEqual(["/ must NOT have additional properties"]);
  });
});
