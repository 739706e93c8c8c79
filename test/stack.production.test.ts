import { describe, expect, it } from "vitest";
import { stackSuite } from "./stack-suite";

describe("production stack (one dedicated AX41-NVMe)", () => {
  const plan = stackSuite("production", "Pulumi.production.yaml");

  it("creates no Hetzner Cloud resources: the host already exists", () => {
    expect(plan().result.resources.filter((r) => r.type.startsWith("hcloud:") || r.type === "pulumi:providers:hcloud")).toEqual([]);
  });

  it("runs single-node k3s with embedded etcd and the host firewall", () => {
    const [boot] = plan().ofType("command:remote:Command").filter((c) => c.name.endsWith("-bootstrap"));
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

  it("exports the nodes, the API endpoint and the cost", () => {
    expect(plan().result.outputs).toMatchObject({
      apiEndpoint: "https://203.0.113.10:6443",
      nodes: [{ name: "ax41-1", role: "server", nodeIp: "203.0.113.10", publicIp: "203.0.113.10" }],
      k3sVersion: "v1.33.4+k3s1",
      storageClass: "longhorn",
    });
    expect(plan().result.outputs.monthlyCostUsd).toBeCloseTo(50.05, 2);
  });
});
