import type * as hcloudNs from "@pulumi/hcloud";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fakeEd25519 } from "../automation/mocks";
import { keySchemas, type CloudNode, type DedicatedNode as DedicatedSpec } from "../model/config/schema";
import { find, isSecret, one, recordResources, resolve, settled, type Registered } from "./harness";

/** A real ED25519 public key line (ssh-keygen -t ed25519). */
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFbxtNDZMD1FYnkQR1/pusV4AeFRh8BQDXjgGPOnp2E";

const network = { ipRange: "10.0.0.0/16", subnet: "10.0.1.0/24", zone: "eu-central" as const, gateway: "10.0.0.1" };
const cloudNode = (name: string, i: number, publicIpv4: boolean): CloudNode => ({
  kind: "cloud",
  name,
  pool: "node",
  role: "server",
  serverType: "cpx32",
  location: "nbg1",
  fallbacks: ["fsn1"],
  image: "ubuntu-24.04",
  publicIpv4,
  privateIp: `10.0.1.${10 + i}`,
});

let all: Registered[];
let mod: typeof import("../components/hetzner/CloudPool");
let hcloud: typeof hcloudNs;

beforeAll(async () => {
  all = await recordResources();
  hcloud = await import("@pulumi/hcloud");
  mod = await import("../components/hetzner/CloudPool");
});

function pool(name: string, nodes: CloudNode[], protect: boolean) {
  return new mod.CloudPool(name, {
    stack: "test",
    nodes,
    network,
    adminCidrs: ["198.51.100.7/32", "192.0.2.0/24"],
    sshPublicKey: "ssh-ed25519 AAAA test",
    sshPrivateKey: "key",
    protect,
    provider: new hcloud.Provider(`${name}-provider`, { token: "t" }),
  });
}

describe("CloudPool (HA: first server public, two private-only)", () => {
  let ha: InstanceType<typeof mod.CloudPool>;
  beforeAll(async () => {
    ha = pool("ha", [cloudNode("gw", 0, true), cloudNode("node-1", 1, false), cloudNode("node-2", 2, false)], true);
    await settled();
  });

  it("opens only SSH and the Kubernetes API, only from adminCidrs", async () => {
    const fw = one(all, "hcloud:index/firewall:Firewall", "ha-firewall");
    expect(fw.inputs.rules).toEqual([
      { description: "ssh from admin CIDRs", direction: "in", protocol: "tcp", port: "22", sourceIps: ["198.51.100.7/32", "192.0.2.0/24"] },
      {
        description: "kubernetesApi from admin CIDRs",
        direction: "in",
        protocol: "tcp",
        port: "6443",
        sourceIps: ["198.51.100.7/32", "192.0.2.0/24"],
      },
    ]);
  });

  it("puts every server on the private network with its assigned address, in a spread group", async () => {
    // By name: servers waiting on the firewall's id register after the others.
    const servers = find(all, "hcloud:index/server:Server")
      .filter((s) => s.name.startsWith("ha-"))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(servers.map((s) => s.inputs.networks[0].ip)).toEqual(["10.0.1.10", "10.0.1.11", "10.0.1.12"]);
    expect(one(all, "hcloud:index/placementGroup:PlacementGroup", "ha-spread-0").inputs.type).toBe("spread");
    expect(one(all, "hcloud:index/networkSubnet:NetworkSubnet", "ha-subnet").inputs).toMatchObject({
      networkZone: "eu-central",
      type: "cloud",
      ipRange: "10.0.1.0/24",
    });
    const gw = one(all, "hcloud:index/server:Server", "ha-gw");
    // Created in the pool's first location; the fallbacks are for the operator, not the provider.
    expect(servers.map((s) => s.inputs.location)).toEqual(["nbg1", "nbg1", "nbg1"]);
    expect(gw.inputs.publicNets).toEqual([{ ipv4Enabled: true, ipv6Enabled: true }]);
    expect(one(all, "hcloud:index/server:Server", "ha-node-1").inputs.publicNets).toEqual([{ ipv4Enabled: false, ipv6Enabled: false }]);
    // The firewall goes on the public server only: Hetzner's firewalls filter public interfaces.
    expect(gw.inputs.firewallIds).toHaveLength(1);
    for (const n of ["ha-node-1", "ha-node-2"]) expect(one(all, "hcloud:index/server:Server", n).inputs.firewallIds).toBeUndefined();
    expect(gw.inputs.labels).toMatchObject({ "enclii.io/pool": "node", "enclii.io/role": "server", "enclii.io/stack": "test" });
  });

  it("routes the private network's egress through the first server", () => {
    expect(one(all, "hcloud:index/networkRoute:NetworkRoute", "ha-nat-route").inputs).toMatchObject({
      destination: "0.0.0.0/0",
      gateway: "10.0.1.10",
    });
    expect(ha.nodes[0].natFor).toBe("10.0.0.0/16");
    expect(ha.nodes[1].egressGateway).toBe("10.0.0.1");
    expect(ha.nodes[0].egressGateway).toBeUndefined();
  });

  it("reaches private-only nodes through the first server as SSH proxy", async () => {
    const gwIp = await resolve(ha.nodes[0].publicIp!);
    const conn = await resolve(ha.nodes[2].connection);
    expect(conn.host).toBe("10.0.1.12");
    expect(conn.proxy).toMatchObject({ host: gwIp, user: "root" });
    expect((await resolve(ha.nodes[0].connection)).proxy).toBeUndefined();
    expect(ha.nodes[2].publicIp).toBeUndefined();
  });

  it("gives every server its own ED25519 host key through cloud-init, and pins each connection to it", async () => {
    for (const [i, n] of ["gw", "node-1", "node-2"].entries()) {
      expect(one(all, "tls:index/privateKey:PrivateKey", `ha-${n}-host-key`).inputs).toEqual({ algorithm: "ED25519" });
      const key = fakeEd25519(`ha-${n}-host-key`);
      const userData = one(all, "hcloud:index/server:Server", `ha-${n}`).inputs.userData as string;
      expect(userData.startsWith("#cloud-config\n")).toBe(true);
      // The image's own host keys are deleted; only this one is written.
      expect(parse(userData)).toEqual({
        ssh_deletekeys: true,
        ssh_keys: { ed25519_private: key.privateKeyOpenssh, ed25519_public: key.publicKeyOpenssh.trim() },
      });
      expect((await resolve(ha.nodes[i].connection)).hostKey).toBe(key.publicKeyOpenssh.trim());
    }
    // The private-only nodes' proxy (the first server) is pinned to the first server's key.
    const proxy = (await resolve(ha.nodes[1].connection)).proxy as { hostKey?: string };
    expect(proxy.hostKey).toBe(fakeEd25519("ha-gw-host-key").publicKeyOpenssh.trim());
  });

  it("keeps the private host key secret", async () => {
    expect(await isSecret(ha.servers.gw.userData)).toBe(true);
  });

  it("turns on Hetzner delete and rebuild protection when protected", () => {
    for (const s of find(all, "hcloud:index/server:Server").filter((r) => r.name.startsWith("ha-"))) {
      expect(s.inputs).toMatchObject({ deleteProtection: true, rebuildProtection: true });
    }
    expect(one(all, "hcloud:index/network:Network", "ha-network").inputs.deleteProtection).toBe(true);
  });
});

