import { describe, expect, it } from "vitest";
import { stackSuite } from "./stack-suite";

describe("HA stack (three cloud servers, two without public IPv4)", () => {
  const plan = stackSuite("ha", "examples/Pulumi.ha.yaml");
  const servers = () => plan().ofType("hcloud:index/server:Server");

  it("runs three etcd servers in one spread placement group on the private network", () => {
    expect(servers().map((s) => s.name)).toEqual(["enclii-cloud-gateway", "enclii-cloud-node-1", "enclii-cloud-node-2"]);
    expect(
      plan()
        .ofType("hcloud:index/placementGroup:PlacementGroup")
        .map((g) => g.inputs.type),
    ).toEqual(["spread"]);
    const boots = plan()
      .ofType("command:remote:Command")
      .filter((c) => c.name.endsWith("-bootstrap"));
    expect(boots.filter((b) => String(b.inputs.create).includes("cluster-init: true")).map((b) => b.name)).toEqual([
      "enclii-k3s-gateway-bootstrap",
    ]);
    expect(boots.filter((b) => String(b.inputs.create).includes("server: https://10.0.1.10:6443"))).toHaveLength(2);
  });

  it("gives only the first server public IPv4 and routes the others' egress through it", () => {
    expect(servers().map((s) => (s.inputs.publicNets as { ipv4Enabled: boolean }[])[0].ipv4Enabled)).toEqual([true, false, false]);
    const [route] = plan().ofType("hcloud:index/networkRoute:NetworkRoute");
    expect(route.inputs).toMatchObject({ destination: "0.0.0.0/0", gateway: "10.0.1.10" });
    const node1 = plan().byName("command:remote:Command", "enclii-k3s-node-1-bootstrap");
    expect(node1.dependencies).toContain(route.urn);
    expect(plan().files.get("bootstrap/gateway.sh")).toMatch(/ip saddr 10\.0\.0\.0\/\d+ oifname "\$\{?\w+\}?" masquerade/);
    expect(plan().files.get("bootstrap/node-1.sh")).toContain("ip route replace default via 10.0.0.1");
  });

  it("protects servers, network, storage, the database, Redis data and the backups bucket", () => {
    expect(plan().protectedNames()).toEqual([
      "enclii-cloud-gateway",
      "enclii-cloud-network",
      "enclii-cloud-node-1",
      "enclii-cloud-node-2",
      "enclii-cloud-subnet",
      "enclii-data-namespace",
      "enclii-data-postgres-enclii-pg",
      "enclii-data-postgres-r2-backups",
      "enclii-data-redis-redis",
      "enclii-longhorn-namespace",
      "enclii-longhorn-release",
      "enclii-r2-assets",
      "enclii-r2-backups",
    ]);
    for (const s of servers()) expect(s.inputs).toMatchObject({ deleteProtection: true, rebuildProtection: true });
  });

  it("runs Redis with Sentinel and three PostgreSQL instances behind two poolers", () => {
    expect(
      plan()
        .ofType("kubernetes:apps/v1:StatefulSet")
        .map((s) => [s.name, (s.inputs.spec as { replicas: number }).replicas]),
    ).toEqual([
      ["enclii-data-redis-redis", 3],
      ["enclii-data-redis-redis-sentinel", 3],
    ]);
    expect(
      (plan().byName("kubernetes:postgresql.cnpg.io/v1:Cluster", "enclii-data-postgres-enclii-pg").inputs.spec as { instances: number })
        .instances,
    ).toBe(3);
    expect(
      (plan().byName("kubernetes:postgresql.cnpg.io/v1:Pooler", "enclii-data-postgres-pooler").inputs.spec as { instances: number })
        .instances,
    ).toBe(2);
  });

  it("replicates Longhorn volumes three ways", () => {
    const values = plan().byName("kubernetes:helm.sh/v3:Release", "enclii-longhorn-release").inputs.values as any;
    expect(values.persistence.defaultClassReplicaCount).toBe(3);
  });
});
