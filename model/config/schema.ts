/**
 * The shape of the `enclii:*` config: per-key schemas, the typed result and shared constants.
 * `config.ts` parses with these; `rules.ts` checks what spans keys.
 */
import { z } from "zod";
import { DEFAULT_LOCATION, DEFAULT_PRICES, MAX_POOL_LOCATIONS, R2_PRICES, type NetworkZone, type Prices } from "../cost/catalog";
import { fieldPath } from "./issues";
import { observabilitySchema, type Observability } from "../observability/config";
import { MAX_NODES_PER_NETWORK } from "../names";
import { isIpv4, parseCidr } from "../net";
import { K3S_RELEASES, K3S_RELEASES_AS_OF, K3S_RELEASES_SOURCE } from "../pins";
import { maintenanceSchema } from "./maintenance";
import { rotationsSchema } from "../rotation";
import { serviceOverrides, type AppService } from "./services";
import { DEFAULT_ROTATION_DAYS } from "./signingKeys";
import { dnsLabel, domainName, fqdn, listRefinement, port, repeats, whole } from "./validators";

export const NAMESPACE = "enclii";

/**
 * Bounds a real environment stays far inside and a typo cannot pass: each number and text in the
 * contract is checked against one of these before anything is expanded or rendered.
 */
export const LIMITS = {
  /** Hetzner: at most 100 servers on one private network, so no pool or cluster is larger. */
  nodes: MAX_NODES_PER_NETWORK,
  adminCidrs: 32,
  /** All admin CIDRs together: a /16. Anything wider is not "who may administer", it is everyone. */
  adminAddresses: 2 ** 16,
  postgresStorageGi: 10_240,
  redisStorageGi: 1_024,
  budgetUsd: 1_000_000,
  /** GB-months or millions of operations: a petabyte is already a typo. */
  usage: 1_000_000,
  monthlyEurPerItem: 100_000,
  primaryIpv4Eur: 100,
  /** A sane exchange-rate window, so a cents/euros slip (108.8) is refused. */
  eurToUsd: { min: 0.2, max: 5 },
  sshPublicKeyLength: 16_384,
  smtpUsernameLength: 256,
} as const;

/** A host name (one label or more, lowercase) or an IPv4 address, as a server's address is written. */
const host = domainName(
  "must be a lowercase host name or an IPv4 address",
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
);
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, "must be an IPv4 CIDR such as 198.51.100.7/32");
/** A CIDR by the addresses it names, so two spellings of one block are one; undefined for what is not a CIDR. */
function canonicalCidr(value: unknown): string | undefined {
  const c = typeof value === "string" ? parseCidr(value) : undefined;
  return c && `${c.base}/${c.prefix}`;
}
/** A bill line by its name, whatever its case and spacing: "Cloudflare Pro" and "cloudflare  pro" are one line. */
function billLine(line: unknown): string | undefined {
  const item = (line as { item?: unknown } | null)?.item;
  return typeof item === "string" ? item.trim().replace(/\s+/g, " ").toLowerCase() : undefined;
}
const ipv4 = z.string().refine(isIpv4, "must be an IPv4 address");
const role = z
  .enum(["server", "agent"])
  .describe("`server` runs the control plane and etcd (keep their number odd), `agent` only workloads");
/** Catalog names (server types, locations, models, images): short identifiers; the rules say which are known. */
const CATALOG_NAME = /^[A-Za-z0-9][-A-Za-z0-9._]{0,63}$/;
const catalogName = (what: string) =>
  z.string().regex(CATALOG_NAME, `must be a ${what}: letters, digits, '-', '.' and '_', at most 64 characters`);

