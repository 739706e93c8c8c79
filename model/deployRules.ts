/**
 * The rules a service's spec sets on its deploys (`spec.build.source.git`, docs/services.md):
 * `deploySchedule`, a daily window in UTC outside which a deploy waits, and `deployFilter`, the
 * changed paths that justify one. Pure: the clock and the push's paths are the caller's.
 */
import { Minimatch, type MinimatchOptions } from "minimatch";

export interface DeploySchedule {
  /** "22:00 UTC": the window opens at this minute (included). */
  onlyAfter: string;
  /** "06:00 UTC": the window closes at this minute (excluded); before onlyAfter, it closes the next day. */
  onlyBefore: string;
}

export interface DeployFilter {
  /** Globs of the paths that justify a deploy; none means every path. */
  paths: string[];
  /** Globs of the paths that never do, even when `paths` matches them. */
  excludePaths: string[];
}

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 24 * 60 * MS_PER_MINUTE;
/** The spec's time format (model/config/services.ts `utcTime`). */
const UTC_TIME = /^([01]\d|2[0-3]):([0-5]\d) UTC$/;

function msOfDay(time: string): number {
  const m = UTC_TIME.exec(time);
  if (!m) throw new Error(`"${time}" is not a time such as "22:00 UTC"`);
  return (Number(m[1]) * 60 + Number(m[2])) * MS_PER_MINUTE;
}

/**
 * Why a schedule cannot be used: equal ends say nothing clear (an empty window, or the whole day),
 * so they are refused rather than guessed at.
 */
export function deployScheduleProblem(s: DeploySchedule): string | undefined {
  if (msOfDay(s.onlyAfter) !== msOfDay(s.onlyBefore)) return undefined;
  return `onlyAfter and onlyBefore are both ${s.onlyAfter}: the window would be empty, or the whole day; leave deploySchedule out to deploy at any time`;
}

/**
 * Whether a deploy may run at `now`: from onlyAfter (included) to onlyBefore (excluded), across
 * midnight when onlyBefore is the earlier time of day; when it may not, the instant the next
 * window opens. Times are UTC, to the millisecond.
 */
export function deployWindow(s: DeploySchedule, now: Date): { open: true } | { open: false; opensAt: Date } {
  const after = msOfDay(s.onlyAfter);
  const before = msOfDay(s.onlyBefore);
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const t = now.getTime() - midnight;
  const open = after < before ? after <= t && t < before : t >= after || t < before;
  if (open) return { open };
  // Outside, onlyAfter is either still ahead today or already past (then tomorrow's).
  const today = midnight + after;
  return { open, opensAt: new Date(today > now.getTime() ? today : today + MS_PER_DAY) };
}

/**
 * The glob dialect of `deployFilter`: minimatch's (`*` within a path segment, `**` across
 * segments, `?`, `[…]`, `{a,b}`), matching dotfiles too (a change to `.dockerignore` counts);
 * a leading `!` or `#` is an ordinary character: exclusions go in `excludePaths`.
 */
const GLOB: MinimatchOptions = { dot: true, nonegate: true, nocomment: true };

/** The changed paths that justify a deploy: matched by `paths` (any, when it is empty) and by no `excludePaths`. */
export function pathsPassing(filter: DeployFilter, changed: readonly string[]): string[] {
  const include = filter.paths.map((p) => new Minimatch(p, GLOB));
  const exclude = filter.excludePaths.map((p) => new Minimatch(p, GLOB));
  return changed.filter((path) => (include.length === 0 || include.some((m) => m.match(path))) && !exclude.some((m) => m.match(path)));
}

/** A filter in one line, for messages. */
export function describeFilter(filter: DeployFilter): string {
  const list = (globs: string[]) => `[${globs.join(", ")}]`;
  return `paths ${filter.paths.length > 0 ? list(filter.paths) : "(every path)"}${filter.excludePaths.length > 0 ? `, excludePaths ${list(filter.excludePaths)}` : ""}`;
}

/**
 * Why `path` is not a changed path as git names one (relative to the repository, `/`-separated,
 * no `.` or `..` segments): such a path would match no glob, or the wrong one.
 */
export function changedPathProblem(path: string): string | undefined {
  if (path === "") return "an empty path";
  if (path.startsWith("/")) return "an absolute path; give it relative to the repository, as git prints it (apps/api/main.go)";
  if (path.includes("\\")) return "a path with \\; git separates directories with /";
  if (path.split("/").some((s) => s === "" || s === "." || s === ".."))
    return "a path with an empty, . or .. segment; give it relative to the repository, as git prints it (apps/api/main.go)";
  return undefined;
}
