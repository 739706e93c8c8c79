import * as pulumi from "@pulumi/pulumi";
import type { DedicatedNode as DedicatedNodeSpec } from "../../model/config/schema";
import type { ClusterNode } from "./node";

export interface DedicatedNodeArgs {
  spec: DedicatedNodeSpec;
  sshPrivateKey: pulumi.Input<string>;
}

/**
 * An existing dedicated host (AX41-NVMe), bought and installed outside Pulumi. It owns no cloud
 * resource: Hetzner Cloud firewalls do not cover robot servers, so the k3s bootstrap sets the
 * same inbound policy with nftables on the host itself.
 */
export class DedicatedNode extends pulumi.ComponentResource {
  public readonly node: ClusterNode;
  public readonly host: pulumi.Output<string>;

  constructor(name: string, args: DedicatedNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:hetzner:DedicatedNode", name, {}, opts);
    const { spec } = args;
    this.host = pulumi.output(spec.host);
    this.node = {
      name: spec.name,
      role: spec.role,
      nodeIp: spec.host,
      publicIp: this.host,
      // Pinned to the key the stack file names: a host answering with any other is refused.
      connection: { host: spec.host, user: spec.user, privateKey: args.sshPrivateKey, hostKey: spec.hostKey },
      network: "public",
      hostFirewall: true,
      ready: [],
    };
    this.registerOutputs({ host: this.host });
  }
}
