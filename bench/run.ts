/**
 * `npm run bench [-- --runs N]`: the planner's figures, then the config check's (bench/config.ts)
 * and the data layer's with real servers (bench/data.ts).
 *
 *  1. Each stack (production, staging, ha): the plan CLI as `npm run plan` runs it (node
 *     automation/launch.cjs plan …), wall time and peak RSS per child process; against it, the
 *     bare SDK re-registering the same resource graph (bench/bare.cjs), interleaved run by run.
 *     Ratios: whole process (wall ÷ wall) and in-process (the CLI's "planned in" ÷ bare's eval).
 *  2. Staging with 0, 1000, 2000, 5000 and 10000 tenants in shard stacks: wall, peak RSS (the
 *     CLI's own, its shard workers', and the whole process tree's, sampled), the machine's load,
 *     and the platform stack's resource count and digest at each count (they must not change).
 *  3. Each shard of the 1000-tenant run: resources, plan time, and the same ratio against the
 *     bare SDK re-registering that shard's graph, in the same run.
 *
 * Prints tables, writes `.bench/results.json`; exits 1 if a plan fails or the platform stack's
 * plan changes with tenants. Peak memory: a module preloaded through NODE_OPTIONS, which forked
 * workers inherit, records each process's `process.resourceUsage().maxRSS` at exit.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { NODE_FLAGS } from "../automation/nodeFlags";
import { parseShardStack } from "../model/config/tenants";
import { makeTenants, placeAll, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";
import { runChild, type Child } from "./child";
import { benchConfig } from "./config";
import { benchDomains, domainsTable } from "./domains";
import { benchIncremental, INCREMENTAL_COUNTS } from "./incremental";
import { benchData } from "./data";
import { stats, type Stats } from "./stats";

const ROOT = join(__dirname, "..");
const RESULTS = join(ROOT, ".bench", "results.json");
/** What `npm run plan` runs. */
const PLAN = [...NODE_FLAGS, "automation/launch.cjs", "plan"];
const BARE = "bench/bare.cjs";
const RESULT_PREFIX = "BENCH ";
const STACKS = [
  { stack: "production", args: [] as string[] },
  { stack: "staging", args: [] as string[] },
  { stack: "ha", args: ["--config", "examples/Pulumi.ha.yaml"] },
];
const TENANT_COUNTS = [0, 1000, 2000, 5000, 10_000];
/** Runs per tenant count: the large ones take tens of seconds each. */
const TENANT_RUNS = (n: number) => (n <= 1000 ? 3 : 1);
const SHARD_DETAIL_TENANTS = 1000;

let work = "";
/** `--only <section>`: that section alone, without the config and data benches. */
let only = false;

/** A child in the repository, measured (bench/child.ts). */
const run = (args: string[]): Promise<Child> => runChild(args, { cwd: ROOT, work });

/** "(planned in N ms)" of the platform line, and per shard. */
function plannedMs(stdout: string): { platform: number; shards: Map<string, number> } {
  const platform = Number(/bootstrap scripts \(planned in (\d+) ms\)/.exec(stdout)?.[1] ?? NaN);
  const shards = new Map(
    [...stdout.matchAll(/^(\S+): \d+ tenants, \d+ resources \(planned in (\d+) ms\)/gm)].map((m) => [m[1], Number(m[2])]),
  );
  return { platform, shards };
}

async function bare(resources: string, project: string): Promise<{ wallMs: number; evalMs: number; resources: number }> {
  const r = await run([BARE, resources, project]);
  const line = r.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`${BARE} ${resources}: no result line`);
  const sample = JSON.parse(line.slice(RESULT_PREFIX.length)) as { evalMs: number; resources: number };
  return { wallMs: r.ms, evalMs: sample.evalMs, resources: sample.resources };
}

