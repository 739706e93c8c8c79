import { describe, expect, it } from "vitest";
import { stackSuite } from "./stack-suite";

describe("staging stack (one Hetzner Cloud server)", () => {
  const plan = stackSuite("staging", "Pulumi.staging.yaml");

  it("creates one public cx33 in nbg1, its first location, behind the admin-only firewall", () => {
    const [server] = plan().ofType("hcloud:index/server:Server");
    expect(plan().ofType("hcloud:index/server:Server")).toHaveLength(1);
    expect(server.inputs).toMatchObject({
      name: "staging-staging",
      serverType: "cx33",
      location: "nbg1",
      publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
    });
    // Created where the list says, then kept there: a reordered list never replaces it.
    expect(server.ignoreChanges).toEqual(["userData", "location"]);
    const [fw] = plan().ofType("hcloud:index/firewall:Firewall");
    expect((fw.inputs.rules as { port: string }[]).map((r) => r.port)).toEqual(["22", "6443"]);
  });

  it("protects nothing and needs no NAT", () => {
    expect(plan().protectedNames()).toEqual([]);
    expect(plan().ofType("hcloud:index/networkRoute:NetworkRoute")).toEqual([]);
    expect(plan().ofType("hcloud:index/server:Server")[0].inputs).toMatchObject({ deleteProtection: false, rebuildProtection: false });
  });

  it("uses an explicit hcloud provider whose token is secret", () => {
    const [provider] = plan().ofType("pulumi:providers:hcloud");
    expect(provider.inputs.token).toBe("[secret]");
    for (const r of plan().result.resources.filter((x) => x.type.startsWith("hcloud:"))) expect(r.provider).toBe(provider.urn);
  });

  it("runs every service with one replica through enclii:services overrides, keeping switchyard-api's autoscaling", () => {
    const services = plan().result.outputs.services as { name: string; replicas: number; hostnames: string[] }[];
    expect(services.map((s) => [s.name, s.replicas, s.hostnames[0]])).toEqual([
      ["docs-site", 1, "docs.enclii.dev"],
      ["janua", 1, "auth.enclii.dev"],
      ["landing-page", 1, "enclii.dev"],
      ["status-page", 1, "status.enclii.dev"],
      ["switchyard-api", 1, "api.enclii.dev"],
      ["switchyard-ui", 1, "app.enclii.dev"],
    ]);
    // One replica needs no disruption budget, unless an HPA may add more.
    expect(
      plan()
        .ofType("kubernetes:policy/v1:PodDisruptionBudget")
        .filter((p) => (p.inputs.metadata as any).namespace === "enclii-platform")
        .map((p) => p.name),
    ).toEqual(["enclii-apps-switchyard-api-pdb"]);
  });
});
