import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionBudget } from "../../model/rules/connectionBudget";
import { RESTRICTED_CONTAINER, restrictedPod, spreadAcrossNodes } from "../baseline";
import { DATABASES, POOLED_SERVICE, PORTS, UIDS } from "../../model/names";
import { IMAGES } from "../../model/pins";
import { databaseUrlSecret } from "./databaseUrl";
import {
  type ExternalServer,
  externalDatabases,
  INI_FILE,
  PGBOUNCER_CONFIG_DIR,
  renderPgbouncerIni,
  renderUserlist,
  USERLIST_FILE,
} from "./pgbouncer";

export interface ExternalPostgresArgs {
  namespace: pulumi.Input<string>;
  appsNamespace: pulumi.Input<string>;
  /** The managed server, from `enclii:postgres`. */
  server: ExternalServer;
  /** Secret: database → postgres://user:password@host:port/dbname. */
  databaseUrls: pulumi.Output<Record<string, string>>;
  /** PgBouncer's replicas and per-pool limit (model/rules/connectionBudget.ts). */
  budget: ConnectionBudget;
  provider: k8s.Provider;
}

/**
 * A managed PostgreSQL (e.g. Ubicloud) behind our own PgBouncer: transaction pooling,
 * 1000 clients onto the budget's server connections per database and replica, TLS to the server. It serves the same
 * `postgres` Service and `database-<db>` Secrets as the in-cluster mode.
 */
export class ExternalPostgres extends pulumi.ComponentResource {
  public readonly pooledService: pulumi.Output<string>;
  public readonly databaseSecrets: pulumi.Output<string>[];

  constructor(name: string, args: ExternalPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:data:ExternalPostgres", name, {}, opts);
    const { namespace } = args;
    const child = { parent: this, provider: args.provider };
    const labels = { app: "pgbouncer" };
    const { server } = args;
    const databases = args.databaseUrls.apply(externalDatabases);
    // Database names are not secret; the ini stays a reviewable ConfigMap.
    const dbnames = pulumi.unsecret(databases.apply((list) => list.map(({ name, dbname }) => ({ name, dbname }))));

    const ini = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: "pgbouncer", namespace },
        data: {
          [INI_FILE]: dbnames.apply((list) => renderPgbouncerIni(server, list, PGBOUNCER_CONFIG_DIR, args.budget.perPool)),
        },
      },
      child,
    );
    const userlist = new k8s.core.v1.Secret(
      `${name}-userlist`,
      {
        metadata: { name: "pgbouncer-userlist", namespace },
        stringData: {
          [USERLIST_FILE]: pulumi.secret(databases.apply(renderUserlist)),
        },
      },
      child,
    );
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-pgbouncer`,
      {
        metadata: { name: "pgbouncer", namespace, labels },
        spec: {
          replicas: args.budget.poolerInstances,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // A changed pgbouncer.ini rolls the pods; PgBouncer reads it only at start.
            metadata: {
              labels,
              annotations: {
                "enclii.io/config-sha256": ini.data.apply((d) => createHash("sha256").update(d[INI_FILE]).digest("hex")),
              },
            },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.nonroot),
              topologySpreadConstraints: spreadAcrossNodes(labels),
              containers: [
                {
                  name: "pgbouncer",
                  image: IMAGES.pgbouncer,
                  command: ["pgbouncer", `${PGBOUNCER_CONFIG_DIR}/${INI_FILE}`],
                  ports: [{ name: "postgres", containerPort: PORTS.postgres }],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                  readinessProbe: { tcpSocket: { port: PORTS.postgres }, periodSeconds: 5 },
                  livenessProbe: { tcpSocket: { port: PORTS.postgres }, periodSeconds: 10, failureThreshold: 6 },
                  volumeMounts: [
                    { name: "config", mountPath: `${PGBOUNCER_CONFIG_DIR}/${INI_FILE}`, subPath: INI_FILE, readOnly: true },
                    { name: "userlist", mountPath: `${PGBOUNCER_CONFIG_DIR}/${USERLIST_FILE}`, subPath: USERLIST_FILE, readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: ini.metadata.name } },
                { name: "userlist", secret: { secretName: userlist.metadata.name } },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      { metadata: { name: "pgbouncer", namespace }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
      child,
    );
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: POOLED_SERVICE, namespace },
        spec: { selector: labels, ports: [{ name: "postgres", port: PORTS.postgres, targetPort: PORTS.postgres }] },
      },
      { ...child, dependsOn: [deployment] },
    );

    this.databaseSecrets = DATABASES.map(
      (db, i) =>
        databaseUrlSecret(
          `${name}-${db}-url`,
          {
            appsNamespace: args.appsNamespace,
            database: db,
            user: databases.apply((list) => list[i].user),
            password: databases.apply((list) => list[i].password),
            sslmode: "disable",
          },
          child,
        ).metadata.name,
    );
    this.pooledService = service.metadata.name;
    this.registerOutputs({ pooledService: this.pooledService, databaseSecrets: this.databaseSecrets });
  }
}
