/**
 * The plan to compare with (`plan <stack> --against <dir or git ref>`): a directory holding an
 * earlier plan's resources.json, or a git ref whose tree is checked out aside (a detached
 * worktree sharing this checkout's node_modules) and planned there by its own planner. Either
 * way its shards' digests come along (automation/shardInputs.ts), so only the shards whose
 * digests differ are planned and compared (docs/plan.md#which-shards-are-planned-again).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "./control/errors";
import { NODE_FLAGS } from "./nodeFlags";
import type { PlanFile } from "./planDiff";
import { readShardInputs, type ShardInputsFile } from "./shardInputs";

/** The option that asks a base's planner to skip the shards whose digests it is given; older planners refuse it. */
export const SKIP_SAME = "--skip-same";

export interface Against {
  /** How the diff names the other plan. */
  label: string;
  /** The other plan's directory: resources.json (the platform), tenants/<shard>/resources.json, tenants/inputs.json. */
  dir: string;
  plan: PlanFile;
  /** Its shards' digests; none from a plan written before they were kept, so every shard differs. */
  shards?: ShardInputsFile;
  /** Removes what planning at a ref left behind (nothing for a directory). */
  done(): void;
}

const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

function isCommit(ref: string, root: string): boolean {
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], root);
    return true;
  } catch {
    return false;
  }
}

const readPlan = (dir: string) => JSON.parse(readFileSync(join(dir, "resources.json"), "utf8")) as PlanFile;

/** What `--against` names: a plan directory or a git commit, checked before anything is planned. */
export function againstKind(against: string, root = process.cwd()): "dir" | "ref" {
  if (existsSync(join(resolve(root, against), "resources.json"))) return "dir";
  if (isCommit(against, root)) return "ref";
  throw new UsageError(`--against: "${against}" is neither a plan directory (no resources.json in it) nor a git commit`);
}

/** A plan directory, read now: before this plan writes over it, when they are the same. */
export function againstDir(against: string, root = process.cwd()): Against {
  const dir = resolve(root, against);
  return { label: against, dir, plan: readPlan(dir), shards: readShardInputs(dir), done: () => undefined };
}

/**
 * The plan of `stack` at `ref`, by the ref's own planner, skipping the shards whose digests are
 * `same` (this plan's: equal digests, equal plans). Kept on disk until `done`: the shards that
 * differ are compared file by file.
 */
export function againstRef(ref: string, stack: string, args: string[], same: ShardInputsFile, root = process.cwd()): Against {
  const commit = git(["rev-parse", "--short", `${ref}^{commit}`], root);
  const dir = mkdtempSync(join(tmpdir(), "enclii-against-"));
  const tree = join(dir, "tree");
  const done = () => {
    spawnSync("git", ["worktree", "remove", "--force", tree], { cwd: root });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    git(["worktree", "add", "--detach", "--quiet", tree, commit], root);
    // The base plans with this checkout's dependencies (a tree that commits a link has its own).
    if (!existsSync(join(tree, "node_modules"))) symlinkSync(join(root, "node_modules"), join(tree, "node_modules"));
    const out = join(dir, "plan");
    const sameFile = join(dir, "same.json");
    writeFileSync(sameFile, JSON.stringify(same));
    const plan = (extra: string[]) =>
      spawnSync(process.execPath, [...NODE_FLAGS, "automation/launch.cjs", "plan", stack, "--out", out, ...args, ...extra], {
        cwd: tree,
        encoding: "utf8",
      });
    let run = plan([SKIP_SAME, sameFile]);
    // A planner from before shard digests: it plans every shard, as it always did.
    if (run.status !== 0 && run.stderr.includes(`'${SKIP_SAME}'`) && !existsSync(join(out, "resources.json"))) run = plan([]);
    if (run.status !== 0 && !existsSync(join(out, "resources.json")))
      throw new UsageError(
        `--against ${ref}: the plan of ${stack} at ${commit} failed (exit ${run.status}):\n${run.stderr.trim().split("\n").slice(-10).join("\n")}`,
      );
    return { label: `${ref} (${commit})`, dir: out, plan: readPlan(out), shards: readShardInputs(out), done };
  } catch (err) {
    done();
    throw err;
  }
}
