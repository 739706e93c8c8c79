/**
 * What apps see of the data layer, identical in every mode: a pooled PostgreSQL Service named
 * `postgres` in the data namespace and one `database-<db>` Secret (key DATABASE_URL) per database
 * in the apps namespace; a `redis` Secret with REDIS_URL. Switching modes changes no app.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const DATA_NAMESPACE = "enclii-data";
/** The databases the platform needs, whichever PostgreSQL serves them. */
export const DATABASES = ["enclii", "janua"] as const;
export const POOLED_SERVICE = "postgres";
/** What CloudNativePG names and labels in the Pooler's pods (the policy pack models them too). */
export const CNPG_POOLER_LABEL = "cnpg.io/poolerName";
export const CNPG_PGBOUNCER_CONTAINER = "pgbouncer";
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;

/** The apps-namespace Secret with REDIS_URL. */
export const REDIS_SECRET = "redis";
export const databaseSecretName = (db: string) => `database-${db}`;
export const serviceHost = (service: string) => `${service}.${DATA_NAMESPACE}.svc.cluster.local`;

export interface DatabaseUrlArgs {
  appsNamespace: pulumi.Input<string>;
  database: string;
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
  /** TLS between the app and the pooler: CloudNativePG's pooler serves it, our own PgBouncer does not. */
  sslmode: "require" | "disable";
}

export function databaseUrlSecret(name: string, a: DatabaseUrlArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
  const url = pulumi.interpolate`postgres://${a.user}:${pulumi.output(a.password).apply(encodeURIComponent)}@${serviceHost(POOLED_SERVICE)}:${POSTGRES_PORT}/${a.database}?sslmode=${a.sslmode}`;
  return new k8s.core.v1.Secret(
    name,
    {
      metadata: { name: databaseSecretName(a.database), namespace: a.appsNamespace },
      type: "Opaque",
      stringData: { DATABASE_URL: pulumi.secret(url) },
    },
    opts,
  );
}
