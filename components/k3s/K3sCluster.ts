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
import { FORGET_SUFFIX, renderForgetScript } from "./rejoin";
import { DRAIN_SUFFIX, UNCORDON_SUFFIX, renderDrainScript, renderUncordonScript } from "./upgrade";
import type { MaintenanceWindow } from "../../model/config/maintenance";

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
  /** When a single-node cluster may be upgraded (docs/runbooks/upgrades.md#the-maintenance-window). */
  maintenance: MaintenanceWindow;
  /**
   * `enclii:k3s.joinVia`: the surviving server the first one joins through (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost),
   * after the lost member is removed there; unset, the first server starts etcd with `cluster-init`.
   */
  joinVia?: string;
}

/**
 * k3s over SSH. Nodes are bootstrapped one after another (each command depends on the previous
 * node's), so joins never race and a version change rolls through the cluster one node at a
 * time: Pulumi updates a resource only after everything it depends on is updated. Around each
 * bootstrap, a drain before and an uncordon after (components/k3s/upgrade.ts), run on the first
 * server: drain(i) -> bootstrap(i) -> uncordon(i) -> drain(i+1).
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
    const via = args.joinVia === undefined ? undefined : nodes.find((n) => n.name === args.joinVia && n !== first && n.role === "server");
    if (args.joinVia !== undefined && !via) throw new Error(`${name}: joinVia "${args.joinVia}" is not a server other than the first`);
    const joinUrlOf = (node: ClusterNode) =>
      node !== first ? serverUrl : via && pulumi.interpolate`https://${via.nodeIp}:${PORTS.kubernetesApi}`;
    // On the survivor (through the new jump host), once the new first server exists; replaced, and so
    // run again, whenever the first server is (a new server's id, a reinstalled host's key).
    const forget =
      via &&
      new command.remote.Command(
        `${name}-${first.name}${FORGET_SUFFIX}`,
        {
          connection: via.connection,
          create: pulumi.output(first.nodeIp).apply((lostIp) => renderForgetScript({ lostNode: first.name, lostIp })),
          triggers: [first.connection.hostKey, ...first.ready.filter(pulumi.CustomResource.isInstance).map((r) => r.id)],
          logging: "stdoutAndStderr",
        },
        { parent: this, dependsOn: [...first.ready, ...via.ready] },
      );

    this.bootstraps = [];
    const uncordons: command.remote.Command[] = [];
    for (const node of nodes) {
      const script = pulumi.all([node.nodeIp, joinUrlOf(node), publicIp, peersOf(node)]).apply(([nodeIp, url, apiIp, peerIps]) =>
        renderBootstrapScript({
          nodeName: node.name,
          role: node.role,
          k3sVersion: args.version,
          nodeIp,
          clusterInit: node === first && !via,
          serverUrl: url,
          tlsSans: [apiIp],
          privateNetwork: node.network === "private",
          encryptPodTraffic: multiNode && node.network === "public",
          hostFirewall: node.hostFirewall ? { adminCidrs: args.adminCidrs, peerIps } : undefined,
          egressGateway: node.egressGateway,
          natFor: node.natFor,
          etcdS3ConfigSecret: node.role === "server" ? ETCD_S3_CONFIG_SECRET : undefined,
        }),
      );
      // Their scripts hold only the node's name, the version and the window: they run again when
      // the version changes (a changed input re-runs `create`), not when the bootstrap's config does.
      const previous = uncordons.at(-1);
      const drain = new command.remote.Command(
        `${name}-${node.name}${DRAIN_SUFFIX}`,
        {
          connection: first.connection,
          create: renderDrainScript({ nodeName: node.name, k3sVersion: args.version, maintenance: args.maintenance }),
          logging: "stdoutAndStderr",
        },
        { parent: this, dependsOn: [...node.ready, ...(previous ? [previous] : [])] },
      );
      const bootstrap = new command.remote.Command(
        `${name}-${node.name}${BOOTSTRAP_SUFFIX}`,
        { connection: node.connection, create: script, stdin: pulumi.secret(token.result), logging: "stdoutAndStderr" },
        { parent: this, dependsOn: [...node.ready, drain, ...(node === first && forget ? [forget] : [])] },
      );
      this.bootstraps.push(bootstrap);
      uncordons.push(
        new command.remote.Command(
          `${name}-${node.name}${UNCORDON_SUFFIX}`,
          {
            connection: first.connection,
            create: renderUncordonScript({ nodeName: node.name, k3sVersion: args.version }),
            logging: "stdoutAndStderr",
          },
          { parent: this, dependsOn: [bootstrap] },
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
      { parent: this, dependsOn: [...this.bootstraps, ...uncordons], aliases: [{ name: `${name}-kubeconfig` }] },
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
    // The cluster is this one for the stack's life: without an identifier, pulumi-kubernetes replaces the
    // provider, and so every object it manages, when the kubeconfig's server changes or is unknown in a
    // preview (provider.go `DiffConfig`), as when the first server is rebuilt with a new address.
    this.provider = new k8s.Provider(
      `${name}-kubernetes`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true, clusterIdentifier: name },
      { parent: this },
    );
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
