/**
 * The config check's figures (run by `npm run bench` before the data layer, or alone:
 * `npx tsx bench/config.ts`):
 *  1. CPU time (user + system, the whole process tree, from bash's `times`) of `npm run plan` and of
 *     the CLI alone on broken stack files, one per class of defect: the refusal must come before any
 *     Pulumi SDK loads;
 *  2. the property-based check of testbed/stackFuzz.ts with many more cases than the test runs,
 *     on a fresh seed: config checks for all, and the real plan (in this process) for up to
 *     MAX_PLANS of those that pass;
 *  3. the byte-level property of testbed/byteFuzz.ts (stack and shard files damaged byte by byte),
 *     BYTE_CASES cases on the same fresh seed, through the check only.
 * Prints a table and writes `.bench/config.json`; returns 1 if the property broke.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { NODE_FLAGS } from "../automation/nodeFlags";
import { ByteChecker, byteCaseArbitrary, byteViolation } from "../testbed/byteFuzz";
import { caseArbitrary, check, planAccepted, render, violation } from "../testbed/stackFuzz";
import { stats, type Stats } from "./stats";

const ROOT = join(__dirname, "..");
const RESULTS = join(ROOT, ".bench", "config.json");
const RUNS = 5;
const FUZZ_CASES = 3000;
const MAX_PLANS = 100;
const BYTE_CASES = 5000;
const STAGING = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8");

/** Staging's file with one edit, which must apply: a stale pattern would bench a file that is not broken. */
function broken(from: string | RegExp, to: string): string {
  const edited = STAGING.replace(from, to);
  if (edited === STAGING) throw new Error(`bench/config.ts: ${String(from)} is not in Pulumi.staging.yaml`);
  return edited;
}

/** One broken file per class the config check refuses. */
const BROKEN: Record<string, string> = {
  "YAML: tab indentation": broken("  enclii:k3s:\n    version", "  enclii:k3s:\n\tversion"),
  "bytes: a BOM, a NUL, a tag": `\ufeff${broken("enclii:protect: false", "enclii:protect: !!str fa\0lse")}`,
  "node count 1e9": broken("      role: server", "      role: server\n      count: 1000000000"),
  "namespace typo": broken("  enclii:budget:", "  encli:budget:"),
  "k3s v1.99.0+k3s1": broken(/version: v1\.\d+\.\d+\+k3s\d+/, "version: v1.99.0+k3s1"),
  "adminCidrs 0.0.0.0/1 + 128.0.0.0/1": broken("    - 198.51.100.7/32", "    - 0.0.0.0/1\n    - 128.0.0.0/1"),
};

/** user+sys seconds of everything `command` ran, as bash's `times` reports its children. */
function cpuSeconds(command: string): { cpuS: number; exit: number } {
  const r = spawnSync("bash", ["-c", `${command} >/dev/null 2>&1; code=$?; times; exit $code`], { cwd: ROOT, encoding: "utf8" });
  const children = r.stdout.trim().split("\n").at(-1) ?? "";
  const [user, sys] = children.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  });
  return { cpuS: user + sys, exit: r.status ?? -1 };
}

interface RefusalRow {
  file: string;
  exit: number;
  npmCpuS: Stats;
  cliCpuS: Stats;
}

function refusals(dir: string): RefusalRow[] {
  return Object.entries(BROKEN).map(([name, text]) => {
    const file = join(dir, `Pulumi.${name.replace(/\W+/g, "-")}.yaml`);
    writeFileSync(file, text);
    const npm = Array.from({ length: RUNS }, () => cpuSeconds(`npm run -s plan -- broken --config ${file} --out ${dir}/out`));
    const cli = Array.from({ length: RUNS }, () =>
      cpuSeconds(`node ${NODE_FLAGS.join(" ")} automation/launch.cjs plan broken --config ${file} --out ${dir}/out`),
    );
    return { file: name, exit: npm[0].exit, npmCpuS: stats(npm.map((r) => r.cpuS)), cliCpuS: stats(cli.map((r) => r.cpuS)) };
  });
}

