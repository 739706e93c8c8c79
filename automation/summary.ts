/** The plan's human summary: what would be built, where, for how much. */
import { describeCapacity, type CapacityReport } from "../model/cost/capacity";
import { budgetFor, describeBudget } from "../model/rules/connectionBudget";
import type { CostReport } from "../model/cost/bill";
import { DATABASES } from "../model/names";
import { OBS_PORTS } from "../model/observability/config";
import { CHARTS } from "../model/pins";
import type { Environment } from "../model/config/schema";
import { SPEC_DIR } from "../model/config/services";
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

const MONITORING_TYPES: Record<string, string> = {
  "kubernetes:monitoring.coreos.com/v1:PodMonitor": "PodMonitor",
  "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": "ServiceMonitor",
  "kubernetes:monitoring.coreos.com/v1:Probe": "Probe",
};

/** What is watched, what alerts and where alerts go, from what the plan registered. */
export function describeObservability(result: PlanResult, env: Environment): string[] {
  const o = env.observability;
  if (!o) return ["Observability: off (enclii:observability.enabled: false)"];
  interface Planned {
    metadata: { name: string; labels?: Record<string, string> };
    data: Record<string, string>;
    spec: {
      targets: { staticConfig: { static: string[] } };
      namespaceSelector: { matchNames: string[] };
      groups: { rules: { alert?: string }[] }[];
    };
  }
  const of = (type: string) => result.resources.filter((r) => r.type === type).map((r) => r.inputs as unknown as Planned);
  const targets = Object.entries(MONITORING_TYPES).flatMap(([type, kind]) =>
    of(type).map((m) =>
      kind === "Probe"
        ? `${kind} ${m.metadata.name}: ${m.spec.targets.staticConfig.static.join(", ")}`
        : `${kind} ${m.metadata.name} → ${m.spec.namespaceSelector.matchNames.join(", ")}`,
    ),
  );
  const rules = of("kubernetes:monitoring.coreos.com/v1:PrometheusRule").flatMap((r) => r.spec.groups);
  const alerts = [...new Set(rules.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))))];
  const dashboards = of("kubernetes:core/v1:ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard);
  const kps = result.resources.find(
    (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === CHARTS.kubePrometheusStack.chart,
  );
  const etcd = ((kps?.inputs.values as { kubeEtcd?: { endpoints?: string[] } } | undefined)?.kubeEtcd?.endpoints ?? []).map(
    (ip) => `${ip}:${OBS_PORTS.etcdMetrics}`,
  );
  return [
    `Observability (${o.profile}, namespace monitoring): metrics ${o.retentionDays.metrics} d / ${o.storageGi.metrics} GiB` +
      `${o.logs ? `, logs ${o.retentionDays.logs} d / ${o.storageGi.logs} GiB` : ", no logs"}` +
      `${o.traces ? `, traces ${o.retentionDays.traces} d / ${o.storageGi.traces} GiB` : ", no traces"}`,
    `  Grafana: ${o.grafana ? `https://${o.grafana.hostname} behind Cloudflare Access (${[...o.grafana.allowedEmails, ...o.grafana.allowedEmailDomains.map((d) => `*@${d}`)].join(", ")})` : "not exposed (kubectl port-forward)"}`,
    `  paging: ${o.paging ? "enclii:paging (critical pages, warnings open low-urgency incidents)" : "none: alerts stay in Alertmanager (set enclii:paging)"}`,
    `  scrape targets (${targets.length}):`,
    ...targets.map((t) => `    ${t}`),
    `    and the chart's own: the API server, every kubelet (cAdvisor, probes), embedded etcd at ${etcd.join(", ")}, CoreDNS, node-exporter, kube-state-metrics (with k3s's ETCDSnapshotFiles), Prometheus, Alertmanager, Grafana, the operator`,
    `  alerts (${alerts.length}): ${alerts.join(", ")}`,
    `  dashboards (${dashboards.length}): ${dashboards.map((d) => Object.keys(d.data)[0]).join(", ")}`,
  ];
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
        ? `  ${n.name.padEnd(12)} ${n.role.padEnd(7)} cloud ${n.serverType} created in ${n.location}${n.fallbacks.length > 0 ? ` (fallbacks ${n.fallbacks.join(", ")})` : ""}, private ${n.privateIp}${n.publicIpv4 ? ", public IPv4" : ", no public IPv4"}`
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
    ...describeObservability(result, env),
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
