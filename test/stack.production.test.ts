import { describe, expect, it } from "vitest";
import { stackSuite } from "./stack-suite";

describe("production stack (one dedicated AX41-NVMe)", () => {
  const plan = stackSuite("production", "Pulumi.production.yaml");

  it("creates no Hetzner Cloud resources: the host already exists", () => {
    expect(plan().result.resources.filter((r) => r.type.startsWith("hcloud:") || r.type === "pulumi:providers:hcloud")).toEqual([]);
  });

  it("runs single-node k3s with embedded etcd and the host firewall", () => {
    const [boot] = plan()
      .ofType("command:remote:Command")
      .filter((c) => c.name.endsWith("-bootstrap"));
    expect(boot.name).toBe("enclii-k3s-ax41-1-bootstrap");
    expect(boot.inputs.create).toContain("cluster-init: true");
    expect(boot.inputs.create).toContain('tcp dport { 22, 6443 } ip saddr { 198.51.100.7/32 } accept comment "admin CIDRs"');
  });

  it("protects Longhorn (deleting it deletes every volume) and keeps volumes after their claims", () => {
    expect(plan().byName("kubernetes:helm.sh/v3:Release", "enclii-longhorn-release").protect).toBe(true);
    expect(plan().byName("kubernetes:core/v1:Namespace", "enclii-longhorn-namespace").protect).toBe(true);
    const values = plan().byName("kubernetes:helm.sh/v3:Release", "enclii-longhorn-release").inputs.values as any;
    expect(values.persistence).toMatchObject({ defaultClassReplicaCount: 1, reclaimPolicy: "Retain" });
  });

  it("keeps everything that holds data: protected, and retained if ever dropped from the program", () => {
    expect(plan().protectedNames()).toEqual([
      "enclii-data-namespace",
      "enclii-data-postgres-enclii-pg",
      "enclii-data-postgres-r2-backups",
      "enclii-data-redis-redis",
      "enclii-longhorn-namespace",
      "enclii-longhorn-release",
      "enclii-r2-assets",
      "enclii-r2-backups",
    ]);
    const redis = plan().byName("kubernetes:apps/v1:StatefulSet", "enclii-data-redis-redis").inputs.spec as any;
    expect(redis.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  });

  it("backs PostgreSQL up daily to the R2 backups bucket, keeping 7 days", () => {
    const store = plan().byName("kubernetes:barmancloud.cnpg.io/v1:ObjectStore", "enclii-data-postgres-r2-backups").inputs.spec as any;
    expect(store.retentionPolicy).toBe("7d");
    expect(store.configuration.destinationPath).toBe("s3://enclii-production-backups/postgres/");
    expect(store.configuration.endpointURL).toBe("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com");
    const lifecycle = plan().ofType("cloudflare:index/r2BucketLifecycle:R2BucketLifecycle");
    expect(lifecycle).toHaveLength(2);
  });

  it("runs cloudflared with 3 replicas and keeps its token in a Secret", () => {
    const deployment = plan().byName("kubernetes:apps/v1:Deployment", "enclii-tunnel-deployment");
    expect((deployment.inputs.spec as { replicas: number }).replicas).toBe(3);
    expect(plan().files.get("manifests/cloudflared/secret-cloudflared-token.yaml")).toMatch(/\[secret\]/);
  });

  it("names resources by the engine's URNs (the whole ancestor chain), as `pulumi state` commands need", () => {
    const cluster = plan().byName("kubernetes:postgresql.cnpg.io/v1:Cluster", "enclii-data-postgres-enclii-pg");
    expect(cluster.urn).toBe(
      "urn:pulumi:production::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Postgres$kubernetes:postgresql.cnpg.io/v1:Cluster::enclii-data-postgres-enclii-pg",
    );
    expect(cluster.parent).toBe(
      "urn:pulumi:production::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Postgres::enclii-data-postgres",
    );
  });

  it("exports the nodes, the API endpoint and the cost", () => {
    expect(plan().result.outputs).toMatchObject({
      apiEndpoint: "https://203.0.113.10:6443",
      nodes: [{ name: "ax41-1", role: "server", nodeIp: "203.0.113.10", publicIp: "203.0.113.10" }],
      k3sVersion: "v1.35.8+k3s1",
      storageClass: "longhorn",
    });
    // The AX41 ($50.05), R2 at the stated usage ($5.82) and the domain ($1.25).
    expect(plan().result.outputs.monthlyCostUsd).toBeCloseTo(57.12, 2);
  });

  it("runs the six dogfooded services, each routed through the tunnel with a proxied CNAME", () => {
    expect(plan().result.outputs.services).toEqual([
      { name: "docs-site", image: "ghcr.io/madfam-io/docs-site:1.4.0", replicas: 2, hostnames: ["docs.enclii.io"] },
      { name: "janua", image: "ghcr.io/madfam-io/janua:0.9.3", replicas: 3, hostnames: ["auth.enclii.io"] },
      { name: "landing-page", image: "ghcr.io/madfam-io/landing-page:1.2.0", replicas: 2, hostnames: ["enclii.io"] },
      { name: "status-page", image: "ghcr.io/madfam-io/status-page:1.0.4", replicas: 2, hostnames: ["status.enclii.io"] },
      {
        name: "switchyard-api",
        image: "ghcr.io/madfam-io/switchyard-api:1.4.2",
        replicas: 3,
        maxReplicas: 6,
        hostnames: ["api.enclii.io"],
      },
      { name: "switchyard-ui", image: "ghcr.io/madfam-io/switchyard-ui:1.4.2", replicas: 2, hostnames: ["app.enclii.io"] },
    ]);
    const config = plan().ofType("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig")[0].inputs
      .config as any;
    expect(config.ingresses.map((i: any) => i.hostname)).toEqual([
      "api.enclii.io",
      "app.enclii.io",
      "auth.enclii.io",
      "docs.enclii.io",
      "enclii.io",
      "status.enclii.io",
      undefined,
    ]);
    const cnames = plan()
      .ofType("cloudflare:index/dnsRecord:DnsRecord")
      .map((r) => [r.inputs.name, r.inputs.proxied]);
    expect(cnames).toEqual(
      expect.arrayContaining([
        ["enclii.io", true],
        ["api.enclii.io", true],
        ["auth.enclii.io", true],
      ]),
    );
    for (const n of ["docs-site", "janua", "landing-page", "status-page", "switchyard-api", "switchyard-ui"]) {
      expect(plan().files.has(`manifests/enclii-platform/deployment-${n}.yaml`), n).toBe(true);
    }
  });

  it("keeps Janua's key material, session and client secrets in Secrets whose values the plan never shows", () => {
    for (const name of ["janua-signing-keys", "janua-internal", "janua-session", "janua-clients", "oidc-client-enclii-api"]) {
      const text = plan().files.get(`manifests/enclii-platform/secret-${name}.yaml`)!;
      expect(text, name).toMatch(/\[secret\]/);
    }
    expect(plan().result.outputs.oidcIssuer).toBe("https://auth.enclii.io");
  });
});
