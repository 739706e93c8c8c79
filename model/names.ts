/**
 * Names the layers share: namespaces, labels, ports, Secret names and keys, databases, paths.
 * One definition each; components, the policy pack and the plan read them from here.
 */

// ---------------------------------------------------------------- namespaces and labels

/** Where Enclii's own services run. */
export const APPS_NAMESPACE = "enclii-platform";
export const DATA_NAMESPACE = "enclii-data";
export const KUBE_SYSTEM_NAMESPACE = "kube-system";
/** cloudflared's namespace and pod labels, which tenant and app NetworkPolicies admit. */
/** cloudflared's namespace, pod labels, and the port of its metrics and `/ready` (`--metrics`). */
export const CLOUDFLARED = { namespace: "cloudflared", labels: { "app.kubernetes.io/name": "cloudflared" }, metricsPort: 2000 } as const;
const TENANT_NAMESPACE_PREFIX = "tenant-";
/** Labels every tenant namespace carries; the tenant router may reach only namespaces with it. */
export const TENANT_LABEL = "enclii.io/tenant";
/**
 * The in-cluster router for custom hostnames (Traefik): cloudflared sends every hostname it has no
 * rule for to it, and it routes by Host header using the Ingress objects the tenant shards add.
 */
export const TENANT_ROUTER = {
  namespace: "enclii-tenant-router",
  name: "tenant-router",
  labels: { "app.kubernetes.io/name": "tenant-router" },
  /** Traefik's HTTP entry point; unprivileged, so the pod runs without capabilities. */
  port: 8000,
  /** Traefik's own entry point, for /ping only. */
  pingPort: 8080,
} as const;

export function tenantNamespace(tenant: string): string {
  return `${TENANT_NAMESPACE_PREFIX}${tenant}`;
}

/** Pods, Services and NetworkPolicies find a service by this label (selectors are immutable, so nothing else). */
export const NAME_LABEL = "app.kubernetes.io/name";
export const PART_OF = { "app.kubernetes.io/part-of": "enclii" } as const;

export function selectorLabels(service: string): Record<string, string> {
  return { [NAME_LABEL]: service };
}

/**
 * Which of a service's Deployments a pod belongs to (docs/services.md#canary): `stable` on the
 * stable pods always, `canary` on a canary's. Only the canary's selector names it: the stable
 * Deployment's selector is the name alone, as before there were tracks (a selector is immutable),
 * and the Service's too, so it routes to both.
 */
export const TRACK_LABEL = "enclii.io/track";
export const TRACKS = { stable: "stable", canary: "canary" } as const;
/** The series label Prometheus copies a service pod's track into, so queries split by track. */
export const TRACK_SERIES_LABEL = "track";
/** A canary's Deployment is named after its service with this suffix. */
export const CANARY_SUFFIX = `-${TRACKS.canary}`;
export const canaryName = (service: string) => `${service}${CANARY_SUFFIX}`;

// ---------------------------------------------------------------- ports

export const PORTS = {
  ssh: 22,
  dns: 53,
  https: 443,
  kubernetesApi: 6443,
  postgres: 5432,
  redis: 6379,
  sentinel: 26379,
} as const;

/** The only inbound ports on a node, open to `enclii:adminCidrs` alone: public traffic arrives through the tunnel. */
export const ADMIN_PORTS = { ssh: PORTS.ssh, kubernetesApi: PORTS.kubernetesApi } as const;

/**
 * Numeric users the pods run as (runAsNonRoot needs a number): distroless `nonroot` (cloudflared,
 * PgBouncer, the default for services) and the official Redis image's `redis`.
 */
export const UIDS = { nonroot: 65532, redis: 999 } as const;

// ---------------------------------------------------------------- data layer

/** The databases the platform needs, whichever PostgreSQL serves them. */
export const DATABASES = ["enclii", "janua"] as const;
/** The pooled PostgreSQL Service in the data namespace, in every mode. */
export const POOLED_SERVICE = "postgres";
/** What CloudNativePG names and labels in the Pooler's pods (the policy pack models them too). */
export const CNPG_POOLER_LABEL = "cnpg.io/poolerName";
export const CNPG_PGBOUNCER_CONTAINER = "pgbouncer";
/** The apps-namespace Secret with REDIS_URL. */
export const REDIS_SECRET = "redis";
/**
 * Sentinel's down-after-milliseconds: how long a master may not answer before the Sentinels vote
 * to replace it (a failover takes about a second more).
 */
