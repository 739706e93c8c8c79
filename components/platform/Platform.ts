import type * as cloudflare from "@pulumi/cloudflare";
import type * as hcloud from "@pulumi/hcloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { APPS_NAMESPACE, BACKUP_PREFIXES, TENANT_ROUTER } from "../../model/names";
import { BLACKBOX_PROBER, SIZES } from "../../model/observability/config";
import { natGatewayWatch } from "../../model/observability/natGateway";
import type { CloudNode, DedicatedNode as DedicatedNodeSpec, Environment } from "../../model/config/schema";
import type { Jwks } from "../../model/config/signingKeys";
import type { CustomHostnamesOutput, ServiceSummary, TokenMintTarget } from "../../model/platformOutputs";
import { Apps } from "../apps/Apps";
import { DataLayer } from "../data/DataLayer";
import { R2Storage } from "../edge/R2Storage";
import { CustomHostnames } from "../edge/CustomHostnames";
import { Tunnel } from "../edge/Tunnel";
import { CloudPool } from "../hetzner/CloudPool";
import { DedicatedNode } from "../hetzner/DedicatedNode";
import type { ClusterNode } from "../hetzner/node";
import { Admission } from "../k3s/Admission";
import { K3sCluster } from "../k3s/K3sCluster";
import { Observability } from "../observability/Observability";
import { Kured } from "../k3s/Kured";
import { Longhorn } from "../k3s/Longhorn";

export interface PlatformArgs {
  env: Environment;
  sshPrivateKey: pulumi.Output<string>;
  cloudflareProvider: cloudflare.Provider;
  /** Required when the environment has cloud nodes. */
  hcloudProvider?: hcloud.Provider;
  /** Required with `postgres.mode: external`. */
  externalDatabaseUrls?: pulumi.Output<Record<string, string>>;
  /** `enclii:januaSigningKeys` (validated with the rest of the config). */
  januaSigningKeys: pulumi.Output<string>;
  /** Required when `enclii:smtp` is set. */
  smtpPassword?: pulumi.Output<string>;
  /** `enclii:paging` (secret JSON, validated with the config), when set. */
  paging?: pulumi.Output<string>;
}

/** What the environment needs that config validation cannot see: the providers and secrets passed beside it. */
export function validatePlatformArgs(args: PlatformArgs): string[] {
  const { env } = args;
  const problems: string[] = [];
  if (env.nodes.some((n) => n.kind === "cloud") && (!args.hcloudProvider || !env.sshPublicKey)) {
    problems.push("cloud nodes need an hcloud provider and enclii:sshPublicKey");
  }
  if (env.postgres.mode === "external" && !args.externalDatabaseUrls)
    problems.push("external PostgreSQL needs enclii:externalDatabaseUrls");
  if (env.smtp && !args.smtpPassword) problems.push("enclii:smtp needs enclii:smtpPassword");
  return problems;
}

export interface NodeSummary {
  name: string;
  role: string;
  nodeIp: pulumi.Input<string>;
  publicIp?: pulumi.Output<string>;
}

/** One environment: nodes → k3s → storage → data → auth and apps → edge. */
export class Platform extends pulumi.ComponentResource {
  public readonly nodes: NodeSummary[];
  /** Where the API server is and how a run mints its token there (no credential: docs/security.md#how-a-run-gets-its-credential). */
  public readonly kubeApi: {
    server: pulumi.Output<string>;
    certificateAuthorityData: pulumi.Output<string>;
    tokenMint: pulumi.Output<TokenMintTarget>;
  };
  public readonly apiEndpoint: pulumi.Output<string>;
  public readonly storageClass: pulumi.Output<string>;
  public readonly tunnelId: pulumi.Output<string>;
  public readonly buckets: { assets: pulumi.Output<string>; backups: pulumi.Output<string> };
  /** With `enclii:customHostnames`: what the tenant shards read through their stack reference. */
  public readonly customHostnames?: CustomHostnamesOutput;
  /** With `enclii:customHostnames`: the tenant shards' Cloudflare token (secret). */
  public readonly tenantApiToken?: pulumi.Output<string>;
  public readonly databaseSecrets: pulumi.Output<string>[];
  public readonly services: ServiceSummary[];
  public readonly oidc: { issuer?: string; jwksUri?: string; jwks?: pulumi.Output<Jwks> };
  /** With observability on: where Grafana is (when exposed) and its admin password (secret). */
  public readonly observability?: { grafanaUrl?: string; grafanaAdminPassword: pulumi.Output<string> };

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = validatePlatformArgs(args);
    if (problems.length > 0) throw new Error(`${name}: ${problems.join("; ")}`);
    super("enclii:platform:Platform", name, {}, opts);
    const { env } = args;
    const cloud = env.nodes.filter((n): n is CloudNode => n.kind === "cloud");
    const dedicated = env.nodes.filter((n): n is DedicatedNodeSpec => n.kind === "dedicated");

