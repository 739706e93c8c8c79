/**
 * The replacement table as a reviewer meets it in a plan diff: which input change replaces (or
 * disrupts) which resource, and, when the resource holds data, that the diff says it loses it.
 * Every expectation names the provider code that decides it. Pure functions only: no Pulumi runtime.
 */
import { describe, expect, it } from "vitest";
import { diffPlans, flagLines, type PlanFile } from "../automation/planDiff";
import { replacementsFor } from "../model/replacements";

/** Inputs holding `value` at `path` (dotted, `[0]` for a list's first element). */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.match(/[^.[\]]+|\[0\]/g) ?? [];
  return keys.reduceRight<unknown>((inner, key) => (key === "[0]" ? [inner] : { [key]: inner }), value) as Record<string, unknown>;
}

const plan = (type: string, inputs: Record<string, unknown>): PlanFile => ({
  stack: "production",
  resources: [
    {
      urn: `urn:pulumi:production::enclii-infra::${type}::r`,
      type,
      name: "r",
      inputs,
      dependencies: [],
      protect: false,
      retainOnDelete: false,
    },
  ],
  outputs: {},
});

/** The plan diff of one resource whose input at `path` changes, and its one change. */
function changeAt(type: string, path: string) {
  const diff = diffPlans(plan(type, at(path, "before")), plan(type, at(path, "after")));
  expect(diff.changes.map((c) => c.paths)).toEqual([[path]]);
  return { diff, change: diff.changes[0] };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The flag line the comment shows: what it does, the path, and the citation it starts with. */
const flag = (what: string, path: string, citation: string) => new RegExp(`^${escape(what)}: ${escape(path)} \\[${escape(citation)}`);

// Citations: where each provider decides what forces a new resource.
const K8S = "pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties";
const HCLOUD_SERVER = "terraform-provider-hcloud internal/server/resource.go";
const HCLOUD_NETWORK = "terraform-provider-hcloud internal/network/";
/** terraform-provider-cloudflare keeps one schema per resource, in the snake_case of the type's module. */
const cloudflareSchema = (type: string) => {
  const module = type.split(":")[1].split("/")[1];
  return `terraform-provider-cloudflare internal/services/${module.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}/schema.go`;
};
const RANDOM = "terraform-provider-random";

const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const SERVER = "hcloud:index/server:Server";
const NETWORK = "hcloud:index/network:Network";
const SUBNET = "hcloud:index/networkSubnet:NetworkSubnet";
const R2_BUCKET = "cloudflare:index/r2Bucket:R2Bucket";
const TUNNEL = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared";
const CUSTOM_HOSTNAME = "cloudflare:index/customHostname:CustomHostname";

describe("a change that replaces something holding data is flagged as losing it", () => {
  // [type, changed path, citation the flag starts with]
  const cases: [string, string, string][] = [
    // pulumi-kubernetes diff.go: `.metadata.name` and `.metadata.namespace` of every kind, then per kind
    // (core/v1 PersistentVolumeClaim: .spec.accessModes, .spec.selector, .spec.storageClassName, .spec.volumeName).
    [PVC, "metadata.name", K8S],
    [PVC, "metadata.namespace", K8S],
    [PVC, "spec.accessModes[0]", K8S],
    [PVC, "spec.selector.matchLabels.app", K8S],
    [PVC, "spec.storageClassName", K8S],
    [PVC, "spec.volumeName", K8S],
    // apps/v1 StatefulSet: .spec.podManagementPolicy, .spec.revisionHistoryLimit, .spec.selector, .spec.serviceName, .spec.volumeClaimTemplates.
    [STATEFUL_SET, "spec.podManagementPolicy", K8S],
    [STATEFUL_SET, "spec.revisionHistoryLimit", K8S],
    [STATEFUL_SET, "spec.selector.matchLabels.app", K8S],
    [STATEFUL_SET, "spec.serviceName", K8S],
    [STATEFUL_SET, "spec.volumeClaimTemplates[0].spec.resources.requests.storage", K8S],
    // core/v1 Secret: .type.
    ["kubernetes:core/v1:Secret", "type", K8S],
    // terraform-provider-hcloud internal/server/resource.go: image, location, user_data, ssh_keys are ForceNew.
    [SERVER, "image", HCLOUD_SERVER],
    [SERVER, "location", HCLOUD_SERVER],
    [SERVER, "userData", HCLOUD_SERVER],
    [SERVER, "sshKeys[0]", HCLOUD_SERVER],
    // internal/network/resource.go: `ip_range` is ForceNew (a network's name and labels are updated in place).
    [NETWORK, "ipRange", HCLOUD_NETWORK],
    // internal/network/resource_subnet.go: network_id, type, network_zone, ip_range, vswitch_id are ForceNew.
    [SUBNET, "networkId", HCLOUD_NETWORK],
    [SUBNET, "type", HCLOUD_NETWORK],
    [SUBNET, "networkZone", HCLOUD_NETWORK],
    [SUBNET, "ipRange", HCLOUD_NETWORK],
    [SUBNET, "vswitchId", HCLOUD_NETWORK],
    // terraform-provider-cloudflare internal/services/<resource>/schema.go: RequiresReplace on these attributes.
    [R2_BUCKET, "accountId", cloudflareSchema(R2_BUCKET)],
    [R2_BUCKET, "name", cloudflareSchema(R2_BUCKET)],
    [R2_BUCKET, "location", cloudflareSchema(R2_BUCKET)],
    // Not in the provider's schema: Cloudflare's R2 docs (Data location) say a jurisdiction is fixed at creation.
    [R2_BUCKET, "jurisdiction", "Cloudflare R2 docs"],
    [TUNNEL, "accountId", cloudflareSchema(TUNNEL)],
    [TUNNEL, "configSrc", cloudflareSchema(TUNNEL)],
    [CUSTOM_HOSTNAME, "zoneId", cloudflareSchema(CUSTOM_HOSTNAME)],
    [CUSTOM_HOSTNAME, "hostname", cloudflareSchema(CUSTOM_HOSTNAME)],
    // terraform-provider-random: every argument of every resource is RequiresReplace (a new value).
    ["random:index/randomPassword:RandomPassword", "length", RANDOM],
    ["random:index/randomPassword:RandomPassword", "overrideSpecial", RANDOM],
    ["random:index/randomBytes:RandomBytes", "length", RANDOM],
  ];

  it.each(cases)("%s: a change at %s", (type, path, citation) => {
    const { diff, change } = changeAt(type, path);
    expect(change).toMatchObject({ kind: "changed", stateful: true, losesData: true });
    expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["replace", [path]]]);
    const lines = flagLines(change);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(flag("REPLACES (holds data)", path, citation));
    expect(diff.verdict).toBe("replaces-stateful");
  });

  it("a Secret whose data or stringData changes is replaced: the provider treats Secrets as immutable by default", () => {
    // pulumi-kubernetes diff.go (v4): `if clients.IsSecret(obj) && (!k.enableSecretMutable || …)`
    // adds `.type`, `.stringData` and `.data` to forceNew; node_modules/@pulumi/kubernetes/provider.d.ts,
    // `enableSecretMutable`: "BETA FEATURE … allow Secrets to be mutated … disabled by default". The
    // platform's providers do not set it.
    for (const path of ["data.token", "stringData.sentinel.conf"]) {
      const { diff, change } = changeAt("kubernetes:core/v1:Secret", path);
      expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["replace", [path]]]);
      expect(flagLines(change)).toEqual([expect.stringMatching(flag("REPLACES (holds data)", path, K8S))]);
      expect(diff.verdict).toBe("replaces-stateful");
    }
  });

  it("flags only the changed paths that replace, and lists every changed path", () => {
    const before = { zoneId: "z1", hostname: "app.example.com", ssl: { method: "http" } };
    const after = { zoneId: "z2", hostname: "app.example.com", ssl: { method: "txt" } };
    const [change] = diffPlans(plan(CUSTOM_HOSTNAME, before), plan(CUSTOM_HOSTNAME, after)).changes;
    expect(change.paths).toEqual(["ssl.method", "zoneId"]);
    expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["replace", ["zoneId"]]]);
    expect(change.losesData).toBe(true);
  });
});

