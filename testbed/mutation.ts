/**
 * `npm run mutation -- [--concurrency N] <module>…` (docs/testing.md#mutation-testing): Stryker
 * mutates each module in turn and runs the unit tests that reach it, to show which changes to the
 * code no test notices. Each module gets the test files that import it at the fewest steps: those
 * importing it directly, or else (a rule reached only through the config loader) those importing
 * a module that imports it, and so on. Real-server tests (`*.real.test.ts`) are left out. Not part
 * of `npm test`: a module takes minutes.
 *
 * Reports land in `.mutation/` (HTML and JSON per module); the summary table is printed last.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(__dirname, "..");
const REPORTS = ".mutation";
const TEST_DIR = "test";
const SOURCE_DIRS = ["model", "components", "stacks", "automation", "policy", "tenants", "testbed", TEST_DIR];
/** What Stryker's sandbox need not copy: build outputs and tools no unit test reads, and other runs' sandboxes. */
const SANDBOX_IGNORE = [".toolchain", ".bench", "plan", REPORTS, "clients", "toolchain", ".stryker-tmp"];
/**
 * Test files Stryker cannot host, with why: its vitest runner forces the `threads` pool, and these
 * fail there as they stand (`npx vitest run <file> --pool threads` shows it), though not in `npm test`.
 */
const UNHOSTED: Record<string, string> = {
  "test/shard-plans.test.ts": "its plans forked from a worker thread come back empty (planShards runs only in a main thread)",
};
const DEFAULT_CONCURRENCY = 2;
const MUTANT_TIMEOUT_MS = 60_000;

interface Args {
  modules: string[];
  concurrency: number;
  /** Every problem with the options, all at once; the modules are judged after, with theirs. */
  errors: string[];
}

export function parseArgs(argv: string[]): Args {
  const errors: string[] = [];
  const modules: string[] = [];
  let concurrency = DEFAULT_CONCURRENCY;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--concurrency") {
      const value = argv[++i];
      concurrency = Number(value);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        errors.push(`--concurrency: expected a whole number ≥ 1, got ${JSON.stringify(value ?? "")}`);
    } else if (arg.startsWith("-")) errors.push(`${arg}: unknown option (known: --concurrency N)`);
    else modules.push(arg);
  }
  if (modules.length === 0) errors.push("no module named: npm run mutation -- <module.ts>…");
  return { modules, concurrency, errors };
}

const listTs = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.includes("node_modules"))
    .map((f) => join(dir, f));

/** The project's import graph: each source file to the project files it imports. */
export function importGraph(files: string[]): Map<string, string[]> {
  const options: ts.CompilerOptions = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const abs = join(ROOT, file);
    const { importedFiles } = ts.preProcessFile(readFileSync(abs, "utf8"), true, true);
    const deps = importedFiles
      .filter((i) => i.fileName.startsWith("."))
      .map((i) => ts.resolveModuleName(i.fileName, abs, options, ts.sys).resolvedModule?.resolvedFileName)
      .filter((p): p is string => p !== undefined)
      .map((p) => relative(ROOT, p));
    graph.set(file, deps);
  }
  return graph;
}

/** The unit test files that reach `module` at the fewest import steps, and that number. */
export function nearestTests(graph: Map<string, string[]>, module: string): { tests: string[]; steps: number } {
  const tests = [...graph.keys()].filter(
    (f) => f.startsWith(`${TEST_DIR}/`) && f.endsWith(".test.ts") && !f.endsWith(".real.test.ts") && !(f in UNHOSTED),
  );
  const stepsFrom = (test: string): number => {
    const seen = new Set([test]);
    let frontier = [test];
    for (let steps = 1; frontier.length > 0; steps++) {
      const next = frontier.flatMap((f) => graph.get(f) ?? []).filter((f) => !seen.has(f));
      if (next.includes(module)) return steps;
      next.forEach((f) => seen.add(f));
      frontier = [...new Set(next)];
    }
    return Infinity;
  };
  const byTest = tests.map((t) => ({ t, steps: stepsFrom(t) }));
  const steps = Math.min(...byTest.map((b) => b.steps));
  return { tests: byTest.filter((b) => b.steps === steps && steps !== Infinity).map((b) => b.t), steps };
}

/** What this script reads of Stryker's MutantResult (@stryker-mutator/api/core). */
interface MutantResult {
  status: "Killed" | "Survived" | "NoCoverage" | "Timeout" | "CompileError" | "RuntimeError" | "Ignored" | "Pending";
  fileName: string;
  location: { start: { line: number } };
  mutatorName: string;
  replacement?: string;
  static?: boolean;
}
interface StrykerCore {
  Stryker: new (options: object) => { runMutationTest(): Promise<MutantResult[]> };
}
/**
 * Core is an ES module whose types sit behind its exports map, which the project's CommonJS
 * resolution cannot read; a non-literal specifier keeps tsc from trying, and StrykerCore types it.
 */
