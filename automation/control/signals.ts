/**
 * Stopping a control command with SIGINT or SIGTERM (docs/control-plane.md#stopping-an-update).
 * The Pulumi CLI handles both alike (pulumi/pulumi pkg/backend/cancellation_scope.go): the first
 * cancels (the engine waits for the steps in flight to end, which a provider may cut short, writes
 * the checkpoint and unlocks the stack: exit 1 "update canceled"); a second terminates (the steps in flight are abandoned and stay in the
 * checkpoint as pending operations, pkg/engine/update.go `OnResourceStepPost`; the CLI still
 * unlocks the stack as it returns: exit 8 "update cancelled"). So the first signal here aborts the
 * Automation API's `signal` of the engine command in flight, which sends the CLI one SIGINT
 * (automation/cmd.js `exec`), and starts no engine work after it; a second is passed on to the
 * CLI itself, since the SDK signals only once.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { parseShardStack, TENANTS_DIR } from "../../model/config/tenants";

export type StopSignal = "SIGINT" | "SIGTERM";
export const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

/** The engine commands the library runs, as a message names them. */
export type EngineCommand = "preview" | "update" | "refresh preview";

/** Steps that write the checkpoint (a pending operation while they run); the others change nothing. */
const QUIET_OPS = new Set(["same", "read", "refresh", "discard", "discard-replaced", "remove-pending-replace"]);

/** The mutating steps the engine started and had not finished when it stopped: the pending operations a termination leaves. */
export function inFlight(events: readonly EngineEvent[]): { urn: string; op: string }[] {
  const started = new Map<string, string>();
  for (const e of events) {
    const pre = e.resourcePreEvent?.metadata;
    if (pre && !QUIET_OPS.has(pre.op)) started.set(pre.urn, pre.op);
    const ended = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
    if (ended) started.delete(ended.urn);
  }
  return [...started].map(([urn, op]) => ({ urn, op }));
}

/** Steps that finished changing something before the engine stopped. */
function applied(events: readonly EngineEvent[]): number {
  return events.filter((e) => e.resOutputsEvent && !QUIET_OPS.has(e.resOutputsEvent.metadata.op)).length;
}

/**
 * A signal ended the operation: `cancelled` (exit 11), or `interrupted` (exit 12) when a second one
 * terminated the engine command in flight. `state` says what the stack was left in, as measured
 * (docs/control-plane.md#stopping-an-update); the message adds what to run.
 */
export class CancelledError extends Error {
  readonly status: "cancelled" | "interrupted";
  readonly state: string;
  /** Steps a termination left as pending operations in the checkpoint. */
  readonly pending: { urn: string; op: string }[];
  constructor(
    stack: string,
    readonly signal: StopSignal,
    /** The engine command the signal stopped; none when it came between commands. */
    command: EngineCommand | undefined,
    terminated: boolean,
    readonly events: readonly EngineEvent[] = [],
  ) {
    const pending = terminated && command === "update" ? inFlight(events) : [];
    const state = describe(stack, signal, command, terminated, events, pending.length);
    super(
      pending.length === 0
        ? `${state}; run the command again to finish`
        : `${state}:\n${pending.map((p) => `  ${p.op} ${p.urn}\n`).join("")}` +
            `run pulumi refresh --stack ${stack}${parseShardStack(stack) ? ` in ${TENANTS_DIR}/` : ""} before the next update, to read them back from the provider ` +
            `(it clears pending updates and deletes; a pending create needs pulumi refresh run interactively, ` +
            `or pulumi stack export, the entry removed from pending_operations, and pulumi stack import)`,
    );
    this.name = "CancelledError";
    this.status = terminated ? "interrupted" : "cancelled";
    this.state = state;
    this.pending = pending;
  }
}

