import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NEEDS_TOKEN_ANNOTATION } from "../../model/baseline";
import { IMAGES } from "../../model/pins";
import type { PostgresConfig } from "../../model/config/schema";
import { generationName, type Generations } from "../../model/rotation";
import { CNPG_PGBOUNCER_CONTAINER, CNPG_POOLER_LABEL, DATABASES, POOLED_SERVICE, PORTS } from "../../model/names";
import { stateful } from "../stateful";
import { databaseUrlSecret } from "./databaseUrl";
import { IN_CLUSTER_MAX_CONNECTIONS, type ConnectionBudget } from "../../model/rules/connectionBudget";
import { LONGHORN_OPT_OUT_LABELS } from "../k3s/Longhorn";
import { LISTEN_BACKLOG, MAX_CLIENT_CONN } from "./pgbouncer";
import { loginCheckJobSpec, loginRole, managedRoles } from "./postgresRoles";

export const OBJECT_STORE_NAME = "r2-backups";
export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";
/** Daily at 03:00 UTC (CloudNativePG cron has a seconds field). */
const BACKUP_SCHEDULE = "0 0 3 * * *";
const PASSWORD_LENGTH = 32;
/**
 * The operator gives its bootstrap init container the same. The limit leaves room above
 * shared_buffers and 100 connections; the page cache counts against it but is reclaimed, not OOM-killed.
 */
const POSTGRES_RESOURCES = { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "4Gi" } };
/** The barman-cloud sidecar in every instance pod: WAL archiving, and base backups streamed to R2. */
const BACKUP_SIDECAR_RESOURCES = { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "1Gi" } };
/**
 * boto3 1.36+ sends and checks CRC checksums on every request by default, which R2 rejects; the
 * barman-cloud plugin's object-store docs give these two settings for R2 and other S3 look-alikes.
 */
export const R2_CHECKSUM_ENV = [
  { name: "AWS_REQUEST_CHECKSUM_CALCULATION", value: "when_required" },
  { name: "AWS_RESPONSE_CHECKSUM_VALIDATION", value: "when_required" },
];
const POOLER_RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } };
/** The operator adds a readiness probe only. */
const POOLER_LIVENESS = { tcpSocket: { port: PORTS.postgres }, periodSeconds: 10, failureThreshold: 6 };
const POOLER_TOKEN_REASON =
  "CloudNativePG's PgBouncer instance manager watches its Pooler and reads the auth and TLS Secrets through the API";

/**
 * A new cluster's bootstrap from another cluster's base backups and WAL in the object store,
 * optionally to a point in time: the restore a stack asks for, and the restore drill's.
 */
export function recoverySpec(fromCluster: string, targetTime?: string): Record<string, unknown> {
  return {
    bootstrap: { recovery: { source: "origin", ...(targetTime ? { recoveryTarget: { targetTime } } : {}) } },
    externalClusters: [
      { name: "origin", plugin: { name: BARMAN_PLUGIN, parameters: { barmanObjectName: OBJECT_STORE_NAME, serverName: fromCluster } } },
    ],
  };
}

/** The Pooler's `spec.pgbouncer`: transaction pooling within the connection budget. */
export function poolerPgbouncer(budget: ConnectionBudget): { poolMode: "transaction"; parameters: Record<string, string> } {
  return {
    poolMode: "transaction",
    parameters: {
      max_client_conn: String(MAX_CLIENT_CONN),
      listen_backlog: String(LISTEN_BACKLOG),
      default_pool_size: String(budget.perPool),
      max_db_connections: String(budget.perPool),
      reserve_pool_size: "0",
    },
  };
}

export interface PostgresBackupTarget {
  /** s3://bucket/prefix on R2. */
  destinationPath: pulumi.Input<string>;
  endpoint: pulumi.Input<string>;
  /** Secret in the data namespace with ACCESS_KEY_ID and ACCESS_SECRET_KEY. */
  credentialsSecret: pulumi.Input<string>;
}

