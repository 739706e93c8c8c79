import type * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import {
  AGENTS_NAMESPACE,
  GRAFANA_SERVICE,
  MONITORING_NAMESPACE,
  SIZES,
  type Observability as ObservabilitySettings,
} from "../../model/observability/config";
import type { NatGateway } from "../../model/observability/natGateway";
import { APPS_NAMESPACE } from "../../model/names";
import type { Route } from "../../model/routes";
import type { AppService } from "../../model/config/services";
import type { Rotations } from "../../model/rotation";
import { denyAllButDns } from "../baseline";
import type { AccessGuard } from "../edge/Tunnel";
import { Dashboards } from "./Dashboards";
import { GrafanaAccess } from "./GrafanaAccess";
import { Logs } from "./Logs";
import { Metrics } from "./Metrics";
import { monitoringPolicies } from "./network";
import { ReadOnlyPrometheus } from "./ReadOnlyPrometheus";
import { Rules } from "./Rules";
import { Scrapes } from "./Scrapes";
import { Traces } from "./Traces";

/** node-exporter, alone here, reads the host's /proc, /sys and root filesystem on the host network: PodSecurity "privileged". */
const AGENTS_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "privileged",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
};

export interface ObservabilityArgs {
  stack: string;
  accountId: string;
  settings: ObservabilitySettings;
  services: AppService[];
  /** The CloudNativePG Cluster's name with in-cluster PostgreSQL; absent with an external database. */
  postgresCluster?: string;
  redisMode: "standalone" | "sentinel";
  tunnelReplicas: number;
  storageClass: pulumi.Input<string>;
  /** The k3s servers' node addresses (embedded etcd's metrics). */
  etcdEndpoints: pulumi.Input<string>[];
  /** Every node's address: the only place the monitoring pods may reach the API server, kubelets, node-exporter and etcd. */
  nodeAddresses: pulumi.Input<string>[];
  /** `enclii:paging` (secret JSON). */
  paging?: pulumi.Output<string>;
  /** The HA layout's NAT gateway, and the host:port its private nodes' egress is probed at (R2's endpoint). */
  natGateway?: NatGateway & { egressTarget: string };
  /** `enclii:rotations`: Grafana's admin password follows `grafana-admin`'s generation. */
  rotations: Rotations;
  cloudflareProvider: cloudflare.Provider;
  k8sProvider: k8s.Provider;
  /** Longhorn: every volume here is on it. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * Metrics, logs, traces, SLO alerts, paging and dashboards for one environment, in the
 * `monitoring` namespace (and `monitoring-agents` for node-exporter, which reads the host), sized by profile.
 */
export class Observability extends pulumi.ComponentResource {
  /** Grafana's route for the tunnel, when it is exposed. */
  public readonly routes: Route[];
  /** The tunnel's routes wait for this Access application, so Grafana is never public without it. */
  public readonly accessGate?: pulumi.Resource;
  /** With Grafana exposed: cloudflared refuses its requests without this application's token. */
  public readonly access?: AccessGuard;
  public readonly grafanaUrl?: string;
  public readonly grafanaAdminPassword: pulumi.Output<string>;
  public readonly namespace: string;
  public readonly scrapeTargets: string[];
  public readonly dashboards: string[];

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Observability", name, {}, opts);
    const o = args.settings;
    const kube = { parent: this, provider: args.k8sProvider };
    const size = SIZES[o.profile];
    const grafanaHost = o.grafana?.hostname;
    this.grafanaUrl = grafanaHost && `https://${grafanaHost}`;

