import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FROM_PROMETHEUS, denyAllButDns, inNamespace, internetEgress, tcp } from "../baseline";
import { s3CredentialsSecret, type S3Credentials } from "../edge/R2Storage";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { budgetFor } from "../../model/rules/connectionBudget";
import { CNPG_POOLER_LABEL, DATABASES, DATA_NAMESPACE, PORTS, R2_SECRET_NAME } from "../../model/names";
import { isIpv4 } from "../../model/net";
import { OBS_PORTS } from "../../model/observability/config";
import { CHARTS } from "../../model/pins";
import { generationsOf, type Rotations } from "../../model/rotation";
import type { Environment, PostgresConfig } from "../../model/config/schema";
import { stateful } from "../stateful";
import { ExternalPostgres } from "./ExternalPostgres";
import { Operators } from "./Operators";
import { Postgres } from "./Postgres";
import { Redis } from "./Redis";

/**
 * CloudNativePG labels every pod of a cluster with the cluster's name: instances, its jobs
 * (initdb, join, recovery) and its Pooler's pods, which also carry CNPG_POOLER_LABEL
 * (cloudnative-pg v1.30.0 pkg/specs/pods.go, jobs.go, pgbouncer/deployments.go: ClusterLabelName).
 */
const CNPG_CLUSTER_LABEL = "cnpg.io/cluster";
/** The pods of our PgBouncer in front of an external database (components/data/ExternalPostgres.ts). */
const EXTERNAL_POOLER_PODS = { app: "pgbouncer" };

/** The database settings with what each mode needs beside them, so neither can be missing. */
export type DataLayerPostgres =
  | (Extract<PostgresConfig, { mode: "in-cluster" }> & {
      /** Where WAL and base backups go (s3://bucket/prefix on R2) and the credentials. */
      backup: { destinationPath: pulumi.Input<string>; credentials: S3Credentials };
    })
  | (Extract<PostgresConfig, { mode: "external" }> & {
      /** The secret `enclii:externalDatabaseUrls`. */
      databaseUrls: pulumi.Output<Record<string, string>>;
    });

export interface DataLayerArgs {
  postgres: DataLayerPostgres;
  redis: Environment["redis"];
  /** `enclii:rotations`: where each secret's rotation stands (model/rotation.ts). */
  rotations: Rotations;
  nodeCount: number;
  /** The nodes' addresses: the API server CloudNativePG's pods call is there (6443), nowhere else. */
  nodeIps: pulumi.Input<string>[];
  appsNamespace: pulumi.Input<string>;
  /** Longhorn's StorageClass, for the database's and Redis's volumes. */
  storageClass: pulumi.Input<string>;
  protect: boolean;
  /** With observability on: Prometheus may scrape the exporters, and Redis pods carry one of this size. */
  monitoring?: { redisExporter: k8s.types.input.core.v1.ResourceRequirements };
  provider: k8s.Provider;
}

