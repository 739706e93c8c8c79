/**
 * The shape of the `enclii:*` config: per-key schemas, the typed result and shared constants.
 * `config.ts` parses with these; `rules.ts` checks what spans keys.
 */
import { z } from "zod";
import { DEFAULT_PRICES, R2_PRICES, type NetworkZone, type Prices } from "../cost/catalog";
import { fieldPath } from "./issues";
import { observabilitySchema, type Observability } from "../observability/config";
import { MAX_NODES_PER_NETWORK } from "../names";
import { isIpv4, parseCidr } from "../net";
import { K3S_RELEASES, K3S_RELEASES_AS_OF, K3S_RELEASES_SOURCE } from "../pins";
import { serviceOverrides, type AppService } from "./services";
import { DEFAULT_ROTATION_DAYS } from "./signingKeys";
import { dnsLabel, fqdn, port, whole } from "./validators";

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
const host = z
  .string()
  .regex(
    /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
    "must be a lowercase host name or an IPv4 address",
  );
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, "must be an IPv4 CIDR such as 198.51.100.7/32");
const ipv4 = z.string().refine(isIpv4, "must be an IPv4 address");
const role = z.enum(["server", "agent"]);
/** Catalog names (server types, locations, models, images): short identifiers; the rules say which are known. */
const catalogName = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9._]{0,63}$/, `must be a ${what}: letters, digits, '-', '.' and '_', at most 64 characters`);

const cloudPool = z.strictObject({
  name: dnsLabel,
  kind: z.literal("cloud"),
  serverType: catalogName("server type"),
  location: catalogName("location"),
  count: whole(1, LIMITS.nodes).default(1),
  role,
  image: catalogName("image").default("ubuntu-24.04"),
  publicIpv4: z.boolean().default(true),
});
const dedicatedHost = z.strictObject({
  name: dnsLabel,
  kind: z.literal("dedicated"),
  host: ipv4,
  role,
  /** The SSH login: a POSIX user name. */
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name: lowercase letters, digits, '_' and '-', at most 32 characters")
    .default("root"),
  model: catalogName("dedicated model").default("AX41-NVMe"),
});

const backupRetentionDays = whole(1, 365).default(7);

