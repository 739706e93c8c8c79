/**
 * An environment's tenant shards planned on every core. Pulumi's runtime state is global per
 * process (plan.ts), so shards are planned in parallel by worker processes (node:child_process
 * `fork`), each its own runtime: the CLI's own entry again (automation/cli.ts), told by a hidden
 * first argument to serve shards instead (shardWorker.ts). Shards are handed out one at a time,
 * the next free worker taking the next; a worker writes its shard's files itself and answers with
 * the few figures of `ShardPlanned`, never the plan. A worker plans at most SHARDS_PER_WORKER
 * shards, then a fresh one takes over. With one job (one shard, `--jobs 1`, or the default on two
 * cores: defaultJobs) the shards are planned in this process, sparing the fork. Loads no Pulumi SDK until a shard is planned.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { TENANTS_PROJECT, platformStackName, type Shard, type ShardName } from "../model/config/tenants";
import { ConfigError } from "../stacks/config";
import { diffPlans, emptyPlan, type PlanDiff, type PlanFile } from "./planDiff";
import { writePlan } from "./planFiles";
import type { StackConfig } from "./stackFile";

export interface ShardJob {
  shard: Shard & ShardName;
  cfg: Pick<StackConfig, "config" | "secretKeys">;
  /** The shard's plan directory (resources.json, manifests/, bootstrap/ written as today). */
  dir: string;
  /** Compare with another plan: the path of that plan's resources.json for this shard, read before `dir` is written (it may be the same file); a missing file means the shard is new there. Undefined: no comparison. */
  against?: string;
}
export interface ShardPlanned {
  stack: string;
  tenants: number;
  resources: number;
  manifests: number;
  ms: number;
  /** With `against`: diffPlans(other, this) (automation/planDiff.ts); a new shard against an empty plan (`emptyPlan`). */
  diff?: PlanDiff;
}
/** What a shard reads of its platform: the platform stack's name (its environment) and its outputs. */
export interface PlatformRef {
  stack: string;
  outputs: Record<string, unknown>;
}

/** The hidden first argument that makes the CLI's entry a shard planner worker (automation/cli.ts). */
export const SHARD_WORKER_ARG = "--shard-planner-worker";
/**
 * A worker's memory. Measured on the bundle with staging's shards of 100 one-hostname tenants (705
 * resources each), peak RSS (process.resourceUsage().maxRSS) of a worker by the shards it planned:
 * 230 MB after one, 310 after two, 383 after three, 400 to 450 from five to fifty. Its heap after
 * a full GC held 50 MB shard after shard: what grows is garbage, which V8 lets pile up to several
 * times the live heap before collecting it. So a worker's V8 grows its heap by half at most: 240 to
 * 250 MB after ten shards and after fifty (by twice: 371 MB; by a whole: 289 MB, no cheaper than
 * by half). Collecting after every shard (gc()) held 246 MB but doubled the time, and a hard cap
 * would not do: a full shard (100 tenants of 20 hostnames) dies of a 192 MB heap. Its young
 * generation is doubled (32 MB semi-spaces; the CLI's, nodeFlags.ts, is quadrupled): two workers
 * planned 10,000 tenants in 24.5 to 26.3 s instead of 30 to 32 s, the tree at 820 to 850 MB
 * instead of 790 (2 cores, in three runs each, one outlier of 37.6 s left out).
 */
const WORKER_V8_FLAGS = ["--heap-growing-percent=50", "--max-semi-space-size=32"];
/**
 * Shards a worker plans before a fresh one replaces it: no more than were measured above (the peak
 * the same after fifty as after ten), a backstop should an SDK start keeping state from plan to
 * plan. A fresh worker costs about a second of CPU (the bundle, the SDK, a first shard not yet
 * compiled); at 10,000 tenants on two cores each worker plans about fifty.
 */
export const SHARDS_PER_WORKER = 50;

