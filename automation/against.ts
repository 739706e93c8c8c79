/**
 * The plan to compare with (`plan <stack> --against <dir or git ref>`): a directory holding an
 * earlier plan's resources.json, or a git ref whose tree is checked out aside (a detached
 * worktree sharing this checkout's node_modules) and planned there by its own planner.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "./control/errors";
import type { PlanFile } from "./planDiff";

const git = (args: string[], cwd: string) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

function isCommit(ref: string, root: string): boolean {
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], root);
    return true;
  } catch {
    return false;
  }
}

/** The plan of `stack` at `ref`, and a label naming the commit. */
function planAtRef(ref: string, stack: string, args: string[], root: string): { plan: PlanFile; label: string } {
  const commit = git(["rev-parse", "--short", `${ref}^{commit}`], root);
  const dir = mkdtempSync(join(tmpdir(), "enclii-against-"));
  const tree = join(dir, "tree");
  try {
    git(["worktree", "add", "--detach", "--quiet", tree, commit], root);
    // The base plans with this checkout's dependencies (a tree that commits a link has its own).
    if (!existsSync(join(tree, "node_modules"))) symlinkSync(join(root, "node_modules"), join(tree, "node_modules"));
    const out = join(dir, "plan");
    const run = spawnSync(process.execPath, ["automation/launch.cjs", "plan", stack, "--out", out, ...args], {
      cwd: tree,
      encoding: "utf8",
    });
    if (run.status !== 0 && !existsSync(join(out, "resources.json")))
      throw new UsageError(
        `--against ${ref}: the plan of ${stack} at ${commit} failed (exit ${run.status}):\n${run.stderr.trim().split("\n").slice(-10).join("\n")}`,
      );
    return { plan: JSON.parse(readFileSync(join(out, "resources.json"), "utf8")) as PlanFile, label: `${ref} (${commit})` };
  } finally {
    spawnSync("git", ["worktree", "remove", "--force", tree], { cwd: root });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `against`: a plan directory (with resources.json) or a git ref. `args`: the options the head
 * plan got that the base needs too (`--config`, `--tenants`).
 */
export function loadAgainst(against: string, stack: string, args: string[], root = process.cwd()): { plan: PlanFile; label: string } {
  const file = join(resolve(root, against), "resources.json");
  if (existsSync(file)) return { plan: JSON.parse(readFileSync(file, "utf8")) as PlanFile, label: against };
  if (isCommit(against, root)) return planAtRef(against, stack, args, root);
  throw new UsageError(`--against: "${against}" is neither a plan directory (no resources.json in it) nor a git commit`);
}
