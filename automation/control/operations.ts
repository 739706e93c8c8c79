/**
 * The operations every command is made of: a guarded preview and a guarded update (the reads are
 * in reads.ts), each retried as a whole (preview, guard, update) while another update holds the
 * stack, each stopped by a signal (signals.ts) and each ending in one `OperationResult`. Nothing
 * here prints: progress goes to `report`, the result to the caller.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { operationResult, type ResultBase } from "../../model/contract";
import type { GuardViolation, OperationResult } from "../../model/controlPlane";
import { ConfigError } from "../../stacks/config";
import {
  changeCounts,
  changingSteps,
  describeViolation,
  engineErrors,
  guardViolations,
  protectedRefusals,
  protectedViolations,
  stepsOf,
  urnName,
  type Step,
} from "./events";
import { NoCliError, StackMissingError, UsageError } from "./errors";
import { CancelledError, type EngineCommand, type Stop } from "./signals";
import type { ControlStack, OpenStack } from "./workspace";

/** Another update held the stack through every retry. */
const RETRY_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 5_000;
const MAX_RETRY_DELAY_MS = 60_000;

export interface Options {
  open: OpenStack;
  /** The repository: the platform project at its root, the shards in tenants/. */
  root: string;
  /** URNs the caller accepts losing (replace or delete), each named explicitly. */
  allow?: ReadonlySet<string>;
  /** Human progress, one line at a time. */
  report?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /** The clock a canary's watch is timed by; the system's unless a test stands in. */
  now?: () => Date;
  /** The command's signals: no engine command starts after the first, the one in flight is cancelled. */
  stop?: Stop;
}

export class BusyError extends Error {
  constructor(stack: string, attempts: number) {
    super(
      `${stack}: another update held the stack through ${attempts} attempts; try again when it has finished (pulumi cancel only if it is stuck)`,
    );
    this.name = "BusyError";
  }
}

/** The update failed in the engine: its error diagnostics, else the CLI's last words; and the events it sent first. */
export class EngineError extends Error {
  constructor(
    public readonly engineMessage: string,
    cause: unknown,
    public readonly events: readonly EngineEvent[] = [],
  ) {
    super(engineMessage, { cause });
    this.name = "EngineError";
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Pulumi's "another update is in progress": Pulumi Cloud's 409, a self-managed backend's lock. */
function isBusy(err: unknown): boolean {
  // By name: the class may come from another copy of the SDK.
  return err instanceof Error && err.name === "ConcurrentUpdateError";
}

/**
 * Runs `attempt` (given its number), again with doubling delays while Pulumi reports a concurrent
 * update. The caller retries a whole sequence, preview and guard included: after waiting out
 * another writer, the stack is not what the last preview saw. A signal ends the wait.
 */
export async function retrying<T>(stack: string, o: Options, attempt: (n: number) => Promise<T>): Promise<T> {
  const sleep = o.sleep ?? defaultSleep;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (n === RETRY_ATTEMPTS) throw new BusyError(stack, n);
      const delay = Math.min(FIRST_RETRY_DELAY_MS * 2 ** (n - 1), MAX_RETRY_DELAY_MS);
      o.report?.(`${stack}: another update is running; retrying in ${delay / 1000} s (attempt ${n + 1} of ${RETRY_ATTEMPTS})`);
      await Promise.race([sleep(delay), ...(o.stop ? [o.stop.stopped] : [])]);
    }
  }
}

/**
 * One engine command (preview, up, refresh preview) and its events. Not started after a signal;
 * cancelled by one (CancelledError); a ConcurrentUpdateError as thrown, for `retrying` around the
 * sequence; any other failure an EngineError with the engine's own words.
 */
export async function runEngine(
  stack: ControlStack,
  o: Options,
  kind: EngineCommand,
  command: (onEvent: (e: EngineEvent) => void, signal?: AbortSignal) => Promise<unknown>,
  watch?: (e: EngineEvent) => void,
): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  const onEvent = (e: EngineEvent) => {
    events.push(e);
    o.stop?.started();
    watch?.(e);
  };
  o.stop?.check(stack.name);
  try {
    await (o.stop ? o.stop.during(kind, (signal) => command(onEvent, signal)) : command(onEvent));
  } catch (err) {
    if (o.stop?.requested) throw o.stop.cancelled(stack.name, kind, events);
    if (isBusy(err)) throw err;
    throw engineFailure(events, err);
  }
  return events;
}