const STRYKER_CORE = "@stryker-mutator/core";

interface Score {
  module: string;
  tests: string[];
  steps: number;
  killed: number;
  /** Of the killed, those that outlasted MUTANT_TIMEOUT_MS. */
  timedOut: number;
  survived: string[];
  score: number;
}

async function mutate(module: string, tests: string[], steps: number, concurrency: number): Promise<Score> {
  const { Stryker } = (await import(STRYKER_CORE)) as StrykerCore;
  const slug = module.replace(/[/.]/g, "_");
  process.env.MUTATION_TESTS = JSON.stringify([...tests].sort((a, b) => statSync(join(ROOT, a)).size - statSync(join(ROOT, b)).size));
  const results = await new Stryker({
    mutate: [module],
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    vitest: { configFile: "testbed/mutation.vitest.config.mts", related: false },
    coverageAnalysis: "perTest",
    concurrency,
    ignorePatterns: SANDBOX_IGNORE,
    // One sandbox folder per run, so runs of different modules can go side by side.
    tempDirName: `.stryker-tmp/${slug}-${process.pid}`,
    cleanTempDir: "always",
    reporters: ["json", "html", "clear-text"],
    jsonReporter: { fileName: `${REPORTS}/${slug}.json` },
    htmlReporter: { fileName: `${REPORTS}/${slug}.html` },
    clearTextReporter: { reportTests: false, reportMutants: true, logTests: false },
    thresholds: { high: 90, low: 85, break: null },
    // A mutant that outlasts this counts as killed (an endless loop is noticed). Stryker's 5 s on top of
    // the tests' own time is too little on a busy 2-core machine: there slow mutants "time out" too.
    timeoutMS: MUTANT_TIMEOUT_MS,
  }).runMutationTest();
  const valid = results.filter((r) => r.status !== "CompileError" && r.status !== "RuntimeError" && r.status !== "Ignored");
  const killed = valid.filter((r) => r.status === "Killed" || r.status === "Timeout").length;
  const survived = valid
    .filter((r) => r.status === "Survived" || r.status === "NoCoverage")
    .map((r) => `${r.fileName}:${r.location.start.line} ${r.mutatorName} ${JSON.stringify(r.replacement)}${r.static ? " (static)" : ""}`);
  const timedOut = valid.filter((r) => r.status === "Timeout").length;
  return { module, tests, steps, killed, timedOut, survived, score: valid.length === 0 ? 0 : (100 * killed) / valid.length };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const graph = importGraph(SOURCE_DIRS.flatMap(listTs));
  const errors = [...args.errors];
  const plans = args.modules.map((arg) => {
    const module = relative(ROOT, resolve(arg));
    if (!graph.has(module)) errors.push(`${arg}: not a TypeScript module of this project (under ${SOURCE_DIRS.join(", ")})`);
    else {
      const found = nearestTests(graph, module);
      if (found.tests.length === 0) errors.push(`${arg}: no unit test under ${TEST_DIR}/ imports it, directly or not`);
      return { module, ...found };
    }
    return undefined;
  });
  if (errors.length > 0) {
    console.error(errors.map((e) => `mutation: ${e}`).join("\n"));
    return 2;
  }
  const scores: Score[] = [];
  for (const plan of plans) {
    if (!plan) continue;
    for (const [file, why] of Object.entries(UNHOSTED))
      if (graph.get(file)?.includes(plan.module)) console.warn(`mutation: ${plan.module}: leaving out ${file}: ${why}`);
    scores.push(await mutate(plan.module, plan.tests, plan.steps, args.concurrency));
  }
  for (const s of scores) {
    const via = s.steps === 1 ? "importing it" : `reaching it in ${s.steps} imports`;
    console.warn(
      `\n${s.module}: ${s.score.toFixed(2)}% (${s.killed} killed, ${s.timedOut} of them by timeout, ${s.survived.length} survived; ${s.tests.length} test files ${via})`,
    );
    for (const m of s.survived) console.warn(`  survived ${m}`);
  }
  return 0;
}

if (require.main === module)
  main().then(
    (code) => process.exit(code),
    // Stryker's own refusals (a test failing before any mutant, a bad option) say what is wrong; its stack says nothing more.
    (error: Error) => {
      console.error(`mutation: ${error.message}`);
      process.exit(1);
    },
  );
