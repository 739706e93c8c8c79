/**
 * Two offline plans compared, resource by resource: added, removed, changed (which input paths),
 * and whether a change replaces or disrupts something (model/replacements.ts), above all
 * something that holds data (the guard's types, model/controlPlane.ts). Pure and deterministic:
 * the text goes into pull-request comments as it is.
 */
import type { PlanDiff, Replacement, ResourceChange } from "../model/contract";
import { GUARDED_TYPES } from "../model/controlPlane";
import type { PlatformOutputs } from "../model/platformOutputs";
import { replacementsFor } from "../model/replacements";
import type { PlanResource } from "./plan";

export interface PlanFile {
  stack: string;
  resources: PlanResource[];
  outputs: Record<string, unknown>;
}

export type { PlanDiff, Replacement, ResourceChange };

/** A stack with nothing in it: what a new stack is compared with, and a removed one compared to. */
export const emptyPlan = (stack: string): PlanFile => ({ stack, resources: [], outputs: {} });

type Json = unknown;
const STACK_TYPE = "pulumi:pulumi:Stack";

/** Leaf paths where `a` and `b` differ, dotted, list elements as `[i]`; sorted. */
export function changedPaths(a: Json, b: Json, prefix = ""): string[] {
  const isObj = (v: Json): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...changedPaths(a[i], b[i], `${prefix}[${i}]`));
    return out;
  }
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || "(value)"];
}

function change(kind: ResourceChange["kind"], r: PlanResource, paths: string[]): ResourceChange {
  const replacements =
    kind === "changed"
      ? replacementsFor(r.type, paths).map(({ rule, paths: p }) => ({
          effect: rule.effect,
          paths: p,
          source: rule.source,
          note: rule.note,
        }))
      : [];
  const stateful = r.type in GUARDED_TYPES;
  const losesData = stateful && (kind === "removed" || replacements.some((x) => x.effect === "replace"));
  return { kind, urn: r.urn, type: r.type, name: r.name, paths, replacements, stateful, losesData };
}

/** The platform's monthly cost output; a plan file is read from disk, so its type is checked, not trusted. */
function costOf(p: PlanFile): number | undefined {
  const cost = (p.outputs as Partial<Record<keyof PlatformOutputs, unknown>>).monthlyCostUsd;
  return typeof cost === "number" ? cost : undefined;
}

export function diffPlans(before: PlanFile, after: PlanFile): PlanDiff {
  const old = new Map(before.resources.map((r) => [r.urn, r]));
  const now = new Map(after.resources.map((r) => [r.urn, r]));
  const changes: ResourceChange[] = [];
  for (const [urn, r] of now) {
    const was = old.get(urn);
    if (!was) changes.push(change("added", r, []));
    else {
      // The engine keeps the old value of an ignored input: no diff, so no update or replacement.
      const ignored = r.ignoreChanges ?? [];
      const paths = changedPaths(was.inputs, r.inputs).filter(
        (p) => !ignored.some((i) => p === i || p.startsWith(`${i}.`) || p.startsWith(`${i}[`)),
      );
      if (paths.length > 0) changes.push(change("changed", r, paths));
    }
  }
  for (const [urn, r] of old) if (!now.has(urn)) changes.push(change("removed", r, []));
  // The stack's outputs are the Stack resource's: a changed output is an update of it.
  const outputs = changedPaths(before.outputs, after.outputs).map((p) => `outputs.${p}`);
  const stack = after.resources.find((r) => r.type === STACK_TYPE);
  if (outputs.length > 0 && stack) changes.push(change("changed", stack, outputs));
  changes.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  const verdict = changes.some((c) => c.losesData) ? "replaces-stateful" : changes.length > 0 ? "changes" : "no-change";
  return { stack: after.stack, changes, costUsd: { before: costOf(before), after: costOf(after) }, verdict };
}

const MARK = { added: "+", removed: "-", changed: "~" } as const;
const usd = (n: number) => `$${n.toFixed(2)}`;

export function describeCost({ before, after }: PlanDiff["costUsd"]): string {
  if (before === undefined || after === undefined) return `cost per month: ${after === undefined ? "unknown" : usd(after)}`;
  const delta = after - before;
  return `cost per month: ${usd(before)} → ${usd(after)} (${delta === 0 ? "no change" : `${delta > 0 ? "+" : "−"}${usd(Math.abs(delta))}`})`;
}

/** One line per flag: what it does and why, with the source. */
export function flagLines(c: ResourceChange): string[] {
  const lines = c.replacements.map(
    (r) =>
      `${r.effect === "replace" ? (c.stateful ? "REPLACES (holds data)" : "replaces") : "disrupts"}: ${r.paths.join(", ")}${r.note ? ` — ${r.note}` : ""} [${r.source}]`,
  );
  if (c.kind === "removed" && c.stateful) lines.push("DELETES (holds data): it is no longer in the program");
  return lines;
}

const VERDICT = { "no-change": "no change", changes: "changes", "replaces-stateful": "REPLACES OR DELETES SOMETHING THAT HOLDS DATA" };

/** The diff as text: a header, then each resource with its changed paths and flags. */
export function renderDiff(diff: PlanDiff, against: string): string {
  const count = (k: ResourceChange["kind"]) => diff.changes.filter((c) => c.kind === k).length;
  const lines = [
    `Plan diff for ${diff.stack} against ${against}: ${count("added")} added, ${count("changed")} changed, ${count("removed")} removed — ${VERDICT[diff.verdict]}`,
    describeCost(diff.costUsd),
  ];
  for (const c of diff.changes) {
    lines.push(`${MARK[c.kind]} ${c.type} ${c.name}`);
    for (const p of c.paths) lines.push(`    ${p}`);
    for (const f of flagLines(c)) lines.push(`    ! ${f}`);
  }
  return `${lines.join("\n")}\n`;
}