const resourcesIn = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as { resources: unknown[] }).resources.length;
const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const range = (s: Stats | undefined, digits = 0) =>
  s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})` : "-";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

async function benchStacks(runs: number, log: (s: string) => void) {
  const results = [];
  for (const { stack, args } of STACKS) {
    const out = join(work, `plan-${stack}`);
    const plan = { wallMs: [] as number[], rssMiB: [] as number[], plannedMs: [] as number[] };
    const base = { wallMs: [] as number[], evalMs: [] as number[] };
    let resources = 0;
    for (let i = 0; i < runs; i++) {
      // Interleaved, so drift in the machine's load hits both sides alike.
      const p = await run([...PLAN, stack, ...args, "--out", out]);
      plan.wallMs.push(p.ms);
      plan.rssMiB.push(p.maxRssMiB);
      plan.plannedMs.push(plannedMs(p.stdout).platform);
      resources = resourcesIn(join(out, "resources.json"));
      const b = await bare(join(out, "resources.json"), "enclii-infra");
      if (b.resources !== resources) throw new Error(`${stack}: bare registered ${b.resources} resources, the plan has ${resources}`);
      base.wallMs.push(b.wallMs);
      base.evalMs.push(b.evalMs);
      log(
        `  ${stack} ${i + 1}/${runs}: plan ${p.ms.toFixed(0)} ms (${plan.plannedMs[i]} in-process), bare ${b.wallMs.toFixed(0)} ms (${b.evalMs.toFixed(0)})`,
      );
    }
    const s = {
      stack,
      resources,
      planWallMs: stats(plan.wallMs),
      planPeakRssMiB: stats(plan.rssMiB),
      plannedMs: stats(plan.plannedMs),
      bareWallMs: stats(base.wallMs),
      bareEvalMs: stats(base.evalMs),
    };
    results.push({ ...s, wallRatio: s.planWallMs.median / s.bareWallMs.median, evalRatio: s.plannedMs.median / s.bareEvalMs.median });
  }
  return results;
}

async function benchTenants(runs: number, log: (s: string) => void) {
  const rows = [];
  let shardDetail: { stack: string; resources: number; plannedMs: number; bareEvalMs: number; ratio: number }[] = [];
  for (const count of TENANT_COUNTS) {
    const tenantsDir = join(work, `tenants-${count}`);
    writeShardFiles(tenantsDir, placeAll("staging", makeTenants(count)));
    const out = join(work, `plan-tenants-${count}`);
    const wall: number[] = [];
    const own: number[] = [];
    const worker: number[] = [];
    const tree: number[] = [];
    const load: number[] = [];
    let last: Child | undefined;
    for (let i = 0; i < Math.min(runs, TENANT_RUNS(count)); i++) {
      load.push(loadavg()[0]);
      last = await run([...PLAN, "staging", "--config", stagingForTenants(work), "--tenants", tenantsDir, "--out", out]);
      const [cli, ...workers] = last.rssMiB;
      wall.push(last.ms);
      own.push(cli);
      worker.push(Math.max(0, ...workers));
      tree.push(last.treeMiB);
      log(
        `  ${count} tenants ${i + 1}: ${last.ms.toFixed(0)} ms, tree ${tree[i].toFixed(0)} MiB (CLI ${cli.toFixed(0)}, ${workers.length} workers, the largest ${worker[i].toFixed(0)}), load ${load[i].toFixed(2)}`,
      );
    }
    const shardsDir = join(out, "tenants");
    // Shard plans only: the directory holds their digests too (tenants/inputs.json).
    const shards = existsSync(shardsDir)
      ? readdirSync(shardsDir)
          .filter((s) => parseShardStack(s))
          .sort()
      : [];
    rows.push({
      tenants: count,
      shards: shards.length,
      platformResources: resourcesIn(join(out, "resources.json")),
      platformDigest: digest(join(out, "resources.json")),
      shardResources: shards.reduce((n, s) => n + resourcesIn(join(shardsDir, s, "resources.json")), 0),
      wallMs: stats(wall),
      cliPeakRssMiB: stats(own),
      workerPeakRssMiB: stats(worker),
      treePeakRssMiB: stats(tree),
      load1m: stats(load),
    });
    if (count === SHARD_DETAIL_TENANTS && last) {
      const planned = plannedMs(last.stdout).shards;
      shardDetail = [];
      for (const s of shards) {
        const b = await bare(join(shardsDir, s, "resources.json"), "enclii-tenants");
        const ms = planned.get(s) ?? NaN;
        shardDetail.push({
          stack: s,
          resources: resourcesIn(join(shardsDir, s, "resources.json")),
          plannedMs: ms,
          bareEvalMs: b.evalMs,
          ratio: ms / b.evalMs,
        });
      }
    }
  }
  return { rows, shardDetail };
}

/** Work proportional to the change (bench/incremental.ts): one tenant added at 1,000 and 10,000 tenants. */
async function incremental(log: (s: string) => void): Promise<number> {
  log(`one tenant added at ${INCREMENTAL_COUNTS.join(" / ")} tenants:`);
  const load = loadavg()[0];
  const rows = await benchIncremental(work, log);
  const cell = (c: Child) =>
    `${(c.ms / 1000).toFixed(1)} s, tree ${c.treeMiB.toFixed(0)} MiB (its own ${c.rssMiB[0].toFixed(0)}, largest other ${Math.max(0, ...c.rssMiB.slice(1)).toFixed(0)})`;
  process.stdout.write(
    `\n${table([
      ["tenants", "shards", "full plan", "one added, --against the previous plan", "pr-comment --base main"],
      ...rows.map((r) => [String(r.tenants), String(r.shards), cell(r.fullPlan), cell(r.againstPrevious), cell(r.prComment)]),
    ])}\nwall time, the peak of the process tree's summed RSS (sampled), the command's own peak RSS and the largest of the processes it started (workers, the base's planner); load 1 min at start ${load.toFixed(2)}.\n`,
  );
  writeSection("incremental", {
    load1m: load,
    rows: rows.map((r) => ({
      ...r,
      ...Object.fromEntries(["fullPlan", "againstPrevious", "prComment"].map((k) => [k, figures(r[k as "fullPlan"])])),
    })),
  });
  return 0;
}

