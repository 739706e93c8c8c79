/**
 * `deploy --canary` (docs/control-plane.md#canary-deploys): the new image runs as a few pods beside
 * the stable ones behind the same Service (`enclii:services.<svc>.canary`), is watched against the
 * service's SLOs and the stable pods for a period, then promoted (the image becomes the service's,
 * the canary goes) or aborted (the canary goes; the stack is as before). It never promotes blind:
 * no metrics, no query path or too little traffic abort, or deploy plainly where the spec's
 * `fallback: plain` asks. It never outlives its deploy: a signal during the watch removes it.
 */
import { judgeCanary, type CanaryPolicy, type CanaryVerdict, type TrackFigures } from "../../model/canary";
import { canaryConfigPath, deployMessage, imageConfigPath, type CanaryReport, type OperationResult } from "../../model/controlPlane";
import { attempt, currentImage, deploy, deployInfo, restore, restoreImage, type Attempt, type DeployRequest } from "./deploy";
import { failure, result, retrying, type Base, type Options } from "./operations";
import { QueryPathError, trackFigures, type QueryPath } from "./prometheus";
import { CancelledError } from "./signals";
import type { ControlStack } from "./workspace";

/** The spec's `deploy.canary`, resolved. */
export interface CanarySettings {
  periodMinutes: number;
  intervalSeconds: number;
  replicas: number;
  minRequests: number;
  fallback: "abort" | "plain";
  maxErrorRatioIncrease: number;
  maxP95IncreaseMs: number;
}

export interface CanaryRequest extends DeployRequest {
  canary: CanarySettings;
  /** The judge's objectives: the SLO's error ratio, the spec's latency threshold. */
  policy: CanaryPolicy;
  /** Whether the service exports metrics at all (its spec's `runtime.metrics`). */
  metrics: boolean;
  /** The stable pods the Service routes to beside the canary, for its share. */
  stableReplicas: number;
  /** The read-only query path (ENCLII_PROMETHEUS_URL); undefined when it is not set. */
  queryPath?: QueryPath;
}

/** Figures are read over at least this window: a shorter rate has too few samples to mean anything. */
const MIN_WINDOW_SECONDS = 60;

const percent = (n: number) => `${(n * 100).toFixed(2)}%`;
const describe = (f: TrackFigures | undefined) =>
  !f
    ? "no series"
    : f.requests === 0
      ? "no requests"
      : `${Math.round(f.requests).toLocaleString("en")} requests, ${percent(f.errorRatio ?? 0)} errors, p95 ${Math.round(f.p95Ms ?? 0)} ms`;

type Unjudged = Extract<CanaryVerdict, { decision: "abort" }>["cause"];
/** Causes that mean "could not be judged": the spec's `fallback: plain` deploys plainly on these. */
const UNJUDGED: readonly Unjudged[] = ["no-metrics", "unreachable", "no-traffic"];

