/**
 * Whether a deploy may run, by its service's spec (model/deployRules.ts): answered before
 * anything is opened or edited, so a deploy held back changes nothing. `rollback` passes no gate:
 * it undoes a bad deploy, at any hour and whatever changed
 * (docs/control-plane.md#when-a-deploy-may-run).
 */
import type { AppService } from "../../model/config/services";
import type { OperationResult } from "../../model/controlPlane";
import {
  deployScheduleProblem,
  deployWindow,
  describeFilter,
  pathsPassing,
  type DeployFilter,
  type DeploySchedule,
} from "../../model/deployRules";
import { result, type Base } from "./operations";

export interface DeployGate {
  /** The service's spec file, as messages name it. */
  file: string;
  filter?: DeployFilter;
  schedule?: DeploySchedule;
  /** The push's changed paths (`--changed`), relative to the service's repository. */
  changed: readonly string[];
  /** `--force`: deploy whatever the filter and the schedule say. */
  force: boolean;
  now: Date;
}

/** The gate of a deploy of `service` (undefined when the environment runs no such service: the deploy refuses it). */
export function deployGate(
  service: AppService | undefined,
  args: { changed?: readonly string[]; force?: boolean },
  now: Date,
): DeployGate | undefined {
  if (!service) return undefined;
  const { deployFilter, deploySchedule } = service.source;
  return { file: service.file, filter: deployFilter, schedule: deploySchedule, changed: args.changed ?? [], force: !!args.force, now };
}

/** An instant as ISO 8601 UTC, to the second (windows open on whole minutes). */
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The answer for a deploy the spec holds back, or undefined when it may run: a usage error for a
 * schedule that cannot be used or a filter with no `--changed`; `skipped` when no changed path
 * passes the filter (the push did not touch the service); `outside-window` outside the schedule.
 */
export function heldBack(base: Base, gate: DeployGate, req: { service: string; image: string }): OperationResult | undefined {
  const { service } = req;
  const scheduleProblem = gate.schedule && deployScheduleProblem(gate.schedule);
  if (scheduleProblem) return result(base, "usage", `${gate.file}: spec.build.source.git.deploySchedule: ${scheduleProblem}`);
  if (gate.force) return undefined;
  const deploy = { service, image: req.image, targets: [], notApplied: [] };
  if (gate.filter) {
    if (gate.changed.length === 0)
      return result(
        base,
        "usage",
        `--changed: ${service} deploys only for changes its deployFilter passes (${gate.file}); pass each path the push changed with --changed, or --force to deploy whatever changed`,
      );
    if (pathsPassing(gate.filter, gate.changed).length === 0)
      return result(
        base,
        "skipped",
        `${service}: none of the ${gate.changed.length} changed path(s) passes its deployFilter (${describeFilter(gate.filter)}, in ${gate.file}); nothing was deployed`,
        { deploy },
      );
  }
  const window = gate.schedule && deployWindow(gate.schedule, gate.now);
  if (gate.schedule && window && !window.open)
    return result(
      base,
      "outside-window",
      `${service} deploys only from ${gate.schedule.onlyAfter} to ${gate.schedule.onlyBefore} (deploySchedule in ${gate.file}); the next window opens at ${iso(window.opensAt)}; nothing was changed; --force deploys now`,
      { deploy, schedule: { ...gate.schedule, nextWindowOpensAt: iso(window.opensAt) } },
    );
  return undefined;
}
