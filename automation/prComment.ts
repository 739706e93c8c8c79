/**
 * `pr-comment --base <ref>`: the body of the pull request's sticky comment, as the PR workflow
 * posts it and as anyone can produce it locally: per stack, the offline plan of this checkout
 * against the base ref's (what changes, what it replaces; of the tenant shards, only those that
 * differ are planned and shown), the bill against the budget, and whether the pods still fit the
 * machines. No credentials: everything comes from offline plans.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, type OperationResult } from "../model/controlPlane";
import type { CapacityReport } from "../model/cost/capacity";
import type { CostReport } from "../model/cost/bill";
import { describeCost, flagLines, type PlanDiff } from "./planDiff";
import { planCommand } from "./planCommand";
import type { ShardOutcome } from "./shardChoice";

/** Marks the comment, so the workflow edits its own comment instead of adding one per push. */
export const COMMENT_MARKER = "<!-- enclii-offline-plan -->";

interface StackOutcome {
  stack: string;
  exitCode: number;
  cost?: CostReport;
  capacity?: CapacityReport;
  problems: string[];
  diff?: PlanDiff;
  shards?: ShardOutcome[];
  error?: string;
}

const VERDICT: Record<number, string> = {
  [EXIT.ok]: "no change",
  [EXIT.drift]: "changes",
  [EXIT.refused]: "**replaces or deletes something that holds data**",
  [EXIT.usage]: "**does not fit** (plan refused)",
  [EXIT.failed]: "**plan failed**",
};
const usd = (n: number) => `$${n.toFixed(2)}`;
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

async function planStack(stack: string, base: string, out: string): Promise<StackOutcome> {
  let stdout = "";
  let stderr = "";
  const exitCode = await planCommand([stack, "--out", join(out, stack), "--against", base, "--json"], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  });
  const { plan } = JSON.parse(stdout) as OperationResult;
  if (!plan) return { stack, exitCode, problems: [], error: stderr.trim() };
  return { stack, exitCode, ...plan };
}

/** The changes as a table, or nothing when there are none. */
function changeTable(diff: PlanDiff | undefined): string[] {
  const changes = diff?.changes ?? [];
  if (changes.length === 0) return [];
  const lines = ["| | resource | changed inputs |", "|---|---|---|"];
  for (const c of changes) {
    const flags = flagLines(c).map((f) => `<br>:warning: ${f}`);
    lines.push(
      `| ${{ added: "+", removed: "−", changed: "~" }[c.kind]} | ${code(c.type)} ${code(c.name)} | ${c.paths.map(code).join(", ")}${flags.join("")} |`,
    );
  }
  return [...lines, ""];
}

const SHARD_VERDICT = {
  "no-change": "no change",
  changes: "changes",
  "replaces-stateful": "**replaces or deletes something that holds data**",
};

/** The tenant shards: each one planned or removed with its changes, then how many were not planned and why. */
function shardLines(shards: readonly ShardOutcome[]): string[] {
  const lines: string[] = [];
  for (const s of shards.filter((x) => x.status !== "unchanged")) {
    const verdict = s.diff ? SHARD_VERDICT[s.diff.verdict] : `${s.status} (the base has no plan of it to compare with)`;
    lines.push(`#### ${s.stack}${s.status === "removed" ? " (removed)" : ""}: ${verdict}`, "", ...changeTable(s.diff));
  }
  const unchanged = shards.filter((x) => x.status === "unchanged").length;
  if (unchanged > 0)
    lines.push(
      `**Tenant shards:** ${unchanged} unchanged, not planned: the same stack file, platform outputs and code as the base (docs/plan.md#which-shards-are-planned-again)`,
      "",
    );
  return lines;
}

function section(o: StackOutcome): string[] {
  const lines = [`### ${o.stack}: ${VERDICT[o.exitCode] ?? `exit ${o.exitCode}`}`, ""];
  if (o.error) return [...lines, "```", o.error, "```", ""];
  for (const p of o.problems) lines.push(`- :x: ${p}`);
  if (o.problems.length > 0) lines.push("");
  lines.push(...changeTable(o.diff), ...shardLines(o.shards ?? []));
  if (o.diff) lines.push(`**Cost:** ${describeCost(o.diff.costUsd).replace("cost per month: ", "")} a month (platform stack)`);
  if (o.cost)
    lines.push(
      `**Bill:** ${usd(o.cost.monthlyUsd)} a month${o.cost.budgetUsd !== undefined ? ` of a ${usd(o.cost.budgetUsd)} budget` : ""}: ${o.cost.lines
        .filter((l) => l.monthlyUsd > 0 || l.unpriced)
        .map((l) => `${l.item}${l.count > 1 ? ` × ${l.count}` : ""} ${l.unpriced ? "unpriced" : usd(l.monthlyUsd)}`)
        .join("; ")}`,
    );
  if (o.capacity)
    lines.push(
      `**Capacity:** ${o.capacity.nodes
        .map(
          (n) =>
            `${n.node} (${n.machine}) ${(n.requested.cpuMilli / 1000).toFixed(2)}/${(n.allocatable.cpuMilli / 1000).toFixed(2)} vCPU, ${(n.requested.memoryMi / 1024).toFixed(2)}/${(n.allocatable.memoryMi / 1024).toFixed(2)} GiB`,
        )
        .join(
          "; ",
        )}; disk ${o.capacity.disk.neededGi}/${o.capacity.disk.usableGi} GiB${o.capacity.surge ? `; room for a rolling update: ${o.capacity.surge.fitsOn ? "yes" : "**no**"}` : ""}`,
    );
  return [...lines, ""];
}

/** The comment body and the worst exit status among the stacks (failed and refused plans first). */
export async function prComment(stacks: readonly string[], base: string): Promise<{ body: string; exitCode: number }> {
  const out = mkdtempSync(join(tmpdir(), "enclii-pr-"));
  try {
    const outcomes: StackOutcome[] = [];
    for (const stack of stacks) outcomes.push(await planStack(stack, base, out));
    const rank = [EXIT.failed, EXIT.usage, EXIT.refused, EXIT.drift, EXIT.ok];
    const exitCode = rank.find((c) => outcomes.some((o) => o.exitCode === c)) ?? EXIT.ok;
    const body = [
      COMMENT_MARKER,
      `## Offline plan against ${code(base)}`,
      "",
      "What this pull request changes in each environment, from offline plans of both commits (no credentials, no cloud calls). " +
        "Replacements are judged from the providers' own rules (docs/plan.md#what-a-change-does); Pulumi's preview, where it runs, has the last word.",
      "",
      ...outcomes.flatMap(section),
    ].join("\n");
    return { body: `${body.trimEnd()}\n`, exitCode };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
