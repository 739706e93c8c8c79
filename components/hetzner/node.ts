import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { Role } from "../../model/config/schema";

/** What the node layer hands the cluster layer: one machine, however it was obtained. */
export interface ClusterNode {
  name: string;
  role: Role;
  /** The address k3s binds to and peers reach (private IP on a cloud network, public IP on a dedicated host). */
  nodeIp: pulumi.Input<string>;
  /** Reachable from where `pulumi up` runs; undefined for nodes without public IPv4. */
  publicIp?: pulumi.Output<string>;
  /** Always pinned to the host's SSH key (and the jump host's, through a proxy): never trust on first use. */
  connection: command.types.input.remote.ConnectionArgs & { hostKey: pulumi.Input<string> };
  /** Cloud nodes talk over Hetzner's private network; dedicated hosts over the internet. */
  network: "private" | "public";
  /** Dedicated hosts are outside Hetzner Cloud firewalls, so the bootstrap sets nftables. */
  hostFirewall: boolean;
  /** Private-only nodes route egress through this gateway (the network's first address). */
  egressGateway?: string;
  /** The node that masquerades the private network's egress. */
  natFor?: string;
  /** Resources that must exist before the node is bootstrapped. */
  ready: pulumi.Resource[];
}
