/**
 * Which tenant shards a plan `--against` another plans (automation/shardChoice.ts,
 * automation/shardInputs.ts; docs/plan.md#which-shards-are-planned-again): only those whose stack
 * file, platform outputs they read or code differ; the others are reported unchanged, not planned.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCommand } from "../automation/planCommand";
import { codeDigest, readShardInputs, shardPlanSources } from "../automation/shardInputs";
import type { OperationResult } from "../model/controlPlane";
import { makeTenants, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-shards-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const [a, b, c, d] = makeTenants(4);
const SHARDS = [
  { stack: "staging-000", tenants: [a, b] },
  { stack: "staging-001", tenants: [c] },
  { stack: "staging-002", tenants: [d] },
];
let config = "";

/** A tenants directory with `shards` written into it. */
function tenantsDir(name: string, shards = SHARDS): string {
  const dir = join(tmp, name);
  writeShardFiles(dir, shards);
  return dir;
}

/** `plan staging` with --json: its exit status, report and the per-shard lines it printed. */
async function plan(tenants: string, out: string, ...extra: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await planCommand(["staging", "--config", config, "--tenants", tenants, "--out", out, "--json", ...extra], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  const result = JSON.parse(stdout) as OperationResult;
  return { code, stderr, plan: result.plan!, status: Object.fromEntries(result.plan!.shards.map((s) => [s.stack, s.status])) };
}

beforeAll(() => {
  config = stagingForTenants(join(tmp, "config"));
});

describe("plan --against: only the shards that differ", () => {
  it("plans every shard without --against, and keeps each one's digest beside its plan", async () => {
    const out = join(tmp, "first");
    const r = await plan(tenantsDir("all"), out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.status).toEqual({ "staging-000": "planned", "staging-001": "planned", "staging-002": "planned" });
    const inputs = readShardInputs(out)!;
    expect(Object.keys(inputs)).toEqual(["staging-000", "staging-001", "staging-002"]);
    expect(Object.values(inputs).every((i) => i.planned && /^[0-9a-f]{64}$/.test(i.inputs))).toBe(true);
    expect(new Set(Object.values(inputs).map((i) => i.inputs)).size).toBe(3);
  });

  it("one tenant added against the previous plan: its shard alone is planned and compared", async () => {
    const out = join(tmp, "previous");
    expect((await plan(tenantsDir("before"), out)).code).toBe(0);
    const before = readShardInputs(out)!;
    const grown = tenantsDir("grown", [SHARDS[0], { stack: "staging-001", tenants: [c, ...makeTenants(1, "new")] }, SHARDS[2]]);
    const r = await plan(grown, out, "--against", out);
    expect(r.code, r.stderr).toBe(3);
    expect(r.status).toEqual({ "staging-000": "unchanged", "staging-001": "planned", "staging-002": "unchanged" });
    const planned = r.plan.shards.find((s) => s.stack === "staging-001")!;
    expect(planned.diff?.verdict).toBe("changes");
    const added = planned.diff!.changes.filter((x) => x.kind === "added").map((x) => x.name);
    expect(added).toEqual(expect.arrayContaining(["tenants-new0000-namespace", "tenants-app.new0000.example.com"]));
    expect(planned.diff!.changes.filter((x) => x.kind !== "added").map((x) => `${x.kind} ${x.name}`)).toEqual(
      expect.arrayContaining(["changed tenants-probe"]),
    );
    // The platform is unchanged; the unplanned shards' plans stay, with their digests.
    expect(r.plan.diff?.verdict).toBe("no-change");
    const after = readShardInputs(out)!;
    expect(after["staging-000"]).toEqual(before["staging-000"]);
    expect(after["staging-002"]).toEqual(before["staging-002"]);
    expect(after["staging-001"].inputs).not.toBe(before["staging-001"].inputs);
    expect(existsSync(join(out, "tenants", "staging-000", "resources.json"))).toBe(true);
    // Planned again against itself: nothing differs, nothing is planned.
    const again = await plan(grown, out, "--against", out);
    expect([again.code, Object.values(again.status)]).toEqual([0, ["unchanged", "unchanged", "unchanged"]]);
  });

  it("a platform change the shards read (the zone) plans every shard; one they don't read (replicas) plans none", async () => {
    const out = join(tmp, "platform");
    expect((await plan(tenantsDir("platform-tenants"), out)).code).toBe(0);
    const replicas = join(tmp, "replicas", "Pulumi.staging.yaml");
    cpSync(config, replicas);
    writeFileSync(replicas, readFileSync(config, "utf8").replace("switchyard-ui: { replicas: 1 }", "switchyard-ui: { replicas: 2 }"));
    let r = await planCommandWith(replicas, "platform-tenants", out);
    expect(r.code, r.stderr).toBe(3);
    expect(Object.values(r.status)).toEqual(["unchanged", "unchanged", "unchanged"]);
    expect(r.plan.diff?.changes.map((x) => x.name)).toContain("enclii-apps-switchyard-ui-deployment");

    const zone = join(tmp, "zone", "Pulumi.staging.yaml");
    cpSync(config, zone);
    writeFileSync(
      zone,
      readFileSync(config, "utf8").replace("zoneId: 00112233445566778899aabbccddeeff", "zoneId: ffeeddccbbaa99887766554433221100"),
    );
    r = await planCommandWith(zone, "platform-tenants", out);
    expect(Object.values(r.status)).toEqual(["planned", "planned", "planned"]);
    for (const s of r.plan.shards)
      expect(
        s.diff?.changes.some((x) => x.paths.includes("zoneId")),
        s.stack,
      ).toBe(true);
  });

  it("a removed shard: everything it had is deleted, its namespaces flagged as holding data", async () => {
    const out = join(tmp, "removed");
    expect((await plan(tenantsDir("three"), out)).code).toBe(0);
    const r = await plan(tenantsDir("two", SHARDS.slice(0, 2)), out, "--against", out);
    expect(r.code, r.stderr).toBe(4);
    const removed = r.plan.shards.find((s) => s.stack === "staging-002")!;
    expect(removed.status).toBe("removed");
    expect(removed.diff?.changes.find((x) => x.name === "tenants-t0003-namespace")).toMatchObject({ kind: "removed", losesData: true });
    expect(existsSync(join(out, "tenants", "staging-002"))).toBe(false);
    expect(Object.keys(readShardInputs(out)!)).toEqual(["staging-000", "staging-001"]);
  });

  it("a removed shard the other plan left out: still deletes its tenants' namespaces (exit 4), though nothing lists them", async () => {
    const out = join(tmp, "left-out");
    const tenants = tenantsDir("left-out-tenants");
    expect((await plan(tenants, join(tmp, "left-out-head"))).code).toBe(0);
    const same = join(tmp, "left-out-same.json");
    writeFileSync(same, JSON.stringify({ "staging-002": readShardInputs(join(tmp, "left-out-head"))!["staging-002"] }));
    expect((await plan(tenants, out, "--skip-same", same)).code).toBe(0);
    expect(readShardInputs(out)!["staging-002"].planned).toBe(false);
    const r = await plan(tenantsDir("left-out-two", SHARDS.slice(0, 2)), out, "--against", out);
    expect(r.code, r.stderr).toBe(4);
    expect(r.plan.shards.find((s) => s.stack === "staging-002")).toEqual({ stack: "staging-002", status: "removed" });
  });

  it("--skip-same (what a base ref's planner is given): the shards with those digests are not planned, and say so", async () => {
    const out = join(tmp, "head");
    const tenants = tenantsDir("skip");
    expect((await plan(tenants, out)).code).toBe(0);
    const same = join(tmp, "same.json");
    const head = readShardInputs(out)!;
    writeFileSync(
      same,
      JSON.stringify({ "staging-000": head["staging-000"], "staging-002": { ...head["staging-002"], inputs: "0".repeat(64) } }),
    );
    const base = join(tmp, "base");
    const r = await plan(tenants, base, "--skip-same", same);
    expect(r.code, r.stderr).toBe(0);
    expect(r.status).toEqual({ "staging-000": "unchanged", "staging-001": "planned", "staging-002": "planned" });
    expect(readShardInputs(base)!["staging-000"]).toEqual({ inputs: head["staging-000"].inputs, planned: false });
    expect(existsSync(join(base, "tenants", "staging-000"))).toBe(false);
  });
});

async function planCommandWith(configFile: string, tenants: string, out: string) {
  const saved = config;
  config = configFile;
  try {
    return await plan(join(tmp, tenants), out, "--against", out);
  } finally {
    config = saved;
  }
}

describe("the code a shard's plan runs", () => {
  it("is the tenants program and the planner, not the platform's program", async () => {
    const sources = await shardPlanSources(ROOT);
    expect(sources).toEqual(
      expect.arrayContaining(["components/tenants/TenantShard.ts", "stacks/tenants.ts", "automation/plan.ts", "package-lock.json"]),
    );
    expect(sources.filter((f) => f.startsWith("stacks/program") || f.startsWith("components/data/"))).toEqual([]);
  });

  it("changes with a tenants component's source, not with a platform component's", async () => {
    const root = join(tmp, "code");
    for (const dir of ["automation", "components", "model", "stacks", "package-lock.json", "package.json", "tsconfig.json"])
      cpSync(join(ROOT, dir), join(root, dir), { recursive: true });
    const first = await codeDigest(root);
    const redis = join(root, "components", "data", "Redis.ts");
    writeFileSync(redis, `${readFileSync(redis, "utf8")}\n// a platform change\n`);
    expect(await codeDigest(root)).toBe(first);
    const objects = join(root, "components", "tenants", "tenantObjects.ts");
    writeFileSync(objects, `${readFileSync(objects, "utf8")}\n// a tenants change\n`);
    expect(await codeDigest(root)).not.toBe(first);
  });
});
