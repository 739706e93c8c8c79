/**
 * Does an environment fit its machines? CPU and memory requests of every pod (autoscaled
 * workloads at their maximum) placed on the nodes against what each node can allocate after k3s's
 * and the system's reservations, with room for one rolling update; and the volumes, kept on
 * Longhorn's replica count of disks, against the disks' usable share. Pure: the offline plan
 * feeds it the pods and volumes it registered (automation/capacity.ts).
 */
import { machineSize } from "./catalog";
import { LONGHORN_USABLE_SHARE, longhornReplicas } from "../rules/environment";
import type { NodeSpec } from "../config/schema";
import type { CapacityReport } from "../contract";

export type { CapacityReport };
import { quantityValue } from "../config/services";

export interface Resources {
  cpuMilli: number;
  memoryMi: number;
}

const MI = 2 ** 20;

/** A container's `resources.requests` as the check counts them (what is unset reserves nothing). */
export function requested(r: { cpu?: string; memory?: string } | undefined): Resources {
  return {
    cpuMilli: r?.cpu ? Math.round(quantityValue(r.cpu) * 1000) : 0,
    memoryMi: r?.memory ? Math.round(quantityValue(r.memory) / MI) : 0,
  };
}

/** Containers' requests added up, as one pod's. */
export function sumResources(rs: readonly Resources[]): Resources {
  return rs.reduce((a, b) => ({ cpuMilli: a.cpuMilli + b.cpuMilli, memoryMi: a.memoryMi + b.memoryMi }), { cpuMilli: 0, memoryMi: 0 });
}

/** One workload's pods: `count` of them, or one on every node (a DaemonSet, Longhorn's instance manager). */
export interface PodGroup {
  workload: string;
  requests: Resources;
  count: number | "every-node";
  /** Pods a rolling update adds on top (maxSurge). */
  surge: number;
}

export interface Volume {
  name: string;
  sizeGi: number;
}

/**
 * Reserved on every node before any pod, each with its source: k3s's own processes (k3s docs,
 * Reference › Resource Profiling: server with embedded etcd 1606 MB and 6% of a core, agent 275 MB
 * and 3% of a core, rounded up), the kubelet's default hard eviction threshold (memory.available
 * 100Mi), and the operating system (Ubuntu 24.04 with containerd's shims: our reserve).
 */
export const RESERVED = {
  k3sServer: { cpuMilli: 100, memoryMi: 1606 },
  k3sAgent: { cpuMilli: 50, memoryMi: 275 },
  evictionMi: 100,
  system: { cpuMilli: 100, memoryMi: 512 },
} as const;

/**
 * Pods the program does not declare itself (charts and k3s's packaged components), with their
 * requests as their manifests set them. Charts whose pods set no requests (cert-manager,
 * CloudNativePG's operator, the barman-cloud plugin, Longhorn's manager and CSI pods) reserve
 * nothing here, as the scheduler would.
 */
export const SYSTEM_PODS: PodGroup[] = [
  // k3s manifests/coredns.yaml and manifests/metrics-server: requests 100m CPU, 70Mi memory each.
  { workload: "kube-system/coredns", requests: { cpuMilli: 100, memoryMi: 70 }, count: 1, surge: 0 },
  { workload: "kube-system/metrics-server", requests: { cpuMilli: 100, memoryMi: 70 }, count: 1, surge: 0 },
];
/** Longhorn setting guaranteed-instance-manager-cpu (default 12): a share of each node's allocatable CPU. */
export const LONGHORN_INSTANCE_MANAGER_CPU_SHARE = 0.12;

type NodeFit = CapacityReport["nodes"][number];

function allocatable(node: NodeSpec): Resources {
  const size = machineSize(node) ?? { vcpu: 0, memoryGi: 0 };
  const k3s = node.role === "server" ? RESERVED.k3sServer : RESERVED.k3sAgent;
  const cpu = size.vcpu * 1000 - k3s.cpuMilli - RESERVED.system.cpuMilli;
  return {
    cpuMilli: Math.round(cpu - cpu * LONGHORN_INSTANCE_MANAGER_CPU_SHARE),
    memoryMi: size.memoryGi * 1024 - k3s.memoryMi - RESERVED.system.memoryMi - RESERVED.evictionMi,
  };
}

const machine = (n: NodeSpec) => (n.kind === "cloud" ? n.serverType : n.model);
const free = (f: NodeFit): Resources => ({
  cpuMilli: f.allocatable.cpuMilli - f.requested.cpuMilli,
  memoryMi: f.allocatable.memoryMi - f.requested.memoryMi,
});
const cpu = (m: number) => `${(m / 1000).toFixed(2)} vCPU`;
const mem = (m: number) => `${(m / 1024).toFixed(2)} GiB`;

