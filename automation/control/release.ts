/**
 * `deploy` as the command line asks for it: the spec's deploy rules, the error-budget gate
 * (docs/control-plane.md#the-error-budget-gate), then a plain deploy or a canary
 * (docs/control-plane.md#canary-deploys).
 */
import type { Environment } from "../../model/config/schema";
import { result, type Base, type Options } from "./operations";
import { canaryDeploy } from "./canary";
import { deploy, serviceProblem } from "./deploy";
import { deployGate, heldBack } from "./deployRules";
import { errorBudgetGate } from "./gate";
import { queryPathFromEnv } from "./prometheus";
import { ERROR_OBJECTIVE } from "../../model/canary";
import type { GateReport, OperationResult } from "../../model/controlPlane";

export interface ReleaseArgs {
  /** The environment: the platform stack's name. */
  env: string;
  service: string;
  image: string;
  changed?: string[];
  force?: boolean;
  /** --canary / --no-canary; the spec's deploy.canary.enabled when neither. */
  canary?: boolean;
}

/**
 * The gate's verdict. Without a query path it is not checked in an unprotected environment (a
 * note says so), and refused in a protected one: production deploys only what its budget allows.
 */
async function budget(env: Environment, service: string, minRemainingPercent: number, processEnv: NodeJS.ProcessEnv): Promise<GateReport> {
  const path = queryPathFromEnv(processEnv);
  if (!path && !env.protect) return { checked: false, allowed: true, reason: "error budget not checked: ENCLII_PROMETHEUS_URL is not set" };
  const verdict = await errorBudgetGate(path, service, minRemainingPercent);
  return { checked: true, ...verdict };
}

export async function release(
  o: Options,
  env: Environment,
  a: ReleaseArgs,
  now: Date,
  processEnv: NodeJS.ProcessEnv,
): Promise<OperationResult> {
  const base: Base = { operation: "deploy", environment: a.env, stack: a.env };
  const services = env.services.map((s) => s.name);
  const spec = env.services.find((s) => s.name === a.service);
  const plain = { environment: a.env, service: a.service, image: a.image, services, running: spec?.image };
  if (!spec) return result(base, "usage", serviceProblem(plain)!);
  const gate = deployGate(spec, a, now);
  const held = gate && heldBack(base, gate, plain);
  if (held) return held;
  const forced = a.force
    ? [...(spec.source.deploySchedule ? ["deploySchedule"] : []), ...(spec.source.deployFilter ? ["deployFilter"] : []), "error budget"]
    : undefined;
  const rules = spec.deploy;
  const checked = a.force ? undefined : await budget(env, a.service, rules.errorBudget.minRemainingPercent, processEnv);
  if (checked && !checked.allowed)
    return result(
      base,
      "budget-exhausted",
      `${a.service}: not deployed: ${checked.reason}; --force deploys anyway (recorded in the history)`,
      {
        deploy: { service: a.service, image: a.image, targets: [], notApplied: [], gate: checked },
      },
    );
  const req = { ...plain, budget: checked, forced };
  if (!(a.canary ?? rules.canary.enabled)) return await deploy(o, req);
  const { enabled: _, ...canary } = rules.canary;
  return await canaryDeploy(o, {
    ...req,
    canary,
    metrics: spec.metrics !== undefined,
    stableReplicas: spec.replicas,
    queryPath: queryPathFromEnv(processEnv),
    policy: {
      minRequests: canary.minRequests,
      errorObjective: ERROR_OBJECTIVE,
      latencyP95Ms: spec.metrics?.latencyP95Ms,
      maxErrorRatioIncrease: canary.maxErrorRatioIncrease,
      maxP95IncreaseMs: canary.maxP95IncreaseMs,
    },
  });
}
