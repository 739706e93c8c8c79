import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { stringify } from "yaml";
import { ADMIN_PORTS, MAX_SERVERS_PER_PLACEMENT_GROUP } from "../../model/names";
import { hetznerProtection, stateful } from "../stateful";
import type { CloudNode, Environment } from "../../model/config/schema";
import type { ClusterNode } from "./node";

const SSH_USER = "root";

export interface CloudPoolArgs {
  stack: string;
  nodes: CloudNode[];
  network: Environment["network"];
  adminCidrs: string[];
  sshPublicKey: string;
  sshPrivateKey: pulumi.Input<string>;
  /** Production: servers, network and subnet are `stateful`, with Hetzner's delete and rebuild protection. */
  protect: boolean;
  provider: hcloud.Provider;
}

/** SSH and the Kubernetes API, from the admin CIDRs only: the firewall's whole rule list. */
function firewallRules(adminCidrs: string[]): hcloud.types.input.FirewallRule[] {
  return Object.entries(ADMIN_PORTS).map(([what, port]) => ({
    description: `${what} from admin CIDRs`,
    direction: "in",
    protocol: "tcp",
    port: String(port),
    sourceIps: adminCidrs,
  }));
}

/**
 * cloud-init's user data installing the server's SSH host key, so Pulumi knows the key before its
 * first connection and pins it. canonical/cloud-init cloudinit/config/cc_ssh.py: `ssh_deletekeys`
 * removes the image's /etc/ssh/ssh_host_*key* files, and with `ssh_keys` given only those keys are
 * written, none generated. The private key is in Hetzner's user_data (docs/nodes-and-k3s.md#ssh-host-keys).
 */
function hostKeyUserData(privateKey: string, publicKey: string): string {
  return `#cloud-config\n${stringify({ ssh_deletekeys: true, ssh_keys: { ed25519_private: privateKey, ed25519_public: publicKey.trim() } })}`;
}

/**
 * Hetzner Cloud servers on one private network: a spread placement group per ten servers,
 * one firewall, one SSH key. Nodes without public IPv4 are reached through the first node
 * (SSH proxy) and reach the internet through it (NAT plus a 0.0.0.0/0 network route).
 */
export class CloudPool extends pulumi.ComponentResource {
  public readonly nodes: ClusterNode[];
  public readonly networkId: pulumi.Output<string>;
  public readonly servers: Record<string, hcloud.Server>;

  constructor(name: string, args: CloudPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:hetzner:CloudPool", name, {}, opts);
    const { stack, nodes, network } = args;
    const keep = stateful(args.protect);
    const hetzner = hetznerProtection(args.protect);
    const child = { parent: this, provider: args.provider };
    const labels = { "enclii.io/stack": stack, "enclii.io/managed-by": "pulumi" };
    const gateway = nodes[0];
    const needsNat = nodes.some((n) => !n.publicIpv4);

    const net = new hcloud.Network(
      `${name}-network`,
      { name: `enclii-${stack}`, ipRange: network.ipRange, labels, deleteProtection: hetzner.deleteProtection },
      { ...child, ...keep },
    );
    const networkId = net.id.apply(Number);
    const subnet = new hcloud.NetworkSubnet(
      `${name}-subnet`,
      { networkId, type: "cloud", networkZone: network.zone!, ipRange: network.subnet },
      { ...child, ...keep },
    );
    const firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { name: `enclii-${stack}`, labels, rules: firewallRules(args.adminCidrs) },
      child,
    );
    const sshKey = new hcloud.SshKey(`${name}-ssh-key`, { name: `enclii-${stack}`, publicKey: args.sshPublicKey, labels }, child);
    const groupCount = Math.ceil(nodes.length / MAX_SERVERS_PER_PLACEMENT_GROUP);
    const groups = Array.from(
      { length: groupCount },
      (_, i) => new hcloud.PlacementGroup(`${name}-spread-${i}`, { name: `enclii-${stack}-spread-${i}`, type: "spread", labels }, child),
    );
    const route = needsNat
      ? new hcloud.NetworkRoute(
          `${name}-nat-route`,
          { networkId, destination: "0.0.0.0/0", gateway: gateway.privateIp },
          { ...child, dependsOn: [subnet] },
        )
      : undefined;

    this.servers = {};
    let jumpHost: { server: hcloud.Server; hostKey: pulumi.Output<string> } | undefined;
    this.nodes = nodes.map((n, i) => {
      // Made once and kept in state: the server keeps the key it was created with (userData is ignored after).
      const key = new tls.PrivateKey(`${name}-${n.name}-host-key`, { algorithm: "ED25519" }, { parent: this });
      const hostKey = key.publicKeyOpenssh.apply((k) => k.trim());
      const server = new hcloud.Server(
        `${name}-${n.name}`,
        {
          name: `${stack}-${n.name}`,
          serverType: n.serverType,
          image: n.image,
          // Where a new server is created: the pool's first location.
          location: n.location,
          sshKeys: [sshKey.id],
          // Hetzner's firewalls filter public interfaces only, and refuse a server that has none.
          ...(n.publicIpv4 ? { firewallIds: [firewall.id.apply(Number)] } : {}),
          placementGroupId: groups[Math.floor(i / MAX_SERVERS_PER_PLACEMENT_GROUP)].id.apply(Number),
          networks: [{ networkId, ip: n.privateIp }],
          publicNets: [{ ipv4Enabled: n.publicIpv4, ipv6Enabled: n.publicIpv4 }],
          labels: { ...labels, "enclii.io/pool": n.pool, "enclii.io/role": n.role },
          userData: pulumi.secret(pulumi.all([key.privateKeyOpenssh, key.publicKeyOpenssh]).apply(([p, k]) => hostKeyUserData(p, k))),
          ...hetzner,
        },
        // cloud-init writes the keys on the first boot only, and the hcloud provider replaces a server whose user
        // data changes: a server created before host keys keeps its own (docs/nodes-and-k3s.md#ssh-host-keys).
        // The provider also replaces a server whose location changes: a server that exists stays where it was
        // created when its pool's `locations` are reordered after Hetzner refused one (docs/nodes-and-k3s.md#locations-and-fallback).
        {
          ...child,
          ...keep,
          dependsOn: [subnet],
          ignoreChanges: ["userData", "location"],
          additionalSecretOutputs: ["userData"],
        },
      );
      this.servers[n.name] = server;
      jumpHost ??= { server, hostKey };
      const publicIp = n.publicIpv4 ? server.ipv4Address : undefined;
      return {
        name: n.name,
        role: n.role,
        nodeIp: n.privateIp,
        publicIp,
        connection: publicIp
          ? { host: publicIp, user: SSH_USER, privateKey: args.sshPrivateKey, hostKey }
          : {
              host: n.privateIp,
              user: SSH_USER,
              privateKey: args.sshPrivateKey,
              hostKey,
              proxy: { host: jumpHost.server.ipv4Address, user: SSH_USER, privateKey: args.sshPrivateKey, hostKey: jumpHost.hostKey },
            },
        network: "private",
        hostFirewall: false,
        egressGateway: n.publicIpv4 ? undefined : network.gateway,
        natFor: needsNat && n === gateway ? network.ipRange : undefined,
        ready: route && !n.publicIpv4 ? [server, route] : [server],
      };
    });
    this.networkId = net.id;
    this.registerOutputs({
      networkId: this.networkId,
      nodes: this.nodes.map((n) => ({ name: n.name, publicIp: n.publicIp, nodeIp: n.nodeIp })),
    });
  }
}
