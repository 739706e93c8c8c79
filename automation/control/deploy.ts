/**
 * `deploy` and `rollback`: one service's image changed in the platform stack's config, an update
 * limited to that service's resources, and the previous image restored when the update fails.
 */
import { imageProblem } from "../../model/baseline";
import { imageReferenceProblem } from "../../model/imageReference";
import { heldBack, type DeployGate } from "./deployRules";
import { descendantsOf, serviceComponent } from "./events";
import {
  deployMessage,
  imageConfigPath,
  type DeployInfo,
  type GateReport,
  type GuardViolation,
  type OperationResult,
} from "../../model/controlPlane";
import {
  EngineError,
  failure,
  inspect,
  proceed,
  refusal,
  result,
  retrying,
  update,
  type Base,
  type Inspection,
  type Options,
} from "./operations";
import { CancelledError } from "./signals";
import { historyEntry } from "./reads";
import type { ControlStack } from "./workspace";

/** How far back `rollback` looks for the previous image. */
const ROLLBACK_HISTORY_DEPTH = 100;

/** The image override in the stack's config; undefined when the service runs its spec's image. */
export async function currentImage(stack: ControlStack, key: string): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key, true)).value;
  } catch (err) {
    if (/not found/i.test(err instanceof Error ? err.message : String(err))) return undefined;
    throw err;
  }
}

/** Puts the config back as it was: the earlier override, or none. */
export async function restoreImage(stack: ControlStack, key: string, previous: string | undefined): Promise<void> {
  if (previous === undefined) await stack.removeConfig(key, true);
  else await stack.setConfig(key, { value: previous, secret: false }, true);
}

export function serviceProblem(req: { environment: string; service: string; services: readonly string[] }): string | undefined {
  return req.services.includes(req.service)
    ? undefined
    : `--service: ${req.environment} runs no service "${req.service}" (it runs ${req.services.join(", ")})`;
}

export interface DeployRequest {
  environment: string;
  service: string;
  image: string;
  /** The services the environment runs (their specs), so an unknown name is a usage error. */
  services: readonly string[];
  /** The image the environment's config resolves to now (its spec's when nothing overrides it), for messages. */
  running?: string;
  operation?: "deploy" | "rollback";
  /** The spec's deploy rules and the push they judge (deployRules.ts); a rollback has none. */
  gate?: DeployGate;
  /** The error-budget gate's verdict (gate.ts), reported with the deploy. */
  budget?: GateReport;
  /** What `--force` overrode, recorded in the update's message. */
  forced?: string[];
}

export async function deploy(o: Options, req: DeployRequest): Promise<OperationResult> {
  const operation = req.operation ?? "deploy";
  const base: Base = { operation, environment: req.environment, stack: req.environment };
  // The grammar first (what a registry can parse), then what the baseline calls pinned.
  const imageWrong = imageReferenceProblem(req.image) ?? imageProblem(req.image);
  const problems = [serviceProblem(req), imageWrong && `--image: ${imageWrong}`].filter((p) => p);
  if (problems.length > 0) return result(base, "usage", problems.join("\n"));
  const held = req.gate && heldBack(base, req.gate, req);
  if (held) return held;
  const key = imageConfigPath(req.service);
  const info = deployInfo(req);
  try {
    const stack = await o.open({ project: "platform", stack: req.environment });
    const previous = await currentImage(stack, key);
    const deployInfo = { ...info, previousImage: previous };
    if (previous === req.image)
      return result(base, "unchanged", `${req.service} already runs ${req.image} in ${req.environment}`, { deploy: deployInfo });

    await stack.setConfig(key, { value: req.image, secret: false }, true);
    const changedFiles = [`Pulumi.${req.environment}.yaml`];
    const message = deployMessage(operation, req.service, req.image, { forced: req.forced });
    let outcome: Attempt;
    try {
      // While the stack is busy the whole attempt runs again: a new preview, a new verdict, new targets.
      outcome = await retrying(stack.name, o, () => attempt(stack, o, base, deployInfo, message));
    } catch (err) {
      // Nothing ran (busy throughout, a failed preview), or a signal stopped it: the config goes back
      // as it was, since a deploy the engine did not finish is not the record (no restore update
      // starts after a signal).
      await restoreImage(stack, key, previous);
      if (!(err instanceof CancelledError)) throw err;
      const res = failure(base, err);
      const said = err.pending.length > 0 ? res.message : err.state;
      return { ...res, message: `${said}\n${restoredNote(req, previous)}`, deploy: deployInfo };
    }
    if (outcome.refused) {
      await restoreImage(stack, key, previous);
      return { ...outcome.refused, deploy: deployInfo };
    }
    if (outcome.failed)
      return await restore(stack, o, base, { key, previous, failed: outcome.failed, deploy: deployInfo, running: req.running });
    if (deployInfo.targets.length === 0) {
      return result(base, "unchanged", `${req.service} in ${req.environment}: the preview changes none of its resources`, {
        deploy: deployInfo,
        changedFiles,
      });
    }
    const skipped =
      deployInfo.notApplied.length > 0 ? `; ${deployInfo.notApplied.length} pending change(s) elsewhere left for a full up` : "";
    return result(base, "deployed", `${req.service} runs ${req.image} in ${req.environment}${skipped}`, {
      deploy: deployInfo,
      changes: outcome.changes,
      changedFiles,
    });
  } catch (err) {
    return { ...failure(base, err), deploy: info };
  }
}

