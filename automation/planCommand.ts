/**
 * `plan <stack> [--out DIR] [--config FILE] [--tenants DIR] [--against DIR|REF] [--jobs N] [--json]`:
 * the offline plan, as a function the CLI and the tests call alike. A platform stack is planned with
 * every tenant shard of its environment (tenants/Pulumi.<stack>-NNN.yaml); a shard stack
 * (`<environment>-NNN`) with its platform, which it reads through a stack reference. The shards
 * are planned by N worker processes (shardPlans.ts; by default one per core). Every stack
 * file and config is checked first, loading no Pulumi SDK; only configs that pass load the
 * programs and their providers. The plan then judges the whole bill against `enclii:budget` and
 * the pods and volumes against the machines, and with --against compares itself with another plan
 * (a directory read before this plan writes anything: `--against plan/<stack>` is the previous
 * run's plan, not this one; or planned at its git ref): the platform, and only the shards whose
 * digests differ (shardChoice.ts; a ref's planner gets this plan's digests as `--skip-same FILE`
 * and skips the shards they share). Exit status (model/controlPlane.ts `EXIT`): 0 ok (no
 * change), 2 bad arguments (a path option that leads nowhere among them), an invalid stack
 * file or config, or a plan that does not fit its machines or budget (every problem named),
 * 3 changes against the other plan (platform or shards), 4 changes that replace or delete
 * something holding data, 1 anything else.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { EXIT } from "../model/controlPlane";
import { TENANTS_DIR, parseShardStack } from "../model/config/tenants";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { checkAllShards, shardFiles } from "./shards";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { writePlan } from "./planFiles";
import { planEnvironmentShards, renderShards, shardDigests, shardsVerdict, type ShardOutcome } from "./shardChoice";
import { readShardInputs, type ShardInputsFile } from "./shardInputs";
import { loadStackConfig } from "./stackFile";
import { summarize } from "./summary";
import { budgetProblem, estimateCost, serversBudgetProblem } from "../model/cost/bill";
import { againstDir, againstKind, againstRef, SKIP_SAME } from "./against";
import { planCapacity } from "./capacity";
import { UsageError } from "./control/errors";
import { planResult } from "./planResult";
import { diffPlans, renderDiff } from "./planDiff";

export const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--config FILE] [--tenants DIR] [--against DIR|REF] [--jobs N] [--json]";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

const kind = (path: string) => (existsSync(path) ? (statSync(path).isDirectory() ? "directory" : "file") : undefined);

/**
 * The path options' problems, each naming its option and path: a mistyped path must not plan
 * something else (a missing --tenants would plan no shards) or fail half-way through writing.
 */
function pathProblems(values: { out?: string; config?: string; tenants?: string }): string[] {
  const problems: string[] = [];
  const { out, config, tenants } = values;
  if (config !== undefined && kind(config) !== "file")
    problems.push(`--config: ${kind(config) ? `${config} is a directory, not a stack file` : `no stack file ${config}`}`);
  if (tenants !== undefined && kind(tenants) !== "directory")
    problems.push(`--tenants: ${kind(tenants) ? `${tenants} is a file, not a directory` : `no directory ${tenants}`}`);
  // The plan makes its directory, not the ones above it: a missing parent is a typo more often than not.
  if (out !== undefined && kind(out) === "file") problems.push(`--out: ${out} is a file, not a directory`);
  else if (out !== undefined && kind(dirname(resolve(out))) !== "directory")
    problems.push(`--out: no directory ${dirname(out)} to write ${out} in`);
  return problems;
}

/** `--jobs`: how many worker processes plan the shards, a whole number from 1 (1: in this process). */
function jobsProblems(jobs: string | undefined): string[] {
  return jobs === undefined || /^[1-9]\d*$/.test(jobs)
    ? []
    : [`--jobs: ${JSON.stringify(jobs)} is not a number of workers: give a whole number from 1`];
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      config: { type: "string" },
      tenants: { type: "string" },
      against: { type: "string" },
      jobs: { type: "string" },
      json: { type: "boolean" },
      "skip-same": { type: "string" },
    },
  });
}