/** `domains add` and `status` in shards of 1 and 100 tenants on the real engine (bench/domains.ts). */
async function domains(log: (s: string) => void): Promise<number> {
  const load = loadavg()[0];
  const { rows } = await benchDomains(log);
  if (rows.length > 0) process.stdout.write(`\n${table(domainsTable(rows))}\nload 1 min at start ${load.toFixed(2)}.\n`);
  writeSection("domains", { load1m: load, rows });
  return 0;
}

const SECTIONS = { incremental, domains };

const figures = (c: Child) => ({ ms: c.ms, rssMiB: c.rssMiB, treeMiB: c.treeMiB });

/** One section's figures in `.bench/<name>.json`. */
function writeSection(name: string, data: unknown): void {
  mkdirSync(join(ROOT, ".bench"), { recursive: true });
  writeFileSync(
    join(ROOT, ".bench", `${name}.json`),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), ...(data as object) }, null, 2)}\n`,
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { runs: { type: "string", default: "5" }, only: { type: "string" } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  if (values.only !== undefined && !(values.only in SECTIONS))
    throw new Error(`--only must be one of ${Object.keys(SECTIONS).join(", ")}, got ${values.only}`);
  work = mkdtempSync(join(tmpdir(), "enclii-bench-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once("SIGINT", () => (cleanup(), process.exit(130)));
  process.once("SIGTERM", () => (cleanup(), process.exit(143)));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = performance.now();
  const loadBefore = loadavg();
  try {
    only = values.only !== undefined;
    if (values.only) return await SECTIONS[values.only as keyof typeof SECTIONS](log);
    log("warm-up plan (untimed: builds the bundle and its code cache if needed)");
    await run([...PLAN, "production", "--out", join(work, "warm-up")]);
    log("stacks:");
    const stacks = await benchStacks(runs, log);
    log("tenants on staging:");
    const tenants = await benchTenants(runs, log);
    const totalS = (performance.now() - started) / 1000;

    process.stdout.write(
      `\n${table([
        ["stack", "resources", "plan wall ms", "peak RSS MiB", "bare wall ms", "wall ratio", "planned ms", "bare eval ms", "eval ratio"],
        ...stacks.map((s) => [
          s.stack,
          String(s.resources),
          range(s.planWallMs),
          range(s.planPeakRssMiB),
          range(s.bareWallMs),
          s.wallRatio.toFixed(2),
          range(s.plannedMs),
          range(s.bareEvalMs),
          s.evalRatio.toFixed(2),
        ]),
      ])}\n\n`,
    );
    process.stdout.write(
      `${table([
        [
          "tenants",
          "shards",
          "platform resources",
          "shard resources",
          "plan wall ms",
          "tree peak MiB",
          "CLI MiB",
          "worker MiB",
          "load 1 min",
        ],
        ...tenants.rows.map((r) => [
          String(r.tenants),
          String(r.shards),
          String(r.platformResources),
          String(r.shardResources),
          range(r.wallMs),
          range(r.treePeakRssMiB),
          range(r.cliPeakRssMiB),
          range(r.workerPeakRssMiB),
          range(r.load1m, 2),
        ]),
      ])}\n`,
    );
    const identical = tenants.rows.every((r) => r.platformDigest === tenants.rows[0].platformDigest);
    process.stdout.write(
      `platform stack's plan at ${TENANT_COUNTS.join(" / ")} tenants: ${identical ? "byte-identical" : "DIFFERS"} (${tenants.rows.map((r) => r.platformResources).join(" / ")} resources)\n\n`,
    );
    process.stdout.write(
      `${table([
        ["shard (1000 tenants)", "resources", "planned ms", "bare eval ms", "ratio"],
        ...tenants.shardDetail.map((s) => [s.stack, String(s.resources), String(s.plannedMs), s.bareEvalMs.toFixed(0), s.ratio.toFixed(2)]),
      ])}\n\n`,
    );
    const loadAfter = loadavg();
    process.stdout.write(
      [
        `${runs} runs per stack (tenant counts: ${TENANT_COUNTS.map((n) => `${n}: ${Math.min(runs, TENANT_RUNS(n))}`).join(", ")}), median (min-max).`,
        "plan wall / peak RSS: the CLI child (node automation/launch.cjs plan …, what npm run plan runs), spawn to exit.",
        `tree peak: the largest sum of RSS over the CLI and every process under it, sampled (bench/child.ts); CLI / worker MiB:`,
        "  the CLI's peak RSS and the largest shard worker's (none: shards planned in the CLI); load 1 min: os.loadavg() as the run started.",
        "bare: node bench/bare.cjs re-registering the plan's resources.json (same types, names, parents, providers, inputs)",
        "  with plain resources and @pulumi/pulumi as shipped; bare wall = its whole process, bare eval = its registrations.",
        "wall ratio = plan wall / bare wall; eval ratio = the CLI's own 'planned in' / bare eval (both exclude start-up).",
        `Load average (1/5/15 min) at start ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, at end ${loadAfter.map((l) => l.toFixed(2)).join(" ")}.`,
        `Total ${totalS.toFixed(0)} s on ${cpus().length} CPUs, node ${process.version}.`,
      ].join("\n") + "\n",
    );
    mkdirSync(join(ROOT, ".bench"), { recursive: true });
    writeFileSync(
      RESULTS,
      `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadBefore, loadAfter, runs, totalSeconds: totalS, stacks, tenants: { ...tenants, platformIdentical: identical } }, null, 2)}\n`,
    );
    process.stdout.write(`Wrote ${RESULTS}\n`);
    return Math.max(identical ? 0 : 1, await incremental(log), await domains(log));
  } finally {
    cleanup();
  }
}

main().then(
  async (code) => process.exit(only ? code : Math.max(code, await benchConfig(), await benchData())),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