describe("a change that replaces something holding no data is flagged, without the data warning", () => {
  const cases: [string, string, string][] = [
    // pulumi-kubernetes diff.go: apps/v1 Deployment and DaemonSet: .spec.selector.
    ["kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app", K8S],
    ["kubernetes:apps/v1:DaemonSet", "spec.selector.matchLabels.app", K8S],
    // core/v1 Service: .spec.clusterIP.
    ["kubernetes:core/v1:Service", "spec.clusterIP", K8S],
    // batch/v1 Job: .spec.completions, .spec.parallelism, .spec.selector, .spec.template.
    ["kubernetes:batch/v1:Job", "spec.completions", K8S],
    ["kubernetes:batch/v1:Job", "spec.parallelism", K8S],
    ["kubernetes:batch/v1:Job", "spec.selector.matchLabels.app", K8S],
    ["kubernetes:batch/v1:Job", "spec.template.spec.containers[0].image", K8S],
    // core/v1 ResourceQuota: .spec.scopes.
    ["kubernetes:core/v1:ResourceQuota", "spec.scopes[0]", K8S],
    // storage.k8s.io/v1 StorageClass: .parameters, .provisioner.
    ["kubernetes:storage.k8s.io/v1:StorageClass", "parameters.numberOfReplicas", K8S],
    ["kubernetes:storage.k8s.io/v1:StorageClass", "provisioner", K8S],
    // rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding: .roleRef.
    ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "roleRef.name", K8S],
    ["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "roleRef.name", K8S],
    // Any kind's .metadata.name.
    ["kubernetes:core/v1:ConfigMap", "metadata.name", K8S],
    // terraform-provider-cloudflare schema.go, RequiresReplace.
    ["cloudflare:index/r2BucketLock:R2BucketLock", "accountId", cloudflareSchema("cloudflare:index/r2BucketLock:R2BucketLock")],
    ["cloudflare:index/r2BucketLock:R2BucketLock", "bucketName", cloudflareSchema("cloudflare:index/r2BucketLock:R2BucketLock")],
    ["cloudflare:index/dnsRecord:DnsRecord", "zoneId", cloudflareSchema("cloudflare:index/dnsRecord:DnsRecord")],
    ["cloudflare:index/dnsRecord:DnsRecord", "type", cloudflareSchema("cloudflare:index/dnsRecord:DnsRecord")],
    ["cloudflare:index/accountToken:AccountToken", "accountId", cloudflareSchema("cloudflare:index/accountToken:AccountToken")],
  ];

  it.each(cases)("%s: a change at %s", (type, path, citation) => {
    const { diff, change } = changeAt(type, path);
    expect(change).toMatchObject({ stateful: false, losesData: false });
    expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["replace", [path]]]);
    const lines = flagLines(change);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(flag("replaces", path, citation));
    expect(diff.verdict).toBe("changes");
  });
});