export async function canaryDeploy(o: Options, req: CanaryRequest): Promise<OperationResult> {
  const base: Base = { operation: "deploy", environment: req.environment, stack: req.environment };
  const periodSeconds = req.canary.periodMinutes * 60;
  const share = req.canary.replicas / (req.canary.replicas + req.stableReplicas);
  const report = (
    verdict: Pick<CanaryReport, "decision" | "cause" | "reason">,
    watchedSeconds: number,
    figures: Partial<CanaryReport> = {},
  ) => ({ replicas: req.canary.replicas, share, periodSeconds, watchedSeconds, ...verdict, ...figures }) as CanaryReport;

  // Before anything changes: can it be judged at all?
  const blind = !req.metrics
    ? { cause: "no-metrics" as const, reason: `${req.service} exports no metrics (its spec has no runtime.metrics)` }
    : !req.queryPath
      ? { cause: "unreachable" as const, reason: "the query path is not set (ENCLII_PROMETHEUS_URL)" }
      : await reachable(req.queryPath, req.service);
  if (blind) return await unjudged(o, req, base, report({ decision: "abort", ...blind }, 0));

  const canaryKey = canaryConfigPath(req.service);
  const imageKey = imageConfigPath(req.service);
  const info = deployInfo(req);
  let stack: ControlStack | undefined;
  let decided = false;
  try {
    stack = await o.open({ project: "platform", stack: req.environment });
    const previous = await currentImage(stack, imageKey);
    if (previous === req.image)
      return result(base, "unchanged", `${req.service} already runs ${req.image} in ${req.environment}`, { deploy: info });
    const started = await change(stack, o, base, info, `started ${req.canary.replicas} pod(s)`, async (s) => {
      await s.setConfig(`${canaryKey}.image`, { value: req.image, secret: false }, true);
    });
    if (started.refused || started.failed) {
      await stack.removeConfig(canaryKey, true);
      if (started.refused) return { ...started.refused, deploy: info };
      return await restore(stack, o, base, { key: canaryKey, failed: started.failed!, deploy: info, running: req.running });
    }
    o.report?.(
      `${req.service}: canary ${req.image} runs ${req.canary.replicas} pod(s) beside ${req.stableReplicas} stable (about ${Math.round(share * 100)}% of connections); watching ${req.canary.periodMinutes} min`,
    );
    const watched = await watch(o, req);
    // From here the canary's config is being changed for good: a signal stops the update, and the
    // file says what the next `up` finishes.
    decided = true;
    const verdict = watched.verdict;
    const seen = report(
      verdict.decision === "promote" ? verdict : { decision: "abort", cause: verdict.cause, reason: verdict.reason },
      watched.seconds,
      { canary: verdict.canary, stable: verdict.stable },
    );
    if (verdict.decision === "abort" && !(UNJUDGED.includes(verdict.cause) && req.canary.fallback === "plain"))
      return await removeCanary(stack, o, base, req, seen);
    const promoted =
      verdict.decision === "promote"
        ? seen
        : { ...seen, decision: "fallback" as const, reason: `${seen.reason}; deploying plainly (fallback: plain)` };
    return await promote(stack, o, base, req, promoted, previous);
  } catch (err) {
    if (stack && err instanceof CancelledError && !decided)
      return await interrupted(
        stack,
        o,
        base,
        req,
        err,
        report({ decision: "abort", cause: "interrupted", reason: `${err.signal} during the canary` }, 0),
      );
    const res = failure(base, err);
    const finish =
      decided && err instanceof CancelledError
        ? `; Pulumi.${req.environment}.yaml holds the decision: enclii-infra up --env ${req.environment} finishes it`
        : "";
    return { ...res, message: `${res.message}${finish}`, deploy: info };
  }
}

/** undefined when the query path answers; otherwise why the canary cannot be judged. */
async function reachable(path: QueryPath, service: string): Promise<{ cause: "unreachable"; reason: string } | undefined> {
  try {
    await trackFigures(path, service, "stable", `${MIN_WINDOW_SECONDS}s`);
    return undefined;
  } catch (err) {
    if (err instanceof QueryPathError) return { cause: "unreachable", reason: `the query path does not answer: ${err.message}` };
    throw err;
  }
}

/** Could not be judged before anything changed: abort, or (fallback: plain) a plain deploy that says why. */
async function unjudged(o: Options, req: CanaryRequest, base: Base, seen: CanaryReport): Promise<OperationResult> {
  if (req.canary.fallback === "plain") {
    const res = await deploy(o, req);
    const fallback = { ...seen, decision: "fallback" as const, reason: `${seen.reason}; deployed plainly (fallback: plain)` };
    return { ...res, message: `${res.message} (no canary: ${fallback.reason})`, deploy: res.deploy && { ...res.deploy, canary: fallback } };
  }
  return result(base, "canary-aborted", `${req.service}: no canary of ${req.image}: ${seen.reason}; nothing was changed`, {
    deploy: { ...deployInfo(req), canary: seen },
  });
}

/** A config change and the targeted update it needs (preview, guard, update), retried while the stack is busy. */
async function change(
  stack: ControlStack,
  o: Options,
  base: Base,
  info: NonNullable<OperationResult["deploy"]>,
  what: string,
  edit: (s: ControlStack) => Promise<void>,
): Promise<Attempt> {
  await edit(stack);
  return await retrying(stack.name, o, () =>
    attempt(stack, o, base, info, deployMessage("deploy", info.service, info.image, { canary: what, forced: info.forced })),
  );
}

