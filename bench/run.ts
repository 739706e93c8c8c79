/**
 * `npm run bench [-- --runs N]`: for each stack (production, staging, ha)
 *  1. wall time and peak memory of the real plan CLI (`node --require tsx/cjs automation/cli.ts plan <stack>`), each
 *     run in its own child process, plus the plan's resource count;
 *  2. the program's evaluation time against Pulumi's bare registration of as many resources,
 *     each measurement in its own child process (bench/bare.ts);
 *  3. then the config check's refusal CPU time and a large property-based run (bench/config.ts,
 *     `.bench/config.json`), and the data layer's figures with real servers (bench/data.ts,
 *     `.bench/data.json`).
 * Prints a table and writes `.bench/results.json`. Exits 1 if any plan or measurement fails.
 *
 * Peak memory: every node process started for a plan preloads (via NODE_OPTIONS) a tiny module
 * that records `process.resourceUsage().maxRSS` at exit; the figure is the largest, i.e. the
 * node process running the plan (the `tsx` launcher process is much smaller). No extra tools.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { EvalSample } from "./bare";
import { benchConfig } from "./config";
import { benchData } from "./data";
import { stats, type Stats } from "./stats";
import { tenantGrowth, tenantStacks } from "./tenants";

const ROOT = join(__dirname, "..");
/** What `npm run plan` runs (package.json): tsx's CommonJS hook in the one node process. */
const PLAN_CLI = [process.execPath, "--require", "tsx/cjs", "automation/cli.ts", "plan"];
const RESULTS = join(ROOT, ".bench", "results.json");
/** A 1000-tenant plan takes 30-50 s on this machine, more under load; a hung child still ends. */
const CHILD_TIMEOUT_MS = 180_000;
/** bare.ts's result line prefix (not imported: that would load the Pulumi SDK here). */
const RESULT_PREFIX = "BENCH ";
/** 1000 tenants plan for tens of seconds; fewer runs keep the whole bench within minutes. */
const MAX_TENANT_RUNS = { small: 3, large: 1 };
const LARGE_TENANT_COUNT = 1000;

interface StackSpec {
  stack: string;
  config: string;
  /** Extra CLI arguments (the non-default config file). */
  args: string[];
}

const STACKS: StackSpec[] = [
  { stack: "production", config: "Pulumi.production.yaml", args: [] },
  { stack: "staging", config: "Pulumi.staging.yaml", args: [] },
  { stack: "ha", config: "examples/Pulumi.ha.yaml", args: ["--config", "examples/Pulumi.ha.yaml"] },
];

/**
 * Preloaded (`--require`, so the plan's entry stays CommonJS under tsx's hook) into every node
 * process of a plan run: appends its peak RSS (KiB) to $BENCH_RSS_FILE.
 */
const RSS_HOOK =
  'const{appendFileSync}=require("node:fs");process.on("exit",()=>{const f=process.env.BENCH_RSS_FILE;' +
  'if(f)appendFileSync(f,JSON.stringify({pid:process.pid,maxRSS:process.resourceUsage().maxRSS})+"\\n")});';

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function failure(what: string, r: ChildResult): Error {
  const status = r.signal
    ? `killed by ${r.signal}${r.signal === "SIGKILL" ? ` (timeout ${CHILD_TIMEOUT_MS / 1000}s?)` : ""}`
    : `exit ${r.code}`;
  const tail = (r.stderr || r.stdout).trim().split("\n").slice(-15).join("\n");
  return new Error(`${what} failed (${status})\n${tail}`);
}

interface PlanSample {
  wallMs: number;
  maxRssKiB: number;
  resources: number;
  digest: string;
}