/** What every result of a deploy says of it: the service, the image, the gate it passed and what --force overrode. */
export function deployInfo(req: DeployRequest): DeployInfo {
  return {
    service: req.service,
    image: req.image,
    targets: [],
    notApplied: [],
    ...(req.budget && { gate: req.budget }),
    ...(req.forced?.length && { forced: req.forced }),
  };
}

/** What a deploy attempt did: refused, failed in the update, or updated its targets (none: nothing of the service changes). */
export interface Attempt {
  refused?: OperationResult;
  failed?: EngineError;
  changes?: Record<string, number>;
}

/** The service's resources among a preview's changes, and what the guard says of them alone. */
function serviceChanges(found: Inspection, service: string): { targets: string[]; notApplied: string[]; violations: GuardViolation[] } {
  const component = serviceComponent(found.steps, service);
  const owned = component ? descendantsOf(found.steps, component.urn) : new Set<string>();
  const targets = found.changing.filter((s) => owned.has(s.urn)).map((s) => s.urn);
  const notApplied = found.changing.filter((s) => !targets.includes(s.urn)).map((s) => s.urn);
  // Only what the deploy would apply is judged: changes elsewhere are left for a full `up`. But a
  // protected resource the engine refused fails the whole preview, wherever it is, and a deploy
  // never runs after a failed preview: that is a refusal naming it (exit 4), not an engine failure.
  const judged = found.violations.filter((v) => targets.includes(v.urn) || found.protectedUrns.includes(v.urn));
  return { targets, notApplied, violations: judged };
}

/**
 * One attempt: a preview, the guard over the service's changes (`info` takes its targets and what
 * it leaves), and an update targeted at them. A failed preview throws; a failed update is returned
 * (the caller restores the previous image); a busy stack throws for `retrying` to run it again.
 */
export async function attempt(
  stack: ControlStack,
  o: Options,
  base: Base,
  info: NonNullable<OperationResult["deploy"]>,
  message: string,
): Promise<Attempt> {
  const found = await inspect(stack, o);
  const { targets, notApplied, violations } = serviceChanges(found, info.service);
  Object.assign(info, { targets, notApplied });
  if (violations.length > 0) return { refused: refusal(base, violations, found) };
  proceed(found);
  if (targets.length === 0) return {};
  try {
    return { changes: await update(stack, o, { total: targets.length, target: targets, message }) };
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return { failed: err };
  }
}

/** What the previous image is called in messages: the override, else the spec's image. */
function previousName(previous: string | undefined, running: string | undefined): string {
  return previous ?? (running ? `${running} (its spec's image)` : "its spec's image");
}

/** A cancelled deploy's config: back as it was, so running the same deploy again finishes it. */
function restoredNote(req: DeployRequest, previous: string | undefined): string {
  const back = previousName(previous, req.running);
  return `${req.service}: Pulumi.${req.environment}.yaml is back to ${back} (a deploy the engine did not finish is not recorded); deploy ${req.image} again to finish it`;
}

