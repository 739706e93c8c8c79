/**
 * `npm run bench [-- --runs N]`: the planner's figures, then the config check's (bench/config.ts)
 * and the data layer's with real servers (bench/data.ts).
 *
 *  1. Each stack (production, staging, ha): the plan CLI as `npm run plan` runs it (node
 *     automation/launch.cjs plan …), wall time and peak RSS per child process; against it, the
 *     bare SDK re-registering the same resource graph (bench/bare.cjs), interleaved run by run.
 *     Ratios: whole process (wall ÷ wall) and in-process (the CLI's "planned in" ÷ bare's eval).
 *  2. Staging with 0, 1000, 2000 and 5000 tenants in shard stacks: wall, peak RSS, and the
 *     platform stack's resource count and digest at each count (they must not change).
 *  3. Each shard of the 1000-tenant run: resources, plan time, and the same ratio against the
 *     bare SDK re-registering that shard's graph, in the same run.
 *
 * Prints tables, writes `.bench/results.json`; exits 1 if a plan fails or the platform stack's
 * plan changes with tenants. Peak memory: a module preloaded through NODE_OPTIONS records
 * `process.resourceUsage().maxRSS` at exit; the figure is the largest of the run's processes.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { makeTenants, placeAll, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";
import { benchConfig } from "./config";
import { benchData } from "./data";
import { stats, type Stats } from "./stats";

const ROOT = join(__dirname, "..");
const RESULTS = join(ROOT, ".bench", "results.json");
/** What `npm run plan` runs. */
const PLAN = ["automation/launch.cjs", "plan"];
const BARE = "bench/bare.cjs";
/** A 5000-tenant plan takes about 40 s here, more under load; a hung child still ends. */
const CHILD_TIMEOUT_MS = 300_000;
const RESULT_PREFIX = "BENCH ";
const STACKS = [
  { stack: "production", args: [] as string[] },
  { stack: "staging", args: [] as string[] },
  { stack: "ha", args: ["--config", "examples/Pulumi.ha.yaml"] },
];
const TENANT_COUNTS = [0, 1000, 2000, 5000];
/** Runs per tenant count: the large ones take tens of seconds each. */
const TENANT_RUNS = (n: number) => (n <= 1000 ? 3 : 1);
const SHARD_DETAIL_TENANTS = 1000;

const RSS_HOOK =
  'const{appendFileSync}=require("node:fs");process.on("exit",()=>{const f=process.env.BENCH_RSS_FILE;' +
  'if(f)appendFileSync(f,JSON.stringify({maxRSS:process.resourceUsage().maxRSS})+"\\n")});';

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  maxRssMiB: number;
}

let work = "";
let runCount = 0;

function run(args: string[]): Promise<Child> {
  const rssFile = join(work, `rss-${runCount++}.jsonl`);
  const hook = join(work, "rss-hook.cjs");
  if (!existsSync(hook)) writeFileSync(hook, RSS_HOOK);
  const env = { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require=${hook}`.trim() };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const rss = existsSync(rssFile)
        ? readFileSync(rssFile, "utf8")
            .trim()
            .split("\n")
            .map((l) => (JSON.parse(l) as { maxRSS: number }).maxRSS / 1024)
        : [0];
      if (code !== 0)
        reject(new Error(`node ${args.join(" ")} failed (exit ${code}):\n${(stderr || stdout).trim().split("\n").slice(-10).join("\n")}`));
      else resolve({ code, stdout, stderr, ms, maxRssMiB: Math.max(...rss) });
    });
  });
}

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
    const rss: number[] = [];
    let last: Child | undefined;
    for (let i = 0; i < Math.min(runs, TENANT_RUNS(count)); i++) {
      last = await run([...PLAN, "staging", "--config", stagingForTenants(work), "--tenants", tenantsDir, "--out", out]);
      wall.push(last.ms);
      rss.push(last.maxRssMiB);
      log(`  ${count} tenants ${i + 1}: ${last.ms.toFixed(0)} ms, ${last.maxRssMiB.toFixed(0)} MiB`);
    }
    const shardsDir = join(out, "tenants");
    const shards = existsSync(shardsDir) ? readdirSync(shardsDir).sort() : [];
    rows.push({
      tenants: count,
      shards: shards.length,
      platformResources: resourcesIn(join(out, "resources.json")),
      platformDigest: digest(join(out, "resources.json")),
      shardResources: shards.reduce((n, s) => n + resourcesIn(join(shardsDir, s, "resources.json")), 0),
      wallMs: stats(wall),
      peakRssMiB: stats(rss),
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

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  work = mkdtempSync(join(tmpdir(), "enclii-bench-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  process.once("SIGINT", () => (cleanup(), process.exit(130)));
  process.once("SIGTERM", () => (cleanup(), process.exit(143)));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = performance.now();
  const loadBefore = loadavg();
  try {
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
        ["tenants", "shards", "platform resources", "shard resources", "plan wall ms", "peak RSS MiB"],
        ...tenants.rows.map((r) => [
          String(r.tenants),
          String(r.shards),
          String(r.platformResources),
          String(r.shardResources),
          range(r.wallMs),
          range(r.peakRssMiB),
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
    return identical ? 0 : 1;
  } finally {
    cleanup();
  }
}

main().then(
  async (code) => process.exit(Math.max(code, await benchConfig(), await benchData())),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