/** The engine's own words when a command failed: error diagnostics, else the last lines it wrote. */
function engineFailure(events: readonly EngineEvent[], err: unknown): EngineError {
  const fromEvents = engineErrors(events);
  const stderr =
    (err as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? (err instanceof Error ? err.message : String(err));
  return new EngineError(fromEvents || stderr.trim().split("\n").slice(-5).join("\n"), err, events);
}

export interface Inspection {
  steps: Step[];
  changing: Step[];
  violations: GuardViolation[];
  counts: Record<string, number>;
  /** Protected resources the engine refused to replace or delete (the preview failed for them). */
  protectedUrns: string[];
  /** The preview failed: its events were still judged, and nothing may run after it (`proceed`). */
  failed?: EngineError;
}

/** Nothing runs after a failed preview: once the guard has had its say, the failure is the answer. */
export function proceed(found: Inspection): void {
  if (found.failed) throw found.failed;
}

/** What an engine command covers: the whole stack unless `target` narrows it. */
export interface EngineScope {
  refresh?: boolean;
  /** URNs the engine replaces whatever their diff (`--replace`). */
  replace?: string[];
  /** URNs or globs (`--target`); the engine stubs out every other resource's Check and Diff and calls it the same. */
  target?: string[];
  /** With `target`: the targets' dependents too (`--target-dependents`). */
  targetDependents?: boolean;
}

/** The Automation API's targeting options for `scope`; none for an untargeted command. */
function targeting(scope: EngineScope): { target?: string[]; targetDependents?: boolean } {
  return scope.target ? { target: scope.target, targetDependents: scope.targetDependents } : {};
}

/**
 * A preview, its steps, and what the guard says of them. The engine fails a preview that would
 * replace or delete a protected resource (events.ts `protectedRefusals`), and pulumi-kubernetes
 * fails the preview of a delete-before-replace whose old object still holds the name (its dry-run
 * create meets the live object; docs/control-plane.md#checked-against-the-real-engine): the steps
 * it announced before failing are still judged, so a change that would lose data is refused
 * (exit 4) rather than reported as an engine failure. `--allow` cannot let a protected resource
 * through, since the engine would refuse the update too; a failed preview never leads to an update.
 */
export async function inspect(stack: ControlStack, o: Options, opts: EngineScope = {}): Promise<Inspection> {
  let events: readonly EngineEvent[];
  let failed: EngineError | undefined;
  try {
    // A refresh runs with the program (Pulumi's --run-program): up front, from the state, it would
    // configure the providers with the last run's Kubernetes token, expired two hours after it.
    // A preview reads no history (stack.js `preview`), so it has no showSecrets to turn off.
    events = await runEngine(stack, o, "preview", (onEvent, signal) =>
      stack.preview({ refresh: opts.refresh, runProgram: opts.refresh, replace: opts.replace, ...targeting(opts), onEvent, signal }),
    );
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    ({ events } = failed = err);
  }
  const steps = stepsOf(events);
  const protectedUrns = protectedRefusals(events);
  const allow = new Set([...(o.allow ?? [])].filter((urn) => !protectedUrns.includes(urn)));
  const guarded = guardViolations(steps, allow);
  const violations = [
    ...guarded,
    ...protectedViolations(
      steps,
      protectedUrns.filter((urn) => !guarded.some((v) => v.urn === urn)),
    ),
  ];
  return { steps, changing: changingSteps(steps), violations, counts: changeCounts(events), protectedUrns, failed };
}

/**
 * Progress lines from an update's events: the step that starts (a rollout wait can take minutes),
 * then `[done/total] op type name` as each one finishes.
 */
function progress(total: number, report: ((line: string) => void) | undefined): (e: EngineEvent) => void {
  let done = 0;
  const quiet = ["same", "read", "refresh"];
  // An update with refresh reports each refresh's outcome (update, delete) on its outputs event: not a change it made.
  const startedAs = new Map<string, string>();
  return (e) => {
    const started = e.resourcePreEvent?.metadata;
    if (started) startedAs.set(started.urn, started.op);
    if (started && !quiet.includes(started.op)) report?.(`      ${started.op} ${started.type} ${urnName(started.urn)} …`);
    const finished = e.resOutputsEvent?.metadata;
    if (finished && !quiet.includes(finished.op) && startedAs.get(finished.urn) !== "refresh") {
      done++;
      report?.(`[${done}/${Math.max(total, done)}] ${finished.op} ${finished.type} ${urnName(finished.urn)}`);
    }
    const failed = e.resOpFailedEvent?.metadata;
    if (failed) report?.(`failed: ${failed.op} ${failed.type} ${urnName(failed.urn)}`);
  };
}

/**
 * An update of the steps `inspection` found (all of them, or `target` only); EngineError when it
 * fails. `showSecrets: false`: after the update the SDK reads its summary from the history
 * (stack.js `up` → `info` → `history`), which adds `--show-secrets`, decrypting the config, unless
 * told false; the library never reads that summary.
 */
export async function update(
  stack: ControlStack,
  o: Options,
  opts: EngineScope & { total: number; message: string },
): Promise<Record<string, number>> {
  const { message, refresh, replace } = opts;
  const events = await runEngine(
    stack,
    o,
    "update",
    (onEvent, signal) =>
      stack.up({ ...targeting(opts), message, refresh, replace, runProgram: refresh, onEvent, signal, showSecrets: false }),
    progress(opts.total, o.report),
  );
  return changeCounts(events);
}

export type Base = ResultBase;

export function result(
  base: Base,
  status: OperationResult["status"],
  message: string,
  extra: Partial<OperationResult> = {},
): OperationResult {
  return operationResult(base, status, message, extra);
}

/** Any thrown error as the result it stands for; with --json the control plane always gets a result. */
export function failure(base: Base, err: unknown): OperationResult {
  if (err instanceof NoCliError) return result(base, "no-cli", err.message);
  if (err instanceof BusyError) return result(base, "busy", err.message);
  if (err instanceof CancelledError) {
    const said = engineErrors(err.events);
    return result(base, err.status, err.message, said ? { engineMessage: said } : {});
  }
  if (err instanceof UsageError || err instanceof ConfigError) return result(base, "usage", err.message);
  if (err instanceof EngineError)
    return result(base, "failed", `${base.stack}: ${base.operation} failed`, { engineMessage: err.engineMessage });
  if (err instanceof StackMissingError) return result(base, "no-stack", err.message);
  // Anything else the Pulumi CLI said (a backend unreachable, a stack file it refused): its last words.
  return result(base, "failed", `${base.stack}: ${base.operation} failed`, { engineMessage: engineFailure([], err).engineMessage });
}

/** The guard's answer; `found` says which violations the engine itself refused (protected) and what it said. */
export function refusal(
  base: Base,
  violations: GuardViolation[],
  found: Pick<Inspection, "protectedUrns" | "failed"> = { protectedUrns: [] },
): OperationResult {
  const isProtected = (v: GuardViolation) => found.protectedUrns.includes(v.urn);
  const others = violations.filter((v) => !isProtected(v)).length;
  const how =
    violations.length === others
      ? "if this is intended, pass --allow <urn> for each"
      : "the engine refuses to replace or delete a [protected] resource whatever --allow says: take protect off it in the program first, if this is intended" +
        (others > 0 ? "; for the others pass --allow <urn>" : "");
  // Allowed, a change whose preview failed is still not run (`proceed`): the engine's words say why.
  const failed =
    found.failed && violations.length === others
      ? " (the preview itself failed, so allowing it is not enough: see the engine's message)"
      : "";
  return result(
    base,
    "refused",
    `refused: ${violations.length} resource(s) holding data or identity would be lost:\n` +
      violations.map((v) => `  ${describeViolation(v)}${isProtected(v) ? " [protected]" : ""}`).join("\n") +
      `\nnothing was changed; ${how}${failed}`,
    { violations, ...(found.failed ? { engineMessage: found.failed.engineMessage } : {}) },
  );
}

/**
 * Preview, guard, then update: nothing runs when the guard refuses. While the stack is busy the
 * whole sequence runs again, so each attempt's update follows its own preview and verdict. A
 * `target` scopes the preview and the update alike, so the steps the guard judges are the steps
 * the update takes.
 */
export async function guardedUp(
  stack: ControlStack,
  o: Options,
  base: Base,
  opts: Omit<EngineScope, "replace"> & { message: string; expected?: (v: GuardViolation) => boolean },
): Promise<OperationResult> {
  return retrying(stack.name, o, async () => {
    const found = await inspect(stack, o, opts);
    const violations = found.violations.filter((v) => !opts.expected?.(v) || found.protectedUrns.includes(v.urn));
    if (violations.length > 0) return refusal(base, violations, found);
    proceed(found);
    if (found.changing.length === 0 && !opts.refresh) return result(base, "unchanged", `${stack.name}: nothing to change`, { changes: {} });
    o.report?.(`${stack.name}: ${found.changing.length} resource(s) to change`);
    const { message, refresh, target, targetDependents } = opts;
    const changes = await update(stack, o, { total: found.changing.length, message, refresh, target, targetDependents });
    return result(base, "ok", `${stack.name}: updated`, { changes });
  });
}

export async function previewOp(stack: ControlStack, o: Options, base: Base): Promise<OperationResult> {
  // A self-managed backend's preview takes no lock; Pulumi Cloud may still answer one with a 409.
  const found = await retrying(stack.name, o, () => inspect(stack, o));
  if (found.violations.length > 0) return refusal(base, found.violations, found);
  proceed(found);
  const listed = found.changing.map((s) => `  ${s.ops.join("/")} ${s.urn}`).join("\n");
  return result(base, "ok", `${stack.name}: ${found.changing.length} resource(s) would change${listed ? `\n${listed}` : ""}`, {
    changes: found.counts,
  });
}
