/**
 * Which tenant shards a plan plans (docs/plan.md#which-shards-are-planned-again). Without another
 * plan, every one. Against another plan (a directory, or a git ref's plan), only those whose
 * digests differ from its (automation/shardInputs.ts); the others are reported unchanged and not
 * planned. Their plans in this plan's directory are kept when they were written with the same
 * digest, copied from the other plan's directory when it has them, and otherwise removed, so the
 * directory never holds a plan its digests do not describe.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseShardStack } from "../model/config/tenants";
import type { Against } from "./against";
import { diffPlans, emptyPlan, renderDiff, type PlanDiff, type PlanFile } from "./planDiff";
import { codeDigest, forgetShardInputs, shardDigest, writeShardInputs, type ShardInputsFile } from "./shardInputs";
import { planShards, type ShardJob } from "./shardPlans";
import type { ShardPlan } from "./shards";

/** The repository the planner runs from: automation/ in the sources, dist/ in the bundle, both one level down. */
const REPOSITORY = join(__dirname, "..");

/** Where shard plans go inside the platform plan's directory. */
export const SHARD_PLANS = "tenants";

export interface ShardOutcome {
  stack: string;
  /** None for a removed shard. */
  tenants?: number;
  /** planned: now; unchanged: the other plan's digest, so not planned; removed: only the other plan has it. */
  status: "planned" | "unchanged" | "removed";
  /** Against another plan, for a planned or removed shard; none when that plan left the shard out. */
  diff?: PlanDiff;
}

export interface ShardChoice {
  jobs: ShardJob[];
  /** The shards not planned, in stack order. */
  unchanged: ShardOutcome[];
  /** The digests this plan's directory will hold for the shards not planned. */
  kept: ShardInputsFile;
}

const planOf = (dir: string) => join(dir, "resources.json");

/**
 * `digests`: each shard's, now. `before`: the digests this plan's directory held. `against`: the
 * other plan. `same`: a later plan's digests, given to this one as the base of a comparison
 * (`--skip-same`): the shards it shares are not planned, the later plan needs none of them.
 */
export function chooseShards(args: {
  shards: ShardPlan[];
  digests: ReadonlyMap<string, string>;
  out: string;
  before?: ShardInputsFile;
  against?: Against;
  same?: ShardInputsFile;
}): ShardChoice {
  const { shards, digests, out, before, against, same } = args;
  const choice: ShardChoice = { jobs: [], unchanged: [], kept: {} };
  for (const { shard, cfg } of shards) {
    const stack = shard.stack;
    const dir = join(out, SHARD_PLANS, stack);
    const inputs = digests.get(stack)!;
    const other = against ? against.shards?.[stack] : same?.[stack];
    if (other?.inputs !== inputs) {
      // A shard the other plan left out has no plan there to compare with; one it never had is new.
      const compare = against && other?.planned !== false ? planOf(join(against.dir, SHARD_PLANS, stack)) : undefined;
      choice.jobs.push({ shard, cfg, dir, ...(compare && { against: compare }) });
      continue;
    }
    choice.unchanged.push({ stack, tenants: shard.tenants.length, status: "unchanged" });
    const fromOther = against && other.planned && against.dir !== out ? join(against.dir, SHARD_PLANS, stack) : undefined;
    let planned = before?.[stack]?.inputs === inputs && before[stack].planned && existsSync(planOf(dir));
    if (!planned && fromOther && existsSync(planOf(fromOther))) {
      rmSync(dir, { recursive: true, force: true });
      cpSync(fromOther, dir, { recursive: true });
      planned = true;
    }
    if (!planned) rmSync(dir, { recursive: true, force: true });
    choice.kept[stack] = { inputs, planned };
  }
  return choice;
}

/** The other plan's shards of `environment` that this plan no longer has, each as everything it deletes. */
export function removedShards(against: Against, environment: string, current: ReadonlySet<string>): ShardOutcome[] {
  const listed = against.shards ? Object.keys(against.shards) : listDirs(join(against.dir, SHARD_PLANS));
  return listed
    .filter((stack) => parseShardStack(stack)?.environment === environment && !current.has(stack))
    .sort()
    .map((stack) => {
      const file = planOf(join(against.dir, SHARD_PLANS, stack));
      if (!existsSync(file)) return { stack, status: "removed" };
      const plan = JSON.parse(readFileSync(file, "utf8")) as PlanFile;
      return { stack, status: "removed", diff: diffPlans(plan, emptyPlan(stack)) };
    });
}

function listDirs(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name] : [])) : [];
}