const cloudPool = z.strictObject({
  name: dnsLabel.describe("the pool's name (a DNS label)"),
  kind: z.literal("cloud").describe("Hetzner Cloud servers on the private network"),
  serverType: catalogName("server type").describe("a Hetzner server type in the price table (`model/cost/catalog.ts`), such as `cx33`"),
  locations: z
    .array(catalogName("location"))
    .min(1, "needs at least one location")
    .max(MAX_POOL_LOCATIONS)
    .default([DEFAULT_LOCATION])
    .describe(
      `Hetzner locations in order of preference, such as \`[${DEFAULT_LOCATION}, fsn1]\`: new servers are created in the first; when Hetzner refuses it, put it last and run again, and servers that exist keep theirs (docs/nodes-and-k3s.md#locations-and-fallback); at most ${MAX_POOL_LOCATIONS}, no repeats, all cloud nodes in one network zone`,
    ),
  // The single location of before the preference list: refused rather than kept as a second spelling, so a pool
  // has one key that says where its servers go and no rule for which wins when both are set.
  location: z
    .unknown()
    .optional()
    .refine((value) => value === undefined, {
      error: (issue) =>
        `replaced by \`locations\`, a preference list: write \`locations: [${typeof issue.input === "string" && CATALOG_NAME.test(issue.input) ? issue.input : "<location>"}]\` (servers that exist keep their location)`,
    })
    .describe("refused: replaced by `locations`; the message says what to write"),
  count: whole(1, LIMITS.nodes).default(1).describe("servers in the pool, named `<name>-1`…`<name>-N`"),
  role,
  image: catalogName("image").default("ubuntu-24.04").describe("Hetzner image"),
  publicIpv4: z
    .boolean()
    .default(true)
    .describe("a public IPv4 address; the first server needs one (API endpoint, jump host, NAT gateway)"),
});
/**
 * An OpenSSH ED25519 public key line, optionally with a comment. The base64 is exact: the 19-byte
 * header (string "ssh-ed25519", then the key's length, 32) fixes its first 25 characters and the
 * top bits of the 26th; 51 bytes in all are 68 characters, without padding.
 */
const ED25519_HOST_KEY = /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-P][A-Za-z0-9+/]{42}( \S.*)?$/;
const dedicatedHost = z.strictObject({
  name: dnsLabel.describe("the node's name (a DNS label)"),
  kind: z.literal("dedicated").describe("an existing dedicated server reached over SSH"),
  host: ipv4.describe("its public IPv4 address"),
  role,
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name: lowercase letters, digits, '_' and '-', at most 32 characters")
    .default("root")
    .describe("the SSH login (a POSIX user name)"),
  model: catalogName("dedicated model").default("AX41-NVMe").describe("the Hetzner dedicated model, for the bill and the capacity check"),
  hostKey: z
    .string()
    .regex(
      ED25519_HOST_KEY,
      "must be the host's ED25519 public key, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5…`: read it with `ssh-keyscan -t ed25519 <host>` (without the host name it prints first) and check its fingerprint (`ssh-keygen -lf <file>`) against the one the server's own console shows (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)",
    )
    .describe(
      "the host's SSH host key, `ssh-ed25519 AAAA…`: every SSH connection to it is pinned to this key (docs/nodes-and-k3s.md#ssh-host-keys)",
    ),
});

const backupRetentionDays = whole(1, 365).default(7).describe("days the backups in R2 are kept");

