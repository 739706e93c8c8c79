/** Rules that span config keys: what must fit together before anything is registered. */
import { DEDICATED_MODELS, LOCATIONS, SERVER_TYPES, machineSize } from "../cost/catalog";
import { FIRST_NODE_HOST, K3S_CIDRS, MAX_NODES_PER_NETWORK } from "../names";
import { cidrContains, cidrsOverlap, parseCidr } from "../net";
import { repeats } from "../config/validators";
import { observabilityVolumesGi, resolveObservability } from "../observability/config";
import { K3S_MINOR_END_OF_LIFE, K3S_RELEASES_AS_OF } from "../pins";
import {
  EXTERNAL_URLS_KEY,
  NAMESPACE,
  SECRET_CONFIG_KEYS,
  SMTP_PASSWORD_KEY,
  keyPath,
  type CloudNode,
  type NodeEntry,
  type NodeSpec,
  type Parsed,
} from "../config/schema";

export function checkNetwork(network: { ipRange: string; subnet: string }): string[] {
  const range = parseCidr(network.ipRange);
  const subnet = parseCidr(network.subnet);
  if (!range || !subnet) return [];
  const problems = cidrContains(network.ipRange, network.subnet)
    ? []
    : [`${NAMESPACE}:network.subnet: ${network.subnet} is not inside ipRange ${network.ipRange}`];
  for (const [what, cluster] of Object.entries(K3S_CIDRS)) {
    if (cidrsOverlap(network.ipRange, cluster))
      problems.push(`${NAMESPACE}:network.ipRange: ${network.ipRange} overlaps k3s's ${what} CIDR ${cluster}`);
  }
  return problems;
}

/** How many machines the entries describe in all, counted before any pool is expanded. */
export function checkNodeCount(entries: NodeEntry[]): string[] {
  const total = entries.reduce((n, e) => n + (e.kind === "cloud" ? e.count : 1), 0);
  return total > MAX_NODES_PER_NETWORK
    ? [`${NAMESPACE}:nodes: ${total} nodes in all exceed Hetzner's ${MAX_NODES_PER_NETWORK} per private network`]
    : [];
}

const MAX_LONGHORN_REPLICAS = 3;

/** The largest node's memory, GiB (what picks observability's default size). */
export function largestNodeMemoryGi(nodes: readonly NodeSpec[]): number {
  return Math.max(0, ...nodes.map((n) => machineSize(n)?.memoryGi ?? 0));
}

/** min(3, nodes): Longhorn will not schedule more replicas of a volume than there are nodes. */
export function longhornReplicas(nodeCount: number): number {
  return Math.max(1, Math.min(MAX_LONGHORN_REPLICAS, nodeCount));
}

/** Longhorn keeps 25% of each disk free by default (storage-minimal-available-percentage). */
export const LONGHORN_USABLE_SHARE = 0.75;

/**
 * The volumes the data layer asks Longhorn for, each kept on min(3, nodes) disks, against what the
 * nodes' disks can hold: a size that passes its own bound can still not fit the machines.
 */
export function checkStorage(parsed: Parsed, nodes: NodeSpec[]): string[] {
  if (nodes.length === 0 || !parsed.postgres || !parsed.redis) return [];
  const disk = nodes.reduce((sum, n) => sum + (machineSize(n)?.diskGi ?? 0), 0);
  if (disk === 0) return [];
  const pg = parsed.postgres.mode === "in-cluster" ? parsed.postgres.instances * parsed.postgres.storageGi : 0;
  const redis = (parsed.redis.mode === "sentinel" ? 3 : 1) * parsed.redis.storageGi;
  // Only the volumes count here, not Grafana's hostname: any domain will do.
  const observability = parsed.observability
    ? observabilityVolumesGi(resolveObservability(parsed.observability, largestNodeMemoryGi(nodes), parsed.domain ?? ""))
    : 0;
  const replicas = longhornReplicas(nodes.length);
  const needed = (pg + redis + observability) * replicas;
  const usable = Math.floor(disk * LONGHORN_USABLE_SHARE);
  if (needed <= usable) return [];
  // Name the key that tipped it: observability's volumes when the data layer fits without them.
  const key =
    observability > 0 && (pg + redis) * replicas <= usable
      ? `${NAMESPACE}:observability.storageGi`
      : parsed.postgres.mode === "in-cluster"
        ? `${NAMESPACE}:postgres.storageGi`
        : `${NAMESPACE}:redis.storageGi`;
  return [
    `${key}: the volumes need ${needed} GiB of disk (PostgreSQL ${pg} GiB + Redis ${redis} GiB${observability ? ` + observability ${observability} GiB` : ""}, kept ${replicas}×), the nodes have ${usable} GiB usable (${LONGHORN_USABLE_SHARE * 100}% of ${disk} GiB)`,
  ];
}

/**
 * A pool's preference list: every location known, none twice, all in the first one's network zone, since a
 * server that falls back to a later location joins the same private network (one network zone).
 */
function checkPoolLocations(locations: readonly string[], at: (index: number) => string): string[] {
  const problems: string[] = [];
  const zone = LOCATIONS[locations[0]];
  locations.forEach((location, j) => {
    const own = LOCATIONS[location];
    if (!own) problems.push(`${at(j)}: unknown location "${location}" (known: ${Object.keys(LOCATIONS).join(", ")})`);
    else if (zone && own !== zone)
      problems.push(
        `${at(j)}: ${location} is in network zone ${own}, not ${zone} like the pool's first location ${locations[0]}; one private network covers one zone`,
      );
  });
  for (const { index, first } of repeats(locations, (l) => l))
    problems.push(`${at(index)}: ${locations[index]} repeats ${at(first)}: a fallback to the same location is no fallback`);
  return problems;
}

