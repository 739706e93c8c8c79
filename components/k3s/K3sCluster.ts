import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import type { TokenMintTarget } from "../../model/platformOutputs";
import {
  MINT_TOKEN_SCRIPT,
  PULUMI_ACCOUNT,
  RUN_TOKEN_TTL_S,
  apiServer,
  mintEnvironment,
  parseMinted,
  remoteTokenCommand,
  renderAccountScript,
  renderKubeconfig,
} from "./credential";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BOOTSTRAP_SUFFIX, ETCD_S3_CONFIG_SECRET, KUBE_SYSTEM_NAMESPACE, PORTS } from "../../model/names";
import type { ClusterNode } from "../hetzner/node";
import { renderBootstrapScript } from "./bootstrap";

const TOKEN_LENGTH = 48;
const SSH_PORT = 22;
const SSH_DEFAULT_USER = "root";

/** Where etcd snapshots go (R2): plain values, so the cluster layer needs nothing from the edge. */
export interface EtcdSnapshotTarget {
  bucket: pulumi.Input<string>;
  folder: string;
  /** https://… endpoint; k3s wants the host alone. */
  endpoint: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}

export interface K3sClusterArgs {
  nodes: ClusterNode[];
  version: string;
  adminCidrs: string[];
  etcdSnapshots: EtcdSnapshotTarget;
}

/**
 * k3s over SSH. Nodes are bootstrapped one after another (each command depends on the previous
 * node's), so joins never race and a version change rolls through the cluster one node at a
 * time: Pulumi updates a resource only after everything it depends on is updated.
 */
export class K3sCluster extends pulumi.ComponentResource {
  /** The platform account's kubeconfig for this run (secret): its token expires RUN_TOKEN_TTL_S after the run began. */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly apiEndpoint: pulumi.Output<string>;
  /** The cluster CA (base64 PEM): not secret, what other stacks need beside a token. */
  public readonly caData: pulumi.Output<string>;
  /** Where a token is minted over SSH (no secret): the control plane mints the tenant shards' tokens there. */
  public readonly tokenMint: pulumi.Output<TokenMintTarget>;
  public readonly provider: k8s.Provider;
  public readonly bootstraps: command.remote.Command[];

  constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const { nodes } = args;
    const first = nodes[0];
    if (!first?.publicIp) throw new Error(`${name}: the first node must have a public address for the Kubernetes API`);
    super("enclii:k3s:K3sCluster", name, {}, opts);
    const publicIp = first.publicIp;

    const token = new random.RandomPassword(`${name}-token`, { length: TOKEN_LENGTH, special: false }, { parent: this });
    const serverUrl = pulumi.interpolate`https://${first.nodeIp}:${PORTS.kubernetesApi}`;
    const peersOf = (node: ClusterNode) => pulumi.all(nodes.filter((n) => n !== node).map((n) => n.nodeIp));
    const multiNode = nodes.length > 1;

    this.bootstraps = [];
    for (const node of nodes) {
      const script = pulumi.all([node.nodeIp, serverUrl, publicIp, peersOf(node)]).apply(([nodeIp, url, apiIp, peerIps]) =>
        renderBootstrapScript({
          nodeName: node.name,
          role: node.role,
          k3sVersion: args.version,
          nodeIp,
          clusterInit: node === first,
          serverUrl: node === first ? undefined : url,
          tlsSans: [apiIp],
          privateNetwork: node.network === "private",
          encryptPodTraffic: multiNode && node.network === "public",
          hostFirewall: node.hostFirewall ? { adminCidrs: args.adminCidrs, peerIps } : undefined,
          egressGateway: node.egressGateway,
          natFor: node.natFor,
          etcdS3ConfigSecret: node.role === "server" ? ETCD_S3_CONFIG_SECRET : undefined,
        }),
      );
      const previous = this.bootstraps.at(-1);
      this.bootstraps.push(
        new command.remote.Command(
          `${name}-${node.name}${BOOTSTRAP_SUFFIX}`,
          { connection: node.connection, create: script, stdin: pulumi.secret(token.result), logging: "stdoutAndStderr" },
          { parent: this, dependsOn: [...node.ready, ...(previous ? [previous] : [])] },
        ),
      );
    }

    // The accounts (and the end of the everlasting token earlier versions kept) on the first server.
    // The alias makes the command that read that token into this one: an update on an existing
    // cluster, which rewrites its stdout (the old token) away and, unlike a creation, does not
    // leave the preview's token unknown (the engine answers no invoke that waits on a creation).
    const accounts = new command.remote.Command(
      `${name}-accounts`,
      { connection: first.connection, create: renderAccountScript(), logging: "stdoutAndStderr" },
      { parent: this, dependsOn: this.bootstraps, aliases: [{ name: `${name}-kubeconfig` }] },
    );
    this.apiEndpoint = pulumi.output(publicIp).apply(apiServer);
    const c = first.connection;
    // Field by field: the connection as a whole holds the private key, which would make all of it secret.
    this.tokenMint = pulumi.all([c.host, c.port, c.user, c.hostKey]).apply(([host, port, user, hostKey]) => ({
      host,
      port: port ?? SSH_PORT,
      user: user ?? SSH_DEFAULT_USER,
      hostKey: hostKey ?? "",
    }));
    // A token per run, preview included: an invoke runs every time, where a resource would keep the first one.
    const minted = command.local.runOutput(
      {
        command: MINT_TOKEN_SCRIPT,
        environment: this.tokenMint.apply((m) => mintEnvironment({ ...m, remote: remoteTokenCommand(PULUMI_ACCOUNT, RUN_TOKEN_TTL_S) })),
        stdin: pulumi.secret(pulumi.output(c.privateKey).apply((key) => key ?? "")),
        logging: "none",
      },
      { parent: this, dependsOn: [accounts] },
    );
    // Public (it is in every kubeconfig): unsecret, so other stacks read it plainly.
    this.caData = pulumi.unsecret(minted.stdout.apply((out) => parseMinted(out).caData));
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([minted.stdout, this.apiEndpoint])
        .apply(([out, server]) => renderKubeconfig({ server, account: PULUMI_ACCOUNT, ...parseMinted(out) })),
    );
    this.provider = new k8s.Provider(`${name}-kubernetes`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this });
    const snap = args.etcdSnapshots;
    new k8s.core.v1.Secret(
      `${name}-etcd-s3`,
      {
        metadata: { name: ETCD_S3_CONFIG_SECRET, namespace: KUBE_SYSTEM_NAMESPACE },
        stringData: {
          "etcd-s3-endpoint": pulumi.output(snap.endpoint).apply((e) => e.replace(/^https:\/\//, "")),
          "etcd-s3-bucket": snap.bucket,
          "etcd-s3-folder": snap.folder,
          // R2 ignores the region, but the S3 client insists on one.
          "etcd-s3-region": "auto",
          "etcd-s3-access-key": pulumi.secret(snap.accessKeyId),
          "etcd-s3-secret-key": pulumi.secret(snap.secretAccessKey),
        },
      },
      { parent: this, provider: this.provider },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint, caData: this.caData, tokenMint: this.tokenMint });
  }
}
