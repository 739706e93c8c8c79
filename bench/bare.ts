/**
 * Child entry for the evaluation benchmark (one measurement per process: Pulumi's runtime state
 * is global). Prints one JSON line prefixed with `BENCH ` on stdout.
 *
 *   bare.ts program <stack> <config file>      times runPlan() of the real stack program
 *   bare.ts bare <stack> <config file> <count>  times the same harness registering <count>
 *                                              resources (the Stack plus count-1 dummies)
 *
 * Module loading is kept out of the timed window: the stack program (and with it the SDK and the
 * providers' index modules) is imported before the clock starts. Provider resource classes are
 * lazy-loaded by the SDKs on first use, so those loads can only happen inside the window; the
 * time spent in `require` there is reported separately as `loadMs`.
 */
import Module from "node:module";
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { runPlan, type PlanResource, type Program } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";

const RESULT_PREFIX = "BENCH ";

export interface EvalSample {
  mode: "program" | "bare";
  stack: string;
  /** runPlan (or the bare harness) start to all registrations done, ms. */
  evalMs: number;
  /** Of evalMs, time spent loading modules (the SDKs' lazy-loaded resource classes), ms. */
  loadMs: number;
  /** Registrations the harness recorded (the plan's resource count). */
  resources: number;
  /** Before the window: process start (node boot, tsx, loading the whole module graph) to eval start, ms. */
  startupMs: number;
  /** Modules loaded inside the timed window. */
  modulesLoaded: number;
}

const DUMMY_TYPE = "bench:index:Dummy";

class Dummy extends pulumi.CustomResource {
  constructor(name: string, args: Record<string, pulumi.Input<unknown>>) {
    super(DUMMY_TYPE, name, args);
  }
}

/** Registers `count` plain custom resources with small inputs. */
function bareProgram(count: number): Program {
  return async () => {
    for (let i = 0; i < count; i++) new Dummy(`dummy-${i}`, { index: i, label: `dummy resource ${i}`, tags: { bench: "bare" } });
    return {};
  };
}

/** Accumulates wall time spent in outermost CommonJS module loads while started. */
function watchModuleLoads(): { start(): void; stop(): { ms: number; count: number } } {
  const mod = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const load = mod._load;
  const cached = () => Object.keys(require.cache).length;
  let on = false;
  let depth = 0;
  let ms = 0;
  let before = 0;
  mod._load = function (this: unknown, ...args: [string, unknown, boolean]) {
    if (!on || depth > 0) return load.apply(this, args);
    const t = performance.now();
    depth++;
    try {
      return load.apply(this, args);
    } finally {
      depth--;
      ms += performance.now() - t;
    }
  };
  return {
    start: () => {
      before = cached();
      on = true;
    },
    stop: () => {
      on = false;
      return { ms, count: cached() - before };
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const [mode, stack, file, countArg] = argv;
  if ((mode !== "program" && mode !== "bare") || !stack || !file || (mode === "bare" && !countArg)) {
    throw new Error("usage: bare.ts program <stack> <config file> | bare.ts bare <stack> <config file> <count>");
  }
  const cfg = loadStackConfig(file);
  // The same module graph in both modes, loaded before the clock starts (runPlan's own
  // `import("../stacks/program")` then resolves from the cache).
  await import("../stacks/program");
  const loads = watchModuleLoads();

  let resources: PlanResource[];
  loads.start();
  const t0 = performance.now();
  // performance.now() counts from the process's time origin, i.e. its start.
  const startupMs = t0;
  if (mode === "program") {
    resources = (await runPlan(stack, cfg)).resources;
  } else {
    const count = Number(countArg);
    if (!Number.isInteger(count) || count < 1) throw new Error(`bad count ${countArg}`);
    // The harness records the Stack resource itself, so count-1 dummies make `count` records.
    resources = (await runPlan(stack, cfg, bareProgram(count - 1))).resources;
  }
  const evalMs = performance.now() - t0;
  const loaded = loads.stop();

  const sample: EvalSample = {
    mode,
    stack,
    evalMs,
    loadMs: loaded.ms,
    startupMs,
    resources: resources.length,
    modulesLoaded: loaded.count,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(sample)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