export function checkNodes(entries: NodeEntry[], nodes: NodeSpec[], subnet: string, hasSshPublicKey: boolean): string[] {
  const problems: string[] = [];
  const at = (i: number, ...field: (string | number)[]) => keyPath(["nodes", i, ...field]);
  entries.forEach((e, i) => {
    if (e.kind === "dedicated") {
      if (!DEDICATED_MODELS[e.model])
        problems.push(`${at(i, "model")}: unknown dedicated model "${e.model}" (known: ${Object.keys(DEDICATED_MODELS).join(", ")})`);
      return;
    }
    const type = SERVER_TYPES[e.serverType];
    if (!type) problems.push(`${at(i, "serverType")}: unknown server type "${e.serverType}"`);
    problems.push(...checkPoolLocations(e.locations, (j) => at(i, "locations", j)));
    const eu = e.locations.filter((l) => LOCATIONS[l] === "eu-central");
    if (type && eu.length > 0 && !type.soldInEu) {
      problems.push(
        `${at(i, "serverType")}: "${e.serverType}" is no longer sold in EU locations (${eu.join(", ")}); use ${type.successor}`,
      );
    }
  });

  const seen = new Map<string, number>();
  for (const n of nodes) seen.set(n.name, (seen.get(n.name) ?? 0) + 1);
  for (const [name, count] of seen) if (count > 1) problems.push(`${NAMESPACE}:nodes: node name "${name}" is used ${count} times`);
  const hosts = nodes.flatMap((n) => (n.kind === "dedicated" ? [n.host] : []));
  for (const h of new Set(hosts))
    if (hosts.filter((x) => x === h).length > 1) problems.push(`${NAMESPACE}:nodes: host ${h} is listed more than once`);

  const servers = nodes.filter((n) => n.role === "server").length;
  if (servers === 0) problems.push(`${NAMESPACE}:nodes: needs at least one node with role "server"`);
  if (servers > 1 && servers % 2 === 0) {
    problems.push(`${NAMESPACE}:nodes: ${servers} servers cannot keep etcd quorum when one fails; use an odd number (1, 3, 5)`);
  }

  const cloud = nodes.filter((n): n is CloudNode => n.kind === "cloud");
  if (cloud.length > 0 && cloud.length < nodes.length) {
    problems.push(`${NAMESPACE}:nodes: cloud and dedicated nodes cannot share a cluster (no private network joins them)`);
  }
  const zones = new Set(cloud.map((n) => LOCATIONS[n.location]).filter(Boolean));
  if (zones.size > 1)
    problems.push(`${NAMESPACE}:nodes: locations span network zones ${[...zones].join(", ")}; one private network covers one zone`);
  // Addresses follow config order, so the highest is FIRST_NODE_HOST + count - 1; the subnet's last address is its broadcast.
  const size = parseCidr(subnet) ? 2 ** (32 - parseCidr(subnet)!.prefix) : Infinity;
  if (cloud.length > 0 && FIRST_NODE_HOST + cloud.length - 1 > size - 2) {
    problems.push(`${NAMESPACE}:network.subnet: ${subnet} has no room for ${cloud.length} nodes (addresses start at .${FIRST_NODE_HOST})`);
  }
  const first = nodes[0];
  if (first?.kind === "cloud" && !first.publicIpv4) {
    problems.push(
      `${NAMESPACE}:nodes: the first server (${first.name}) needs publicIpv4: it is the API endpoint, SSH jump host and NAT gateway`,
    );
  }
  if (cloud.length > 0 && !hasSshPublicKey)
    problems.push(`${NAMESPACE}:sshPublicKey: is required when cloud nodes are created (their root login key)`);
  return problems;
}

/** Secrets a real `pulumi up` of this config reads: fixed ones, plus what the node kinds, the database mode and SMTP need. */
export function secretKeysFor(nodes: readonly unknown[], postgresMode: unknown, smtp: boolean): string[] {
  const keys: string[] = [...SECRET_CONFIG_KEYS.map((k) => `${NAMESPACE}:${k}`), "cloudflare:apiToken"];
  if (nodes.some((n) => (n as { kind?: unknown } | null)?.kind === "cloud")) keys.push("hcloud:token");
  if (postgresMode === "external") keys.push(EXTERNAL_URLS_KEY);
  if (smtp) keys.push(SMTP_PASSWORD_KEY);
  return keys.sort();
}

/**
 * A k3s minor past its upstream end of life, as of the day the release table was read: warned
 * about, since a running cluster leaves it only by stepping one minor at a time.
 */
export function k3sSupportWarnings(version: string): string[] {
  const minor = /^v(1\.\d+)\./.exec(version)?.[1];
  const end = minor ? K3S_MINOR_END_OF_LIFE[minor] : undefined;
  if (!end || end >= K3S_RELEASES_AS_OF) return [];
  return [
    `${NAMESPACE}:k3s.version: k3s ${minor} left upstream support on ${end} (as of ${K3S_RELEASES_AS_OF}); upgrade one minor at a time to a supported one (docs/runbooks/upgrades.md#upgrading-k3s)`,
  ];
}