export interface PostgresArgs {
  namespace: pulumi.Input<string>;
  appsNamespace: pulumi.Input<string>;
  /** `enclii:postgres`: instances, storage, retention, the cluster's name, and a restore (a new cluster from another's archive). */
  settings: Extract<PostgresConfig, { mode: "in-cluster" }>;
  /** PgBouncer replicas: 2 when there is more than one node. */
  /** The Pooler's instances and per-pool limit (model/rules/connectionBudget.ts). */
  budget: ConnectionBudget;
  backup: PostgresBackupTarget;
  storageClass: pulumi.Input<string>;
  /** Production: the Cluster and its object store are protected and retained on delete. */
  protect: boolean;
  /** Where the `postgres` rotation stands (model/rotation.ts): whose passwords exist and which login the apps get. */
  generations: Generations;
  provider: k8s.Provider;
  /** The operators and plugin that define these custom resources. */
  operators: pulumi.Resource[];
}

/**
 * In-cluster PostgreSQL with CloudNativePG: one Cluster on Longhorn, managed roles and
 * databases for Enclii and Janua, WAL archiving and daily base backups to R2 through the
 * barman-cloud plugin (point-in-time recovery within the retention window), and a
 * transaction-mode PgBouncer Pooler as the `postgres` Service.
 */
export class Postgres extends pulumi.ComponentResource {
  public readonly pooledService: pulumi.Output<string>;
  public readonly databaseSecrets: pulumi.Output<string>[];

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:data:Postgres", name, {}, opts);
    const { namespace } = args;
    const child = { parent: this, provider: args.provider };
    const kept = { ...child, ...stateful(args.protect) };
    const { clusterName, restore } = args.settings;
    const cr = (role: string, kind: string, apiVersion: string, spec: Record<string, unknown>, o: pulumi.CustomResourceOptions) =>
      new k8s.apiextensions.CustomResource(`${name}-${role}`, { apiVersion, kind, metadata: { name: role, namespace }, spec }, o);
    const recovery = restore ? recoverySpec(restore.fromCluster, restore.targetTime) : {};

    // One password and role Secret per generation in use (docs/data.md#how-postgresql-passwords-rotate).
    const { current, previous } = args.generations;
    const live = previous === undefined ? [current] : [current, previous];
    const roleSecretName = (db: string, g: number) => generationName(`pg-role-${db}`, g);
    const roles = DATABASES.map((db) => {
      const logins = live.map((g) => {
        const password = new random.RandomPassword(
          generationName(`${name}-${db}-password`, g),
          { length: PASSWORD_LENGTH, special: false },
          { parent: this },
        );
        const secret = new k8s.core.v1.Secret(
          generationName(`${name}-${db}-role`, g),
          {
            metadata: { name: roleSecretName(db, g), namespace },
            type: "kubernetes.io/basic-auth",
            stringData: { username: loginRole(db, g), password: pulumi.secret(password.result) },
          },
          child,
        );
        return { password, secret };
      });
      return { db, current: logins[0], secrets: logins.map((l) => l.secret) };
    });

    const store = cr(
      OBJECT_STORE_NAME,
      "ObjectStore",
      "barmancloud.cnpg.io/v1",
      {
        configuration: {
          destinationPath: args.backup.destinationPath,
          endpointURL: args.backup.endpoint,
          s3Credentials: {
            accessKeyId: { name: args.backup.credentialsSecret, key: "ACCESS_KEY_ID" },
            secretAccessKey: { name: args.backup.credentialsSecret, key: "ACCESS_SECRET_KEY" },
          },
          wal: { compression: "gzip", maxParallel: 2 },
          data: { compression: "gzip" },
        },
        retentionPolicy: `${args.settings.backupRetentionDays}d`,
        instanceSidecarConfiguration: { resources: BACKUP_SIDECAR_RESOURCES, env: R2_CHECKSUM_ENV },
      },
      { ...kept, dependsOn: args.operators },
    );

