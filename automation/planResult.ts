/**
 * `plan --json` in the control plane's envelope (model/contract.ts `OperationResult`): the plan's
 * report (`{ cost, capacity, problems, diff }`) under `plan`, its exit status as a status, and
 * for a refusal the plan's own words as the message, so a caller reads every command's answer
 * the same way.
 */
import { existsSync } from "node:fs";
import { operationResult, type OperationResult, type Status } from "../model/contract";
import { parseShardStack } from "../model/config/tenants";
import { EXIT } from "../model/controlPlane";

/** The options of `plan` that take a value (planCommand.ts USAGE): what follows them is not the stack. */
const VALUED = new Set(["--out", "--config", "--tenants", "--against"]);

const STATUS: Record<number, Status> = {
  [EXIT.ok]: "ok",
  [EXIT.failed]: "failed",
  [EXIT.usage]: "usage",
  [EXIT.drift]: "drift",
  [EXIT.refused]: "refused",
};

/** The stack `argv` asks for, and its environment (a shard's is the name before `-NNN`). */
function whereOf(argv: string[]): { environment: string; stack: string } {
  const stack = argv.find((a, i) => !a.startsWith("-") && !(i > 0 && VALUED.has(argv[i - 1]))) ?? "";
  const shard = existsSync(`Pulumi.${stack}.yaml`) ? undefined : parseShardStack(stack);
  return { environment: shard?.environment ?? stack, stack };
}

/** `report`: what the plan printed on stdout with --json; `said`: what it wrote on stderr. */
export function planResult(argv: string[], code: number, report: string | undefined, said: string): OperationResult {
  const base = { operation: "plan", ...whereOf(argv) };
  let plan: OperationResult["plan"];
  if (report) {
    const { stack: _stack, ...rest } = JSON.parse(report) as NonNullable<OperationResult["plan"]> & { stack: string };
    plan = rest;
  }
  const status = STATUS[code] ?? "failed";
  const changes = plan?.diff?.changes.length ?? 0;
  const message =
    {
      ok: `${base.stack}: planned, $${plan?.cost.monthlyUsd.toFixed(2)} a month${plan?.diff ? "; no change against the other plan" : ""}`,
      drift: `${base.stack}: ${changes} resource(s) differ from the other plan`,
      refused: `${base.stack}: a change replaces or deletes something that holds data (${changes} resource(s) differ)`,
    }[status as string] ??
    (said.trim() || `${base.stack}: plan failed`);
  return operationResult(base, status, message, plan ? { plan } : {});
}
