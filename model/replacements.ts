/**
 * Which input changes make Pulumi replace a resource (or disrupt it in place), with the source of
 * each entry. The plan diff reads it to tell a reviewer "this replaces something" before any
 * preview: one table, checked against the providers' own code as of the commits named.
 */

export interface ReplaceRule {
  /** A resource type token, or a prefix ending in `*` (`kubernetes:*`). */
  type: string;
  /** Input paths (dotted); a change at or below one (`spec.accessModes[0]` under `spec.accessModes`) triggers the rule. `*` is any input. */
  paths: string[];
  effect: "replace" | "disrupt";
  source: string;
  note?: string;
}

const K8S_DIFF = "pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties (v4.32.0, 9497796)";
const HCLOUD_SERVER = "terraform-provider-hcloud internal/server/resource.go, ForceNew (f81c9af, 2026-08-17)";
const HCLOUD_NETWORK = "terraform-provider-hcloud internal/network/resource.go and resource_subnet.go, ForceNew (f81c9af)";
const CLOUDFLARE = (service: string) =>
  `terraform-provider-cloudflare internal/services/${service}/schema.go, RequiresReplace (a2efdc5, 2026-07-10)`;
const SELECTOR = ["spec.selector"];

export const REPLACE_RULES: ReplaceRule[] = [
  { type: "kubernetes:*", paths: ["metadata.name", "metadata.namespace"], effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:apps/v1:Deployment", paths: SELECTOR, effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:apps/v1:DaemonSet", paths: SELECTOR, effect: "replace", source: K8S_DIFF },
  {
    type: "kubernetes:apps/v1:StatefulSet",
    paths: ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"],
    effect: "replace",
    source: K8S_DIFF,
  },
  { type: "kubernetes:core/v1:Service", paths: ["spec.clusterIP"], effect: "replace", source: K8S_DIFF },
  {
    type: "kubernetes:batch/v1:Job",
    paths: ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
    effect: "replace",
    source: K8S_DIFF,
  },
  {
    type: "kubernetes:core/v1:PersistentVolumeClaim",
    paths: ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
    effect: "replace",
    source: K8S_DIFF,
  },
  // Secrets are immutable unless the provider sets `enableSecretMutable` (beta, off by default; ours don't):
  // diff.go's IsSecret branch makes `.type`, `.stringData` and `.data` force a new Secret.
  { type: "kubernetes:core/v1:Secret", paths: ["type", "stringData", "data"], effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:core/v1:ResourceQuota", paths: ["spec.scopes"], effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:storage.k8s.io/v1:StorageClass", paths: ["parameters", "provisioner"], effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", paths: ["roleRef"], effect: "replace", source: K8S_DIFF },
  { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", paths: ["roleRef"], effect: "replace", source: K8S_DIFF },
  {
    type: "kubernetes:postgresql.cnpg.io/v1:Cluster",
    paths: ["spec.bootstrap"],
    effect: "disrupt",
    source: "CloudNativePG docs, Bootstrap: the bootstrap section is used only when the cluster is created",
    note: "does nothing to a running cluster; it takes effect only on a new one",
  },
  { type: "hcloud:index/server:Server", paths: ["image", "location", "userData", "sshKeys"], effect: "replace", source: HCLOUD_SERVER },
  {
    type: "hcloud:index/server:Server",
    paths: ["placementGroupId"],
    effect: "disrupt",
    source: `${HCLOUD_SERVER}: updated in place by setPlacementGroup`,
    note: "Hetzner moves a server between placement groups only while it is powered off",
  },
  { type: "hcloud:index/network:Network", paths: ["ipRange"], effect: "replace", source: HCLOUD_NETWORK },
  {
    type: "hcloud:index/networkSubnet:NetworkSubnet",
    paths: ["networkId", "type", "networkZone", "ipRange", "vswitchId"],
    effect: "replace",
    source: HCLOUD_NETWORK,
  },
  {
    type: "cloudflare:index/r2Bucket:R2Bucket",
    paths: ["accountId", "name", "location"],
    effect: "replace",
    source: CLOUDFLARE("r2_bucket"),
  },
  {
    type: "cloudflare:index/r2Bucket:R2Bucket",
    paths: ["jurisdiction"],
    effect: "replace",
    source: "Cloudflare R2 docs, Data location: a bucket's jurisdiction is set when it is created and cannot be changed",
  },
  {
    type: "cloudflare:index/r2BucketLock:R2BucketLock",
    paths: ["accountId", "bucketName"],
    effect: "replace",
    source: CLOUDFLARE("r2_bucket_lock"),
  },
  {
    type: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
    paths: ["accountId", "configSrc"],
    effect: "replace",
    source: CLOUDFLARE("zero_trust_tunnel_cloudflared"),
  },
  {
    type: "cloudflare:index/customHostname:CustomHostname",
    paths: ["zoneId", "hostname"],
    effect: "replace",
    source: CLOUDFLARE("custom_hostname"),
  },
  { type: "cloudflare:index/dnsRecord:DnsRecord", paths: ["zoneId", "type"], effect: "replace", source: CLOUDFLARE("dns_record") },
  { type: "cloudflare:index/accountToken:AccountToken", paths: ["accountId"], effect: "replace", source: CLOUDFLARE("account_token") },
  {
    type: "random:*",
    paths: ["*"],
    effect: "replace",
    source: "terraform-provider-random: every argument of its resources forces a new resource (RequiresReplace)",
  },
];

function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function under(path: string, prefix: string): boolean {
  return prefix === "*" || path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

export interface Triggered {
  rule: ReplaceRule;
  /** The changed paths that triggered it. */
  paths: string[];
}

/** The rules a change to `changedPaths` of a `type` triggers. */
export function replacementsFor(type: string, changedPaths: readonly string[]): Triggered[] {
  return REPLACE_RULES.filter((r) => typeMatches(r.type, type))
    .map((rule) => ({ rule, paths: changedPaths.filter((p) => rule.paths.some((prefix) => under(p, prefix))) }))
    .filter((t) => t.paths.length > 0);
}