export const REDIS_DOWN_AFTER_MS = 5000;
/**
 * What apps give a Redis command before giving up (REDIS_COMMAND_TIMEOUT_MS). Shorter than
 * down-after: a master hung longer than that is replaced, and when it wakes it still answers the
 * writes it had queued with OK before it learns it is demoted. Those writes are lost: a client
 * loses at most the writes it sent in the last REDIS_COMMAND_TIMEOUT_MS before the master woke
 * (docs/data.md); older ones had timed out and were never taken for success.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
export const databaseSecretName = (db: string) => `database-${db}`;
export const serviceHost = (service: string) => `${service}.${DATA_NAMESPACE}.svc.cluster.local`;

// ---------------------------------------------------------------- object storage (R2)

/** The only R2 bucket apps may bind: backups are reachable by the data layer alone. */
export const R2_APP_BUCKETS = ["assets"] as const;
/** The apps-namespace Secret with the assets-only credentials. */
export const R2_APP_SECRET = "r2-assets";
/** The Kubernetes Secret name that every backup consumer's namespace gets. */
export const R2_SECRET_NAME = "r2-credentials";
/**
 * Backup consumers write under these prefixes of the backups bucket, each with its own token. Only
 * `postgres/` and `etcd/` expire by age and are locked against deletion: Longhorn's backup store
 * deduplicates blocks across backups, so an old block can still belong to today's backup, and
 * Longhorn prunes it itself (RecurringJob `retain`) and rewrites files in place
 * (docs/storage.md#backups-a-compromised-cluster-cannot-delete).
 */
export const BACKUP_PREFIXES = { postgres: "postgres/", etcd: "etcd/", longhorn: "longhorn/" } as const;

// ---------------------------------------------------------------- k3s

/** The plan runner writes each `<cluster>-<node>-bootstrap` command's script to `bootstrap/<node>.sh`. */
export const BOOTSTRAP_SUFFIX = "-bootstrap";
/** k3s looks this Secret up in kube-system when it takes a snapshot. */
export const ETCD_S3_CONFIG_SECRET = "k3s-etcd-snapshot-s3-config";
/** k3s defaults, kept: the private network must not overlap them. */
export const K3S_CIDRS = { pod: "10.42.0.0/16", service: "10.43.0.0/16" } as const;

// ---------------------------------------------------------------- Hetzner

/** Hetzner limits (docs.hetzner.com/cloud/…/limits). */
export const MAX_NODES_PER_NETWORK = 100;
export const MAX_SERVERS_PER_PLACEMENT_GROUP = 10;
/** Private IPs are assigned from the subnet starting here; .1 is Hetzner's network gateway. */
export const FIRST_NODE_HOST = 10;

// ---------------------------------------------------------------- edge

/** `proxy.<domain>` is the Cloudflare for SaaS fallback origin, so no route may claim it. */
export const FALLBACK_ORIGIN_LABEL = "proxy";

// ---------------------------------------------------------------- Janua and the apps' Secrets

/** Janua's in-cluster and public endpoints (OIDC discovery and JWKS paths are fixed by the spec). */
export const JWKS_PATH = "/.well-known/jwks.json";
export const OIDC_CALLBACK_PATH = "/callback";
export const LOCALHOST_REDIRECT = "http://localhost:3000/callback";
export const issuerUrl = (hostname: string) => `https://${hostname}`;

export const JANUA_SECRETS = {
  signingKeys: "janua-signing-keys",
  internal: "janua-internal",
  session: "janua-session",
  clients: "janua-clients",
} as const;
export const oidcClientSecretName = (clientId: string) => `oidc-client-${clientId}`;

/** Keys of the Secrets the apps read; the components that fill them and the apps' env agree on these. */
export const SECRET_KEYS = {
  databaseUrl: "DATABASE_URL",
  redisUrl: "REDIS_URL",
  signingKeys: "signing-keys.json",
  hs256: "HS256_SECRET",
  session: "SESSION_SECRET",
  smtpPassword: "SMTP_PASSWORD",
  clients: "clients.json",
  clientSecret: "CLIENT_SECRET",
  r2: { endpoint: "R2_ENDPOINT", bucket: "R2_BUCKET", accessKeyId: "R2_ACCESS_KEY_ID", secretAccessKey: "R2_SECRET_ACCESS_KEY" },
} as const;

// ---------------------------------------------------------------- secrets shown

/** How a secret value is written wherever one would be shown: plan files, stack references in plans, results. */
export const SECRET_MARK = "[secret]";
