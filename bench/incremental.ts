/**
 * Work proportional to the change (docs/plan.md#which-shards-are-planned-again): at 1,000 and
 * 10,000 tenants, in a scratch git repository holding this checkout, one tenant added to a
 * committed environment, then
 *  - `plan staging --against` the previous plan's directory (the full plan before it is measured too),
 *  - `pr-comment --base main --stacks staging` (the base planned at its commit by its own planner),
 * each as the child process it is: wall time, its own peak RSS and the largest of the processes it started.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeTenants, placeAll, stagingForTenants, writeShardFiles } from "../testbed/tenantShards";
import { NODE_FLAGS } from "../automation/nodeFlags";
import { runChild, type Child } from "./child";

const ROOT = join(__dirname, "..");
/** The CLI as `npm run plan` starts it. */
const LAUNCH = [...NODE_FLAGS, "automation/launch.cjs"];
export const INCREMENTAL_COUNTS = [1000, 10_000];

export interface IncrementalRow {
  tenants: number;
  shards: number;
  fullPlan: Child;
  againstPrevious: Child;
  prComment: Child;
}

function scratchRepo(dir: string, tenants: number): { shards: number } {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n");
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  stagingForTenants(dir);
  const shards = placeAll("staging", makeTenants(tenants));
  writeShardFiles(join(dir, "tenants"), shards);
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=bench@enclii.dev", "-c", "user.name=bench", ...args], { cwd: dir });
  git("init", "--quiet", "--initial-branch=main");
  writeFileSync(join(dir, ".git", "info", "exclude"), "node_modules\ndist\nplan\n");
  git("add", "-A");
  git("commit", "--quiet", "-m", `${tenants} tenants`);
  // One tenant more, where `domains add` would put it.
  const grown = placeAll("staging", makeTenants(1, "new"), shards);
  writeShardFiles(join(dir, "tenants"), grown);
  git("checkout", "--quiet", "-b", "one-more");
  git("add", "-A");
  git("commit", "--quiet", "-m", "one tenant more");
  return { shards: grown.length };
}

/** Checks the answer was what it should be: a bench of a plan that planned everything would mislead. */
function expectOneShardPlanned(what: string, text: string, shards: number): void {
  const unchanged = Number(/(\d+) unchanged, not planned/.exec(text)?.[1] ?? NaN);
  if (unchanged !== shards - 1) throw new Error(`${what}: ${unchanged} shards unchanged, expected ${shards - 1}:\n${text.slice(-2000)}`);
}

export async function benchIncremental(work: string, log: (s: string) => void): Promise<IncrementalRow[]> {
  const rows: IncrementalRow[] = [];
  for (const tenants of INCREMENTAL_COUNTS) {
    const repo = join(work, `incremental-${tenants}`);
    const { shards } = scratchRepo(repo, tenants);
    const opts = { cwd: repo, work };
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo });
    git("checkout", "--quiet", "main");
    // Untimed: the scratch checkout's first run builds its bundle and code cache.
    await runChild([...LAUNCH, "plan", "production", "--out", join(work, `warm-up-${tenants}`)], opts);
    // Where `npm run plan -- staging` writes, and so where the previous plan is.
    const fullPlan = await runChild([...LAUNCH, "plan", "staging"], opts);
    git("checkout", "--quiet", "one-more");
    const againstPrevious = await runChild([...LAUNCH, "plan", "staging", "--against", "plan/staging"], opts);
    expectOneShardPlanned("plan --against", againstPrevious.stdout, shards);
    const prComment = await runChild([...LAUNCH, "pr-comment", "--base", "main", "--stacks", "staging"], opts);
    expectOneShardPlanned("pr-comment", prComment.stdout, shards);
    log(
      `  ${tenants} tenants (${shards} shards): full plan ${fullPlan.ms.toFixed(0)} ms, against the previous ${againstPrevious.ms.toFixed(0)} ms, pr-comment ${prComment.ms.toFixed(0)} ms`,
    );
    rows.push({ tenants, shards, fullPlan, againstPrevious, prComment });
  }
  return rows;
}
