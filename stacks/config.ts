/**
 * The environment contract: `enclii:*` stack config → one typed, validated `Environment`.
 * Pure (no Pulumi runtime): the program, the offline plan and the tests all call it.
 * Each key is parsed on its own and cross-field rules run over whatever parsed, so one run
 * reports every problem; each message starts with the key path it is about.
 */
import { z } from "zod";
import { DEDICATED_MODELS, DEFAULT_PRICES, LOCATIONS, SERVER_TYPES, type NetworkZone, type Prices } from "./catalog";
import { tenantRoutes, validateRoutes, type Tenant } from "../components/edge/routes";
import { cidrContains, cidrsOverlap, hostAddress, isIpv4, parseCidr } from "./net";

export const NAMESPACE = "enclii";

/** Hetzner limits (docs.hetzner.com/cloud/…/limits) and etcd's quorum rule. */
export const MAX_NODES_PER_NETWORK = 100;
export const MAX_SERVERS_PER_PLACEMENT_GROUP = 10;
/** Private IPs are assigned from the subnet starting here; .1 is Hetzner's network gateway. */
export const FIRST_NODE_HOST = 10;
/** k3s defaults, kept: the private network must not overlap them. */
export const K3S_CIDRS = { pod: "10.42.0.0/16", service: "10.43.0.0/16" } as const;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and '-', at most 52 characters");
const fqdn = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lowercase fully qualified domain name");
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, "must be an IPv4 CIDR such as 198.51.100.7/32");
const ipv4 = z.string().refine(isIpv4, "must be an IPv4 address");
const role = z.enum(["server", "agent"]);

const cloudPool = z.strictObject({
  name: dnsLabel,
  kind: z.literal("cloud"),
  serverType: z.string(),
  location: z.string(),
  count: z.number().int().min(1).default(1),
  role,
  image: z.string().default("ubuntu-24.04"),
  publicIpv4: z.boolean().default(true),
});
const dedicatedHost = z.strictObject({
  name: dnsLabel,
  kind: z.literal("dedicated"),
  host: ipv4,
  role,
  user: z.string().default("root"),
  model: z.string().default("AX41-NVMe"),
});

const keySchemas = {
  domain: fqdn,
  cloudflare: z.strictObject({
    accountId: z.string().regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id"),
    zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id"),
  }),
  adminCidrs: z.array(cidr).min(1, "needs at least one CIDR"),
  network: z.strictObject({ ipRange: cidr.default("10.0.0.0/16"), subnet: cidr.default("10.0.1.0/24") }),
  nodes: z.array(z.discriminatedUnion("kind", [cloudPool, dedicatedHost])).min(1, "needs at least one node"),
  k3s: z.strictObject({
    version: z.string().regex(/^v1\.\d+\.\d+\+k3s\d+$/, 'must be a pinned k3s release such as "v1.33.4+k3s1"'),
  }),
  protect: z.boolean(),
  budget: z.strictObject({ monthlyUsd: z.number().positive() }),
  prices: z.strictObject({
    monthlyEur: z.record(z.string(), z.number().nonnegative()).optional(),
    primaryIpv4Eur: z.number().nonnegative().optional(),
    eurToUsd: z.number().positive().optional(),
  }),
  postgres: z.discriminatedUnion("mode", [
    z.strictObject({
      mode: z.literal("in-cluster"),
      instances: z.number().int().min(1).max(5).default(1),
      storageGi: z.number().int().min(1).default(20),
      backupRetentionDays: z.number().int().min(1).max(365).default(7),
      clusterName: dnsLabel.default("enclii-pg"),
      /** Bootstrap this (new) cluster from another cluster's backups, optionally to a point in time. */
      restore: z
        .strictObject({
          fromCluster: dnsLabel,
          targetTime: z.iso.datetime({ offset: true, error: "must be an RFC 3339 time such as 2026-11-20T09:59:00Z" }).optional(),
        })
        .optional(),
    }),
    z.strictObject({
      mode: z.literal("external"),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(5432),
      sslmode: z.enum(["require", "verify-full"]).default("require"),
    }),
  ]),
  r2: z.strictObject({
    jurisdiction: z.enum(["default", "eu", "fedramp"]).default("default"),
    /** Location hint for new buckets (weur, eeur, enam, wnam, apac, oc). */
    location: z.enum(["weur", "eeur", "enam", "wnam", "apac", "oc"]).optional(),
  }),
  tunnel: z.strictObject({ replicas: z.number().int().min(1).max(10) }),
  tenants: z.array(
    z.strictObject({
      name: dnsLabel,
      hostnames: z.array(fqdn).min(1, "needs at least one hostname"),
      service: z.strictObject({ name: z.string(), port: z.number().int() }),
    }),
  ),
  redis: z.strictObject({ mode: z.enum(["standalone", "sentinel"]).default("standalone"), storageGi: z.number().int().min(1).default(5) }),
  sshPublicKey: z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line"),
};
type Parsed = { [K in keyof typeof keySchemas]?: z.infer<(typeof keySchemas)[K]> };

