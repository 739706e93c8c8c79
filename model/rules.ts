/** Rules that span config keys: what must fit together before anything is registered. */
import { DEDICATED_MODELS, LOCATIONS, SERVER_TYPES } from "./catalog";
import { DATABASES, FIRST_NODE_HOST, K3S_CIDRS, MAX_NODES_PER_NETWORK } from "./names";
import { cidrContains, cidrsOverlap, parseCidr } from "./net";
import { tenantRoutes, validateRoutes } from "./routes";
import {
  EXTERNAL_URLS_KEY,
  NAMESPACE,
  SECRET_CONFIG_KEYS,
  SMTP_PASSWORD_KEY,
  decode,
  keyPath,
  type CloudNode,
  type NodeEntry,
  type NodeSpec,
  type Parsed,
} from "./schema";

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

export function checkNodes(entries: NodeEntry[], nodes: NodeSpec[], subnet: string, hasSshPublicKey: boolean): string[] {
  const problems: string[] = [];
  const at = (i: number, field?: string) => keyPath(field ? ["nodes", i, field] : ["nodes", i]);
  entries.forEach((e, i) => {
    if (e.kind === "dedicated") {
      if (!DEDICATED_MODELS[e.model])
        problems.push(`${at(i, "model")}: unknown dedicated model "${e.model}" (known: ${Object.keys(DEDICATED_MODELS).join(", ")})`);
      return;
    }
    const type = SERVER_TYPES[e.serverType];
    const zone = LOCATIONS[e.location];
    if (!type) problems.push(`${at(i, "serverType")}: unknown server type "${e.serverType}"`);
    if (!zone) problems.push(`${at(i, "location")}: unknown location "${e.location}" (known: ${Object.keys(LOCATIONS).join(", ")})`);
    if (type && zone === "eu-central" && !type.soldInEu) {
      problems.push(`${at(i, "serverType")}: "${e.serverType}" is no longer sold in EU locations (${e.location}); use ${type.successor}`);
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
  if (cloud.length > MAX_NODES_PER_NETWORK)
    problems.push(`${NAMESPACE}:nodes: ${cloud.length} cloud servers exceed Hetzner's ${MAX_NODES_PER_NETWORK} per private network`);
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

/** Data-layer rules: what must fit the node count, and external URLs checked without echoing them. */
export function checkData(parsed: Parsed, nodeCount: number, externalUrls: string | undefined): string[] {
  const problems: string[] = [];
  const pg = parsed.postgres;
  if (pg?.mode === "in-cluster" && nodeCount > 0 && pg.instances > nodeCount) {
    problems.push(`${NAMESPACE}:postgres.instances: ${pg.instances} instances need as many nodes (have ${nodeCount})`);
  }
  if (pg?.mode === "in-cluster" && pg.restore?.fromCluster === pg.clusterName) {
    problems.push(`${NAMESPACE}:postgres.restore.fromCluster: restore into a new clusterName, not over "${pg.clusterName}" itself`);
  }
  if (parsed.redis?.mode === "sentinel" && nodeCount > 0 && nodeCount < 3) {
    problems.push(`${NAMESPACE}:redis.mode: sentinel needs 3 schedulable nodes for 3 Redis and 3 Sentinels (have ${nodeCount})`);
  }
  if (pg?.mode === "external" && externalUrls !== undefined) {
    const urls = decode(externalUrls) as Record<string, unknown> | null;
    const passwords = new Map<string, string>();
    for (const db of DATABASES) {
      const url = urls && typeof urls === "object" ? urls[db] : undefined;
      if (typeof url !== "string") problems.push(`${EXTERNAL_URLS_KEY}.${db}: is required (a postgres:// URL)`);
      else if (!isPostgresUrl(url)) problems.push(`${EXTERNAL_URLS_KEY}.${db}: must be postgres://user:password@host:port/database`);
      else {
        const { username, password } = new URL(url);
        if (passwords.has(username) && passwords.get(username) !== password) {
          problems.push(`${EXTERNAL_URLS_KEY}.${db}: user "${decodeURIComponent(username)}" has a different password in another URL`);
        }
        passwords.set(username, password);
      }
    }
  }
  return problems;
}

function isPostgresUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (
      (u.protocol === "postgres:" || u.protocol === "postgresql:") &&
      u.username !== "" &&
      u.password !== "" &&
      u.hostname !== "" &&
      u.pathname.length > 1
    );
  } catch {
    return false;
  }
}

/** Tenant names unique; hostnames unique, valid and outside our own zone (routes.ts has the rules). */
export function checkTenants(parsed: Parsed): string[] {
  const tenants = parsed.tenants ?? [];
  const problems: string[] = [];
  const names = tenants.map((t) => t.name);
  for (const n of new Set(names))
    if (names.filter((x) => x === n).length > 1) problems.push(`${NAMESPACE}:tenants: tenant name "${n}" is used more than once`);
  if (parsed.domain) problems.push(...validateRoutes([], parsed.domain, tenantRoutes(tenants)).map((p) => `${NAMESPACE}:tenants: ${p}`));
  return problems;
}

export function checkAdminCidrs(parsed: Parsed): string[] {
  return parsed.adminCidrs?.some((c) => parseCidr(c)?.prefix === 0)
    ? [`${NAMESPACE}:adminCidrs: 0.0.0.0/0 would open SSH and the Kubernetes API to the whole internet`]
    : [];
}

/** Secrets a real `pulumi up` of this config reads: fixed ones, plus what the node kinds, the database mode and SMTP need. */
export function secretKeysFor(nodes: readonly unknown[], postgresMode: unknown, smtp: boolean): string[] {
  const keys: string[] = [...SECRET_CONFIG_KEYS.map((k) => `${NAMESPACE}:${k}`), "cloudflare:apiToken"];
  if (nodes.some((n) => (n as { kind?: unknown } | null)?.kind === "cloud")) keys.push("hcloud:token");
  if (postgresMode === "external") keys.push(EXTERNAL_URLS_KEY);
  if (smtp) keys.push(SMTP_PASSWORD_KEY);
  return keys.sort();
}