    const monitoring = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: MONITORING_NAMESPACE, labels: RESTRICTED_NAMESPACE_LABELS } },
      kube,
    );
    const agents = new k8s.core.v1.Namespace(
      `${name}-agents-namespace`,
      { metadata: { name: AGENTS_NAMESPACE, labels: AGENTS_NAMESPACE_LABELS } },
      kube,
    );
    const policies = (
      role: string,
      namespace: k8s.core.v1.Namespace,
      specs: Record<string, k8s.types.input.networking.v1.NetworkPolicySpec>,
    ) => {
      const ns = namespace.metadata.name;
      denyAllButDns(`${name}-${role}`, { namespace: ns, provider: args.k8sProvider, parent: this });
      for (const [policy, spec] of Object.entries(specs))
        new k8s.networking.v1.NetworkPolicy(`${name}-${role}-${policy}`, { metadata: { name: policy, namespace: ns }, spec }, kube);
    };
    policies(
      "monitoring",
      monitoring,
      monitoringPolicies({
        nodeCidrs: args.nodeAddresses.map((address) => pulumi.interpolate`${address}/32`),
        appMetricsPorts: args.services.flatMap((s) => (s.metrics ? [s.metrics.port] : [])),
        tracingServices: args.services.filter((s) => s.bindings.tracing).map((s) => s.name),
        availabilityReaders: args.services.filter((s) => s.bindings.availability).map((s) => s.name),
        grafanaExposed: Boolean(grafanaHost),
        logs: o.logs,
        traces: o.traces,
        paging: o.paging,
      }),
    );
    // Only the default-deny: node-exporter is on the host network, where NetworkPolicy does not apply.
    policies("agents", agents, {});

    if (o.grafana) {
      const application = new GrafanaAccess(
        `${name}-grafana-access`,
        {
          stack: args.stack,
          accountId: args.accountId,
          hostname: o.grafana.hostname,
          allowedEmails: o.grafana.allowedEmails,
          allowedEmailDomains: o.grafana.allowedEmailDomains,
          provider: args.cloudflareProvider,
        },
        { parent: this },
      ).application;
      this.accessGate = application;
      this.access = { hostname: o.grafana.hostname, teamName: o.grafana.teamName, audience: application.aud };
    }
    const ready = [...args.dependsOn, monitoring, agents];
    const metrics = new Metrics(
      `${name}-metrics`,
      {
        stack: args.stack,
        observability: o,
        storageClass: args.storageClass,
        paging: args.paging,
        grafanaUrl: this.grafanaUrl,
        accessAudience: this.access?.audience,
        etcdEndpoints: args.etcdEndpoints,
        rotations: args.rotations,
        provider: args.k8sProvider,
        dependsOn: ready,
      },
      { parent: this },
    );
    const crds = [metrics.release];
    if (o.logs)
      new Logs(
        `${name}-logs`,
        { observability: o, storageClass: args.storageClass, provider: args.k8sProvider, dependsOn: ready },
        { parent: this },
      );
    if (o.traces)
      new Traces(
        `${name}-traces`,
        { observability: o, storageClass: args.storageClass, provider: args.k8sProvider, dependsOn: ready },
        { parent: this },
      );
    const scrapes = new Scrapes(
      `${name}-scrapes`,
      {
        observability: o,
        services: args.services,
        postgresCluster: args.postgresCluster,
        egressTarget: args.natGateway?.egressTarget,
        provider: args.k8sProvider,
        dependsOn: crds,
      },
      { parent: this },
    );
    new Rules(
      `${name}-rules`,
      {
        slo: {
          probed: args.services.filter((s) => s.hostnames.length > 0).map((s) => s.name),
          scraped: args.services.flatMap((s) => (s.metrics ? [{ service: s.name, latencyP95Ms: s.metrics.latencyP95Ms }] : [])),
        },
        platform: {
          inClusterPostgres: args.postgresCluster !== undefined,
          redisMode: args.redisMode,
          tunnelReplicas: args.tunnelReplicas,
          natGateway: args.natGateway,
        },
        provider: args.k8sProvider,
        dependsOn: crds,
      },
      { parent: this },
    );
    const dashboards = new Dashboards(
      `${name}-dashboards`,
      {
        services: args.services.map((s) => ({
          name: s.name,
          routed: s.hostnames.length > 0,
          scraped: s.metrics !== undefined,
          latencyP95Ms: s.metrics?.latencyP95Ms,
        })),
        namespace: APPS_NAMESPACE,
        logs: o.logs,
        inClusterPostgres: args.postgresCluster !== undefined,
        provider: args.k8sProvider,
        dependsOn: [monitoring],
      },
      { parent: this },
    );
    new ReadOnlyPrometheus(`${name}-readonly`, { size: size.readonly, provider: args.k8sProvider, dependsOn: crds }, { parent: this });

    this.routes = grafanaHost ? [{ hostname: grafanaHost, service: GRAFANA_SERVICE }] : [];
    this.grafanaAdminPassword = metrics.grafanaAdminPassword;
    this.namespace = MONITORING_NAMESPACE;
    this.scrapeTargets = scrapes.targets;
    this.dashboards = dashboards.files;
    this.registerOutputs({
      routes: this.routes,
      grafanaUrl: this.grafanaUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
      namespace: this.namespace,
      scrapeTargets: this.scrapeTargets,
      dashboards: this.dashboards,
    });
  }
}