describe("CloudPool (all public, unprotected, 12 servers)", () => {
  beforeAll(async () => {
    pool(
      "big",
      Array.from({ length: 12 }, (_, i) => cloudNode(`n${i}`, i, true)),
      false,
    );
    await settled();
  });

  it("has no NAT route when every node has public IPv4", () => {
    expect(find(all, "hcloud:index/networkRoute:NetworkRoute", "big-nat-route")).toEqual([]);
  });

  it("splits servers into spread groups of at most ten", () => {
    expect(
      find(all, "hcloud:index/placementGroup:PlacementGroup")
        .filter((g) => g.name.startsWith("big-"))
        .map((g) => g.name),
    ).toEqual(["big-spread-0", "big-spread-1"]);
  });

  it("leaves protection off", () => {
    expect(one(all, "hcloud:index/server:Server", "big-n0").inputs).toMatchObject({ deleteProtection: false, rebuildProtection: false });
  });
});

describe("DedicatedNode", () => {
  it("is reached directly and asks the bootstrap for a host firewall", async () => {
    const { DedicatedNode } = await import("../components/hetzner/DedicatedNode");
    const spec: DedicatedSpec = {
      kind: "dedicated",
      name: "ax41-1",
      role: "server",
      host: "203.0.113.10",
      user: "root",
      model: "AX41-NVMe",
      hostKey: HOST_KEY,
    };
    const node = new DedicatedNode("ded", { spec, sshPrivateKey: "key" }).node;
    expect(node).toMatchObject({ name: "ax41-1", nodeIp: "203.0.113.10", network: "public", hostFirewall: true });
    // Pinned to the key the stack file names.
    expect(await resolve(node.connection)).toMatchObject({ host: "203.0.113.10", user: "root", hostKey: HOST_KEY });
    expect(find(all, "hcloud:index/server:Server", "ded-ax41-1")).toEqual([]);
    expect(find(all, "tls:index/privateKey:PrivateKey").filter((k) => k.name.startsWith("ded-"))).toEqual([]);
  });
});

describe("a dedicated host's key in the config", () => {
  const HOW =
    "must be the host's ED25519 public key, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5…`: read it with `ssh-keyscan -t ed25519 <host>` (without the host name it prints first) and check its fingerprint (`ssh-keygen -lf <file>`) against the one the server's own console shows (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)";
  const problems = (hostKey: unknown) => {
    const entry = { name: "ax41-1", kind: "dedicated", host: "203.0.113.10", role: "server", hostKey };
    const parsed = keySchemas.nodes.safeParse([entry]);
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it.each([
    ["a key", HOST_KEY],
    ["a key with its comment, as in ssh_host_ed25519_key.pub", `${HOST_KEY} root@ax41-1`],
  ])("accepts %s", (_, key) => {
    expect(problems(key)).toEqual([]);
  });

  it.each([
    ["ssh-keyscan's line, host name first", `203.0.113.10 ${HOST_KEY}`],
    ["another key type", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"],
    ["a key cut short", HOST_KEY.slice(0, -1)],
    ["a key with a wrong length field", HOST_KEY.replace("AAAAI", "AAAAH")],
  ])("refuses %s, saying how to read the key", (_, key) => {
    expect(problems(key)).toEqual([`0.hostKey: ${HOW}`]);
  });

  it("is required", () => {
    expect(problems(undefined)).toEqual(["0.hostKey: Invalid input: expected string, received undefined"]);
  });
});
