/**
 * The control plane's contract: what the `enclii-infra` CLI (and the automation library behind it)
 * may change, what it reads, what each operation returns and how it exits. Switchyard (Go) calls
 * the CLI with `--json` or drives the same stacks with Pulumi's Go Automation API; either way it
 * holds to what is written here. docs/control-plane.md is this file in prose.
 */
import { NAMESPACE } from "./config/schema";
import { PLATFORM_PROJECT, TENANTS_KEY, TENANTS_PROJECT } from "./config/tenants";
import type { PlatformOutputs } from "./platformOutputs";

export { CONTRACT_VERSION, EXIT, STATUS_EXIT } from "./contract";
export type {
  CanaryReport,
  CustomerRecord,
  DeployInfo,
  DomainStatus,
  DomainsResult,
  GateReport,
  GuardViolation,
  HistoryEntry,
  OperationResult,
  ResourceCounts,
  RotationReport,
  Status,
} from "./contract";

/**
 * The oldest Pulumi CLI the library drives: the SDK this repository pins (package-lock), since an
 * engine older than the SDK it runs may not understand what the SDK asks of it.
 */
export const PULUMI_CLI_MIN_VERSION = "3.270.0";
export const PULUMI_INSTALL_HINT =
  `install the Pulumi CLI ${PULUMI_CLI_MIN_VERSION} or newer (curl -fsSL https://get.pulumi.com | sh -s -- --version ${PULUMI_CLI_MIN_VERSION}, ` +
  `or brew install pulumi/tap/pulumi), put it on PATH, then pulumi login to the state backend`;

/** Config the control plane writes. Nothing else is the control plane's to change. */
export const WRITABLE_CONFIG = [
  {
    project: PLATFORM_PROJECT,
    key: `${NAMESPACE}:services.<service>.image`,
    shape: "a pinned image reference: name:tag (not latest) or name@sha256:…",
    via: "deploy, rollback",
  },
  {
    project: PLATFORM_PROJECT,
    key: `${NAMESPACE}:services.<service>.canary`,
    shape: "{ image: a pinned image reference }, set while deploy --canary watches the canary and removed when it ends",
    via: "deploy --canary",
  },
  {
    project: PLATFORM_PROJECT,
    key: `${NAMESPACE}:rotations.<secret>`,
    shape: "{ generation, since, phase: overlap | settled }: where the secret's rotation stands, written before each step's update",
    via: "rotate",
  },
  {
    project: TENANTS_PROJECT,
    key: TENANTS_KEY,
    shape: "a list of { name, hostnames: [fqdn…], service: { name, port } }, at most 100 per shard stack",
    via: "domains add, domains remove",
  },
] as const;

/** Stack outputs the control plane reads (platform stack unless said otherwise), named as PlatformOutputs names them. */
export const READ_OUTPUTS = {
  services: "per service: name, image, replicas, the autoscaler's maximum when it has one, and public hostnames",
  oidcIssuer: "Janua's issuer URL",
  jwksUri: "where tokens are verified",
  domain: "the environment's zone",
  monthlyCostUsd: "the cost model's monthly total",
  k3sVersion: "the cluster's k3s version",
  hostnames: `(${TENANTS_PROJECT} shard stacks) per custom hostname: tenant, status, sslStatus, cnameTarget, ownershipVerification, sslValidation`,
} as const satisfies Partial<Record<keyof PlatformOutputs | "hostnames", string>>;

/** Where an image override lives in the platform stack's config, as a Pulumi property path. */
export function imageConfigPath(service: string): string {
  return `${NAMESPACE}:services["${service}"].image`;
}

/** Resource types whose replacement or deletion loses data or identity, with what they hold. */
export const GUARDED_TYPES: Record<string, string> = {
  "hcloud:index/server:Server": "a node: its disks, k3s state and Longhorn replicas",
  "hcloud:index/volume:Volume": "a volume's data",
  "hcloud:index/primaryIp:PrimaryIp": "a public address others know",
  "hcloud:index/network:Network": "the private network the nodes talk over",
  "hcloud:index/networkSubnet:NetworkSubnet": "the nodes' private addresses",
  "kubernetes:core/v1:PersistentVolumeClaim": "a volume's data",
  "kubernetes:core/v1:PersistentVolume": "a volume's data",
  "kubernetes:core/v1:Namespace": "everything in the namespace, volumes and Secrets included",
  "kubernetes:apps/v1:StatefulSet": "its volume claims (Redis)",
  "kubernetes:postgresql.cnpg.io/v1:Cluster": "the database",
  "kubernetes:barmancloud.cnpg.io/v1:ObjectStore": "the database's backups and WAL archive",
  "kubernetes:postgresql.cnpg.io/v1:Database": "a database",
  "kubernetes:helm.sh/v3:Release": "its chart's CRDs and what they hold (Longhorn volumes, CloudNativePG clusters)",
  "cloudflare:index/r2Bucket:R2Bucket": "stored objects and backups",
  "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": "the tunnel's identity every route points at",
  "cloudflare:index/customHostname:CustomHostname": "a customer's hostname and certificate",
  "random:index/randomPassword:RandomPassword": "a credential in use",
  "random:index/randomBytes:RandomBytes": "a key in use",
  "kubernetes:core/v1:Secret": "credentials and keys (Janua's signing keys)",
};

/** Operations that lose what a resource holds. */
export const DESTRUCTIVE_OPS = ["replace", "create-replacement", "delete-replaced", "delete", "import-replacement"] as const;

/** The component that holds one service's resources (Janua's auth component holds keys and clients, not its Deployment); a deploy targets its descendants. */
export const SERVICE_COMPONENT_TYPE = "enclii:apps:Service";

/**
 * The message a deploy leaves in the stack's history: what it deployed, how (`canary`), and what
 * `--force` overrode, so the history says a deploy ran past its error budget.
 */
export function deployMessage(
  operation: "deploy" | "rollback",
  service: string,
  image: string,
  notes: { forced?: readonly string[]; canary?: string } = {},
): string {
  const forced = notes.forced?.length ? ` (forced past: ${notes.forced.join(", ")})` : "";
  return `enclii ${operation} ${service} ${image}${notes.canary ? ` (canary: ${notes.canary})` : ""}${forced}`;
}

/** The stack config path of a service's canary (docs/control-plane.md#canary-deploys). */
export function canaryConfigPath(service: string): string {
  return `${NAMESPACE}:services["${service}"].canary`;
}