export const keySchemas = {
  domain: fqdn,
  cloudflare: z.strictObject({
    accountId: z.string().regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id"),
    zoneId: z.string().regex(/^[0-9a-f]{32}$/, "must be a 32-character hex Cloudflare id"),
  }),
  adminCidrs: z.array(cidr).min(1, "needs at least one CIDR").max(LIMITS.adminCidrs),
  network: z.strictObject({ ipRange: cidr.default("10.0.0.0/16"), subnet: cidr.default("10.0.1.0/24") }).prefault({}),
  nodes: z
    .array(z.discriminatedUnion("kind", [cloudPool, dedicatedHost]))
    .min(1, "needs at least one node")
    .max(LIMITS.nodes),
  k3s: z.strictObject({
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
      }),
  }),
  /** Stateful resources get `protect`, `retainOnDelete` and Hetzner delete/rebuild protection. */
  protect: z.boolean().default(true),
  budget: z.strictObject({ monthlyUsd: z.number().positive().max(LIMITS.budgetUsd) }).optional(),
  /** The volume the bill prices (R2 bills by use): stated per environment, free tier by default. */
  usage: z
    .strictObject({
      r2StorageGb: z.number().nonnegative().max(LIMITS.usage).default(R2_PRICES.free.storageGb),
      r2ClassAMillions: z.number().nonnegative().max(LIMITS.usage).default(R2_PRICES.free.classAMillions),
      r2ClassBMillions: z.number().nonnegative().max(LIMITS.usage).default(R2_PRICES.free.classBMillions),
    })
    .prefault({}),
  /**
   * Existing objects to take over rather than create: a resource's name in the plan → the
   * provider's import id (model/rules/adopt.ts; README "Moving the running production onto this program").
   */
  adopt: z
    .record(z.string().regex(/^[a-z0-9][-a-z0-9.]{0,199}$/, "must be a resource name from the plan"), z.string().min(1).max(300))
    .default({}),
  /** What the cost model does not price (the Cloudflare plan, domains, support): one bill line each. */
  otherCosts: z
    .array(z.strictObject({ item: z.string().min(1).max(80), monthlyUsd: z.number().nonnegative().max(LIMITS.budgetUsd) }))
    .max(50)
    .default([]),
  /** Overrides of the dated price table, key by key. */
  prices: z
    .strictObject({
      monthlyEur: z
        .record(catalogName("server type or model"), z.number().nonnegative().max(LIMITS.monthlyEurPerItem))
        .default({})
        .transform((m) => ({ ...DEFAULT_PRICES.monthlyEur, ...m })),
      primaryIpv4Eur: z.number().nonnegative().max(LIMITS.primaryIpv4Eur).default(DEFAULT_PRICES.primaryIpv4Eur),
      eurToUsd: z.number().min(LIMITS.eurToUsd.min).max(LIMITS.eurToUsd.max).default(DEFAULT_PRICES.eurToUsd),
    })
    .prefault({}),
  postgres: z
    .discriminatedUnion("mode", [
      z.strictObject({
        mode: z.literal("in-cluster"),
        instances: whole(1, 5).default(1),
        storageGi: whole(1, LIMITS.postgresStorageGi).default(20),
        backupRetentionDays,
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
        host,
        port: port.default(5432),
        sslmode: z.enum(["require", "verify-full"]).default("require"),
        /** The managed server's `max_connections` (its plan says); the poolers' budget is computed from it. */
        maxConnections: whole(20, 10_000).default(100),
        /** How long R2 keeps etcd snapshots; the database's own backups are the provider's. */
        backupRetentionDays: backupRetentionDays,
        /** The managed database's monthly price (its provider's plan), for the bill. */
        monthlyUsd: z.number().nonnegative().max(LIMITS.budgetUsd).optional(),
      }),
    ])
    .prefault({ mode: "in-cluster" }),
  r2: z
    .strictObject({
      jurisdiction: z.enum(["default", "eu", "fedramp"]).default("default"),
      /** Location hint for new buckets (weur, eeur, enam, wnam, apac, oc). */
      location: z.enum(["weur", "eeur", "enam", "wnam", "apac", "oc"]).optional(),
    })
    .prefault({}),
  /** cloudflared replicas (production sets 3). */
  tunnel: z.strictObject({ replicas: whole(1, 10).default(2) }).prefault({}),
  /**
   * Cloudflare for SaaS: the fallback origin, the tenant router and the tenants' API token. Tenants
   * themselves live in their shard stacks (tenants/), so the platform stack never grows with them.
   */
  customHostnames: z.boolean().default(false),
  redis: z
    .strictObject({ mode: z.enum(["standalone", "sentinel"]).default("standalone"), storageGi: whole(1, LIMITS.redisStorageGi).default(5) })
    .prefault({}),
  /** Per-environment overrides of `dogfooding/` specs: a deploy is a config change. */
  services: serviceOverrides.default({}),
  janua: z
    .strictObject({
      signingKeyRotationDays: whole(1, 365).default(DEFAULT_ROTATION_DAYS),
      /** Only outside production: lets a developer's `next dev` on localhost:3000 sign in. */
      localhostRedirects: z.boolean().optional(),
    })
    .prefault({}),
  smtp: z
    .strictObject({
      host: fqdn,
      port: port.default(587),
      username: z.string().min(1).max(LIMITS.smtpUsernameLength),
      from: z.email({ error: "must be an email address" }),
    })
    .optional(),
  /** Metrics, logs, traces, SLO alerts and dashboards (model/observability/config.ts); on unless `enabled: false`. */
  observability: observabilitySchema,
  sshPublicKey: z
    .string()
    .max(LIMITS.sshPublicKeyLength)
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line")
    .optional(),
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

export type SmtpSettings = NonNullable<z.infer<(typeof keySchemas)["smtp"]>>;
export type NodeEntry = NonNullable<Parsed["nodes"]>[number];

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