const REQUIRED: (keyof typeof keySchemas)[] = ["domain", "cloudflare", "adminCidrs", "nodes", "k3s"];
/** Keys set only with `pulumi config set --secret`; a plain value is an error, not a warning. */
export const SECRET_KEYS = ["sshPrivateKey"] as const;
/** cloudflared replicas unless `enclii:tunnel.replicas` says otherwise (production sets 3). */
export const DEFAULT_TUNNEL_REPLICAS = 2;
/** With `postgres.mode: external`: a secret JSON map, database → postgres:// URL. */
export const EXTERNAL_URLS_KEY = `${NAMESPACE}:externalDatabaseUrls`;
/** The databases the platform needs, whichever PostgreSQL serves them. */
export const DATABASES = ["enclii", "janua"] as const;

export type Role = z.infer<typeof role>;
export interface CloudNode {
  kind: "cloud";
  name: string;
  pool: string;
  role: Role;
  serverType: string;
  location: string;
  image: string;
  publicIpv4: boolean;
  privateIp: string;
}
export interface DedicatedNode {
  kind: "dedicated";
  name: string;
  role: Role;
  host: string;
  user: string;
  model: string;
}
export type NodeSpec = CloudNode | DedicatedNode;

export interface Environment {
  stack: string;
  domain: string;
  cloudflare: { accountId: string; zoneId: string };
  r2: { jurisdiction: "default" | "eu" | "fedramp"; location?: string };
  tunnel: { replicas: number };
  tenants: Tenant[];
  adminCidrs: string[];
  network: { ipRange: string; subnet: string; zone?: NetworkZone; gateway: string };
  /** Expanded: one entry per machine, servers first in config order. */
  nodes: NodeSpec[];
  k3s: { version: string };
  /** Stateful resources get `protect` and Hetzner delete/rebuild protection. */
  protect: boolean;
  budget?: { monthlyUsd: number };
  prices: Prices;
  sshPublicKey?: string;
  postgres: PostgresConfig;
  redis: { mode: "standalone" | "sentinel"; storageGi: number };
}
export type PostgresConfig = z.infer<(typeof keySchemas)["postgres"]>;

