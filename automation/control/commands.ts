/**
 * The control-plane commands of `enclii-infra` (everything but `plan`): arguments checked, the
 * environment's config read, one operation run, its result printed (human text, or one JSON
 * object with --json) and its exit status returned (model/controlPlane.ts `EXIT`).
 */
import { EXIT, type OperationResult } from "../../model/controlPlane";
import { rollback } from "./deploy";
import { release } from "./release";
import { domainsAdd, domainsList, domainsRemove, domainsStatus } from "./domains";
import { loadEnvironment } from "./environment";
import { failure, guardedUp, previewOp, type Base, type Options } from "./operations";
import { driftOp, historyOp, outputsOp } from "./reads";
import { REBUILD_COMMAND, rebuildFirstServer } from "./rebuild";
import { Stop, withSignals } from "./signals";
import { localStacks, type OpenStack } from "./workspace";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface ControlArgs {
  command: string;
  env: string;
  json?: boolean;
  allow?: string[];
  service?: string;
  image?: string;
  tenant?: string;
  hostname?: string;
  message?: string;
  limit?: number;
  /** `deploy`: the push's changed paths, judged by the service's deployFilter. */
  changed?: string[];
  /** `deploy`: whatever the service's deploySchedule, deployFilter and error budget say. */
  force?: boolean;
  /** `deploy`: true for --canary, false for --no-canary; the spec's deploy.canary.enabled otherwise. */
  canary?: boolean;
  /** `rebuild-first-server`: the surviving server the first one joins through (default: the second server). */
  via?: string;
}

export interface ControlDeps {
  root: string;
  /** Opens stacks; the Pulumi CLI on PATH unless a test stands in. */
  open?: OpenStack;
  sleep?: (ms: number) => Promise<void>;
  /** The clock a deploySchedule is judged by and a canary watched by; the system's unless a test stands in. */
  now?: () => Date;
  /** Where ENCLII_PROMETHEUS_URL and ENCLII_PROMETHEUS_TOKEN are read; this process's environment unless a test stands in. */
  env?: NodeJS.ProcessEnv;
}

async function operate(a: ControlArgs, o: Options, now: () => Date, processEnv: NodeJS.ProcessEnv): Promise<OperationResult> {
  const base: Base = { operation: a.command, environment: a.env, stack: a.env };
  try {
    const env = loadEnvironment(o.root, a.env);
    const platform = () => o.open({ project: "platform", stack: a.env });
    const services = env.services.map((s) => s.name);
    const running = (name?: string) => env.services.find((s) => s.name === name)?.image;
    const tenantReq = { tenant: a.tenant ?? "", hostname: a.hostname, service: a.service };
    switch (a.command) {
      case "preview":
        return await previewOp(await platform(), o, base);
      case "up":
        return await guardedUp(await platform(), o, base, { message: a.message ?? "enclii-infra up" });
      case "drift":
        return await driftOp(await platform(), o, base);
      case "outputs":
        return await outputsOp(await platform(), base);
      case "history":
        return await historyOp(await platform(), base, a.limit ?? 10);
      case "deploy":
        return await release(
          o,
          env,
          { env: a.env, service: a.service!, image: a.image!, changed: a.changed, force: a.force, canary: a.canary },
          now(),
          processEnv,
        );
      case "rollback":
        return await rollback(o, { environment: a.env, service: a.service!, services, running: running(a.service) });
      case "domains add":
        return await domainsAdd(o, env, tenantReq);
      case "domains remove":
        return await domainsRemove(o, env, tenantReq);
      case "domains list":
        return domainsList(o, env, a.tenant);
      case "domains status":
        return await domainsStatus(o, env, tenantReq);
      case REBUILD_COMMAND:
        return await rebuildFirstServer(platform, o, base, env, a.via);
      default:
        throw new Error(`unknown operation ${a.command}`);
    }
  } catch (err) {
    return failure(base, err);
  }
}

/**
 * Runs one control-plane command; returns its exit status. While it runs, SIGINT and SIGTERM stop
 * it through the engine (signals.ts): exit 11 `cancelled`, 12 `interrupted` after a second one.
 */
export async function runControl(a: ControlArgs, io: Io, deps: ControlDeps): Promise<number> {
  const progress = a.json ? io.stderr : io.stdout;
  const report = (line: string) => progress(`${line}\n`);
  const stop = new Stop(report);
  const o: Options = {
    open: deps.open ?? localStacks(deps.root),
    root: deps.root,
    allow: new Set(a.allow ?? []),
    report,
    sleep: deps.sleep,
    now: deps.now,
    stop,
  };
  const res = await withSignals(stop, () => operate(a, o, deps.now ?? (() => new Date()), deps.env ?? process.env));
  if (a.json) io.stdout(`${JSON.stringify(res)}\n`);
  else {
    const out = res.exitCode === EXIT.ok || res.exitCode === EXIT.drift ? io.stdout : io.stderr;
    out(`${res.message}\n`);
    if (res.engineMessage) out(`engine:\n${res.engineMessage}\n`);
    if (res.changedFiles?.length) out(`edited ${res.changedFiles.join(", ")} (commit it: the stack file is the record)\n`);
    if (res.outputs) out(`${JSON.stringify(res.outputs, null, 2)}\n`);
  }
  return res.exitCode;
}