/** Each shard's digest, now: this code's, its stack file's and the platform outputs it reads. */
export async function shardDigests(shards: readonly ShardPlan[], outputs: Record<string, unknown>): Promise<Map<string, string>> {
  const code = await codeDigest(REPOSITORY);
  return new Map(shards.map((s) => [s.shard.stack, shardDigest(code, readFileSync(s.file, "utf8"), outputs)]));
}

export interface EnvironmentShards {
  environment: string;
  /** The shards to plan: all of the environment's, or the one a shard stack's plan asks for. */
  shards: ShardPlan[];
  /** Each shard's digest (`shardDigests`). */
  digests: ReadonlyMap<string, string>;
  /** Only one shard of the environment is planned: the others' digests in `out` stay as they are. */
  shardOnly: boolean;
  platform: { stack: string; outputs: Record<string, unknown> };
  /** The platform plan's directory; the shards' go in its tenants/. */
  out: string;
  /** The digests `out` held before this plan, read before anything was written. */
  before?: ShardInputsFile;
  against?: Against;
  same?: ShardInputsFile;
  jobs?: number;
  say: (text: string) => void;
}

/**
 * The environment's shards: digested, chosen, the chosen planned (shardPlans.ts), each compared
 * with the other plan, the removed ones listed, and the digests written last.
 */
export async function planEnvironmentShards(e: EnvironmentShards): Promise<ShardOutcome[]> {
  const { digests } = e;
  const choice = chooseShards(e);
  forgetShardInputs(e.out);
  const dir = (stack: string) => join(e.out, SHARD_PLANS, stack);
  const planned = await planShards(choice.jobs, e.platform, {
    jobs: e.jobs,
    onPlanned: (p) =>
      e.say(
        `${p.stack}: ${p.tenants} tenants, ${p.resources} resources (planned in ${p.ms} ms); wrote ${dir(p.stack)} (${p.manifests} manifests)\n`,
      ),
  });
  const current = new Set(e.shards.map((s) => s.shard.stack));
  const removed = e.against && !e.shardOnly ? removedShards(e.against, e.environment, current) : [];
  // A shard whose stack file is gone leaves no plan behind.
  if (!e.shardOnly) removeStalePlans(join(e.out, SHARD_PLANS), current);
  const kept = e.shardOnly ? Object.fromEntries(Object.entries(e.before ?? {}).filter(([stack]) => !current.has(stack))) : {};
  const inputs: ShardInputsFile = { ...kept, ...choice.kept };
  for (const p of planned) inputs[p.stack] = { inputs: digests.get(p.stack)!, planned: true };
  writeShardInputs(e.out, inputs);
  const outcomes: ShardOutcome[] = [
    ...planned.map((p): ShardOutcome => ({ stack: p.stack, tenants: p.tenants, status: "planned", ...(p.diff && { diff: p.diff }) })),
    ...choice.unchanged,
    ...removed,
  ];
  return outcomes.sort((a, b) => (a.stack < b.stack ? -1 : 1));
}

function removeStalePlans(dir: string, current: ReadonlySet<string>): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) if (parseShardStack(entry) && !current.has(entry)) rmSync(join(dir, entry), { recursive: true });
}

/** What the shards add to the plan's text against another plan: each one that differs, then the count of those that did not. */
export function renderShards(outcomes: readonly ShardOutcome[], against: Against): string {
  const lines = outcomes.flatMap((o) =>
    o.diff && o.diff.verdict !== "no-change"
      ? [`\n${renderDiff(o.diff, against.label)}`]
      : o.status !== "unchanged" && !o.diff
        ? [`\n${o.stack}: ${o.status}; ${against.label} has no plan of it to compare with\n`]
        : [],
  );
  const count = (status: ShardOutcome["status"]) => outcomes.filter((o) => o.status === status).length;
  const removed = count("removed") > 0 ? `, ${count("removed")} removed` : "";
  lines.push(
    `\nTenant shards against ${against.label}: ${count("planned")} planned, ${count("unchanged")} unchanged, not planned (the same stack file, platform outputs and code)${removed}\n`,
  );
  return lines.join("");
}

/** What a shard the other plan has no plan of does: a planned one changes; a removed one deletes its tenants' namespaces. */
const UNCOMPARED = { planned: "changes", removed: "replaces-stateful", unchanged: "no-change" } as const;

/** The verdict of the shards against the other plan. */
export function shardsVerdict(outcomes: readonly ShardOutcome[]): PlanDiff["verdict"] {
  const verdicts = outcomes.map((o) => (o.diff ? o.diff.verdict : UNCOMPARED[o.status]));
  return verdicts.includes("replaces-stateful") ? "replaces-stateful" : verdicts.includes("changes") ? "changes" : "no-change";
}
