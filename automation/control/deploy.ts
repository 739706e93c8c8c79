/**
 * `deploy` and `rollback`: one service's image changed in the platform stack's config, an update
 * limited to that service's resources, and the previous image restored when the update fails.
 */
import { imageProblem } from "../../model/baseline";
import { imageReferenceProblem } from "../../model/imageReference";
import { deployMessage, imageConfigPath, type OperationResult } from "../../model/controlPlane";
import { belongsTo, serviceComponent } from "./events";
import { EngineError, failure, inspect, proceed, refusal, result, retrying, update, type Base, type Options } from "./operations";
import { historyEntry } from "./reads";
import type { ControlStack } from "./workspace";

/** How far back `rollback` looks for the previous image. */
const ROLLBACK_HISTORY_DEPTH = 100;

/** The image override in the stack's config; undefined when the service runs its spec's image. */
async function currentImage(stack: ControlStack, key: string): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key, true)).value;
  } catch (err) {
    if (/not found/i.test(err instanceof Error ? err.message : String(err))) return undefined;
    throw err;
  }
}

/** Puts the config back as it was: the earlier override, or none. */
async function restoreImage(stack: ControlStack, key: string, previous: string | undefined): Promise<void> {
  if (previous === undefined) await stack.removeConfig(key, true);
  else await stack.setConfig(key, { value: previous, secret: false }, true);
}

function serviceProblem(req: { environment: string; service: string; services: readonly string[] }): string | undefined {
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
}

export async function deploy(o: Options, req: DeployRequest): Promise<OperationResult> {
  const operation = req.operation ?? "deploy";
  const base: Base = { operation, environment: req.environment, stack: req.environment };
  // The grammar first (what a registry can parse), then what the baseline calls pinned.
  const imageWrong = imageReferenceProblem(req.image) ?? imageProblem(req.image);
  const problems = [serviceProblem(req), imageWrong && `--image: ${imageWrong}`].filter((p) => p);
  if (problems.length > 0) return result(base, "usage", problems.join("\n"));
  const key = imageConfigPath(req.service);
  const info = { service: req.service, image: req.image, targets: [] as string[], notApplied: [] as string[] };
  try {
    const stack = await o.open({ project: "platform", stack: req.environment });
    const previous = await currentImage(stack, key);
    const deployInfo = { ...info, previousImage: previous };
    if (previous === req.image)
      return result(base, "unchanged", `${req.service} already runs ${req.image} in ${req.environment}`, { deploy: deployInfo });

    await stack.setConfig(key, { value: req.image, secret: false }, true);
    const changedFiles = [`Pulumi.${req.environment}.yaml`];
    let found;
    try {
      found = await inspect(stack, o);
    } catch (err) {
      await restoreImage(stack, key, previous);
      throw err;
    }
    const component = serviceComponent(found.steps, req.service);
    const targets = component ? found.changing.filter((s) => belongsTo(s.urn, component.urn)) : [];
    deployInfo.targets = targets.map((s) => s.urn);
    deployInfo.notApplied = found.changing.filter((s) => !targets.includes(s)).map((s) => s.urn);
    // Only what the deploy would apply is judged: changes elsewhere are left for a full `up`.
    const violations = found.violations.filter((v) => deployInfo.targets.includes(v.urn));
    if (violations.length > 0 || found.failed) {
      await restoreImage(stack, key, previous);
      if (violations.length > 0) return { ...refusal(base, violations, found), deploy: deployInfo };
      proceed(found);
    }
    if (targets.length === 0) {
      return result(base, "unchanged", `${req.service} in ${req.environment}: the preview changes none of its resources`, {
        deploy: deployInfo,
        changedFiles,
      });
    }
    const message = deployMessage(operation, req.service, req.image);
    try {
      const changes = await update(stack, o, { total: targets.length, target: deployInfo.targets, message });
      const skipped =
        deployInfo.notApplied.length > 0 ? `; ${deployInfo.notApplied.length} pending change(s) elsewhere left for a full up` : "";
      return result(base, "deployed", `${req.service} runs ${req.image} in ${req.environment}${skipped}`, {
        deploy: deployInfo,
        changes,
        changedFiles,
      });
    } catch (err) {
      if (!(err instanceof EngineError)) {
        // The update never ran (the stack stayed busy): the config goes back as it was.
        await restoreImage(stack, key, previous);
        throw err;
      }
      return await restore(stack, o, base, {
        key,
        previous,
        targets: deployInfo.targets,
        failed: err,
        deploy: deployInfo,
        running: req.running,
      });
    }
  } catch (err) {
    return { ...failure(base, err), deploy: info };
  }
}

/** The update failed: the previous image back in config, and an update of the same resources to it. */
async function restore(
  stack: ControlStack,
  o: Options,
  base: Base,
  r: {
    key: string;
    previous?: string;
    targets: string[];
    failed: EngineError;
    deploy: NonNullable<OperationResult["deploy"]>;
    running?: string;
  },
): Promise<OperationResult> {
  const service = r.deploy.service;
  const back = r.previous ?? (r.running ? `${r.running} (its spec's image)` : "its spec's image");
  o.report?.(`${service}: the update failed; restoring ${back}`);
  await restoreImage(stack, r.key, r.previous);
  try {
    await update(stack, o, {
      total: r.targets.length,
      target: r.targets,
      message: deployMessage("rollback", service, r.previous ?? r.running ?? "spec"),
    });
  } catch (err) {
    const again = err instanceof EngineError ? err.engineMessage : String(err);
    return result(
      base,
      "rollback-failed",
      `${service}: the update to ${r.deploy.image} failed and restoring ${back} failed too; the service may be half-rolled; look at the Deployment before anything else`,
      { engineMessage: `${r.failed.engineMessage}\n--- while restoring:\n${again}`, deploy: r.deploy },
    );
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
