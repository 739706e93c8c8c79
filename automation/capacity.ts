/**
 * The pods and volumes an offline plan registers, for the capacity check (model/cost/capacity.ts):
 * Deployments (at their HorizontalPodAutoscaler's maximum when one targets them), StatefulSets,
 * DaemonSets, CloudNativePG Clusters and Poolers, and the Helm releases the program sizes; volumes
 * from the Clusters' storage, the StatefulSets' claim templates and those releases' volumes.
 */
import { chartWorkloads } from "../model/cost/chartPods";
import {
  checkCapacity,
  requested,
  sumResources,
  type CapacityReport,
  type PodGroup,
  type Resources,
  type Volume,
} from "../model/cost/capacity";
import type { Environment } from "../model/config/schema";
import { quantityValue } from "../model/config/services";
import type { PlanResource } from "./plan";

interface Container {
  resources?: { requests?: { cpu?: string; memory?: string } };
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
}
type Obj = Record<string, unknown> & { metadata?: { name?: string; namespace?: string }; spec?: Record<string, unknown> };

const GI = 2 ** 30;

const requestsOf = (c: Container | undefined): Resources => requested(c?.resources?.requests);

/** A pod's requests: its containers together, or its largest init container if that is more. */
function podRequests(spec: PodSpec | undefined): Resources {
  const sum = sumResources((spec?.containers ?? []).map(requestsOf));
  const init = (spec?.initContainers ?? []).map(requestsOf);
  return {
    cpuMilli: Math.max(sum.cpuMilli, ...init.map((r) => r.cpuMilli)),
    memoryMi: Math.max(sum.memoryMi, ...init.map((r) => r.memoryMi)),
  };
}

const id = (o: Obj, fallback: string) => `${o.metadata?.namespace ?? "_cluster"}/${o.metadata?.name ?? fallback}`;
const num = (v: unknown, d: number) => (typeof v === "number" ? v : d);

export function plannedWorkloads(resources: readonly PlanResource[]): { groups: PodGroup[]; volumes: Volume[] } {
  const of = (type: string) => resources.filter((r) => r.type === type).map((r) => ({ r, o: r.inputs as Obj }));
  const hpaMax = new Map<string, number>();
  for (const { o } of of("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")) {
    const ref = o.spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
    if (ref?.kind === "Deployment") hpaMax.set(`${o.metadata?.namespace}/${ref.name}`, num(o.spec?.maxReplicas, 1));
  }
  const groups: PodGroup[] = [];
  const volumes: Volume[] = [];
  for (const { r, o } of of("kubernetes:apps/v1:Deployment")) {
    const workload = id(o, r.name);
    const strategy = o.spec?.strategy as { rollingUpdate?: { maxSurge?: unknown } } | undefined;
    const surge = typeof strategy?.rollingUpdate?.maxSurge === "number" ? strategy.rollingUpdate.maxSurge : 1;
    const template = o.spec?.template as { spec?: PodSpec } | undefined;
    groups.push({ workload, requests: podRequests(template?.spec), count: hpaMax.get(workload) ?? num(o.spec?.replicas, 1), surge });
  }
  for (const { r, o } of of("kubernetes:apps/v1:StatefulSet")) {
    const count = num(o.spec?.replicas, 1);
    groups.push({ workload: id(o, r.name), requests: podRequests((o.spec?.template as { spec?: PodSpec })?.spec), count, surge: 0 });
    for (const t of (o.spec?.volumeClaimTemplates as Obj[] | undefined) ?? []) {
      const size = (t.spec as { resources?: { requests?: { storage?: string } } })?.resources?.requests?.storage;
      if (size)
        for (let i = 0; i < count; i++)
          volumes.push({ name: `${id(o, r.name)}-${t.metadata?.name}-${i}`, sizeGi: quantityValue(size) / GI });
    }
  }
  for (const { r, o } of of("kubernetes:apps/v1:DaemonSet"))
    groups.push({
      workload: id(o, r.name),
      requests: podRequests((o.spec?.template as { spec?: PodSpec })?.spec),
      count: "every-node",
      surge: 0,
    });
  for (const { r, o } of of("kubernetes:postgresql.cnpg.io/v1:Cluster")) {
    const instances = num(o.spec?.instances, 1);
    groups.push({
      workload: id(o, r.name),
      requests: requestsOf({ resources: o.spec?.resources as Container["resources"] }),
      count: instances,
      surge: 0,
    });
    const size = (o.spec?.storage as { size?: string } | undefined)?.size;
    if (size) for (let i = 0; i < instances; i++) volumes.push({ name: `${id(o, r.name)}-${i + 1}`, sizeGi: quantityValue(size) / GI });
  }
  for (const { r, o } of of("kubernetes:postgresql.cnpg.io/v1:Pooler")) {
    const template = o.spec?.template as { spec?: PodSpec } | undefined;
    groups.push({ workload: id(o, r.name), requests: podRequests(template?.spec), count: num(o.spec?.instances, 1), surge: 1 });
  }
  // Helm releases: the charts the program sizes (observability), read back from their values.
  for (const { o } of of("kubernetes:helm.sh/v3:Release")) {
    const chart = chartWorkloads(String(o.chart ?? ""), String(o.namespace ?? ""), o.values);
    groups.push(...chart.groups);
    volumes.push(...chart.volumes);
  }
  return { groups, volumes };
}

export function planCapacity(resources: readonly PlanResource[], env: Environment): CapacityReport {
  const { groups, volumes } = plannedWorkloads(resources);
  return checkCapacity(env.nodes, groups, volumes);
}