    // The cluster's name is in its resource name: a restore creates a new Cluster beside the old one.
    const cluster = cr(
      clusterName,
      "Cluster",
      "postgresql.cnpg.io/v1",
      {
        instances: args.settings.instances,
        imageName: IMAGES.postgres,
        resources: POSTGRES_RESOURCES,
        storage: { size: `${args.settings.storageGi}Gi`, storageClass: args.storageClass },
        // On every object the operator makes, PVCs included: barman-cloud backs these volumes up,
        // so Longhorn's daily volume backups leave them out.
        inheritedMetadata: { labels: { ...LONGHORN_OPT_OUT_LABELS } },
        postgresql: { parameters: { max_connections: String(IN_CLUSTER_MAX_CONNECTIONS) } },
        enableSuperuserAccess: false,
        managed: {
          roles: roles.flatMap((r) => managedRoles(r.db, args.generations, (g) => roleSecretName(r.db, g))),
        },
        plugins: [{ name: BARMAN_PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: OBJECT_STORE_NAME } }],
        ...recovery,
      },
      { ...kept, dependsOn: [...args.operators, store, ...roles.flatMap((r) => r.secrets)] },
    );

    for (const { db } of roles) {
      cr(
        `db-${db}`,
        "Database",
        "postgresql.cnpg.io/v1",
        { cluster: { name: clusterName }, name: db, owner: db, ensure: "present", databaseReclaimPolicy: "retain" },
        { ...child, dependsOn: [cluster] },
      );
    }
    cr(
      "daily-backup",
      "ScheduledBackup",
      "postgresql.cnpg.io/v1",
      {
        cluster: { name: clusterName },
        schedule: BACKUP_SCHEDULE,
        method: "plugin",
        pluginConfiguration: { name: BARMAN_PLUGIN },
        backupOwnerReference: "self",
        immediate: true,
      },
      { ...child, dependsOn: [cluster] },
    );
    const pooler = new k8s.apiextensions.CustomResource(
      `${name}-pooler`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Pooler",
        metadata: { name: POOLED_SERVICE, namespace },
        spec: {
          cluster: { name: clusterName },
          instances: args.budget.poolerInstances,
          type: "rw",
          pgbouncer: poolerPgbouncer(args.budget),
          // Merged by the operator into the pods it renders; it sets the security contexts itself.
          template: {
            metadata: { annotations: { [NEEDS_TOKEN_ANNOTATION]: POOLER_TOKEN_REASON } },
            spec: {
              containers: [
                {
                  name: CNPG_PGBOUNCER_CONTAINER,
                  image: IMAGES.cnpgPgbouncer,
                  resources: POOLER_RESOURCES,
                  livenessProbe: POOLER_LIVENESS,
                },
              ],
            },
          },
        },
      },
      { ...child, dependsOn: [cluster] },
    );
    // The operator keeps PDBs for the Cluster but none for the Pooler. With one instance a PDB would only block drains.
    if (args.budget.poolerInstances > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pooler-pdb`,
        {
          metadata: { name: POOLED_SERVICE, namespace },
          spec: { minAvailable: 1, selector: { matchLabels: { [CNPG_POOLER_LABEL]: POOLED_SERVICE } } },
        },
        child,
      );
    }

    // In the overlap the apps get the new login only once a Job has logged in with it through the
    // Pooler: the operator applies roles asynchronously, after Pulumi has updated the Cluster.
    const loginCheck = (r: (typeof roles)[number]) =>
      new k8s.batch.v1.Job(
        generationName(`${name}-${r.db}-login-check`, current),
        {
          // A check that failed is replaced by the next `up`, not waited on again.
          metadata: {
            name: generationName(`pg-login-check-${r.db}`, current),
            namespace,
            annotations: { "pulumi.com/replaceUnready": "true" },
          },
          spec: loginCheckJobSpec({
            db: r.db,
            roleSecret: roleSecretName(r.db, current),
            directHost: `${clusterName}-rw`,
            pooledHost: POOLED_SERVICE,
            image: IMAGES.postgres,
          }),
        },
        { ...child, dependsOn: [cluster, pooler, r.current.secret] },
      );
    this.databaseSecrets = roles.map((r) => {
      const checked = previous === undefined ? [] : [loginCheck(r)];
      return databaseUrlSecret(
        `${name}-${r.db}-url`,
        {
          appsNamespace: args.appsNamespace,
          database: r.db,
          user: loginRole(r.db, current),
          password: r.current.password.result,
          sslmode: "require",
        },
        { ...child, dependsOn: [pooler, ...checked] },
      ).metadata.name;
    });
    this.pooledService = pooler.metadata.name;
    this.registerOutputs({ pooledService: this.pooledService, databaseSecrets: this.databaseSecrets });
  }
}