export const keySchemas = {
  domain: fqdn.describe("the environment's Cloudflare zone (a lowercase FQDN); every public hostname is under it"),
  cloudflare: z
    .strictObject({
      accountId: z
        .string()
        .regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id")
        .describe("the account's id"),
      zoneId: z
        .string()
        .regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id")
        .describe("the zone's id"),
    })
    .describe("the Cloudflare account and the zone of `enclii:domain` (32-character hex ids)"),
  adminCidrs: z
    .array(cidr)
    .min(1, "needs at least one CIDR")
    .max(LIMITS.adminCidrs)
    // A CIDR listed twice would be written twice into the host firewall's set and Hetzner's rules: refused, naming where it was first.
    .superRefine((cidrs, ctx) => {
      for (const { index, first } of repeats(cidrs, canonicalCidr))
        ctx.addIssue({ code: "custom", path: [index], message: `${cidrs[index]} repeats ${keyPath(["adminCidrs", first])}` });
    }, listRefinement)
    .describe(
      `IPv4 CIDRs that may reach SSH (22) and the Kubernetes API (6443), at most ${LIMITS.adminAddresses.toLocaleString("en")} addresses together; must include where \`pulumi up\` runs`,
    ),
  network: z
    .strictObject({
      ipRange: cidr.default("10.0.0.0/16").describe("the Hetzner network's range; must not overlap k3s's 10.42.0.0/16 and 10.43.0.0/16"),
      subnet: cidr.default("10.0.1.0/24").describe("the nodes' subnet, inside `ipRange`, with room for every node (addresses from `.10`)"),
    })
    .prefault({})
    .describe("the private network of cloud nodes"),
  nodes: z
    .array(z.discriminatedUnion("kind", [cloudPool, dedicatedHost]))
    .min(1, "needs at least one node")
    .max(LIMITS.nodes)
    .describe("the machines: pools of Hetzner Cloud servers or dedicated hosts, not mixed; servers first, an odd number of them"),
  k3s: z
    .strictObject({
      version: z
        .string()
        .regex(/^v1\.\d+\.\d+\+k3s\d+$/, 'must be a pinned k3s release such as "v1.33.4+k3s1"')
        .superRefine((version, ctx) => {
          if (/^v1\.\d+\.\d+\+k3s\d+$/.test(version) && !K3S_RELEASES.includes(version)) {
            ctx.addIssue({
              code: "custom",
              message: `${version} is not in the k3s release table (model/pins.ts, as of ${K3S_RELEASES_AS_OF}; newest ${K3S_RELEASES.at(-1)}): read its notes at ${K3S_RELEASES_SOURCE} and add its tag to K3S_RELEASES`,
            });
          }
        })
        .describe("a k3s release listed in `K3S_RELEASES` (`model/pins.ts`), such as `v1.35.8+k3s1`; one minor at a time"),
      joinVia: dnsLabel
        .optional()
        .describe(
          "a surviving server's name: the first server joins the cluster through it instead of starting etcd with `cluster-init`, after its lost member is removed there; set by `enclii-infra rebuild-first-server` and kept afterwards (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost)",
        ),
    })
    .describe("the Kubernetes distribution's release, installed over SSH by the bootstrap"),
  maintenance: maintenanceSchema,
  rotations: rotationsSchema,
  protect: z
    .boolean()
    .default(true)
    .describe(
      "everything that holds data is `protect`ed and `retainOnDelete`, with Hetzner delete/rebuild protection and Longhorn's `Retain` reclaim policy",
    ),
  budget: z
    .strictObject({ monthlyUsd: z.number().positive().max(LIMITS.budgetUsd).describe("the most the whole bill may be, in USD") })
    .optional()
    .describe("the plan fails (exit 2) when the whole monthly bill is over it"),
  usage: z
    .strictObject({
      r2StorageGb: z.number().nonnegative().max(LIMITS.usage).default(R2_PRICES.free.storageGb).describe("GB-months R2 stores"),
      r2ClassAMillions: z
        .number()
        .nonnegative()
        .max(LIMITS.usage)
        .default(R2_PRICES.free.classAMillions)
        .describe("millions of class A (write, list) operations a month"),
      r2ClassBMillions: z
        .number()
        .nonnegative()
        .max(LIMITS.usage)
        .default(R2_PRICES.free.classBMillions)
        .describe("millions of class B (read) operations a month"),
    })
    .prefault({})
    .describe("what R2 stores and serves a month, for the bill: R2 bills by use (defaults: R2's free tier)"),
  adopt: z
    .record(z.string().regex(/^[a-z0-9][-a-z0-9.]{0,199}$/, "must be a resource name from the plan"), z.string().min(1).max(300))
    .default({})
    .describe(
      "`{ <resource name in the plan>: <provider import id> }`: existing objects the next update takes over instead of creating; a Cloudflare id must be under this stack's `cloudflare.zoneId` or `cloudflare.accountId`, and an R2 bucket's must carry `r2.jurisdiction` and the name the plan gives the bucket (docs/runbooks/adoption.md#what-is-checked)",
    ),
  otherCosts: z
    .array(
      z.strictObject({
        item: z.string().min(1).max(80).describe("the bill line's name"),
        monthlyUsd: z.number().nonnegative().max(LIMITS.budgetUsd).describe("its monthly price in USD"),
      }),
    )
    .max(50)
    .superRefine((lines, ctx) => {
      for (const { index, first } of repeats(lines, billLine))
        ctx.addIssue({
          code: "custom",
          path: [index, "item"],
          message: `${JSON.stringify(lines[index].item)} repeats ${keyPath(["otherCosts", first, "item"])}: the bill would count it twice`,
        });
    }, listRefinement)
    .default([])
    .describe("what the cost model does not price (the Cloudflare plan, domains, support), one bill line each"),
  prices: z
    .strictObject({
      monthlyEur: z
        .record(catalogName("server type or model"), z.number().nonnegative().max(LIMITS.monthlyEurPerItem))
        .default({})
        .transform((m) => ({ ...DEFAULT_PRICES.monthlyEur, ...m }))
        .describe("`{ <server type or model>: <EUR a month> }`, merged over the dated table in `model/cost/catalog.ts`"),
      primaryIpv4Eur: z
        .number()
        .nonnegative()
        .max(LIMITS.primaryIpv4Eur)
        .default(DEFAULT_PRICES.primaryIpv4Eur)
        .describe("a primary IPv4 address, EUR a month"),
      eurToUsd: z
        .number()
        .min(LIMITS.eurToUsd.min)
        .max(LIMITS.eurToUsd.max)
        .default(DEFAULT_PRICES.eurToUsd)
        .describe("the exchange rate the bill uses"),
    })
    .prefault({})
    .describe("overrides of the dated price table, key by key (Hetzner reprices)"),
  postgres: z
    .discriminatedUnion("mode", [
      z.strictObject({
        mode: z.literal("in-cluster").describe("CloudNativePG in the cluster, backed up to R2"),
        instances: whole(1, 5).default(1).describe("PostgreSQL instances, no more than nodes"),
        storageGi: whole(1, LIMITS.postgresStorageGi).default(20).describe("each instance's volume"),
        backupRetentionDays,
        clusterName: dnsLabel
          .default("enclii-pg")
          .describe("the CloudNativePG Cluster's name; a new name with `restore` bootstraps a new cluster from backups"),
        restore: z
          .strictObject({
            fromCluster: dnsLabel.describe("the cluster whose R2 archive to restore"),
            targetTime: z.iso
              .datetime({ offset: true, error: "must be an RFC 3339 time such as 2026-11-20T09:59:00Z" })
              .optional()
              .describe("recover to this moment, inside the retention window; unset, to the latest WAL"),
          })
          .optional()
          .describe("bootstrap this (new) cluster from another cluster's backups, optionally to a point in time"),
      }),
      z.strictObject({
        mode: z.literal("external").describe("a managed PostgreSQL behind our PgBouncer"),
        host: host.describe("the managed server's host name or IPv4 address"),
        port: port.default(5432).describe("the managed server's port"),
        sslmode: z.enum(["require", "verify-full"]).default("require").describe("TLS from PgBouncer to the server"),
        maxConnections: whole(20, 10_000)
          .default(100)
          .describe("the managed server's `max_connections`; the poolers' budget is computed from it"),
        backupRetentionDays: backupRetentionDays.describe("days R2 keeps etcd snapshots (the database's backups are the provider's)"),
        monthlyUsd: z.number().nonnegative().max(LIMITS.budgetUsd).optional().describe("the managed database's price, for the bill"),
      }),
    ])
    .prefault({ mode: "in-cluster" })
    .describe("the database: `in-cluster` (CloudNativePG) or `external`; apps see the same pooled Service and Secrets either way"),
  r2: z
    .strictObject({
      jurisdiction: z.enum(["default", "eu", "fedramp"]).default("default").describe("where the buckets' data lives (fixed at creation)"),
      location: z.enum(["weur", "eeur", "enam", "wnam", "apac", "oc"]).optional().describe("location hint for new buckets"),
      backupLockDays: whole(1, 365)
        .optional()
        .describe(
          "days R2 refuses to delete or overwrite a PostgreSQL or etcd backup, even with the cluster's tokens; at least, and unset equal to, `postgres.backupRetentionDays`",
        ),
    })
    .prefault({})
    .describe("the R2 buckets (`assets`, `backups`)"),
  tunnel: z
    .strictObject({ replicas: whole(1, 10).default(2).describe("cloudflared replicas (production sets 3)") })
    .prefault({})
    .describe("the Cloudflare Tunnel's connectors"),
  customHostnames: z
    .boolean()
    .default(false)
    .describe(
      "Cloudflare for SaaS for this zone: the fallback origin `proxy.<domain>`, the tenant router and the shards' token; tenants live in their shard stacks",
    ),
  redis: z
    .strictObject({
      mode: z.enum(["standalone", "sentinel"]).default("standalone").describe("one Redis, or 3 Redis and 3 Sentinels (needs 3 nodes)"),
      storageGi: whole(1, LIMITS.redisStorageGi).default(5).describe("each Redis pod's volume"),
    })
    .prefault({})
    .describe("Redis"),
  services: serviceOverrides
    .default({})
    .describe(
      "`{ <service>: { image?, replicas? } }`: this environment's overrides of the `dogfooding/` specs (pinned images only): a deploy is a config change",
    ),
  janua: z
    .strictObject({
      signingKeyRotationDays: whole(1, 365).default(DEFAULT_ROTATION_DAYS).describe("`pulumi up` warns when the signing key is older"),
      localhostRedirects: z
        .boolean()
        .optional()
        .describe("lets a developer's `next dev` on localhost:3000 sign in; default on outside `production`, refused in it"),
    })
    .prefault({})
    .describe("Janua, the OIDC provider"),
  smtp: z
    .strictObject({
      host: fqdn.describe("the mail server's host name"),
      port: port.default(587).describe("its submission port (STARTTLS)"),
      username: z.string().min(1).max(LIMITS.smtpUsernameLength).describe("the SMTP user"),
      from: z.email({ error: "must be an email address" }).describe("the sender address"),
    })
    .optional()
    .describe("Janua's mail server; the password is the secret `enclii:smtpPassword`"),
  observability: observabilitySchema,
  sshPublicKey: z
    .string()
    .max(LIMITS.sshPublicKeyLength)
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line")
    .optional()
    .describe("the OpenSSH public key installed as the cloud servers' root key (required with cloud nodes)"),
};
export type Parsed = { [K in keyof typeof keySchemas]?: z.infer<(typeof keySchemas)[K]> };