/** PostgreSQL (in-cluster or external) behind a pooler, and Redis, in the `enclii-data` namespace. */
export class DataLayer extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  public readonly pooledService: pulumi.Output<string>;
  public readonly databaseSecrets: pulumi.Output<string>[];
  public readonly redisSecret: pulumi.Output<string>;

  constructor(name: string, args: DataLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:data:DataLayer", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: DATA_NAMESPACE, labels: RESTRICTED_NAMESPACE_LABELS } },
      { ...child, ...stateful(args.protect) },
    );
    const namespace = ns.metadata.name;

    denyAllButDns(name, { namespace, provider: args.provider, parent: this });
    const policy = (role: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) =>
      new k8s.networking.v1.NetworkPolicy(`${name}-${role}`, { metadata: { name: role, namespace }, spec }, child);
    policy("allow-same-namespace", {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    });
    policy("allow-from-apps", {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [inNamespace(args.appsNamespace)],
          ports: [PORTS.postgres, PORTS.redis, PORTS.sentinel].map(tcp),
        },
      ],
    });
    if (args.monitoring)
      policy("allow-scrape", {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [FROM_PROMETHEUS], ports: [OBS_PORTS.cnpg, OBS_PORTS.pooler, OBS_PORTS.redisExporter].map(tcp) }],
      });
    // Redis needs nothing outside the namespace; what else leaves it is below, per mode.
    if (args.postgres.mode === "in-cluster") {
      const cnpgPods = { key: CNPG_CLUSTER_LABEL, operator: "Exists" };
      // The instance manager in every instance and job pod, and the Pooler's, works through the API.
      policy("allow-egress-api", {
        podSelector: { matchExpressions: [cnpgPods] },
        policyTypes: ["Egress"],
        egress: [
          { to: args.nodeIps.map((ip) => ({ ipBlock: { cidr: pulumi.interpolate`${ip}/32` } })), ports: [tcp(PORTS.kubernetesApi)] },
        ],
      });
      // The barman-cloud sidecar (WAL, base backups, restores) in instance and job pods; not the poolers.
      policy("allow-egress-object-storage", {
        podSelector: { matchExpressions: [cnpgPods, { key: CNPG_POOLER_LABEL, operator: "DoesNotExist" }] },
        policyTypes: ["Egress"],
        egress: [internetEgress([tcp(PORTS.https)])],
      });
    } else {
      const { host, port } = args.postgres;
      // An address is exact; a name may resolve anywhere public (the cluster and private ranges stay out).
      policy("allow-egress-database", {
        podSelector: { matchLabels: EXTERNAL_POOLER_PODS },
        policyTypes: ["Egress"],
        egress: [isIpv4(host) ? { to: [{ ipBlock: { cidr: `${host}/32` } }], ports: [tcp(port)] } : internetEgress([tcp(port)])],
      });
    }

    // One budget for whichever pooler serves: max_connections shared by every (instance, database) pool.
    const budget = budgetFor(args.postgres, args.nodeCount, DATABASES.length);
    let postgres: Postgres | ExternalPostgres;
    if (args.postgres.mode === "in-cluster") {
      policy("allow-from-operator", {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [inNamespace(CHARTS.cnpg.namespace)] }],
      });
      const operators = new Operators(`${name}-operators`, { provider: args.provider }, { parent: this });
      const { backup } = args.postgres;
      const credentials = s3CredentialsSecret(`${name}-r2-credentials`, namespace, backup.credentials, child);
      postgres = new Postgres(
        `${name}-postgres`,
        {
          namespace,
          appsNamespace: args.appsNamespace,
          settings: args.postgres,
          budget,
          backup: { destinationPath: backup.destinationPath, endpoint: backup.credentials.endpoint, credentialsSecret: R2_SECRET_NAME },
          storageClass: args.storageClass,
          protect: args.protect,
          // In-cluster only: an external database's owner rotates its passwords (enclii:externalDatabaseUrls).
          generations: generationsOf(args.rotations, "postgres"),
          provider: args.provider,
          operators: [...operators.ready, credentials],
        },
        { parent: this },
      );
    } else {
      postgres = new ExternalPostgres(
        `${name}-postgres`,
        {
          namespace,
          appsNamespace: args.appsNamespace,
          server: args.postgres,
          databaseUrls: args.postgres.databaseUrls,
          budget,
          provider: args.provider,
        },
        { parent: this },
      );
    }
    const redis = new Redis(
      `${name}-redis`,
      {
        namespace,
        appsNamespace: args.appsNamespace,
        mode: args.redis.mode,
        storageGi: args.redis.storageGi,
        storageClass: args.storageClass,
        protect: args.protect,
        exporter: args.monitoring && { resources: args.monitoring.redisExporter },
        generations: generationsOf(args.rotations, "redis"),
        provider: args.provider,
      },
      { parent: this },
    );

    this.namespace = namespace;
    this.pooledService = postgres.pooledService;
    this.databaseSecrets = postgres.databaseSecrets;
    this.redisSecret = redis.appSecret;
    this.registerOutputs({
      namespace,
      pooledService: this.pooledService,
      databaseSecrets: this.databaseSecrets,
      redisSecret: this.redisSecret,
    });
  }
}
