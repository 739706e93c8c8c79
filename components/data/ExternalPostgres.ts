import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RESTRICTED_CONTAINER, restrictedPod, spreadAcrossNodes } from "../baseline";
import { DATABASES, POOLED_SERVICE, PORTS, UIDS } from "../../model/names";
import { databaseUrlSecret } from "./databaseUrl";
import { renderPgbouncerIni, renderUserlist } from "./pgbouncer";

export const PGBOUNCER_IMAGE = "ghcr.io/cloudnative-pg/pgbouncer:1.24.1";
const REPLICAS = 2;
const CONFIG_DIR = "/etc/pgbouncer";
/** Debian-family CA bundle shipped in the image, for verify-full against a managed database. */
const CA_FILE = "/etc/ssl/certs/ca-certificates.crt";

/** One managed user may own several databases: list it once (the renderer rejects duplicates). */
function uniqueUsers(urls: URL[]): { name: string; password: string }[] {
  const users = new Map<string, string>();
  for (const u of urls) {
    const name = decodeURIComponent(u.username);
    const password = decodeURIComponent(u.password);
    if (users.has(name) && users.get(name) !== password) throw new Error(`external PostgreSQL: user "${name}" has two different passwords`);
    users.set(name, password);
  }
  return [...users].map(([name, password]) => ({ name, password }));
}

export interface ExternalPostgresArgs {
  namespace: pulumi.Input<string>;
  appsNamespace: pulumi.Input<string>;
  host: string;
  port: number;
  sslmode: "require" | "verify-full";
  /** Secret: database → postgres://user:password@host:port/dbname. */
  databaseUrls: pulumi.Output<Record<string, string>>;
  provider: k8s.Provider;
}

/**
 * A managed PostgreSQL (e.g. Ubicloud) behind our own PgBouncer: transaction pooling,
 * 1000 clients onto 25 server connections per database, TLS to the server. It serves the same
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
    const parsed = args.databaseUrls.apply((urls) => Object.fromEntries(DATABASES.map((db) => [db, new URL(urls[db])])));
    // Database names are not secret; the ini stays a reviewable ConfigMap.
    const dbnames = pulumi.unsecret(
      parsed.apply((p) => DATABASES.map((db) => ({ db, dbname: decodeURIComponent(p[db].pathname.slice(1)) }))),
    );

    const ini = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: "pgbouncer", namespace },
        data: {
          "pgbouncer.ini": dbnames.apply((list) =>
            renderPgbouncerIni({
              databases: list.map(({ db, dbname }) => ({ name: db, host: args.host, port: args.port, dbname })),
              listenAddr: "0.0.0.0",
              listenPort: PORTS.postgres,
              authFile: `${CONFIG_DIR}/userlist.txt`,
              serverTlsSslmode: args.sslmode,
              serverTlsCaFile: args.sslmode === "verify-full" ? CA_FILE : undefined,
            }),
          ),
        },
      },
      child,
    );
    const userlist = new k8s.core.v1.Secret(
      `${name}-userlist`,
      {
        metadata: { name: "pgbouncer-userlist", namespace },
        stringData: {
          "userlist.txt": pulumi.secret(parsed.apply((p) => renderUserlist(uniqueUsers(DATABASES.map((db) => p[db]))))),
        },
      },
      child,
    );
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-pgbouncer`,
      {
        metadata: { name: "pgbouncer", namespace, labels },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // A changed pgbouncer.ini rolls the pods; PgBouncer reads it only at start.
            metadata: {
              labels,
              annotations: {
                "enclii.io/config-sha256": ini.data.apply((d) => createHash("sha256").update(d["pgbouncer.ini"]).digest("hex")),
              },
            },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.nonroot),
              topologySpreadConstraints: spreadAcrossNodes(labels),
              containers: [
                {
                  name: "pgbouncer",
                  image: PGBOUNCER_IMAGE,
                  command: ["pgbouncer", `${CONFIG_DIR}/pgbouncer.ini`],
                  ports: [{ name: "postgres", containerPort: PORTS.postgres }],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                  readinessProbe: { tcpSocket: { port: PORTS.postgres }, periodSeconds: 5 },
                  livenessProbe: { tcpSocket: { port: PORTS.postgres }, periodSeconds: 10, failureThreshold: 6 },
                  volumeMounts: [
                    { name: "config", mountPath: `${CONFIG_DIR}/pgbouncer.ini`, subPath: "pgbouncer.ini", readOnly: true },
                    { name: "userlist", mountPath: `${CONFIG_DIR}/userlist.txt`, subPath: "userlist.txt", readOnly: true },
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
      (db) =>
        databaseUrlSecret(
          `${name}-${db}-url`,
          {
            appsNamespace: args.appsNamespace,
            database: db,
            user: parsed.apply((p) => decodeURIComponent(p[db].username)),
            password: parsed.apply((p) => decodeURIComponent(p[db].password)),
            sslmode: "disable",
          },
          child,
        ).metadata.name,
    );
    this.pooledService = service.metadata.name;
    this.registerOutputs({ pooledService: this.pooledService, databaseSecrets: this.databaseSecrets });
  }
}