async function plan(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    // An unknown option or one without its value (node:util's ERR_PARSE_ARGS_*).
    io.stderr(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [requested] = positionals;
  const wrongPaths = [...pathProblems(values), ...jobsProblems(values.jobs)];
  if (!requested || positionals.length > 1 || wrongPaths.length > 0) {
    io.stderr(`${[...wrongPaths, USAGE].join("\n")}\n`);
    return EXIT.usage;
  }
  const tenantsDir = values.tenants ?? TENANTS_DIR;
  // A shard stack plans its platform too: the shard reads the platform's outputs.
  const shardOnly = !values.config && !existsSync(`Pulumi.${requested}.yaml`) ? parseShardStack(requested) : undefined;
  const stack = shardOnly?.environment ?? requested;
  const file = values.config ?? `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) {
    io.stderr(`no stack file ${file} (${USAGE})\n`);
    return EXIT.usage;
  }
  const cfg = loadStackConfig(file);
  const env = parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
  const files = shardFiles(tenantsDir, stack);
  if (shardOnly && !files.includes(join(tenantsDir, `Pulumi.${requested}.yaml`))) {
    io.stderr(`no stack file ${join(tenantsDir, `Pulumi.${requested}.yaml`)} (${USAGE})\n`);
    return EXIT.usage;
  }
  const allShards = checkAllShards(files, env);
  const shards = allShards.filter((s) => !shardOnly || s.shard.stack === requested);
  // No plan comes in under a budget the servers alone exceed: refused before Pulumi loads. A
  // shard's own plan leaves the environment's bill to the environment's, as below.
  const serversOver = shardOnly ? undefined : serversBudgetProblem(env);
  if (serversOver) throw new ConfigError([serversOver]);
  const say = values.json ? () => undefined : io.stdout;
  const passOn = [...(values.config ? ["--config", values.config] : []), ...(values.tenants ? ["--tenants", values.tenants] : [])];
  const againstWhat = values.against === undefined ? undefined : againstKind(values.against);
  const same = values["skip-same"] === undefined ? undefined : readSkipSame(values["skip-same"]);
  const out = values.out ?? join("plan", stack);
  // Read before this plan writes anything: `--against plan/<stack>` is the previous run's plan, not this one.
  const before = readShardInputs(out);
  let base = values.against !== undefined && againstWhat === "dir" ? againstDir(values.against) : undefined;

  // The Pulumi SDK and the providers load only here, once every config is known to be good, so a
  // refusal costs no SDK start-up (the bundle evaluates these modules on first import).
  const { runPlan } = await import("./plan");
  const { program } = await import("../stacks/program");
  const started = performance.now();
  const platform = await runPlan(stack, cfg, () => program(env));
  const written = writePlan(out, platform);
  const hostnames = allShards.reduce((n, s) => n + s.shard.tenants.reduce((m, t) => m + t.hostnames.length, 0), 0);
  const verdicts = { cost: estimateCost(env, hostnames), capacity: planCapacity(platform.resources, env) };
  if (!shardOnly) say(summarize(platform, env, cfg.placeholders, verdicts));
  say(
    `\nWrote ${join(out, "resources.json")}, ${written.manifests} manifests, ${written.bootstrap} bootstrap scripts (planned in ${elapsedMs(started)} ms)\n`,
  );

  let outcomes: ShardOutcome[];
  try {
    const digests = await shardDigests(shards, platform.outputs);
    // A git ref's planner is given this plan's digests, to skip the shards they share.
    if (values.against !== undefined && againstWhat === "ref")
      base = againstRef(
        values.against,
        stack,
        passOn,
        Object.fromEntries([...digests].map(([s, inputs]) => [s, { inputs, planned: true }])),
      );
    const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
    outcomes = await planEnvironmentShards({
      environment: stack,
      shards,
      digests,
      shardOnly: !!shardOnly,
      platform,
      out,
      before,
      against: base,
      same,
      jobs,
      say,
    });
  } finally {
    base?.done();
  }

  const diff = base && diffPlans(base.plan, platform);
  if (diff && base) say(`\n${renderDiff(diff, base.label)}${renderShards(outcomes, base)}`);
  // The environment is judged when it is planned whole; a shard's own plan leaves that to it.
  const problems = shardOnly
    ? []
    : [...verdicts.capacity.problems, budgetProblem(verdicts.cost)].filter((p): p is string => p !== undefined);
  if (values.json)
    io.stdout(`${JSON.stringify({ stack, cost: verdicts.cost, capacity: verdicts.capacity, problems, diff, shards: outcomes })}\n`);
  if (problems.length > 0) {
    io.stderr(`The plan does not fit (docs/capacity-and-cost.md):\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    return EXIT.usage;
  }
  if (!diff) return EXIT.ok;
  const worst = [diff.verdict, shardsVerdict(outcomes)];
  return worst.includes("replaces-stateful") ? EXIT.refused : worst.includes("changes") ? EXIT.drift : EXIT.ok;
}

const elapsedMs = (since: number) => Math.round(performance.now() - since);

/** `--skip-same FILE`: a later plan's digests (tenants/inputs.json's shape), as `against.ts` hands them to a base's planner. */
function readSkipSame(file: string): ShardInputsFile {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object of shard digests");
    return parsed as ShardInputsFile;
  } catch (err) {
    throw new UsageError(`${SKIP_SAME}: ${file}: ${withoutQuotes(err instanceof Error ? err.message : String(err))}`);
  }
}

/** The plan; with --json, its answer as one result in the control plane's envelope (planResult.ts). */

/**
 * An error's message without the text it quotes: Node's JSON.parse quotes its input
 * (`Unexpected token 'a', "hunter2" is not valid JSON`), and the input can be a secret.
 */
export function withoutQuotes(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
}
export async function planCommand(argv: string[], io: Io): Promise<number> {
  if (!argv.includes("--json")) return await planOrProblem(argv, io);
  let report: string | undefined;
  let said = "";
  const code = await planOrProblem(argv, {
    stdout: (text) => (report = text),
    stderr: (text) => {
      said += text;
      io.stderr(text);
    },
  });
  io.stdout(`${JSON.stringify(planResult(argv, code, report, said))}\n`);
  return code;
}

async function planOrProblem(argv: string[], io: Io): Promise<number> {
  try {
    return await plan(argv, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      io.stderr(`${err.message}\n`);
      return EXIT.usage;
    }
    // Every bad input is a ConfigError or UsageError above; anything else is ours. One line, no
    // JavaScript stack: the user can act on neither, and the file reproduces it for us.
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    io.stderr(`plan failed: ${withoutQuotes(what.split("\n")[0])} (this is a bug: please report it with the stack files planned)\n`);
    return EXIT.failed;
  }
}
