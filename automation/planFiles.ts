/**
 * Writes a plan's files into its directory the way `make` would: a file whose bytes are
 * unchanged is not rewritten, a file the plan no longer has is removed, nothing else is touched.
 * A 1000-tenant plan is thousands of manifests; rewriting them all would cost more than planning.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { planFiles } from "./files";
import type { PlanResult } from "./plan";

/** What a plan owns inside its directory; anything else there is left alone. */
export const PLAN_OUTPUTS = ["resources.json", "manifests", "bootstrap"];

/** Every file at or under `path`; none when it does not exist. */
function listFiles(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? listFiles(join(path, e.name)) : [join(path, e.name)],
    );
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOTDIR" ? [path] : [];
  }
}

function sameBytes(path: string, text: string): boolean {
  try {
    return readFileSync(path, "utf8") === text;
  } catch {
    return false;
  }
}

/** `owned`: the entries of `dir` (files or directories) the plan owns; only these are cleaned. */
export function writePlanFiles(dir: string, files: ReadonlyMap<string, string>, owned: readonly string[]): void {
  for (const path of owned.flatMap((entry) => listFiles(join(dir, entry)))) {
    if (files.has(relative(dir, path))) continue;
    unlinkSync(path);
    for (let d = dirname(path); d !== dir && readdirSync(d).length === 0; d = dirname(d)) rmdirSync(d);
  }
  const made = new Set<string>();
  for (const [rel, text] of files) {
    const path = join(dir, rel);
    if (sameBytes(path, text)) continue;
    const parent = dirname(path);
    if (!made.has(parent)) mkdirSync(parent, { recursive: true });
    made.add(parent);
    writeFileSync(path, text);
  }
}

/** A stack's plan written into `dir` (the platform's and each shard's alike); what it wrote, counted. */
export function writePlan(dir: string, result: PlanResult): { manifests: number; bootstrap: number } {
  const files = planFiles(result);
  writePlanFiles(dir, files, PLAN_OUTPUTS);
  const count = (prefix: string) => [...files.keys()].filter((p) => p.startsWith(prefix)).length;
  return { manifests: count("manifests/"), bootstrap: count("bootstrap/") };
}