    const nodes: ClusterNode[] = [];
    if (cloud.length > 0) {
      const pool = new CloudPool(
        `${name}-cloud`,
        {
          stack: env.stack,
          nodes: cloud,
          network: env.network,
          adminCidrs: env.adminCidrs,
          sshPublicKey: env.sshPublicKey!,
          sshPrivateKey: args.sshPrivateKey,
          protect: env.protect,
          provider: args.hcloudProvider!,
        },
        { parent: this },
      );
      nodes.push(...pool.nodes);
    }
    for (const spec of dedicated) {
      nodes.push(new DedicatedNode(`${name}-${spec.name}`, { spec, sshPrivateKey: args.sshPrivateKey }, { parent: this }).node);
    }

    const cf = args.cloudflareProvider;
    const { accountId, zoneId } = env.cloudflare;
    const r2 = new R2Storage(
      `${name}-r2`,
      {
        stack: env.stack,
        accountId,
        jurisdiction: env.r2.jurisdiction,
        location: env.r2.location,
        backupRetentionDays: env.postgres.backupRetentionDays,
        // Unset, the lock lasts exactly the retention (docs/storage.md#backups-a-compromised-cluster-cannot-delete).
        backupLockDays: env.r2.backupLockDays ?? env.postgres.backupRetentionDays,
        protect: env.protect,
        rotations: env.rotations,
        provider: cf,
      },
      { parent: this },
    );

    const cluster = new K3sCluster(
      `${name}-k3s`,
      {
        nodes,
        version: env.k3s.version,
        adminCidrs: env.adminCidrs,
        etcdSnapshots: { bucket: r2.backupsBucket, folder: BACKUP_PREFIXES.etcd.replace(/\/$/, ""), ...r2.backupCredentials.etcd },
        maintenance: env.maintenance,
        joinVia: env.k3s.joinVia,
      },
      { parent: this },
    );
    const k8sProvider = cluster.provider;
    // The baseline in the API server as soon as the cluster answers (docs/nodes-and-k3s.md#in-cluster-admission).
    new Admission(`${name}-admission`, { provider: k8sProvider }, { parent: this, dependsOn: cluster.bootstraps });
    const longhorn = new Longhorn(
      `${name}-longhorn`,
      {
        nodeCount: nodes.length,
        backupsKept: env.postgres.backupRetentionDays,
        provider: k8sProvider,
        protect: env.protect,
        // R2 ignores the region; Longhorn's URL format requires one.
        backup: { url: pulumi.interpolate`s3://${r2.backupsBucket}@auto/${BACKUP_PREFIXES.longhorn}`, ...r2.backupCredentials.longhorn },
      },
      { parent: this, dependsOn: cluster.bootstraps },
    );

    const appsNamespace = new k8s.core.v1.Namespace(
      `${name}-apps-namespace`,
      { metadata: { name: APPS_NAMESPACE, labels: RESTRICTED_NAMESPACE_LABELS } },
      { parent: this, provider: k8sProvider },
    );
    const data = new DataLayer(
      `${name}-data`,
      {
        postgres:
          env.postgres.mode === "in-cluster"
            ? {
                ...env.postgres,
                backup: {
                  destinationPath: pulumi.interpolate`s3://${r2.backupsBucket}/${BACKUP_PREFIXES.postgres}`,
                  credentials: r2.backupCredentials.postgres,
                },
              }
            : { ...env.postgres, databaseUrls: args.externalDatabaseUrls! },
        redis: env.redis,
        rotations: env.rotations,
        nodeCount: nodes.length,
        nodeIps: nodes.map((n) => n.nodeIp),
        appsNamespace: appsNamespace.metadata.name,
        storageClass: longhorn.storageClass,
        protect: env.protect,
        monitoring: env.observability && { redisExporter: SIZES[env.observability.profile].redisExporter },
        provider: k8sProvider,
      },
      { parent: this, dependsOn: [longhorn] },
    );