describe("a change that disrupts without replacing is flagged, with why, and loses nothing", () => {
  it("moving a server to another placement group: updated in place, but only while it is powered off", () => {
    // terraform-provider-hcloud internal/server/resource.go: placement_group_id is not ForceNew; the
    // update (setPlacementGroup) powers the server off first.
    const { diff, change } = changeAt(SERVER, "placementGroupId");
    expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["disrupt", ["placementGroupId"]]]);
    expect(change.losesData).toBe(false);
    const [line] = flagLines(change);
    expect(line).toMatch(
      /^disrupts: placementGroupId — .*powered off \[terraform-provider-hcloud internal\/server\/resource\.go.*setPlacementGroup/,
    );
    expect(diff.verdict).toBe("changes");
  });

  it("changing a database's bootstrap: nothing happens to the running cluster, only a new one would use it", () => {
    // CloudNativePG docs, Bootstrap: the section is read only when a cluster is created.
    const { change } = changeAt("kubernetes:postgresql.cnpg.io/v1:Cluster", "spec.bootstrap.recovery.source");
    expect(change.replacements.map((r) => [r.effect, r.paths])).toEqual([["disrupt", ["spec.bootstrap.recovery.source"]]]);
    expect(change.losesData).toBe(false);
    expect(flagLines(change)).toEqual([
      expect.stringMatching(/^disrupts: spec\.bootstrap\.recovery\.source — .*new one \[CloudNativePG docs/),
    ]);
  });

  it("a server changed both ways gets both flags, the replacement first", () => {
    const triggered = replacementsFor(SERVER, ["location", "placementGroupId"]);
    expect(triggered.map((t) => [t.rule.effect, t.paths])).toEqual([
      ["replace", ["location"]],
      ["disrupt", ["placementGroupId"]],
    ]);
  });
});