/** Where a config key's problem is reported: `enclii:nodes[1].serverType`. */
export function keyPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${NAMESPACE}:${String(head)}` + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return "is required";
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_union" && "discriminator" in issue) return 'must be "cloud" or "dedicated"';
  return issue.message;
}

function decode(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * `raw` is Pulumi's config map (`enclii:domain` → text, objects as JSON text); `secretKeys`
 * names the keys that were set as secrets.
 */
export function parseEnvironment(stack: string, raw: Record<string, string>, secretKeys: ReadonlySet<string>): Environment {
  const problems: string[] = [];
  const parsed: Parsed = {};
  const known = new Set<string>([...Object.keys(keySchemas), ...SECRET_KEYS, EXTERNAL_URLS_KEY.slice(NAMESPACE.length + 1)]);

  for (const key of Object.keys(raw).sort()) {
    const [ns, name] = key.split(":");
    if (ns === NAMESPACE && !known.has(name)) problems.push(`${key}: unknown config key`);
  }
  for (const name of Object.keys(keySchemas) as (keyof typeof keySchemas)[]) {
    const text = raw[`${NAMESPACE}:${name}`];
    if (text === undefined) {
      if (REQUIRED.includes(name)) problems.push(`${NAMESPACE}:${name}: is required`);
      continue;
    }
    const result = keySchemas[name].safeParse(decode(text));
    if (result.success) (parsed as Record<string, unknown>)[name] = result.data;
    else for (const issue of result.error.issues) problems.push(`${keyPath([name, ...issue.path])}: ${issueMessage(issue)}`);
  }
  const network = { ipRange: parsed.network?.ipRange ?? "10.0.0.0/16", subnet: parsed.network?.subnet ?? "10.0.1.0/24" };
  const nodes = parsed.nodes ? expandNodes(parsed.nodes, network.subnet) : [];
  for (const key of secretKeysFor(nodes, parsed.postgres?.mode)) {
    if (raw[key] === undefined) problems.push(`${key}: is required (pulumi config set --secret ${key} …)`);
    else if (!secretKeys.has(key)) problems.push(`${key}: must be set as a secret (pulumi config set --secret ${key} …)`);
  }
  problems.push(...checkData(parsed, nodes.length, raw[EXTERNAL_URLS_KEY]), ...checkTenants(parsed));
  problems.push(...checkNetwork(network), ...(parsed.nodes ? checkNodes(parsed.nodes, nodes, network.subnet, raw[`${NAMESPACE}:sshPublicKey`] !== undefined) : []));
  if (parsed.adminCidrs?.some((c) => parseCidr(c)?.prefix === 0)) {
    problems.push(`${NAMESPACE}:adminCidrs: 0.0.0.0/0 would open SSH and the Kubernetes API to the whole internet`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const zones = [...new Set(nodes.flatMap((n) => (n.kind === "cloud" ? [LOCATIONS[n.location]] : [])))];
  return {
    stack,
    domain: parsed.domain!,
    cloudflare: parsed.cloudflare!,
    r2: parsed.r2 ?? { jurisdiction: "default" },
    tunnel: parsed.tunnel ?? { replicas: DEFAULT_TUNNEL_REPLICAS },
    tenants: parsed.tenants ?? [],
    adminCidrs: parsed.adminCidrs!,
    network: { ...network, zone: zones[0], gateway: hostAddress(network.ipRange, 1) },
    nodes,
    k3s: parsed.k3s!,
    protect: parsed.protect ?? true,
    budget: parsed.budget,
    prices: {
      monthlyEur: { ...DEFAULT_PRICES.monthlyEur, ...parsed.prices?.monthlyEur },
      primaryIpv4Eur: parsed.prices?.primaryIpv4Eur ?? DEFAULT_PRICES.primaryIpv4Eur,
      eurToUsd: parsed.prices?.eurToUsd ?? DEFAULT_PRICES.eurToUsd,
    },
    sshPublicKey: parsed.sshPublicKey,
    postgres: parsed.postgres ?? { mode: "in-cluster", instances: 1, storageGi: 20, backupRetentionDays: 7, clusterName: "enclii-pg" },
    redis: parsed.redis ?? { mode: "standalone", storageGi: 5 },
  };
}

type NodeEntry = NonNullable<Parsed["nodes"]>[number];

/** Servers come first so the first server (etcd's `--cluster-init`) is stable. */
function expandNodes(entries: NodeEntry[], subnet: string): NodeSpec[] {
  let host = FIRST_NODE_HOST;
  const expanded = entries.flatMap((e): NodeSpec[] => {
    if (e.kind === "dedicated") return [{ kind: "dedicated", name: e.name, role: e.role, host: e.host, user: e.user, model: e.model }];
    return Array.from({ length: e.count }, (_, i) => ({
      kind: "cloud" as const,
      name: e.count === 1 ? e.name : `${e.name}-${i + 1}`,
      pool: e.name,
      role: e.role,
      serverType: e.serverType,
      location: e.location,
      image: e.image,
      publicIpv4: e.publicIpv4,
      privateIp: hostAddress(subnet, host++),
    }));
  });
  return [...expanded.filter((n) => n.role === "server"), ...expanded.filter((n) => n.role === "agent")];
}

function checkNetwork(network: { ipRange: string; subnet: string }): string[] {
  const range = parseCidr(network.ipRange);
  const subnet = parseCidr(network.subnet);
  if (!range || !subnet) return [];
  const problems = cidrContains(network.ipRange, network.subnet) ? [] : [`${NAMESPACE}:network.subnet: ${network.subnet} is not inside ipRange ${network.ipRange}`];
  for (const [what, cluster] of Object.entries(K3S_CIDRS)) {
    if (cidrsOverlap(network.ipRange, cluster)) problems.push(`${NAMESPACE}:network.ipRange: ${network.ipRange} overlaps k3s's ${what} CIDR ${cluster}`);
  }
  return problems;
}

