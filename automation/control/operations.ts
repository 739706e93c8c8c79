/**
 * The operations every command is made of: a guarded preview, a guarded update, drift, outputs and
 * history, each retried while another update holds the stack and each ending in one
 * `OperationResult`. Nothing here prints: progress goes to `report`, the result to the caller.
 */
import type { ConfigMap, EngineEvent, UpdateSummary } from "@pulumi/pulumi/automation";
import { EXIT, type GuardViolation, type HistoryEntry, type OperationResult } from "../../model/controlPlane";
import { SECRET_MARK } from "../../model/names";
import { NAMESPACE } from "../../model/config/schema";
import { ConfigError } from "../../stacks/config";
import { changeCounts, changingSteps, describeViolation, engineErrors, guardViolations, stepsOf, urnName, type Step } from "./events";
import { NoCliError, StackMissingError, UsageError } from "./errors";
import type { ControlStack, OpenStack } from "./workspace";

/** Another update held the stack through every retry. */
const RETRY_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 5_000;
const MAX_RETRY_DELAY_MS = 60_000;
const SERVICES_KEY = `${NAMESPACE}:services`;

export interface Options {
  open: OpenStack;
  /** The repository: the platform project at its root, the shards in tenants/. */
  root: string;
  /** URNs the caller accepts losing (replace or delete), each named explicitly. */
  allow?: ReadonlySet<string>;
  /** Human progress, one line at a time. */
  report?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class BusyError extends Error {
  constructor(stack: string, attempts: number) {
    super(
      `${stack}: another update held the stack through ${attempts} attempts; try again when it has finished (pulumi cancel only if it is stuck)`,
    );
    this.name = "BusyError";
  }
}

/** The update failed in the engine: its error diagnostics, else the CLI's last words. */
export class EngineError extends Error {
  constructor(
    public readonly engineMessage: string,
    cause: unknown,
  ) {
    super(engineMessage, { cause });
    this.name = "EngineError";
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, again with doubling delays while Pulumi reports a concurrent update. */
export async function retrying<T>(stack: string, o: Options, fn: () => Promise<T>): Promise<T> {
  const sleep = o.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // By name: the class may come from another copy of the SDK.
      if (!(err instanceof Error) || err.name !== "ConcurrentUpdateError") throw err;
      if (attempt === RETRY_ATTEMPTS) throw new BusyError(stack, attempt);
      const delay = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      o.report?.(`${stack}: another update is running; retrying in ${delay / 1000} s (attempt ${attempt + 1} of ${RETRY_ATTEMPTS})`);
      await sleep(delay);
    }
  }
}

/**
 * One engine command (preview, up, refresh), retried while the stack is busy; its events, or an
 * EngineError with the engine's own words when it fails.
 */
async function runEngine(
  stack: ControlStack,
  o: Options,
  command: (onEvent: (e: EngineEvent) => void) => Promise<unknown>,
  watch?: (e: EngineEvent) => void,
): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  try {
    await retrying(stack.name, o, () =>
      command((e) => {
        events.push(e);
        watch?.(e);
      }),
    );
  } catch (err) {
    if (err instanceof BusyError) throw err;
    throw engineFailure(events, err);
  }
  return events;
}

