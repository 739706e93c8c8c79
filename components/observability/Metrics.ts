import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { stringify } from "yaml";
import { alertmanagerConfig } from "../../model/observability/alertmanager";
import { MONITORING_NAMESPACE, parsePaging, type Observability } from "../../model/observability/config";
import { GRAFANA_ACCOUNT } from "../../model/observability/accounts";
import { CHARTS } from "../../model/pins";
import { generationName, generationsOf, type Rotations } from "../../model/rotation";
import { generationAnnotations } from "../rotation";
import { chartAccount } from "./account";
import { metricsValues } from "./metricsValues";
import { pinnedRelease } from "./release";

const ADMIN_PASSWORD_LENGTH = 32;
const GRAFANA_SECRET = "grafana-admin";
const ALERTMANAGER_SECRET = "alertmanager-config";
/** The key prometheus-operator reads from `configSecret`. */
const ALERTMANAGER_KEY = "alertmanager.yaml";
const ADMIN_USER = "admin";

export interface MetricsArgs {
  stack: string;
  observability: Observability;
  storageClass: pulumi.Input<string>;
  /** `enclii:paging` (secret JSON, validated with the config); absent: alerts stay in Alertmanager. */
  paging?: pulumi.Output<string>;
  grafanaUrl?: string;
  /** With Grafana exposed: the Access application's audience tag, the only one Grafana accepts. */
  accessAudience?: pulumi.Input<string>;
  /** The servers' node addresses, where embedded etcd serves its metrics. */
  etcdEndpoints: pulumi.Input<string>[];
  /** `enclii:rotations`: Grafana's admin password is named by `grafana-admin`'s current generation. */
  rotations: Rotations;
  provider: k8s.Provider;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * kube-prometheus-stack: Prometheus, Alertmanager (its config a Secret rendered from
 * `enclii:paging`), Grafana (admin password from random; its account ours, with a Role that reads
 * ConfigMaps in `monitoring` only), kube-state-metrics and node-exporter.
 */
export class Metrics extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Metrics", name, {}, opts);
    const child = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    // Grafana sets the admin password only when it creates its database, and the chart rolls no pod
    // for a change of our Secret: a new generation is a new password and a pod annotation, and the
    // new pod, its database on an empty volume, creates the admin with it (grafanaValues.ts).
    const password = new random.RandomPassword(
      generationName(`${name}-grafana-password`, generationsOf(args.rotations, "grafana-admin").current),
      { length: ADMIN_PASSWORD_LENGTH, special: false },
      { parent: this },
    );
    const grafanaSecret = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_SECRET, namespace: MONITORING_NAMESPACE },
        stringData: { "admin-user": ADMIN_USER, "admin-password": password.result },
      },
      child,
    );
    const rendered = (args.paging ?? pulumi.output<string | undefined>(undefined)).apply((text) =>
      stringify(alertmanagerConfig(text === undefined ? undefined : parsePaging(text).paging, args.stack)),
    );
    const alertmanagerSecret = new k8s.core.v1.Secret(
      `${name}-alertmanager-config`,
      {
        metadata: { name: ALERTMANAGER_SECRET, namespace: MONITORING_NAMESPACE },
        stringData: { [ALERTMANAGER_KEY]: pulumi.secret(rendered) },
      },
      child,
    );
    const grafanaAccount = chartAccount(`${name}-grafana`, GRAFANA_ACCOUNT, child);
    this.release = pinnedRelease(
      `${name}-release`,
      CHARTS.kubePrometheusStack,
      pulumi
        .all([args.storageClass, pulumi.all(args.etcdEndpoints), args.accessAudience])
        .apply(([storageClass, etcdEndpoints, accessAudience]) =>
          metricsValues({
            o: args.observability,
            storageClass,
            alertmanagerSecret: ALERTMANAGER_SECRET,
            grafanaSecret: GRAFANA_SECRET,
            grafanaPodAnnotations: generationAnnotations(args.rotations, ["grafana-admin"]),
            grafanaUrl: args.grafanaUrl,
            accessAudience,
            etcdEndpoints,
          }),
        ),
      { ...child, dependsOn: [...args.dependsOn, grafanaSecret, alertmanagerSecret, ...grafanaAccount] },
    );
    this.grafanaAdminPassword = pulumi.secret(password.result);
    this.registerOutputs({ grafanaAdminPassword: this.grafanaAdminPassword });
  }
}