function checkNodes(entries: NodeEntry[], nodes: NodeSpec[], subnet: string, hasSshPublicKey: boolean): string[] {
  const problems: string[] = [];
  const at = (i: number, field?: string) => keyPath(field ? ["nodes", i, field] : ["nodes", i]);
  entries.forEach((e, i) => {
    if (e.kind === "dedicated") {
      if (!DEDICATED_MODELS[e.model]) problems.push(`${at(i, "model")}: unknown dedicated model "${e.model}" (known: ${Object.keys(DEDICATED_MODELS).join(", ")})`);
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
  for (const h of new Set(hosts)) if (hosts.filter((x) => x === h).length > 1) problems.push(`${NAMESPACE}:nodes: host ${h} is listed more than once`);

  const servers = nodes.filter((n) => n.role === "server").length;
  if (servers === 0) problems.push(`${NAMESPACE}:nodes: needs at least one node with role "server"`);
  if (servers > 1 && servers % 2 === 0) {
    problems.push(`${NAMESPACE}:nodes: ${servers} servers cannot keep etcd quorum when one fails; use an odd number (1, 3, 5)`);
  }

  const cloud = nodes.filter((n): n is CloudNode => n.kind === "cloud");
  if (cloud.length > 0 && cloud.length < nodes.length) {
    problems.push(`${NAMESPACE}:nodes: cloud and dedicated nodes cannot share a cluster (no private network joins them)`);
  }
  if (cloud.length > MAX_NODES_PER_NETWORK) problems.push(`${NAMESPACE}:nodes: ${cloud.length} cloud servers exceed Hetzner's ${MAX_NODES_PER_NETWORK} per private network`);
  const zones = new Set(cloud.map((n) => LOCATIONS[n.location]).filter(Boolean));
  if (zones.size > 1) problems.push(`${NAMESPACE}:nodes: locations span network zones ${[...zones].join(", ")}; one private network covers one zone`);
  // Addresses follow config order, so the highest is FIRST_NODE_HOST + count - 1; the subnet's last address is its broadcast.
  const size = parseCidr(subnet) ? 2 ** (32 - parseCidr(subnet)!.prefix) : Infinity;
  if (cloud.length > 0 && FIRST_NODE_HOST + cloud.length - 1 > size - 2) {
    problems.push(`${NAMESPACE}:network.subnet: ${subnet} has no room for ${cloud.length} nodes (addresses start at .${FIRST_NODE_HOST})`);
  }
  const first = nodes[0];
  if (first?.kind === "cloud" && !first.publicIpv4) {
    problems.push(`${NAMESPACE}:nodes: the first server (${first.name}) needs publicIpv4: it is the API endpoint, SSH jump host and NAT gateway`);
  }
  if (cloud.length > 0 && !hasSshPublicKey) problems.push(`${NAMESPACE}:sshPublicKey: is required when cloud nodes are created (their root login key)`);
  return problems;
}

/** What the offline plan uses for a secret it cannot read: the right shape, an obviously fake value. */
export function secretPlaceholder(key: string): string {
  if (key === EXTERNAL_URLS_KEY) {
    return JSON.stringify(Object.fromEntries(DATABASES.map((db) => [db, `postgres://placeholder_${db}:placeholder@placeholder.invalid:5432/${db}`])));
  }
  return `placeholder-for-${key}`;
}

/**
 * Secrets a real `pulumi up` of this config reads. Looks only at node kinds, so the offline plan
 * can fill placeholders before the full validation runs.
 */
export function requiredSecretKeys(raw: Record<string, string>): string[] {
  const nodes = decode(raw[`${NAMESPACE}:nodes`] ?? "[]");
  const postgres = decode(raw[`${NAMESPACE}:postgres`] ?? "{}") as { mode?: unknown } | null;
  return secretKeysFor(Array.isArray(nodes) ? nodes : [], postgres?.mode);
}

function secretKeysFor(nodes: readonly unknown[], postgresMode?: unknown): string[] {
  const keys: string[] = [...SECRET_KEYS.map((k) => `${NAMESPACE}:${k}`), "cloudflare:apiToken"];
  if (nodes.some((n) => (n as { kind?: unknown } | null)?.kind === "cloud")) keys.push("hcloud:token");
  if (postgresMode === "external") keys.push(EXTERNAL_URLS_KEY);
  return keys.sort();
}

/** Data-layer rules: what must fit the node count, and external URLs checked without echoing them. */
function checkData(parsed: Parsed, nodeCount: number, externalUrls: string | undefined): string[] {
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

export function isPostgresUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.username !== "" && u.password !== "" && u.hostname !== "" && u.pathname.length > 1;
  } catch {
    return false;
  }
}

/** Tenant names unique; hostnames unique, valid and outside our own zone (routes.ts has the rules). */
function checkTenants(parsed: Parsed): string[] {
  const tenants = parsed.tenants ?? [];
  const problems: string[] = [];
  const names = tenants.map((t) => t.name);
  for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1) problems.push(`${NAMESPACE}:tenants: tenant name "${n}" is used more than once`);
  if (parsed.domain) problems.push(...validateRoutes([], parsed.domain, tenantRoutes(tenants)).map((p) => `${NAMESPACE}:tenants: ${p}`));
  return problems;
}