/** Watches both tracks every interval for the period; stops early on a verdict the figures already decide. */
async function watch(o: Options, req: CanaryRequest): Promise<{ verdict: CanaryVerdict; seconds: number }> {
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = now().getTime();
  const period = req.canary.periodMinutes * 60_000;
  for (;;) {
    const elapsed = now().getTime() - start;
    const wait = Math.min(req.canary.intervalSeconds * 1000, Math.max(period - elapsed, 0));
    if (wait > 0) await Promise.race([sleep(wait), ...(o.stop ? [o.stop.stopped] : [])]);
    o.stop?.check(`${req.environment}`);
    const seconds = Math.round((now().getTime() - start) / 1000);
    const window = `${Math.max(seconds, MIN_WINDOW_SECONDS)}s`;
    let verdict: CanaryVerdict;
    try {
      const [canary, stable] = await Promise.all([
        trackFigures(req.queryPath!, req.service, "canary", window),
        trackFigures(req.queryPath!, req.service, "stable", window),
      ]);
      verdict = judgeCanary(req.policy, canary, stable);
      o.report?.(
        `${req.service}: canary ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s of ${req.canary.periodMinutes}m: canary ${describe(canary)}; stable ${describe(stable)}`,
      );
    } catch (err) {
      if (!(err instanceof QueryPathError)) throw err;
      return { verdict: { decision: "abort", cause: "unreachable", reason: `the query path stopped answering: ${err.message}` }, seconds };
    }
    // Errors or latency past the objectives over enough requests decide now; waiting serves them to more users.
    const decided = verdict.decision === "abort" && (verdict.cause === "errors" || verdict.cause === "latency");
    if (decided || now().getTime() - start >= period) return { verdict, seconds };
  }
}

/** The canary's image becomes the service's and the canary goes, in one update. */
async function promote(
  stack: ControlStack,
  o: Options,
  base: Base,
  req: CanaryRequest,
  seen: CanaryReport,
  previous: string | undefined,
): Promise<OperationResult> {
  const imageKey = imageConfigPath(req.service);
  const info = { ...deployInfo(req), previousImage: previous, canary: seen };
  const done = await change(stack, o, base, info, `promoted: ${seen.reason}`, async (s) => {
    await s.setConfig(imageKey, { value: req.image, secret: false }, true);
    await s.removeConfig(canaryConfigPath(req.service), true);
  });
  if (done.refused) {
    await restoreImage(stack, imageKey, previous);
    return await removeCanary(stack, o, base, req, {
      ...seen,
      decision: "abort",
      cause: "failed",
      reason: `promotion refused: ${done.refused.message}`,
    });
  }
  if (done.failed)
    return await restore(stack, o, base, { key: imageKey, previous, failed: done.failed, deploy: info, running: req.running });
  return result(
    base,
    "deployed",
    `${req.service} runs ${req.image} in ${req.environment}: the canary ${seen.decision === "fallback" ? "was not judged" : "was promoted"} (${seen.reason})`,
    {
      deploy: info,
      changes: done.changes,
      changedFiles: [`Pulumi.${req.environment}.yaml`],
    },
  );
}

/** The canary goes; the stable pods never changed. */
async function removeCanary(stack: ControlStack, o: Options, base: Base, req: CanaryRequest, seen: CanaryReport): Promise<OperationResult> {
  const info = { ...deployInfo(req), canary: seen };
  o.report?.(`${req.service}: aborting the canary: ${seen.reason}`);
  const done = await change(stack, o, base, info, `aborted: ${seen.reason}`, (s) => s.removeConfig(canaryConfigPath(req.service), true));
  if (done.refused || done.failed)
    return result(
      base,
      "failed",
      `${req.service}: the canary was aborted (${seen.reason}) but removing it ${done.refused ? "was refused" : "failed"}: delete the Deployment ${req.service}-canary by hand, then run enclii-infra up --env ${req.environment}`,
      {
        deploy: info,
        engineMessage: done.failed?.engineMessage,
      },
    );
  return result(
    base,
    "canary-aborted",
    `${req.service}: the canary of ${req.image} was aborted and removed: ${seen.reason}; ${req.service} runs what it ran before`,
    {
      deploy: info,
      changes: done.changes,
    },
  );
}

/** A signal during the watch: the canary goes (a second signal stops that too), and the result says what was left. */
async function interrupted(
  stack: ControlStack,
  o: Options,
  base: Base,
  req: CanaryRequest,
  err: CancelledError,
  seen: CanaryReport,
): Promise<OperationResult> {
  o.stop?.cleanup();
  const info = { ...deployInfo(req), canary: seen };
  try {
    await stack.removeConfig(canaryConfigPath(req.service), true);
    const done = await change(stack, o, base, info, "removed after a signal", async () => undefined);
    const left =
      done.failed || done.refused
        ? `; removing the canary did not finish: delete the Deployment ${req.service}-canary, then enclii-infra up --env ${req.environment}`
        : "; the canary was removed";
    return { ...failure(base, err), message: `${err.message.split("\n")[0]}${left}`, deploy: info };
  } catch (again) {
    const res = failure(base, again);
    return {
      ...res,
      message: `${res.message}; the canary may remain: enclii-infra up --env ${req.environment} removes it (its config is gone)`,
      deploy: info,
    };
  }
}
