import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  APPS_NAMESPACE,
  CLOUDFLARED,
  CNPG_POOLER_LABEL,
  DATA_NAMESPACE,
  TRACK_LABEL,
  TRACK_SERIES_LABEL,
  selectorLabels,
} from "../../model/names";
import {
  BLACKBOX_PROBER,
  MONITORING_API,
  MONITORING_NAMESPACE,
  PROBE_INTERVAL,
  PROBE_MODULES,
  type Observability,
} from "../../model/observability/config";
import { CHARTS } from "../../model/pins";
import type { AppService } from "../../model/config/services";
import { NAT_EGRESS_JOB } from "../../model/observability/natGateway";
import { AVAILABILITY_JOB } from "../../model/observability/slo";
import { metricsPortName } from "../apps/workload";
import { SERVICES as REDIS_SERVICES } from "../data/redisPods";
import { blackboxValues } from "./chartValues";
import { pinnedRelease } from "./release";

export interface ScrapesArgs {
  observability: Observability;
  services: AppService[];
  /** The CloudNativePG Cluster's name, with in-cluster PostgreSQL (its pods, its Pooler, cert-manager). */
  postgresCluster?: string;
  /** With a NAT gateway: host:port the blackbox exporter's TLS handshake probes, the private nodes' egress (natGateway.ts). */
  egressTarget?: string;
  provider: k8s.Provider;
  /** The monitoring CRDs: the kube-prometheus-stack release. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

type Endpoint = { port: string; path?: string; relabelings?: Record<string, unknown>[] };

/** The label Prometheus's Kubernetes discovery gives a pod label: its name with every other character as `_`. */
const podLabelMeta = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;

/**
 * What Prometheus scrapes: each service with `runtime.metrics`, cloudflared, CloudNativePG and its
 * Pooler, the Redis exporters, Longhorn and cert-manager; and the blackbox probes of every public
 * hostname the availability SLO reads. The scraped namespaces' own policies admit Prometheus on those ports alone.
 */
export class Scrapes extends pulumi.ComponentResource {
  /** Names of the monitors and probes, for the plan's summary. */
  public readonly targets: string[] = [];

  constructor(name: string, args: ScrapesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Scrapes", name, {}, opts);
    const child = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    // Every monitor lives in the monitoring namespace and selects its targets' namespace: nothing here waits on the namespaces it watches.
    const monitor = (kind: "PodMonitor" | "ServiceMonitor" | "Probe", target: string, namespace: string, spec: Record<string, unknown>) => {
      this.targets.push(`${kind} ${target} → ${namespace}`);
      return new k8s.apiextensions.CustomResource(
        `${name}-${target}`,
        {
          apiVersion: MONITORING_API,
          kind,
          metadata: { name: target, namespace: MONITORING_NAMESPACE },
          spec: kind === "Probe" ? spec : { ...spec, namespaceSelector: { matchNames: [namespace] } },
        },
        child,
      );
    };
    const podMonitor = (target: string, namespace: string, selector: Record<string, unknown>, endpoint: Endpoint) =>
      monitor("PodMonitor", target, namespace, { selector, podMetricsEndpoints: [endpoint] });
    const serviceLabel = (service: string) => [{ action: "replace", targetLabel: "service", replacement: service }];
    // `stable` or `canary` (docs/services.md#canary): a canary's figures are told from the stable pods' by it.
    const trackLabel = [{ action: "replace", sourceLabels: [podLabelMeta(TRACK_LABEL)], targetLabel: TRACK_SERIES_LABEL }];

    for (const svc of args.services.filter((s) => s.metrics)) {
      podMonitor(
        svc.name,
        APPS_NAMESPACE,
        { matchLabels: selectorLabels(svc.name) },
        {
          port: metricsPortName(svc),
          path: svc.metrics!.path,
          relabelings: [...serviceLabel(svc.name), ...trackLabel],
        },
      );
    }
    podMonitor("cloudflared", CLOUDFLARED.namespace, { matchLabels: { ...CLOUDFLARED.labels } }, { port: "metrics" });
    podMonitor(
      "redis",
      DATA_NAMESPACE,
      { matchExpressions: [{ key: "app", operator: "In", values: Object.values(REDIS_SERVICES) }] },
      {
        port: "metrics",
      },
    );
    if (args.postgresCluster) {
      // CloudNativePG deprecated its own enablePodMonitor (1.25+) for monitors written like these.
      podMonitor("postgres", DATA_NAMESPACE, { matchLabels: { "cnpg.io/cluster": args.postgresCluster } }, { port: "metrics" });
      podMonitor("pgbouncer", DATA_NAMESPACE, { matchExpressions: [{ key: CNPG_POOLER_LABEL, operator: "Exists" }] }, { port: "metrics" });
      podMonitor(
        "cert-manager",
        CHARTS.certManager.namespace,
        { matchLabels: { "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller" } },
        { port: "http-metrics" },
      );
    }
    monitor("ServiceMonitor", "longhorn", CHARTS.longhorn.namespace, {
      selector: { matchLabels: { app: "longhorn-manager" } },
      endpoints: [{ port: "manager" }],
    });

    pinnedRelease(`${name}-blackbox`, CHARTS.blackbox, blackboxValues(args.observability), child);
    for (const svc of args.services.filter((s) => s.hostnames.length > 0)) {
      monitor("Probe", `availability-${svc.name}`, MONITORING_NAMESPACE, {
        jobName: AVAILABILITY_JOB,
        interval: PROBE_INTERVAL,
        module: PROBE_MODULES.http,
        prober: { url: BLACKBOX_PROBER },
        targets: {
          staticConfig: { static: svc.hostnames.map((h) => `https://${h}${svc.healthCheck.path}`), labels: { service: svc.name } },
        },
      });
    }

    if (args.egressTarget)
      monitor("Probe", NAT_EGRESS_JOB, MONITORING_NAMESPACE, {
        jobName: NAT_EGRESS_JOB,
        interval: PROBE_INTERVAL,
        module: PROBE_MODULES.tls,
        prober: { url: BLACKBOX_PROBER },
        targets: { staticConfig: { static: [args.egressTarget] } },
      });

    this.registerOutputs({ targets: this.targets });
  }
}