function describe(
  stack: string,
  signal: StopSignal,
  command: EngineCommand | undefined,
  terminated: boolean,
  events: readonly EngineEvent[],
  pending: number,
): string {
  const done = applied(events);
  const changed = done > 0 ? `${done} change(s) were made before it stopped` : "nothing was changed";
  if (!command) return `${stack}: stopped by ${signal} before the next engine command; nothing more was changed`;
  if (command === "update" && events.length === 0)
    return terminated
      ? `${stack}: a second ${signal} terminated the CLI before its engine started the update: nothing was changed, but if it had taken the stack's lock the lock remains (pulumi cancel --stack ${stack} removes it on a self-managed backend)`
      : `${stack}: stopped by ${signal} before the engine started the update; nothing was changed`;
  if (command !== "update")
    return terminated
      ? `${stack}: a second ${signal} terminated the engine's ${command}, which takes no lock and writes no checkpoint: nothing was changed`
      : `${stack}: stopped by ${signal}: the engine cancelled the ${command}: nothing was changed`;
  if (!terminated)
    return `${stack}: stopped by ${signal}: the engine cancelled the update, let the steps in flight end, wrote the checkpoint and unlocked the stack; ${changed}`;
  const head = `${stack}: a second ${signal} terminated the engine mid-update (${changed}); the CLI unlocked the stack as it exited`;
  return pending === 0
    ? `${head}; no step was in flight, so the checkpoint holds no pending operation`
    : `${head}, but the checkpoint holds ${pending} pending operation(s), steps whose outcome is unknown`;
}

/** `/proc/<pid>/stat`'s fields after the command name (field 3 on): state, ppid, pgrp, session, tty_nr, tpgid, … */
function statFields(pid: string): { comm: string; fields: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
  } catch {
    return undefined;
  }
}

/**
 * Whether a SIGINT came from the terminal: this process is in the foreground process group of a
 * controlling terminal, and so is the CLI it started (the SDK does not detach it), which got the
 * Ctrl-C too. Passing it on as well would be the CLI's second signal, terminating what the user
 * asked to cancel. SIGTERM never comes from the terminal.
 */
export function fromTerminal(signal: StopSignal): boolean {
  if (signal !== "SIGINT") return false;
  const self = statFields("self");
  if (!self) return false;
  const [, , pgrp, , ttyNr, tpgid] = self.fields;
  return ttyNr !== "0" && pgrp === tpgid;
}

/**
 * The Pulumi CLI processes this process started: its descendants named `pulumi`, the nearest
 * ones (the CLI's plugins below them are named otherwise), found through /proc (Linux, the
 * runner's system; elsewhere none is found and the second signal only stops what is left here).
 */
export function cliProcesses(root = process.pid): number[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const children = new Map<string, { pid: string; comm: string }[]>();
  for (const pid of pids) {
    const stat = statFields(pid);
    if (stat) children.set(stat.fields[1], [...(children.get(stat.fields[1]) ?? []), { pid, comm: stat.comm }]);
  }
  const found: number[] = [];
  const walk = (pid: string) => {
    for (const child of children.get(pid) ?? []) {
      if (child.comm === "pulumi") found.push(Number(child.pid));
      else walk(child.pid);
    }
  };
  walk(String(root));
  return found;
}

/** `signal` to the Pulumi CLI this process runs. */
function signalCli(signal: StopSignal): void {
  for (const pid of cliProcesses()) {
    try {
      process.kill(pid, signal);
    } catch {
      // it exited meanwhile
    }
  }
}

/**
 * One command's stopping. `receive` takes each signal; the library asks `check` before every
 * engine command and runs each inside `during`, with `signal` for the Automation API.
 */
export class Stop {
  private first?: StopSignal;
  private terminated = false;
  private cleaning = false;
  /**
   * The engine command in flight, and what aborts it (one per command: the SDK never removes its
   * listener); `started` once its engine sent an event, `deferred` when a signal came before that.
   */
  private running?: { command: EngineCommand; controller: AbortController; started: boolean; deferred: boolean };
  private wake: () => void = () => undefined;
  /** Resolves at the first signal: a wait between attempts ends there. */
  readonly stopped = new Promise<void>((resolve) => (this.wake = resolve));

