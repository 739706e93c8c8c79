/**
 * Every Kubernetes object the program renders, for the real API server (`npm run cluster-check`,
 * test/cluster.real.test.ts): the manifests of production, staging, the HA and external examples
 * and a tenant shard through the offline plan runner; the objects the k3s bootstrap applies over
 * SSH (heredocs fed to `kubectl apply` in the plan's remote commands); the restore drill's
 * objects. Helm chart Releases are listed, not rendered: their charts are not in the repository.
 */
import { join } from "node:path";
import { parseAllDocuments, parse } from "yaml";
import { planFiles } from "../automation/files";
import { PLAN_ORGANIZATION, runPlan, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { drillObjects } from "../automation/drill";
import { TENANTS_KEY, TENANTS_PROJECT, platformStackName } from "../model/config/tenants";
import { parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { tenantsProgram } from "../stacks/tenants";
import { makeTenants, placeAll } from "./tenantShards";
import { FAKE_RUN_TOKEN } from "../automation/mocks";

const ROOT = join(__dirname, "..");

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered {
  /** Where it came from: `manifests/<ns>/<kind>-<name>.yaml`, `bootstrap: <command>` or `drill`. */
  source: string;
  object: KubeObject;
}

export interface Release {
  chart: string;
  namespace: string;
}

export interface StackObjects {
  stack: string;
  /** A tenant shard's platform stack: the shard's objects go into that stack's cluster, beside its objects. */
  platform?: string;
  objects: Rendered[];
  /** Helm charts the stack installs: not rendered offline, so not applied (and their RBAC not judged). */
  releases: Release[];
}

/** The platform stacks: the two environments and the two examples, as test/stack-suite.ts plans them. */
export const STACK_FILES: Record<string, string> = {
  production: "Pulumi.production.yaml",
  staging: "Pulumi.staging.yaml",
  ha: "examples/Pulumi.ha.yaml",
  external: "examples/Pulumi.external.yaml",
};
/** The shard planned on staging (the environment with custom hostnames): enough tenants to show the pattern. */
const SHARD_ENVIRONMENT = "staging";
const SHARD_TENANTS = 3;

/** `kubectl apply -f - <<'TAG' … TAG` in a remote command's script: the objects it applies. */
const APPLY_HEREDOC = /kubectl apply -f - [^\n]*<<'(\w+)'\n([\s\S]*?)\n\1\n/g;

function scriptObjects(plan: PlanResult): Rendered[] {
  const out: Rendered[] = [];
  for (const r of plan.resources.filter((x) => x.type === "command:remote:Command")) {
    for (const m of String(r.inputs.create ?? "").matchAll(APPLY_HEREDOC)) {
      for (const doc of parseAllDocuments(m[2])) {
        if (doc.errors.length > 0) throw new Error(`${r.name}: the manifest it applies does not parse: ${doc.errors[0].message}`);
        out.push({ source: `bootstrap: ${r.name}`, object: doc.toJS() as KubeObject });
      }
    }
  }
  return out;
}

function planObjects(plan: PlanResult): Rendered[] {
  return [...planFiles(plan)]
    .filter(([path]) => path.startsWith("manifests/"))
    .map(([path, text]) => ({ source: path, object: parse(text) as KubeObject }));
}

function releases(plan: PlanResult): Release[] {
  return plan.resources
    .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
    .map((r) => ({ chart: String(r.inputs.chart), namespace: String(r.inputs.namespace) }));
}

/**
 * Plans every stack, one after another (the plan runner's state is global); a shard right after
 * its platform, with `shardTenants` tenants.
 */
export async function renderStacks(shardTenants = SHARD_TENANTS): Promise<StackObjects[]> {
  const out: StackObjects[] = [];
  let shardPlatform: PlanResult | undefined;
  for (const [stack, file] of Object.entries(STACK_FILES)) {
    const cfg = loadStackConfig(join(ROOT, file));
    const plan = await runPlan(stack, cfg);
    if (stack === SHARD_ENVIRONMENT) shardPlatform = plan;
    const env = parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
    // The drill's throw-away cluster and pooler, named as the drill names them (`<cluster>-drill-<time>`).
    const drillName = env.postgres.mode === "in-cluster" ? `${env.postgres.clusterName}-drill-check` : "";
    const drill = drillObjects(env, drillName).map((object) => ({ source: "drill", object: object as KubeObject }));
    out.push({ stack, objects: [...planObjects(plan), ...scriptObjects(plan), ...drill], releases: releases(plan) });
  }
  const [shard] = placeAll(SHARD_ENVIRONMENT, makeTenants(shardTenants));
  const raw = { [TENANTS_KEY]: JSON.stringify(shard.tenants) };
  const plan = await runPlan(shard.stack, { config: raw, secretKeys: [] }, () => tenantsProgram(undefined, FAKE_RUN_TOKEN), {
    project: TENANTS_PROJECT,
    stackOutputs: { [platformStackName(raw, SHARD_ENVIRONMENT, PLAN_ORGANIZATION)]: shardPlatform!.outputs },
  });
  const at = out.findIndex((s) => s.stack === SHARD_ENVIRONMENT) + 1;
  out.splice(at, 0, { stack: shard.stack, platform: SHARD_ENVIRONMENT, objects: planObjects(plan), releases: releases(plan) });
  return out;
}