describe("a change the provider makes in place replaces nothing", () => {
  const cases: [string, string][] = [
    // pulumi-kubernetes diff.go: a PersistentVolumeClaim's .spec.resources is not forceNew (volume expansion).
    [PVC, "spec.resources.requests.storage"],
    // …nor a StatefulSet's .spec.replicas or pod template.
    [STATEFUL_SET, "spec.replicas"],
    [STATEFUL_SET, "spec.template.spec.containers[0].image"],
    ["kubernetes:apps/v1:Deployment", "spec.template.spec.containers[0].image"],
    // Only `.spec.clusterIP` is forceNew for a Service: `spec.clusterIPs` merely begins the same.
    ["kubernetes:core/v1:Service", "spec.clusterIPs[0]"],
    ["kubernetes:core/v1:ConfigMap", "metadata.labels.app"],
    // terraform-provider-hcloud internal/server/resource.go: server_type is changed by a rescale, labels in place.
    [SERVER, "serverType"],
    [SERVER, "labels.role"],
    // internal/network/resource.go: name and labels are updated by resourceNetworkUpdate.
    [NETWORK, "name"],
    [NETWORK, "labels.cluster"],
  ];

  it.each(cases)("%s: a change at %s", (type, path) => {
    expect(replacementsFor(type, [path])).toEqual([]);
    const { diff, change } = changeAt(type, path);
    expect(change.replacements).toEqual([]);
    expect(change.losesData).toBe(false);
    expect(flagLines(change)).toEqual([]);
    expect(diff.verdict).toBe("changes");
  });
});

describe("which rules a resource type gets", () => {
  it("a type with no rule is never flagged, whatever changes", () => {
    expect(replacementsFor("hcloud:index/firewall:Firewall", ["name", "rules[0].port"])).toEqual([]);
    expect(replacementsFor("kubernetes-cert-manager:index:CertManager", ["metadata.name", "helmOptions.version"])).toEqual([]);
  });

  it("a `kubernetes:*` or `random:*` rule covers the whole package, and only that package", () => {
    expect(replacementsFor("kubernetes:monitoring.coreos.com/v1:Probe", ["metadata.namespace"]).map((t) => t.paths)).toEqual([
      ["metadata.namespace"],
    ]);
    expect(replacementsFor("random:index/randomUuid:RandomUuid", ["keepers.x"]).map((t) => t.paths)).toEqual([["keepers.x"]]);
    // Packages whose names merely begin the same are not covered.
    expect(replacementsFor("rancher2:index/cluster:Cluster", ["name"])).toEqual([]);
    expect(replacementsFor("kafka:index/topic:Topic", ["name"])).toEqual([]);
  });

  it("a kind's own rule and the whole package's both apply, each with the paths it covers", () => {
    const triggered = replacementsFor(STATEFUL_SET, ["metadata.name", "spec.replicas", "spec.serviceName"]);
    expect(triggered.map((t) => [t.rule.type, t.paths])).toEqual([
      ["kubernetes:*", ["metadata.name"]],
      [STATEFUL_SET, ["spec.serviceName"]],
    ]);
  });

  it("an exact type is matched exactly, not as a prefix of a longer one", () => {
    expect(replacementsFor("kubernetes:apps/v1:DeploymentList", ["spec.selector.matchLabels.app"])).toEqual([]);
  });
});

describe("how a changed path meets a rule's path", () => {
  it("a path at, below (`.`) or inside a list (`[i]`) of a rule's path triggers it; a sibling does not", () => {
    const paths = ["sshKeys", "sshKeys[1]", "sshKeys[0].id", "sshKeysExtra", "userData", "userDataHash", "imageId"];
    expect(replacementsFor(SERVER, paths).map((t) => t.paths)).toEqual([["sshKeys", "sshKeys[1]", "sshKeys[0].id", "userData"]]);
  });

  it("changed paths keep their order and indices in what the flag names", () => {
    expect(replacementsFor(PVC, ["spec.volumeName", "spec.accessModes[2]"]).map((t) => t.paths)).toEqual([
      ["spec.volumeName", "spec.accessModes[2]"],
    ]);
  });
});
