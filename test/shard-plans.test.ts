/** Tenant shards planned by worker processes (automation/shardPlans.ts) against the same shards planned in one process. */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SHARDS_PER_WORKER, SHARD_WORKER_ARG, planShards, type ShardJob, type ShardPlanned } from "../automation/shardPlans";
import { checkAllShards, shardFiles } from "../automation/shards";
import { loadStackConfig } from "../automation/stackFile";
import { shardStack } from "../model/config/tenants";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { makeTenants, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";

const tmp = mkdtempSync(join(tmpdir(), "enclii-shard-plans-"));
const stagingConfig = loadStackConfig(stagingForTenants(tmp));
const environment = parseEnvironment("staging", stagingConfig.config, new Set(stagingConfig.secretKeys), readSpecFiles(DOGFOODING_DIR));
/** Each worker appends its pid here as it starts (a module preloaded through NODE_OPTIONS, which forked workers inherit). */
const PIDS = join(tmp, "workers.txt");
const HOOK = join(tmp, "worker-pid.cjs");
let platform: { stack: string; outputs: Record<string, unknown> };
const nodeOptions = process.env.NODE_OPTIONS;

beforeAll(async () => {
  writeFileSync(
    HOOK,
    `if (process.argv.includes(${JSON.stringify(SHARD_WORKER_ARG)})) require("node:fs").appendFileSync(${JSON.stringify(PIDS)}, process.pid + "\\n");`,
  );
  process.env.NODE_OPTIONS = `${nodeOptions ?? ""} --require=${HOOK}`.trim();
  // The platform planned as the CLI plans it: the shards read its outputs.
  const { runPlan } = await import("../automation/plan");
  const { program } = await import("../stacks/program");
  platform = await runPlan("staging", stagingConfig, () => program(environment));
});
afterAll(() => {
  process.env.NODE_OPTIONS = nodeOptions;
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => rmSync(PIDS, { force: true }));

const workerPids = (): number[] => {
  try {
    // Whole lines only: a worker may be writing its own.
    return readFileSync(PIDS, "utf8").split("\n").slice(0, -1).map(Number);
  } catch {
    return [];
  }
};
/** The first worker's pid, once it has started. */
async function firstWorker(): Promise<number> {
  for (;;) {
    const [pid] = workerPids();
    if (pid) return pid;
    await new Promise((tick) => setTimeout(tick, 10));
  }
}
/** This process's shard workers still running, from /proc (Linux): a worker killed before its preload ran is not in PIDS. */
function workersRunning(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const parent = Number(
          readFileSync(`/proc/${pid}/stat`, "utf8")
            .replace(/^.*\) /s, "")
            .split(" ")[1],
        );
        return parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(SHARD_WORKER_ARG);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** `count` shards of `perShard` tenants, checked as the planner checks them; their plans go under `out`. */
function shardJobs(name: string, count: number, perShard: number): (out: string) => ShardJob[] {
  const dir = join(tmp, name);
  const tenants = makeTenants(count * perShard);
  writeShardFiles(
    dir,
    Array.from({ length: count }, (_, i) => ({
      stack: shardStack("staging", i),
      tenants: tenants.slice(i * perShard, (i + 1) * perShard),
    })),
  );
  const shards = checkAllShards(shardFiles(dir, "staging"), environment);
  return (out) => shards.map(({ shard, cfg: shardCfg }) => ({ shard, cfg: shardCfg, dir: join(out, shard.stack) }));
}

/** Every file under `dir`, by path, as its digest. */
function tree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return files;
}

/** Planning times differ run by run; everything else must not. */
const withoutTimes = (planned: ShardPlanned[]) => planned.map((p) => ({ ...p, ms: 0 }));

describe("planShards", () => {
  it("plans with two workers, byte for byte, what one process plans, passing results on in job order", async () => {
    const jobs = shardJobs("four", 4, 3);
    const [alone, parallel] = [join(tmp, "alone"), join(tmp, "parallel")];
    const order: string[] = [];
    const one = await planShards(jobs(alone), platform, { jobs: 1 });
    expect(workerPids()).toEqual([]);
    const running: number[] = [];
    const two = await planShards(jobs(parallel), platform, {
      jobs: 2,
      onPlanned: (p) => {
        order.push(p.stack);
        running.push(workersRunning().length);
      },
    });
    expect(workerPids()).toHaveLength(2);
    // Seen running while they plan (so that none seen running later means none is).
    expect(Math.max(...running)).toBeGreaterThan(0);
    expect(workersRunning()).toEqual([]);
    expect(order).toEqual(["staging-000", "staging-001", "staging-002", "staging-003"]);
    expect(withoutTimes(two)).toEqual(withoutTimes(one));
    // Stack, shard component, two providers, the Probe; seven per one-hostname tenant.
    expect(one.map((p) => [p.tenants, p.resources])).toEqual(Array.from({ length: 4 }, () => [3, 5 + 3 * 7]));
    const files = tree(alone);
    expect(Object.keys(files).filter((f) => f.endsWith("resources.json"))).toHaveLength(4);
    expect(Object.keys(files).filter((f) => f.includes("/manifests/")).length).toBe(one.reduce((n, p) => n + p.manifests, 0));
    expect(tree(parallel)).toEqual(files);
  });

  it("compares each shard with another plan's, a missing one as a new shard, from a worker as from this process", async () => {
    const jobs = shardJobs("against", 3, 2);
    const before = join(tmp, "against-before");
    await planShards(jobs(before), platform, { jobs: 1 });
    rmSync(join(before, "staging-002"), { recursive: true });
    const earlier = join(before, "staging-001", "resources.json");
    writeFileSync(earlier, readFileSync(earlier, "utf8").replaceAll("app.t0002.example.com", "www.t0002.example.com"));
    const compared = async (workers: number) =>
      (
        await planShards(
          jobs(join(tmp, `against-${workers}`)).map((j) => ({ ...j, against: join(before, j.shard.stack, "resources.json") })),
          platform,
          { jobs: workers },
        )
      ).map((p) => p.diff);
    const diffs = await compared(2);
    expect(diffs).toEqual(await compared(1));
    // A tenant's hostname changed: its custom hostname (which holds its certificate) is replaced.
    expect(diffs.map((d) => d?.verdict)).toEqual(["no-change", "replaces-stateful", "changes"]);
    const changes = diffs[2]?.changes ?? [];
    expect(changes.filter((c) => c.kind === "added")).toHaveLength(5 + 2 * 7);
    // Its outputs are new too: a change of its Stack.
    expect(changes.filter((c) => c.kind !== "added").map((c) => [c.kind, c.type])).toEqual([["changed", "pulumi:pulumi:Stack"]]);
  });

  it("hands a shard's ConfigError to the caller with its problems, from a worker as from this process", async () => {
    const domain = platform.outputs.domain as string;
    const jobs = shardJobs("zone", 3, 2);
    const bad = (out: string) =>
      jobs(out).map((j, i) =>
        i === 1 ? { ...j, shard: { ...j.shard, tenants: [{ ...j.shard.tenants[0], hostnames: [`shop.${domain}`] }] } } : j,
      );
    const problems = [`tenants/Pulumi.staging-001.yaml: shop.${domain}: tenant hostname must not be under our zone ${domain}`];
    for (const workers of [1, 2]) {
      const error = await planShards(bad(join(tmp, `zone-${workers}`)), platform, { jobs: workers }).catch((err: unknown) => err);
      expect(error, `${workers} workers`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems, `${workers} workers`).toEqual(problems);
    }
    expect(workersRunning()).toEqual([]);
  });

  it("names the shard of any other failure", async () => {
    const jobs = shardJobs("unwritable", 3, 1)(join(tmp, "unwritable"));
    // The shard's plan directory is a file: writing the plan fails.
    writeFileSync(join(tmp, "in-the-way"), "");
    jobs[2] = { ...jobs[2], dir: join(tmp, "in-the-way") };
    await expect(planShards(jobs, platform, { jobs: 2 })).rejects.toThrow(/^staging-002: ENOTDIR/);
    expect(workersRunning()).toEqual([]);
  });

  it("fails, naming the shard and how its worker died, when a worker is killed mid-plan; leaves no worker running", async () => {
    const jobs = shardJobs("killed", 4, 1)(join(tmp, "killed"));
    const planning = planShards(jobs, platform, { jobs: 2 }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    // Killed as soon as it starts: it has its first shard and has not answered.
    const killed = await firstWorker();
    process.kill(killed, "SIGKILL");
    const error = await planning;
    expect(error?.message).toMatch(new RegExp(`^staging-00[01]: the worker planning it \\(pid ${killed}\\) was killed by SIGKILL$`));
    expect(workersRunning()).toEqual([]);
  });

  it(`replaces a worker after ${SHARDS_PER_WORKER} shards, planning the same`, async () => {
    const count = 2 * SHARDS_PER_WORKER + 1;
    const jobs = shardJobs("many", count, 1);
    const one = await planShards(jobs(join(tmp, "many-alone")), platform, { jobs: 1 });
    const two = await planShards(jobs(join(tmp, "many-parallel")), platform, { jobs: 2 });
    expect(two.map((p) => p.stack)).toEqual(Array.from({ length: count }, (_, i) => shardStack("staging", i)));
    expect(withoutTimes(two)).toEqual(withoutTimes(one));
    expect(tree(join(tmp, "many-parallel"))).toEqual(tree(join(tmp, "many-alone")));
    // No worker plans more than its share: at least one more than the two was started.
    expect(workerPids().length).toBeGreaterThan(2);
    expect(workersRunning()).toEqual([]);
  });
});
