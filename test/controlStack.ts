/**
 * A stand-in for the Automation API's `Stack` (the `ControlStack` part the library uses): config
 * in a map, engine events replayed from testbed/pulumi/events, every call recorded, failures
 * scripted per call. The library's decisions are tested against it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigValue, EngineEvent, OutputMap, UpdateSummary } from "@pulumi/pulumi/automation";
import type { ControlStack, OpenStack, StackRef } from "../automation/control/workspace";
import { ROOT } from "./harness";
import type { Options } from "../automation/control/operations";

export const EVENTS_DIR = join(ROOT, "testbed", "pulumi", "events");

export function events(file: string): EngineEvent[] {
  return readFileSync(join(EVENTS_DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EngineEvent);
}

/** What one engine command does: replay a log, then succeed or throw. */
export interface Answer {
  /** A log in testbed/pulumi/events, or the events themselves. */
  events?: string | EngineEvent[];
  /** What happens while the command runs, after its events: a signal to the process, say. */
  during?: () => void;
  /** Thrown after the events, as the Automation API throws a failed command. */
  error?: { name?: string; stderr?: string };
}

/** What the CLI says when its command was cancelled (SIGINT, the Automation API's abort): exit 1. */
const CANCELED = { stderr: "error: update canceled" };

export interface Call {
  method: string;
  args: unknown[];
}

function commandError(e: NonNullable<Answer["error"]>): Error {
  const err = new Error(`code: 255\n stderr: ${e.stderr ?? "error"}`);
  err.name = e.name ?? "CommandError";
  Object.assign(err, { commandResult: { stderr: e.stderr ?? "error", stdout: "", code: 255 } });
  return err;
}

export class FakeStack implements ControlStack {
  readonly calls: Call[] = [];
  readonly config = new Map<string, string>();
  outputMap: OutputMap = {};
  historyList: UpdateSummary[] = [];
  private readonly queues: Record<string, Answer[]>;

  constructor(
    readonly name: string,
    answers: { preview?: Answer[]; up?: Answer[]; previewRefresh?: Answer[] } = {},
  ) {
    this.queues = {
      preview: [...(answers.preview ?? [])],
      up: [...(answers.up ?? [])],
      previewRefresh: [...(answers.previewRefresh ?? [])],
    };
  }

  private async engine(
    method: string,
    opts: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal } | undefined,
  ): Promise<never | Record<string, never>> {
    const queue = this.queues[method];
    const answer = (queue.length > 1 ? queue.shift() : queue[0]) ?? {};
    const replayed = typeof answer.events === "string" ? events(answer.events) : (answer.events ?? []);
    for (const e of replayed) opts?.onEvent?.(e);
    answer.during?.();
    // As the CLI answers the SIGINT the Automation API sends it on abort (automation/cmd.js `exec`).
    if (opts?.signal?.aborted) throw commandError(CANCELED);
    if (answer.error) throw commandError(answer.error);
    return {};
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args: args.map((a) => (a && typeof a === "object" ? { ...a, onEvent: undefined, signal: undefined } : a)) });
  }

  callsOf(method: string): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  async getConfig(key: string): Promise<ConfigValue> {
    this.record("getConfig", key);
    const value = this.config.get(key);
    if (value === undefined) throw new Error(`configuration key '${key}' not found for stack '${this.name}'`);
    return { value, secret: false };
  }
  async setConfig(key: string, value: ConfigValue): Promise<void> {
    this.record("setConfig", key, value.value);
    this.config.set(key, value.value);
  }
  async removeConfig(key: string): Promise<void> {
    this.record("removeConfig", key);
    this.config.delete(key);
  }
  async preview(opts?: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.record("preview", opts);
    await this.engine("preview", opts);
    return { stdout: "", stderr: "", changeSummary: {} };
  }
  async previewRefresh(opts?: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.record("previewRefresh", opts);
    await this.engine("previewRefresh", opts);
    return { stdout: "", stderr: "", changeSummary: {} };
  }
  async up(opts?: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal }) {
    this.record("up", opts);
    await this.engine("up", opts);
    return { stdout: "", stderr: "", outputs: this.outputMap, summary: {} as UpdateSummary };
  }
  async refresh(): Promise<never> {
    throw new Error("FakeStack: refresh is not used by the library");
  }
  async outputs(): Promise<OutputMap> {
    this.record("outputs");
    return this.outputMap;
  }
  async history(pageSize?: number, page?: number, showSecrets?: boolean): Promise<UpdateSummary[]> {
    this.record("history", pageSize, page, showSecrets);
    return this.historyList;
  }
}

/** An opener handing out the given stacks by name, recording what was opened. */
export function opener(stacks: FakeStack[]): OpenStack & { opened: StackRef[] } {
  const opened: StackRef[] = [];
  const open = async (ref: StackRef) => {
    opened.push(ref);
    const found = stacks.find((s) => s.name === ref.stack);
    if (!found) throw new Error(`no stand-in stack ${ref.stack}`);
    return found;
  };
  return Object.assign(open, { opened });
}

/** A successful update's history entry, with the images it ran. */
export function historyEntry(result: UpdateSummary["result"], images: Record<string, string>, message = ""): UpdateSummary {
  const services = Object.fromEntries(Object.entries(images).map(([k, image]) => [k, { image, replicas: 1 }]));
  return {
    version: 1,
    kind: "update",
    result,
    message,
    startTime: new Date("2026-12-01T10:00:00Z"),
    endTime: new Date("2026-12-01T10:01:00Z"),
    environment: {},
    config: { "enclii:services": { value: JSON.stringify(services), secret: false } },
  };
}

/** Library options over `stack`, with the progress lines and the retry waits kept for assertions. */
export function fakeOptions(stack: FakeStack, extra: Partial<Options> = {}): Options & { slept: number[]; lines: string[] } {
  const slept: number[] = [];
  const lines: string[] = [];
  return {
    open: opener([stack]),
    root: "/nonexistent",
    report: (l) => lines.push(l),
    sleep: async (ms) => void slept.push(ms),
    slept,
    lines,
    ...extra,
  };
}