/** The engine's own words when a command failed: error diagnostics, else the last lines it wrote. */
function engineFailure(events: readonly EngineEvent[], err: unknown): EngineError {
  const fromEvents = engineErrors(events);
  const stderr =
    (err as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? (err instanceof Error ? err.message : String(err));
  return new EngineError(fromEvents || stderr.trim().split("\n").slice(-5).join("\n"), err);
}

export interface Inspection {
  steps: Step[];
  changing: Step[];
  violations: GuardViolation[];
  counts: Record<string, number>;
}

/** A preview, its steps, and what the guard says of them. */
export async function inspect(stack: ControlStack, o: Options, opts: { refresh?: boolean } = {}): Promise<Inspection> {
  const events = await runEngine(stack, o, (onEvent) => stack.preview({ refresh: opts.refresh, onEvent }));
  const steps = stepsOf(events);
  return { steps, changing: changingSteps(steps), violations: guardViolations(steps, o.allow ?? new Set()), counts: changeCounts(events) };
}

/**
 * Progress lines from an update's events: the step that starts (a rollout wait can take minutes),
 * then `[done/total] op type name` as each one finishes.
 */
function progress(total: number, report: ((line: string) => void) | undefined): (e: EngineEvent) => void {
  let done = 0;
  const quiet = ["same", "read"];
  return (e) => {
    const started = e.resourcePreEvent?.metadata;
    if (started && !quiet.includes(started.op)) report?.(`      ${started.op} ${started.type} ${urnName(started.urn)} …`);
    const finished = e.resOutputsEvent?.metadata;
    if (finished && !quiet.includes(finished.op)) {
      done++;
      report?.(`[${done}/${Math.max(total, done)}] ${finished.op} ${finished.type} ${urnName(finished.urn)}`);
    }
    const failed = e.resOpFailedEvent?.metadata;
    if (failed) report?.(`failed: ${failed.op} ${failed.type} ${urnName(failed.urn)}`);
  };
}

/** An update of the steps `inspection` found (all of them, or `target` only); EngineError when it fails. */
export async function update(
  stack: ControlStack,
  o: Options,
  opts: { total: number; target?: string[]; message: string; refresh?: boolean },
): Promise<Record<string, number>> {
  const events = await runEngine(
    stack,
    o,
    (onEvent) => stack.up({ target: opts.target, message: opts.message, refresh: opts.refresh, onEvent }),
    progress(opts.total, o.report),
  );
  return changeCounts(events);
}

export interface Base {
  operation: string;
  environment: string;
  stack: string;
}

export function result(
  base: Base,
  status: OperationResult["status"],
  message: string,
  extra: Partial<OperationResult> = {},
): OperationResult {
  const exitCode = {
    ok: EXIT.ok,
    deployed: EXIT.ok,
    unchanged: EXIT.ok,
    "no-drift": EXIT.ok,
    drift: EXIT.drift,
    refused: EXIT.refused,
    "rolled-back": EXIT.rolledBack,
    "rollback-failed": EXIT.rollbackFailed,
    failed: EXIT.failed,
    busy: EXIT.busy,
    "no-cli": EXIT.noCli,
    usage: EXIT.usage,
  }[status];
  return { ...base, status, exitCode, message, ...extra };
}

/** Any thrown error as the result it stands for; with --json the control plane always gets a result. */
export function failure(base: Base, err: unknown): OperationResult {
  if (err instanceof NoCliError) return result(base, "no-cli", err.message);
  if (err instanceof BusyError) return result(base, "busy", err.message);
  if (err instanceof UsageError || err instanceof ConfigError) return result(base, "usage", err.message);
  if (err instanceof EngineError)
    return result(base, "failed", `${base.stack}: ${base.operation} failed`, { engineMessage: err.engineMessage });
  if (err instanceof StackMissingError) return result(base, "failed", err.message);
  // Anything else the Pulumi CLI said (a backend unreachable, a stack file it refused): its last words.
  return result(base, "failed", `${base.stack}: ${base.operation} failed`, { engineMessage: engineFailure([], err).engineMessage });
}

export function refusal(base: Base, violations: GuardViolation[]): OperationResult {
  return result(
    base,
    "refused",
    `refused: ${violations.length} resource(s) holding data or identity would be lost:\n` +
      violations.map((v) => `  ${describeViolation(v)}`).join("\n") +
      "\nnothing was changed; if this is intended, pass --allow <urn> for each",
    { violations },
  );
}

/** Preview, guard, then update: nothing runs when the guard refuses. */
export async function guardedUp(
  stack: ControlStack,
  o: Options,
  base: Base,
  opts: { message: string; refresh?: boolean; expected?: (v: GuardViolation) => boolean },
): Promise<OperationResult> {
  const found = await inspect(stack, o, opts);
  const violations = found.violations.filter((v) => !opts.expected?.(v));
  if (violations.length > 0) return refusal(base, violations);
  if (found.changing.length === 0 && !opts.refresh) return result(base, "unchanged", `${stack.name}: nothing to change`, { changes: {} });
  o.report?.(`${stack.name}: ${found.changing.length} resource(s) to change`);
  const changes = await update(stack, o, { total: found.changing.length, message: opts.message, refresh: opts.refresh });
  return result(base, "ok", `${stack.name}: updated`, { changes });
}

export async function previewOp(stack: ControlStack, o: Options, base: Base): Promise<OperationResult> {
  const found = await inspect(stack, o);
  if (found.violations.length > 0) return refusal(base, found.violations);
  const listed = found.changing.map((s) => `  ${s.ops.join("/")} ${s.urn}`).join("\n");
  return result(base, "ok", `${stack.name}: ${found.changing.length} resource(s) would change${listed ? `\n${listed}` : ""}`, {
    changes: found.counts,
  });
}

/** A refresh in preview mode: exit status 3 when the world differs from the state. */
export async function driftOp(stack: ControlStack, o: Options, base: Base): Promise<OperationResult> {
  const events = await runEngine(stack, o, (onEvent) => stack.previewRefresh({ onEvent }));
  // A refresh step that changes the state carries its diffs; an unchanged one carries none.
  const drift = stepsOf(events)
    .filter((s) => s.diffs.length > 0 || s.ops.some((op) => op === "delete"))
    .map((s) => ({ urn: s.urn, op: s.ops.find((op) => op !== "refresh") ?? "update", properties: s.diffs }));
  if (drift.length === 0) return result(base, "no-drift", `${stack.name}: the world matches the state`, { drift });
  return result(
    base,
    "drift",
    `${stack.name}: ${drift.length} resource(s) differ from the state:\n${drift.map((d) => `  ${d.urn}: ${d.properties.join(", ") || d.op}`).join("\n")}`,
    { drift },
  );
}

export async function outputsOp(stack: ControlStack, base: Base): Promise<OperationResult> {
  const raw = await stack.outputs();
  const outputs = Object.fromEntries(
    Object.keys(raw)
      .sort()
      .map((k) => [k, raw[k].secret ? SECRET_MARK : raw[k].value]),
  );
  return result(base, "ok", `${stack.name}: ${Object.keys(outputs).length} outputs`, { outputs });
}

/** Per service, the image an update ran with (overrides only: a service without one ran its spec's). */
export function imagesIn(config: ConfigMap | undefined): Record<string, string> {
  const entry = config?.[SERVICES_KEY] as { value?: string; objectValue?: unknown } | undefined;
  if (!entry) return {};
  let services: unknown = entry.objectValue;
  if (services === undefined && entry.value !== undefined) {
    try {
      services = JSON.parse(entry.value);
    } catch {
      return {};
    }
  }
  if (!services || typeof services !== "object") return {};
  const images: Record<string, string> = {};
  for (const [name, o] of Object.entries(services as Record<string, { image?: unknown }>))
    if (typeof o?.image === "string") images[name] = o.image;
  return images;
}

export function historyEntry(h: UpdateSummary): HistoryEntry {
  return {
    kind: h.kind,
    result: h.result,
    startTime: new Date(h.startTime).toISOString(),
    message: h.message ?? "",
    image: imagesIn(h.config),
  };
}

export async function historyOp(stack: ControlStack, base: Base, limit: number): Promise<OperationResult> {
  const history = (await stack.history(limit, 1, false)).map(historyEntry);
  const lines = history.map((h) => `  ${h.startTime} ${h.kind} ${h.result}${h.message ? `: ${h.message}` : ""}`).join("\n");
  return result(base, "ok", `${stack.name}: last ${history.length} operation(s)${lines ? `\n${lines}` : ""}`, { history });
}