export const REQUIRED: (keyof typeof keySchemas)[] = ["domain", "cloudflare", "adminCidrs", "nodes", "k3s"];
/** Keys set only with `pulumi config set --secret`; a plain value is an error, not a warning. */
export const SECRET_CONFIG_KEYS = ["sshPrivateKey", "januaSigningKeys"] as const;
/** Required once `enclii:smtp` is set. */
export const SMTP_PASSWORD_KEY = `${NAMESPACE}:smtpPassword`;
export const SIGNING_KEYS_KEY = `${NAMESPACE}:januaSigningKeys`;
/** Localhost redirect URIs are refused in this stack whatever the config says. */
export const PRODUCTION_STACK = "production";
/** With `postgres.mode: external`: a secret JSON map, database → postgres:// URL. */
export const EXTERNAL_URLS_KEY = `${NAMESPACE}:externalDatabaseUrls`;

/**
 * Every secret a stack may read (set with `pulumi config set --secret`), when it is needed and
 * what it holds: the config reference lists these beside the plain keys' schemas, and a test holds
 * the list to what `secretKeysFor` asks for.
 */
export const SECRET_KEY_DOCS: Record<string, { needed: string; description: string }> = {
  [`${NAMESPACE}:sshPrivateKey`]: { needed: "always", description: "the key Pulumi uses to SSH into every node" },
  [SIGNING_KEYS_KEY]: {
    needed: "always",
    description: "Janua's RS256 key set (JSON, newest first), made and rotated by `npm run keys -- rotate`",
  },
  "cloudflare:apiToken": {
    needed: "always",
    description: "Cloudflare token: Tunnel, DNS, R2, SSL and Certificates (custom hostnames), Account API Tokens Write (the R2 tokens)",
  },
  "hcloud:token": { needed: "with cloud nodes", description: "Hetzner Cloud API token" },
  [EXTERNAL_URLS_KEY]: {
    needed: "with `postgres.mode: external`",
    description:
      'JSON map `{ "enclii": "postgres://…", "janua": "postgres://…" }`, one password per user, the host and port of `enclii:postgres`',
  },
  [SMTP_PASSWORD_KEY]: { needed: "with `enclii:smtp`", description: "the SMTP password" },
};