/**
 * The update failed: the previous image back in config, and an update of the same resources to
 * it. When another update holds the stack meanwhile, the restore waits like any update, and each
 * later attempt previews and judges again what the restore would change (the other writer may
 * have changed the service), targeting the service's resources that preview changes. A signal
 * stops it before or during its update; the config stays restored.
 */
export async function restore(
  stack: ControlStack,
  o: Options,
  base: Base,
  r: {
    key: string;
    previous?: string;
    failed: EngineError;
    deploy: NonNullable<OperationResult["deploy"]>;
    running?: string;
  },
): Promise<OperationResult> {
  const service = r.deploy.service;
  const back = previousName(r.previous, r.running);
  const message = deployMessage("rollback", service, r.previous ?? r.running ?? "spec");
  o.report?.(`${service}: the update failed; restoring ${back}`);
  await restoreImage(stack, r.key, r.previous);
  const failedToo = (why: string, extra: Partial<OperationResult>) =>
    result(
      base,
      "rollback-failed",
      `${service}: the update to ${r.deploy.image} failed and restoring ${back} ${why}; the service may be half-rolled; look at the Deployment before anything else`,
      { deploy: r.deploy, ...extra },
    );
  try {
    const refused = await retrying(stack.name, o, async (n) => {
      if (n === 1) {
        await update(stack, o, { total: r.deploy.targets.length, target: r.deploy.targets, message });
        return undefined;
      }
      const found = await inspect(stack, o);
      const { targets, violations } = serviceChanges(found, service);
      if (violations.length > 0) return refusal(base, violations, found);
      proceed(found);
      if (targets.length > 0) await update(stack, o, { total: targets.length, target: targets, message });
      return undefined;
    });
    if (refused)
      return failedToo(`was refused by the guard (${refused.message})`, {
        violations: refused.violations,
        engineMessage: r.failed.engineMessage,
      });
  } catch (err) {
    if (err instanceof CancelledError) {
      const res = failure(base, err);
      const stopped =
        err.pending.length > 0
          ? res.message
          : `${err.state}; Pulumi.${base.environment}.yaml says ${back}: enclii-infra up --env ${base.environment} applies it`;
      return {
        ...res,
        message: `${service}: the update to ${r.deploy.image} failed; restoring ${back} was stopped: ${stopped}`,
        engineMessage: `${r.failed.engineMessage}${res.engineMessage ? `\n--- while restoring:\n${res.engineMessage}` : ""}`,
        deploy: r.deploy,
      };
    }
    const again = err instanceof EngineError ? err.engineMessage : err instanceof Error ? err.message : String(err);
    return failedToo("failed too", { engineMessage: `${r.failed.engineMessage}\n--- while restoring:\n${again}` });
  }
  return result(base, "rolled-back", `${service}: the update to ${r.deploy.image} failed; ${back} is back`, {
    engineMessage: r.failed.engineMessage,
    deploy: r.deploy,
  });
}

/**
 * Back to the image of the previous successful deploy: the stack's history (each update records
 * the config it ran with), newest first; the image before the current one. Never a guess: with no
 * such update it refuses.
 */
export async function rollback(o: Options, req: Omit<DeployRequest, "image" | "operation">): Promise<OperationResult> {
  const base: Base = { operation: "rollback", environment: req.environment, stack: req.environment };
  const problem = serviceProblem(req);
  if (problem) return result(base, "usage", problem);
  let images: (string | undefined)[];
  try {
    const stack = await o.open({ project: "platform", stack: req.environment });
    const history = await retrying(stack.name, o, () => stack.history(ROLLBACK_HISTORY_DEPTH, 1, false));
    images = history
      .map(historyEntry)
      .filter((h) => h.kind === "update" && h.result === "succeeded")
      .map((h) => h.image?.[req.service]);
  } catch (err) {
    return failure(base, err);
  }
  const [current, ...earlier] = images;
  const previous = earlier.find((image) => image !== undefined && image !== current);
  if (!previous)
    return result(
      base,
      "nothing-to-roll-back",
      `${req.service}: none of the last ${images.length} successful updates of ${req.environment} ran another recorded image; deploy an explicit --image instead`,
    );
  return deploy(o, { ...req, image: previous, operation: "rollback" });
}