  constructor(
    private readonly report: (line: string) => void = () => undefined,
    private readonly terminal: (signal: StopSignal) => boolean = fromTerminal,
    private readonly passOn: (signal: StopSignal) => void = signalCli,
  ) {}

  get requested(): StopSignal | undefined {
    return this.first;
  }

  receive(signal: StopSignal): void {
    if (!this.first) {
      this.first = signal;
      const running = this.running;
      this.report(
        !running
          ? `${signal}: stopping before the next engine command`
          : running.started
            ? `${signal}: cancelling the engine's ${running.command} (the steps in flight end first); a second signal terminates it`
            : `${signal}: the engine's ${running.command} has not started; it is cancelled as soon as it does (a second signal terminates it)`,
      );
      if (running && !this.terminal(signal)) {
        if (running.started) running.controller.abort();
        else running.deferred = true;
      }
      this.wake();
      return;
    }
    // Between engine commands there is nothing to terminate: what is left here is local and short.
    if (this.terminated || !this.running) return;
    this.terminated = true;
    this.report(`${signal}: terminating the engine's ${this.running.command}`);
    if (!this.terminal(signal)) this.passOn(signal);
  }

  /**
   * The engine of the command in flight sent an event: its CLI handles signals from here on. Before
   * that a signal would kill it outright: a self-managed backend takes the stack's lock before the
   * update's cancellation scope installs the CLI's handlers (pulumi/pulumi pkg/backend/diy/backend.go
   * `Update` locks, then `apply` calls `NewScope`, pkg/backend/cancellation_scope.go), and the lock
   * would stay. The engine's first event comes from inside that scope, so a signal waits for it.
   */
  started(): void {
    const running = this.running;
    if (!running || running.started) return;
    running.started = true;
    if (running.deferred) running.controller.abort();
  }

  /**
   * After the first signal, lets engine commands run again for one purpose: removing what must not
   * outlive the command (a canary). The next signal terminates them, as a second signal does.
   */
  cleanup(): void {
    this.cleaning = true;
  }

  /** Throws the cancellation once a signal has come: no engine command starts after it, but a cleanup's. */
  check(stack: string): void {
    if (this.first && !this.cleaning) throw new CancelledError(stack, this.first, undefined, false);
  }

  /**
   * Runs one engine command, known as in flight for the second signal; `signal` is the Automation
   * API's, which sends the CLI a SIGINT when aborted (only while it runs: not once aborted before).
   */
  async during<T>(command: EngineCommand, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const { signal } = controller;
    // The SDK listens once it has started the CLI (cmd.js `exec`) and never hears an abort that came
    // before, while it prepared the command (its event log): a listener added late is told at once.
    const listen = signal.addEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<AbortSignal["addEventListener"]>) => {
      listen(...args);
      const [type, listener] = args;
      if (type !== "abort" || !signal.aborted || !listener) return;
      const event = new Event("abort");
      if (typeof listener === "function") listener.call(signal, event);
      else listener.handleEvent(event);
    };
    this.running = { command, controller, started: false, deferred: false };
    try {
      return await run(controller.signal);
    } finally {
      this.running = undefined;
    }
  }

  /** The error for the engine command the signal stopped, with its events. */
  cancelled(stack: string, command: EngineCommand, events: readonly EngineEvent[]): CancelledError {
    return new CancelledError(stack, this.first ?? "SIGTERM", command, this.terminated, events);
  }
}

/** SIGINT and SIGTERM handed to `stop` while `run` runs (the default, exiting at once, restored after). */
export async function withSignals<T>(stop: Stop, run: () => Promise<T>): Promise<T> {
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => stop.receive(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await run();
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