export type SmtpSettings = NonNullable<z.infer<(typeof keySchemas)["smtp"]>>;
export type NodeEntry = NonNullable<Parsed["nodes"]>[number];

export type Role = z.infer<typeof role>;
export interface CloudNode {
  kind: "cloud";
  name: string;
  pool: string;
  role: Role;
  serverType: string;
  /** Where Pulumi creates the server: its pool's first location (one that exists keeps its own). */
  location: string;
  /** The pool's other locations, in order: where the operator moves creation when Hetzner refuses `location`. */
  fallbacks: string[];
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
  /** `ssh-ed25519 AAAA…`: what every SSH connection to the host is pinned to. */
  hostKey: string;
}
export type NodeSpec = CloudNode | DedicatedNode;

type Key<K extends keyof typeof keySchemas> = z.output<(typeof keySchemas)[K]>;

/** The stack config resolved: every default applied (by the schemas), nodes expanded, services resolved. */
export interface Environment {
  stack: string;
  domain: string;
  cloudflare: Key<"cloudflare">;
  r2: Key<"r2">;
  tunnel: Key<"tunnel">;
  customHostnames: boolean;
  adminCidrs: string[];
  network: Key<"network"> & { zone?: NetworkZone; gateway: string };
  /** Expanded: one entry per machine, servers first in config order. */
  nodes: NodeSpec[];
  k3s: Key<"k3s">;
  /** When a node may be taken down without a person (reboots, single-node upgrades). */
  maintenance: Key<"maintenance">;
  /** Where each owned secret's rotation stands (generations). */
  rotations: Key<"rotations">;
  /** Stateful resources get `protect`, `retainOnDelete` and Hetzner delete/rebuild protection. */
  protect: boolean;
  budget?: Key<"budget">;
  prices: Prices;
  usage: Key<"usage">;
  adopt: Key<"adopt">;
  otherCosts: Key<"otherCosts">;
  sshPublicKey?: string;
  postgres: PostgresConfig;
  redis: Key<"redis">;
  /** `dogfooding/` specs with this environment's overrides, sorted by name. */
  services: AppService[];
  janua: { signingKeyRotationDays: number; localhostRedirects: boolean };
  smtp?: SmtpSettings;
  /** Undefined when `enclii:observability.enabled` is false. */
  observability?: Observability;
  /** What is allowed but probably not meant (say, a documentation address in adminCidrs); shown, never fatal. */
  warnings: string[];
}
export type PostgresConfig = z.infer<(typeof keySchemas)["postgres"]>;

/** Where a config key's problem is reported: `enclii:nodes[1].serverType`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return `${NAMESPACE}:${fieldPath(path)}`;
}
