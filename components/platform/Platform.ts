import type * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { CloudNode, DedicatedNode as DedicatedNodeSpec, Environment } from "../../stacks/config";
import { CloudPool } from "../hetzner/CloudPool";
import { DedicatedNode } from "../hetzner/DedicatedNode";
import type { ClusterNode } from "../hetzner/node";
import { K3sCluster } from "../k3s/K3sCluster";
import { Longhorn } from "../k3s/Longhorn";

export interface PlatformArgs {
  env: Environment;
  sshPrivateKey: pulumi.Output<string>;
  /** Required when the environment has cloud nodes. */
  hcloudProvider?: hcloud.Provider;
}

export interface NodeSummary {
  name: string;
  role: string;
  nodeIp: pulumi.Input<string>;
  publicIp?: pulumi.Output<string>;
}

/** One environment: nodes → k3s → storage. Later layers (edge, data, auth, apps) plug in here. */
export class Platform extends pulumi.ComponentResource {
  public readonly nodes: NodeSummary[];
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly apiEndpoint: pulumi.Output<string>;
  public readonly storageClass: pulumi.Output<string>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:platform:Platform", name, {}, opts);
    const { env } = args;
    const cloud = env.nodes.filter((n): n is CloudNode => n.kind === "cloud");
    const dedicated = env.nodes.filter((n): n is DedicatedNodeSpec => n.kind === "dedicated");

    const nodes: ClusterNode[] = [];
    if (cloud.length > 0) {
      if (!args.hcloudProvider || !env.sshPublicKey) throw new Error(`${name}: cloud nodes need an hcloud provider and enclii:sshPublicKey`);
      const pool = new CloudPool(
        `${name}-cloud`,
        {
          stack: env.stack,
          nodes: cloud,
          network: env.network,
          adminCidrs: env.adminCidrs,
          sshPublicKey: env.sshPublicKey,
          sshPrivateKey: args.sshPrivateKey,
          protect: env.protect,
          provider: args.hcloudProvider,
        },
        { parent: this },
      );
      nodes.push(...pool.nodes);
    }
    for (const spec of dedicated) {
      nodes.push(new DedicatedNode(`${name}-${spec.name}`, { spec, sshPrivateKey: args.sshPrivateKey }, { parent: this }).node);
    }

    const cluster = new K3sCluster(`${name}-k3s`, { nodes, version: env.k3s.version, adminCidrs: env.adminCidrs }, { parent: this });
    const longhorn = new Longhorn(
      `${name}-longhorn`,
      { nodeCount: nodes.length, provider: cluster.provider, protect: env.protect },
      { parent: this, dependsOn: cluster.bootstraps },
    );

    this.nodes = nodes.map((n) => ({ name: n.name, role: n.role, nodeIp: n.nodeIp, publicIp: n.publicIp }));
    this.kubeconfig = cluster.kubeconfig;
    this.apiEndpoint = cluster.apiEndpoint;
    this.storageClass = longhorn.storageClass;
    this.registerOutputs({ nodes: this.nodes, kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint, storageClass: this.storageClass });
  }
}
