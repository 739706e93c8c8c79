/** The plan's human summary: what would be built, where, for how much. */
import { describeCapacity, type CapacityReport } from "../model/capacity";
import { budgetFor, describeBudget } from "../model/connectionBudget";
import type { CostReport } from "../model/cost";
import { DATABASES } from "../model/names";
import type { Environment } from "../model/schema";
import { SPEC_DIR } from "../model/services";
import { isKubernetesObject } from "./files";
import type { PlanResource, PlanResult } from "./plan";

const COMPONENT = /^enclii:/;
const TUNNEL_CONFIG = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig";

function plannedIngress(result: PlanResult): { hostname?: string; service: string }[] {
  const config = result.resources.find((r) => r.type === TUNNEL_CONFIG)?.inputs.config as
    { ingresses?: { hostname?: string; service: string }[] } | undefined;
  return config?.ingresses ?? [];
}

function byComponent(resources: PlanResource[]): string[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const owner = (r: PlanResource): PlanResource | undefined => {
    let p = r.parent ? byUrn.get(r.parent) : undefined;
    while (p && !COMPONENT.test(p.type)) p = p.parent ? byUrn.get(p.parent) : undefined;
    return p;
  };
  const groups = new Map<string, Map<string, number>>();
  for (const r of resources) {
    if (COMPONENT.test(r.type) || r.type === "pulumi:pulumi:Stack") continue;
    const o = owner(r);
    const key = o ? `${o.name} (${o.type})` : "(stack)";
    const types = groups.get(key) ?? new Map<string, number>();
    types.set(r.type, (types.get(r.type) ?? 0) + 1);
    groups.set(key, types);
  }
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([key, types]) => [`  ${key}`, ...[...types].sort().map(([t, n]) => `    ${String(n).padStart(3)} × ${t}`)]);
}

/** What the plan judges besides the resources: the whole bill and whether it fits the machines. */
export interface Verdicts {
  cost: CostReport;
  capacity: CapacityReport;
}

/** What `enclii:adopt` takes over: one line each, so the operator checks the ids before the first update. */
function adopted(resources: PlanResource[]): string[] {
  const taken = resources.filter((r) => r.import);
  return taken.length === 0
    ? []
    : [`  adopted, not created (${taken.length}):`, ...taken.map((r) => `    ${r.type} ${r.name} ← ${r.import}`)];
}

export function summarize(result: PlanResult, env: Environment, placeholders: string[], { cost, capacity }: Verdicts): string {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const custom = result.resources.filter((r) => !COMPONENT.test(r.type) && r.type !== "pulumi:pulumi:Stack");
  const lines = [
    `Offline plan for stack "${result.stack}" (${env.domain}) — nothing was created`,
    "",
    `Resources: ${custom.length} (${result.resources.filter((r) => r.protect).length} protected), by component:`,
    ...adopted(result.resources),
    ...byComponent(result.resources),
    "",
    "Nodes:",
    ...env.nodes.map((n) =>
      n.kind === "cloud"
        ? `  ${n.name.padEnd(12)} ${n.role.padEnd(7)} cloud ${n.serverType} in ${n.location}, private ${n.privateIp}${n.publicIpv4 ? ", public IPv4" : ", no public IPv4"}`
        : `  ${n.name.padEnd(12)} ${n.role.padEnd(7)} dedicated ${n.model} at ${n.host}`,
    ),
    `  k3s ${env.k3s.version}; Kubernetes objects: ${result.resources.filter(isKubernetesObject).length}`,
    "",
    `Services (${SPEC_DIR}/, with enclii:services overrides):`,
    ...env.services.map(
      (s) =>
        `  ${s.name.padEnd(16)} ${`×${s.replicas}${s.autoscaling ? `–${s.autoscaling.maxReplicas}` : ""}`.padEnd(6)} ${(s.hostnames.join(", ") || "(no route)").padEnd(28)} ${s.image}`,
    ),
    "",
    "Hostnames → services (tunnel ingress, in order):",
    ...plannedIngress(result).map((i) => `  ${(i.hostname ?? "(anything else)").padEnd(32)} → ${i.service}`),
    "",
    `Data: PostgreSQL ${env.postgres.mode === "in-cluster" ? `in-cluster (CloudNativePG, ${env.postgres.instances} instance(s), ${env.postgres.storageGi} GiB, backups kept ${env.postgres.backupRetentionDays} days)` : `external at ${env.postgres.host}:${env.postgres.port}`} behind PgBouncer; Redis ${env.redis.mode}`,
    `  connection budget: ${describeBudget(budgetFor(env.postgres, env.nodes.length, DATABASES.length))}`,
    "",
    "Cost per month:",
    ...cost.lines.map(
      (l) =>
        `  ${usd(l.monthlyUsd).padStart(9)}  ${l.item}${l.count > 1 ? ` × ${l.count}` : ""}${l.unpriced ? " (UNPRICED)" : ""} [${l.source}]`,
    ),
    `  ${usd(cost.monthlyUsd).padStart(9)}  total${cost.budgetUsd !== undefined ? ` of ${usd(cost.budgetUsd)} budget${cost.overBudget ? " — OVER BUDGET" : ""}` : ""}`,
    "",
    `Capacity (${cost.capacity.vcpu} vCPU, ${cost.capacity.memoryGi} GiB memory, ${cost.capacity.diskGi} GiB disk; requests, autoscaled at their maximum):`,
    ...describeCapacity(capacity),
    "",
    placeholders.length > 0
      ? `Secrets a real \`pulumi up\` still needs (placeholders here): ${placeholders.join(", ")}`
      : "Secrets: all set in the stack file",
  ];
  return `${lines.join("\n")}\n`;
}