/**
 * Pods placed as the scheduler would spread them: each workload's replicas one per node in turn,
 * the emptiest node first, largest workloads first; then a node over its allocatable is named
 * with its shortfall. Longhorn's instance manager is counted in each node's allocatable.
 */
export function checkCapacity(nodes: readonly NodeSpec[], groups: readonly PodGroup[], volumes: readonly Volume[]): CapacityReport {
  const fits: NodeFit[] = nodes.map((n) => ({
    node: n.name,
    machine: machine(n),
    allocatable: allocatable(n),
    requested: { cpuMilli: 0, memoryMi: 0 },
    pods: 0,
  }));
  const place = (f: NodeFit, r: Resources) => {
    f.requested.cpuMilli += r.cpuMilli;
    f.requested.memoryMi += r.memoryMi;
    f.pods++;
  };
  const all = [...SYSTEM_PODS, ...groups];
  for (const g of all.filter((x) => x.count === "every-node")) for (const f of fits) place(f, g.requests);
  const sized = all
    .filter((x) => x.count !== "every-node")
    .sort((a, b) => b.requests.memoryMi - a.requests.memoryMi || (a.workload < b.workload ? -1 : 1));
  for (const g of sized) {
    for (let i = 0; i < (g.count as number); i++) {
      const target = [...fits].sort((a, b) => free(b).memoryMi - free(a).memoryMi || (a.node < b.node ? -1 : 1))[0];
      if (target) place(target, g.requests);
    }
  }
  const problems: string[] = [];
  for (const f of fits) {
    const left = free(f);
    if (left.cpuMilli < 0 || left.memoryMi < 0)
      problems.push(
        `capacity: node ${f.node} (${f.machine}) is short by ${[left.cpuMilli < 0 && cpu(-left.cpuMilli), left.memoryMi < 0 && mem(-left.memoryMi)].filter(Boolean).join(" and ")}: ` +
          `its ${f.pods} pods request ${cpu(f.requested.cpuMilli)} and ${mem(f.requested.memoryMi)} of the ${cpu(f.allocatable.cpuMilli)} and ${mem(f.allocatable.memoryMi)} it can allocate`,
      );
  }
  const surging = groups
    .filter((g) => g.surge > 0)
    .sort((a, b) => b.requests.memoryMi - a.requests.memoryMi || b.requests.cpuMilli - a.requests.cpuMilli)[0];
  let surge: CapacityReport["surge"];
  if (surging && problems.length === 0) {
    const room = fits.find((f) => free(f).cpuMilli >= surging.requests.cpuMilli && free(f).memoryMi >= surging.requests.memoryMi);
    surge = { workload: surging.workload, requests: surging.requests, fitsOn: room?.node };
    if (!room)
      problems.push(
        `capacity: no node has room for a rolling update of ${surging.workload} (one more pod: ${cpu(surging.requests.cpuMilli)}, ${mem(surging.requests.memoryMi)}); ` +
          `the most free is ${fits.map((f) => `${f.node} ${cpu(free(f).cpuMilli)}, ${mem(free(f).memoryMi)}`).join("; ")}`,
      );
  }
  const replicas = longhornReplicas(nodes.length);
  const neededGi = volumes.reduce((sum, v) => sum + v.sizeGi, 0) * replicas;
  const usableGi = Math.floor(nodes.reduce((sum, n) => sum + (machineSize(n)?.diskGi ?? 0), 0) * LONGHORN_USABLE_SHARE);
  if (neededGi > usableGi)
    problems.push(
      `capacity: the volumes need ${neededGi} GiB of disk (kept ${replicas}×: ${volumes.map((v) => `${v.name} ${v.sizeGi} GiB`).join(", ")}), the nodes have ${usableGi} GiB usable`,
    );
  return { nodes: fits, surge, disk: { neededGi, usableGi, replicas }, problems };
}

export function describeCapacity(r: CapacityReport): string[] {
  return [
    ...r.nodes.map(
      (f) =>
        `  ${f.node.padEnd(12)} ${f.machine.padEnd(10)} ${String(f.pods).padStart(3)} pods: ${cpu(f.requested.cpuMilli)} of ${cpu(f.allocatable.cpuMilli)}, ${mem(f.requested.memoryMi)} of ${mem(f.allocatable.memoryMi)}`,
    ),
    ...(r.surge
      ? [`  rolling update room: ${r.surge.workload} +1 pod ${r.surge.fitsOn ? `fits on ${r.surge.fitsOn}` : "fits nowhere"}`]
      : []),
    `  disk: ${r.disk.neededGi} GiB of volumes (×${r.disk.replicas}) of ${r.disk.usableGi} GiB usable`,
  ];
}