    const apps = new Apps(
      `${name}-apps`,
      {
        services: env.services,
        redisMode: env.redis.mode,
        r2: { bucket: r2.assetsBucket, credentials: r2.assetsCredentials },
        janua: {
          signingKeys: args.januaSigningKeys,
          rotationDays: env.janua.signingKeyRotationDays,
          localhostRedirects: env.janua.localhostRedirects,
          smtp: env.smtp && { settings: env.smtp, password: args.smtpPassword! },
        },
        stack: env.stack,
        observability: env.observability && { traces: env.observability.traces },
        rotations: env.rotations,
        provider: k8sProvider,
      },
      { parent: this, dependsOn: [appsNamespace, data] },
    );

    const observability =
      env.observability &&
      new Observability(
        `${name}-observability`,
        {
          stack: env.stack,
          accountId,
          settings: env.observability,
          services: env.services,
          postgresCluster: env.postgres.mode === "in-cluster" ? env.postgres.clusterName : undefined,
          redisMode: env.redis.mode,
          tunnelReplicas: env.tunnel.replicas,
          storageClass: longhorn.storageClass,
          etcdEndpoints: nodes.filter((n) => n.role === "server").map((n) => n.nodeIp),
          nodeAddresses: nodes.map((n) => n.nodeIp),
          paging: args.paging,
          natGateway: natGatewayWatch(env.nodes, r2.endpoint),
          rotations: env.rotations,
          cloudflareProvider: cf,
          k8sProvider,
          dependsOn: [longhorn],
        },
        { parent: this },
      );
    // Reboots after OS security updates, in the maintenance window (docs/runbooks/os-patches.md).
    new Kured(
      `${name}-kured`,
      {
        window: env.maintenance,
        nodeCount: nodes.length,
        monitoring: observability !== undefined,
        provider: k8sProvider,
        dependsOn: [longhorn, ...(observability ? [observability] : [])],
      },
      { parent: this },
    );

    const tunnel = new Tunnel(
      `${name}-tunnel`,
      {
        stack: env.stack,
        accountId,
        zoneId,
        domain: env.domain,
        routes: [...apps.routes, ...(observability?.routes ?? [])],
        scraped: observability !== undefined,
        routesAfter: observability?.accessGate && [observability.accessGate],
        accessRequired: observability?.access && [observability.access],
        fallback: env.customHostnames
          ? { namespace: TENANT_ROUTER.namespace, name: TENANT_ROUTER.name, port: TENANT_ROUTER.port }
          : undefined,
        replicas: env.tunnel.replicas,
        cloudflareProvider: cf,
        k8sProvider,
      },
      { parent: this },
    );
    if (env.customHostnames) {
      const saas = new CustomHostnames(
        `${name}-saas`,
        {
          stack: env.stack,
          accountId,
          zoneId,
          domain: env.domain,
          tunnelCname: tunnel.cnameTarget,
          routerReplicas: env.tunnel.replicas,
          nodeIps: nodes.map((n) => n.nodeIp),
          probes: observability !== undefined,
          cloudflareProvider: cf,
          k8sProvider,
        },
        { parent: this },
      );
      this.customHostnames = {
        fallbackOrigin: saas.fallbackOrigin,
        // With observability on, the shards probe their tenants' hostnames through this exporter.
        ...(observability && { prober: BLACKBOX_PROBER }),
      };
      this.tenantApiToken = saas.apiToken;
    }

    this.nodes = nodes.map((n) => ({ name: n.name, role: n.role, nodeIp: n.nodeIp, publicIp: n.publicIp }));
    this.kubeApi = {
      server: cluster.apiEndpoint,
      certificateAuthorityData: cluster.caData,
      tokenMint: cluster.tokenMint,
    };
    this.apiEndpoint = cluster.apiEndpoint;
    this.storageClass = longhorn.storageClass;
    this.tunnelId = tunnel.tunnelId;
    this.buckets = { assets: r2.assetsBucket, backups: r2.backupsBucket };
    this.databaseSecrets = data.databaseSecrets;
    this.services = apps.services;
    this.oidc = { issuer: apps.issuer, jwksUri: apps.jwksUri, jwks: apps.jwks };
    this.observability = observability && {
      grafanaUrl: observability.grafanaUrl,
      grafanaAdminPassword: observability.grafanaAdminPassword,
    };
    this.registerOutputs({
      observability: this.observability,
      services: this.services,
      oidc: this.oidc,
      nodes: this.nodes,
      kubeApi: this.kubeApi,
      apiEndpoint: this.apiEndpoint,
      storageClass: this.storageClass,
      tunnelId: this.tunnelId,
      buckets: this.buckets,
      customHostnames: this.customHostnames,
      tenantApiToken: this.tenantApiToken,
      databaseSecrets: this.databaseSecrets,
    });
  }
}
