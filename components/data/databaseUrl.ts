/**
 * What apps see of the data layer, identical in every mode: a pooled PostgreSQL Service named
 * `postgres` in the data namespace and one `database-<db>` Secret (key DATABASE_URL) per database
 * in the apps namespace. Switching modes changes no app.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { POOLED_SERVICE, PORTS, SECRET_KEYS, databaseSecretName, serviceHost } from "../../model/names";

export interface DatabaseUrlArgs {
  appsNamespace: pulumi.Input<string>;
  database: string;
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
  /** TLS between the app and the pooler: CloudNativePG's pooler serves it, our own PgBouncer does not. */
  sslmode: "require" | "disable";
}

export function databaseUrlSecret(name: string, a: DatabaseUrlArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
  const password = pulumi.output(a.password).apply(encodeURIComponent);
  const url = pulumi.interpolate`postgres://${a.user}:${password}@${serviceHost(POOLED_SERVICE)}:${PORTS.postgres}/${a.database}?sslmode=${a.sslmode}`;
  return new k8s.core.v1.Secret(
    name,
    {
      metadata: { name: databaseSecretName(a.database), namespace: a.appsNamespace },
      type: "Opaque",
      stringData: { [SECRET_KEYS.databaseUrl]: pulumi.secret(url) },
    },
    opts,
  );
}