async function fuzz(seed: number): Promise<{ cases: number; planned: number; refused: number; checkMs: Stats; failure?: string }> {
  const { runPlan } = await import("../automation/plan");
  const warn = console.warn;
  console.warn = () => undefined;
  const seen = { planned: 0, refused: 0, passed: 0 };
  const checkMs: number[] = [];
  try {
    const result = await fc.check(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const t0 = performance.now();
        const outcome = check(render(c));
        checkMs.push(performance.now() - t0);
        const broken = violation(outcome);
        if (broken) throw new Error(broken);
        if (outcome.code === 2) seen.refused++;
        else if (seen.planned >= MAX_PLANS) seen.passed++;
        // Refused by the program (an adopted name only a plan can check) counts as refused.
        else if (await planAccepted(() => runPlan("fuzz", outcome.cfg!))) {
          seen.passed++;
          seen.planned++;
        } else seen.refused++;
      }),
      { seed, numRuns: FUZZ_CASES },
    );
    const failure = result.failed ? `seed ${seed}: ${fc.defaultReportMessage(result)}` : undefined;
    // Counted by the property itself: fast-check's own count stops at a failure, before shrinking runs it again.
    return { cases: seen.refused + seen.passed, planned: seen.planned, refused: seen.refused, checkMs: stats(checkMs), failure };
  } finally {
    console.warn = warn;
  }
}

/** The byte-level property: counts, the check's time per case, and the first failure, if any. */
function byteFuzz(seed: number): { cases: number; refused: number; checkMs: Stats; failure?: string } {
  const checker = new ByteChecker();
  const seen = { cases: 0, refused: 0 };
  const checkMs: number[] = [];
  try {
    const result = fc.check(
      fc.property(byteCaseArbitrary, (c) => {
        const t0 = performance.now();
        const outcome = checker.check(c);
        checkMs.push(performance.now() - t0);
        const broken = byteViolation(outcome);
        if (broken) throw new Error(broken);
        seen.cases++;
        if (outcome.code === 2) seen.refused++;
      }),
      { seed, numRuns: BYTE_CASES },
    );
    return { ...seen, checkMs: stats(checkMs), failure: result.failed ? `seed ${seed}: ${fc.defaultReportMessage(result)}` : undefined };
  } finally {
    checker.close();
  }
}

export async function benchConfig(log = (s: string) => process.stderr.write(`${s}\n`)): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "enclii-bench-config-"));
  try {
    log("config: CPU time of refusing broken stack files");
    const rows = refusals(dir);
    const seed = Date.now() % 2 ** 31;
    log(`config: ${FUZZ_CASES} generated stack files (seed ${seed})`);
    const f = await fuzz(seed);
    log(`config: ${BYTE_CASES} stack and shard files damaged byte by byte (seed ${seed})`);
    const b = byteFuzz(seed);
    const range = (s: Stats) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
    process.stdout.write(
      [
        "",
        "refused stack file                    exit  npm run plan CPU s  CLI alone CPU s",
        ...rows.map(
          (r) => `${r.file.padEnd(36)} ${String(r.exit).padStart(5)}  ${range(r.npmCpuS).padStart(18)}  ${range(r.cliCpuS).padStart(15)}`,
        ),
        "",
        `property: ${f.cases} cases, ${f.refused} refused, ${f.cases - f.refused} passed the check (${f.planned} of them planned), ` +
          `check median ${f.checkMs.median.toFixed(2)} ms; ${f.failure ?? "no violation"}`,
        `bytes: ${b.cases} cases, ${b.refused} refused, check median ${b.checkMs.median.toFixed(2)} ms ` +
          `(max ${b.checkMs.max.toFixed(1)}); ${b.failure ?? "no violation"}`,
        `${RUNS} runs per file, median (min-max), on ${cpus().length} CPUs.`,
        "",
      ].join("\n"),
    );
    mkdirSync(join(RESULTS, ".."), { recursive: true });
    writeFileSync(
      RESULTS,
      `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, refusals: rows, fuzz: { seed, ...f }, bytes: { seed, ...b } }, null, 2)}\n`,
    );
    process.stdout.write(`Wrote ${RESULTS}\n`);
    return f.failure || b.failure ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) benchConfig().then((code) => process.exit(code));