async function planOnce(spec: StackSpec, work: string, i: number): Promise<PlanSample> {
  const out = join(work, `plan-${spec.stack}-${i}`);
  const rssFile = join(work, `rss-${spec.stack}-${i}.jsonl`);
  const hook = join(work, "rss-hook.cjs");
  if (!existsSync(hook)) writeFileSync(hook, RSS_HOOK);
  const env = { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require=${hook}`.trim() };
  const r = await run(PLAN_CLI[0], [...PLAN_CLI.slice(1), spec.stack, "--out", out, ...spec.args], env);
  if (r.code !== 0) throw failure(`plan ${spec.stack} (run ${i + 1})`, r);
  const text = readFileSync(join(out, "resources.json"), "utf8");
  const resources = (JSON.parse(text) as { resources: unknown[] }).resources.length;
  const rss = existsSync(rssFile)
    ? readFileSync(rssFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { maxRSS: number }).maxRSS)
    : [];
  if (rss.length === 0) throw new Error(`plan ${spec.stack}: no peak memory recorded (NODE_OPTIONS --require not honoured?)`);
  rmSync(out, { recursive: true, force: true });
  return { wallMs: r.ms, maxRssKiB: Math.max(...rss), resources, digest: createHash("sha256").update(text).digest("hex") };
}

async function evalOnce(spec: StackSpec, mode: "program" | "bare", count: number): Promise<EvalSample> {
  const args = ["--import", "tsx", "bench/bare.ts", mode, spec.stack, spec.config, ...(mode === "bare" ? [String(count)] : [])];
  const r = await run(process.execPath, args);
  if (r.code !== 0) throw failure(`${mode} evaluation of ${spec.stack}`, r);
  const line = r.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw failure(`${mode} evaluation of ${spec.stack} (no result line)`, r);
  const sample = JSON.parse(line.slice(RESULT_PREFIX.length)) as EvalSample;
  if (sample.resources !== count)
    throw new Error(`${mode} evaluation of ${spec.stack}: ${sample.resources} resources recorded, the plan has ${count}`);
  return sample;
}

interface StackResult {
  stack: string;
  config: string;
  resources?: number;
  /** Every plan run wrote the same resources.json. */
  deterministic?: boolean;
  wallMs?: Stats;
  maxRssMiB?: Stats;
  eval?: {
    programMs: Stats;
    /** Of programMs: loading the providers' lazily loaded resource modules. */
    programModuleLoadMs: Stats;
    /** Program child's process start to eval start: node boot, tsx, loading the module graph. */
    startupMs: Stats;
    bareMs: Stats;
    /** median(programMs) / median(bareMs). */
    ratio: number;
  };
  error?: string;
}

async function benchStack(spec: StackSpec, runs: number, work: string, log: (s: string) => void): Promise<StackResult> {
  const result: StackResult = { stack: spec.stack, config: spec.config };
  try {
    const plans: PlanSample[] = [];
    for (let i = 0; i < runs; i++) {
      plans.push(await planOnce(spec, work, i));
      log(`  plan ${spec.stack} ${i + 1}/${runs}: ${plans[i].wallMs.toFixed(0)} ms, ${(plans[i].maxRssKiB / 1024).toFixed(0)} MiB`);
    }
    result.resources = plans[0].resources;
    result.deterministic = plans.every((p) => p.digest === plans[0].digest);
    result.wallMs = stats(plans.map((p) => p.wallMs));
    result.maxRssMiB = stats(plans.map((p) => p.maxRssKiB / 1024));

    const program: EvalSample[] = [];
    const bare: EvalSample[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved so drift in machine load hits both sides alike.
      program.push(await evalOnce(spec, "program", result.resources));
      bare.push(await evalOnce(spec, "bare", result.resources));
      log(`  eval ${spec.stack} ${i + 1}/${runs}: program ${program[i].evalMs.toFixed(0)} ms, bare ${bare[i].evalMs.toFixed(0)} ms`);
    }
    const programMs = stats(program.map((s) => s.evalMs));
    const bareMs = stats(bare.map((s) => s.evalMs));
    result.eval = {
      programMs,
      programModuleLoadMs: stats(program.map((s) => s.loadMs)),
      startupMs: stats(program.map((s) => s.startupMs)),
      bareMs,
      ratio: programMs.median / bareMs.median,
    };
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`  ${spec.stack}: ${result.error}`);
  }
  return result;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const range = (s: Stats | undefined, digits = 0) =>
  s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})` : "-";

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

  const work = mkdtempSync(join(tmpdir(), "enclii-bench-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = performance.now();
  const results: StackResult[] = [];
  const tenantResults: { tenants: number; result: StackResult }[] = [];
  try {
    // Untimed: fills tsx's transform cache and the page cache so run 1 is not an outlier.
    log("warm-up plan (untimed)");
    await planOnce(STACKS[0], work, -1).catch(() => undefined);
    for (const spec of STACKS) {
      log(`${spec.stack}:`);
      results.push(await benchStack(spec, runs, work, log));
    }
    for (const spec of tenantStacks(ROOT, work)) {
      log(`${spec.stack}:`);
      const n = Math.min(runs, spec.tenants >= LARGE_TENANT_COUNT ? MAX_TENANT_RUNS.large : MAX_TENANT_RUNS.small);
      tenantResults.push({ tenants: spec.tenants, result: await benchStack(spec, n, work, log) });
    }
  } finally {
    cleanup();
  }
  const totalS = (performance.now() - started) / 1000;

  const rows = [
    ["stack", "resources", "plan wall ms", "plan peak RSS MiB", "startup ms", "eval ms", "(lazy loads)", "bare ms", "ratio"],
    ...results.map((r) => [
      r.stack,
      r.resources === undefined ? "-" : `${r.resources}${r.deterministic === false ? "*" : ""}`,
      range(r.wallMs),
      range(r.maxRssMiB),
      r.eval ? r.eval.startupMs.median.toFixed(0) : "-",
      range(r.eval?.programMs),
      r.eval ? r.eval.programModuleLoadMs.median.toFixed(0) : "-",
      range(r.eval?.bareMs),
      r.eval ? r.eval.ratio.toFixed(2) : r.error ? "FAILED" : "-",
    ]),
  ];
  const all = [...results, ...tenantResults.map((t) => t.result)];
  process.stdout.write(`\n${table(rows)}\n\n`);
  const growth = tenantGrowth(
    tenantResults.map(({ tenants, result: r }) => ({
      tenants,
      resources: r.resources,
      wallMs: r.wallMs,
      maxRssMiB: r.maxRssMiB,
      evalMs: r.eval?.programMs,
      bareMs: r.eval?.bareMs,
    })),
  );
  process.stdout.write(
    `${table([
      ["tenants", "resources", "runs", "plan wall ms", "plan peak RSS MiB", "eval ms", "bare ms", "ratio"],
      ...tenantResults.map(({ tenants, result: r }) => [
        String(tenants),
        r.resources === undefined ? "-" : String(r.resources),
        String(r.wallMs?.samples.length ?? 0),
        range(r.wallMs),
        range(r.maxRssMiB),
        range(r.eval?.programMs),
        range(r.eval?.bareMs),
        r.eval ? r.eval.ratio.toFixed(2) : r.error ? "FAILED" : "-",
      ]),
    ])}\n`,
  );
  if (growth) {
    process.stdout.write(
      `per tenant (100 → 1000): ${growth.resourcesPerTenant.toFixed(1)} resources, ${growth.wallMsPerTenant.toFixed(1)} ms plan wall, ` +
        `${growth.rssMiBPerTenant.toFixed(2)} MiB; per added resource: eval ${growth.evalMsPerResource.toFixed(2)} ms vs bare SDK ${growth.bareMsPerResource.toFixed(2)} ms\n\n`,
    );
  }
  process.stdout.write(
    [
      `${runs} runs each, median (min-max).`,
      "plan wall / peak RSS: the real CLI in a child process, spawn to exit; RSS = process.resourceUsage().maxRSS",
      "  of the plan's node process. startup: process start to eval start in the eval child (node boot, tsx, modules).",
      "eval: runPlan() of the real program with its modules preloaded; (lazy loads) = provider resource modules the",
      "  SDKs still load inside it, included in eval. bare: the same harness registering as many plain CustomResources.",
      "ratio = median eval / median bare.",
      ...(all.some((r) => r.deterministic === false) ? ["* resources.json differed between runs."] : []),
      `Total ${totalS.toFixed(0)} s on ${cpus().length} CPUs, node ${process.version}.`,
    ].join("\n") + "\n",
  );

  mkdirSync(join(ROOT, ".bench"), { recursive: true });
  const report = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    runs,
    method: {
      plan: "node --require tsx/cjs automation/cli.ts plan <stack> --out <tmp> [--config FILE] (as npm run plan), one child process per run",
      wallMs: "spawn to exit of the CLI child, measured by the parent",
      peakMemory:
        "process.resourceUsage().maxRSS at exit, recorded by a module preloaded through NODE_OPTIONS; max over the CLI's node processes",
      eval: "bench/bare.ts in its own child: performance.now() around runPlan() (program) or the same harness registering N-1 CustomResources + the Stack (bare), module graph preloaded",
    },
    totalSeconds: totalS,
    stacks: results,
    tenants: { stacks: tenantResults, growth },
  };
  writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`Wrote ${RESULTS}\n`);
  const failed = all.filter((r) => r.error);
  for (const r of failed) process.stderr.write(`\n${r.stack} FAILED: ${r.error}\n`);
  return failed.length ? 1 : 0;
}

main().then(
  async (code) => process.exit(Math.max(code, await benchConfig(), await benchData())),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