/**
 * `--jobs` by default: one planner fewer than the cores, at least one (this process). A planner
 * keeps more than a core busy, V8 collecting its garbage on helper threads beside it: on two
 * cores, 10,000 tenants planned by one process took 23.6 to 24.7 s, the whole tree peaking at
 * 451 to 462 MB; by two workers 24.5 to 26.3 s and 820 to 850 MB.
 */
function defaultJobs(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** One shard, parent to worker. */
export interface ShardRequest {
  index: number;
  job: ShardJob;
  platform: PlatformRef;
}
/** A shard's failure as it crosses the process boundary: a ConfigError keeps its problems. */
export interface ShardFailure {
  message: string;
  problems?: string[];
}
/** Worker to parent: the shard's figures, or why it failed. */
export type ShardReply = { index: number; planned: ShardPlanned } | { index: number; failed: ShardFailure };

/** One shard's plan, written into its directory: what `planShards` does per shard, in whichever process. */
export async function planShard({ shard, cfg, dir, against }: ShardJob, platform: PlatformRef): Promise<ShardPlanned> {
  const started = performance.now();
  // The SDK and the providers load with the first shard, not with this module.
  const { runPlan, PLAN_ORGANIZATION } = await import("./plan");
  const { FAKE_RUN_TOKEN } = await import("./mocks");
  const { tenantsProgram } = await import("../stacks/tenants");
  const reference = platformStackName(cfg.config, platform.stack, PLAN_ORGANIZATION);
  const result = await runPlan(shard.stack, cfg, () => tenantsProgram(shard, FAKE_RUN_TOKEN), {
    project: TENANTS_PROJECT,
    stackOutputs: { [reference]: platform.outputs },
  });
  const other: PlanFile | undefined =
    against === undefined
      ? undefined
      : existsSync(against)
        ? (JSON.parse(readFileSync(against, "utf8")) as PlanFile)
        : emptyPlan(shard.stack);
  const written = writePlan(dir, result);
  return {
    stack: shard.stack,
    tenants: shard.tenants.length,
    resources: result.resources.length,
    manifests: written.manifests,
    ms: Math.round(performance.now() - started),
    ...(other && { diff: diffPlans(other, result) }),
  };
}

/** What the caller is told of a shard's error (shardError), as it crosses from a worker. */
export function shardFailure(err: unknown): ShardFailure {
  if (err instanceof ConfigError) return { message: err.message, problems: err.problems };
  if (!(err instanceof Error)) return { message: String(err) };
  return { message: err.name === "Error" ? err.message : `${err.name}: ${err.message}` };
}

/** The caller's error for a shard's failure: a ConfigError with the same problems, else an Error naming the shard. */
function shardError(stack: string, failure: ShardFailure): Error {
  return failure.problems ? new ConfigError(failure.problems) : new Error(`${stack}: ${failure.message}`);
}

/** Plans `jobs` (the shards' reference to the platform answered with `platform.outputs`), in worker processes when more than one; resolves in job order. */
export async function planShards(
  jobs: ShardJob[],
  platform: PlatformRef,
  opts: { jobs?: number; onPlanned?: (p: ShardPlanned) => void } = {},
): Promise<ShardPlanned[]> {
  // Only the platform's name and outputs reach a worker, whatever else `platform` holds (a whole PlanResult).
  const ref = { stack: platform.stack, outputs: platform.outputs };
  const workers = Math.min(opts.jobs ?? defaultJobs(), jobs.length);
  if (workers > 1) return await new ShardPool(jobs, ref, opts.onPlanned).run(workers);
  const planned: ShardPlanned[] = [];
  for (const job of jobs) {
    let p: ShardPlanned;
    try {
      p = await planShard(job, ref);
    } catch (err) {
      throw err instanceof ConfigError ? err : shardError(job.shard.stack, shardFailure(err));
    }
    opts.onPlanned?.(p);
    planned.push(p);
  }
  return planned;
}

/**
 * A worker: the CLI's entry with the hidden argument. From the TypeScript sources (vitest, tsx)
 * it runs through tsx's loader; `--import` registers its ESM hooks too, which the planner's
 * dynamic imports need (`--require tsx/cjs` alone fails them). The parent's own flags are not
 * passed on (an --inspect port would clash).
 */
function forkWorker(): ChildProcess {
  const fromSources = __filename.endsWith(".ts");
  return fork(fromSources ? join(__dirname, "cli.ts") : __filename, [SHARD_WORKER_ARG], {
    execArgv: [...WORKER_V8_FLAGS, ...(fromSources ? ["--import", pathToFileURL(require.resolve("tsx")).href] : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

interface Worker {
  /** The job it is planning. */
  current?: number;
  planned: number;
  /** Done with: its exit is expected. */
  retired: boolean;
}

/**
 * Workers handing out `jobs` one at a time. Settles only once every worker has exited, so no
 * worker outlives a plan, failed or not; the first failure kills the rest.
 */
class ShardPool {
  private readonly workers = new Map<ChildProcess, Worker>();
  private readonly results: (ShardPlanned | undefined)[];
  private next = 0;
  private reported = 0;
  private failure?: Error;
  private settle: () => void = () => undefined;

  constructor(
    private readonly jobs: ShardJob[],
    private readonly platform: PlatformRef,
    private readonly onPlanned?: (p: ShardPlanned) => void,
  ) {
    this.results = jobs.map(() => undefined);
  }

  run(workers: number): Promise<ShardPlanned[]> {
    return new Promise((resolve, reject) => {
      this.settle = () => {
        if (this.workers.size > 0) return;
        if (this.failure) reject(this.failure);
        else resolve(this.results as ShardPlanned[]);
      };
      for (let i = 0; i < workers; i++) this.start();
    });
  }

  private start(): void {
    const child = forkWorker();
    const worker: Worker = { planned: 0, retired: false };
    this.workers.set(child, worker);
    child.on("message", (reply: ShardReply) => this.answered(child, worker, reply));
    child.on("exit", (code, signal) => this.exited(child, worker, signal ? `was killed by ${signal}` : `exited with code ${code}`));
    // A worker that could not start has no exit to wait for; any other error (a send to a worker
    // that just died) is followed by its exit, reported there.
    child.on("error", (err) => {
      if (child.pid === undefined) this.exited(child, worker, `could not start: ${err.message}`);
    });
    this.assign(child, worker);
  }

  private assign(child: ChildProcess, worker: Worker): void {
    if (this.failure || this.next >= this.jobs.length) return this.retire(child, worker);
    worker.current = this.next++;
    const request: ShardRequest = { index: worker.current, job: this.jobs[worker.current], platform: this.platform };
    child.send(request);
  }

  private retire(child: ChildProcess, worker: Worker): void {
    worker.retired = true;
    // A worker exits when its channel closes (shardWorker.ts).
    if (child.connected) child.disconnect();
  }

  private answered(child: ChildProcess, worker: Worker, reply: ShardReply): void {
    worker.current = undefined;
    worker.planned++;
    if ("failed" in reply) return this.fail(shardError(this.jobs[reply.index].shard.stack, reply.failed));
    this.results[reply.index] = reply.planned;
    this.report();
    if (worker.planned < SHARDS_PER_WORKER) return this.assign(child, worker);
    this.retire(child, worker);
    if (!this.failure && this.next < this.jobs.length) this.start();
  }

  /** Passes results on in job order, each as soon as those before it are in. */
  private report(): void {
    try {
      for (let p = this.results[this.reported]; p && !this.failure; p = this.results[this.reported]) {
        this.reported++;
        this.onPlanned?.(p);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private exited(child: ChildProcess, worker: Worker, how: string): void {
    if (!this.workers.delete(child)) return;
    if (!worker.retired) {
      const what = worker.current === undefined ? "a shard planner" : `${this.jobs[worker.current].shard.stack}: the worker planning it`;
      this.fail(new Error(`${what} (pid ${child.pid ?? "none"}) ${how}`));
    }
    this.settle();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const [child, worker] of this.workers) {
      worker.retired = true;
      child.kill("SIGKILL");
    }
  }
}
