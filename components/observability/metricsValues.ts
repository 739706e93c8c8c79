/** kube-prometheus-stack's values: Prometheus, Alertmanager, Grafana, kube-state-metrics, node-exporter and k3s's endpoints. */
import { AGENTS_NAMESPACE, ALERTMANAGER_STORAGE_GI, OBS_PORTS, SIZES, type Observability } from "../../model/observability/config";
import { ETCD_SNAPSHOT_METRIC } from "../../model/observability/platformRules";
import { RESTRICTED_CONTAINER, restrictedPod } from "../baseline";
import { UID, claim, type Values } from "./chartValues";
import { grafanaValues } from "./grafanaValues";

/**
 * k3s runs the API server, controller manager, scheduler and proxy in one process whose registry
 * every metrics port serves (k3s-io/k3s#2262, #4987): the kubelet's endpoint (job `kubelet`) and the
 * API server's (job `apiserver`) carry them all, so the per-component monitors would only scrape the
 * same series again (and fail, since k3s binds them to localhost). The kubelet's job keeps its
 * name: the chart's `jobNameOverride` renames only what its rules and dashboards select, not the
 * scrape job, so a k3s-server override would leave the kubelet rules matching nothing.
 */
const K3S_DUPLICATE_MONITORS = ["kubeControllerManager", "kubeScheduler", "kubeProxy"] as const;
/** Default rule groups about components k3s does not expose separately, or that we write ourselves (Watchdog). */
const DEFAULT_RULES_OFF = ["kubeControllerManager", "kubeProxy", "kubeSchedulerAlerting", "kubeSchedulerRecording", "general"];

export interface MetricsValuesArgs {
  o: Observability;
  storageClass: string;
  /** The Secret holding alertmanager.yaml (rendered from enclii:paging). */
  alertmanagerSecret: string;
  /** The Secret with Grafana's admin user and password. */
  grafanaSecret: string;
  /** Annotations on Grafana's pod: a rotation of the admin password rolls it. */
  grafanaPodAnnotations: Record<string, string>;
  /** `https://grafana.<domain>` when exposed. */
  grafanaUrl?: string;
  /** With Grafana exposed: the Access application's audience tag. */
  accessAudience?: string;
  /** The servers' node addresses: embedded etcd serves its metrics there (the chart's own Service and Endpoints point at them). */
  etcdEndpoints: string[];
}

/** kube-prometheus-stack: the operator picks up every monitor and rule in the cluster, not only its own release's. */
export function metricsValues(a: MetricsValuesArgs): Values {
  const size = SIZES[a.o.profile];
  const everything = Object.fromEntries(
    ["rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"].map((k) => [`${k}SelectorNilUsesHelmValues`, false]),
  );
  return {
    crds: { enabled: true },
    defaultRules: { create: true, rules: Object.fromEntries(DEFAULT_RULES_OFF.map((r) => [r, false])) },
    ...Object.fromEntries(K3S_DUPLICATE_MONITORS.map((m) => [m, { enabled: false }])),
    // Embedded etcd is not a pod: the chart's monitor reaches it at the servers' addresses (its default etcd alerts stay on).
    kubeEtcd: {
      enabled: true,
      endpoints: a.etcdEndpoints,
      service: { enabled: true, port: OBS_PORTS.etcdMetrics, targetPort: OBS_PORTS.etcdMetrics },
      serviceMonitor: { scheme: "http" },
    },
    prometheusOperator: {
      // The admission webhook's certificate jobs need their own ingress from the API server; the CRDs' schemas already reject bad objects.
      admissionWebhooks: { enabled: false },
      tls: { enabled: false },
      resources: size.operator,
      securityContext: restrictedPod(UID.nobody),
      containerSecurityContext: RESTRICTED_CONTAINER,
      // The sidecar the operator adds to Prometheus and Alertmanager: its default would have no memory limit here.
      prometheusConfigReloader: { resources: size.configReloader },
    },
    prometheus: {
      prometheusSpec: {
        ...everything,
        retention: `${a.o.retentionDays.metrics}d`,
        // Keep a tenth of the volume for the WAL and compaction headroom.
        retentionSize: `${Math.floor(a.o.storageGi.metrics * 0.9)}GiB`,
        resources: size.prometheus,
        storageSpec: claim(a.storageClass, a.o.storageGi.metrics),
        securityContext: restrictedPod(UID.nobody),
        enableAdminAPI: false,
        ...(a.grafanaUrl ? { externalUrl: a.grafanaUrl } : {}),
      },
    },
    alertmanager: {
      alertmanagerSpec: {
        configSecret: a.alertmanagerSecret,
        useExistingSecret: true,
        resources: size.alertmanager,
        storage: claim(a.storageClass, ALERTMANAGER_STORAGE_GI),
        securityContext: restrictedPod(UID.nobody),
      },
    },
    grafana: grafanaValues({
      o: a.o,
      grafanaSecret: a.grafanaSecret,
      podAnnotations: a.grafanaPodAnnotations,
      grafanaUrl: a.grafanaUrl,
      accessAudience: a.accessAudience,
    }),
    "kube-state-metrics": {
      resources: size.kubeStateMetrics,
      securityContext: restrictedPod(UID.nobody),
      containerSecurityContext: RESTRICTED_CONTAINER,
      rbac: { extraRules: [{ apiGroups: ["k3s.cattle.io"], resources: ["etcdsnapshotfiles"], verbs: ["list", "watch"] }] },
      customResourceState: { enabled: true, config: etcdSnapshotState() },
    },
    "prometheus-node-exporter": {
      namespaceOverride: AGENTS_NAMESPACE,
      resources: size.nodeExporter,
    },
  };
}

/** k3s records each etcd snapshot as an ETCDSnapshotFile; its creation time becomes a gauge the snapshot-age alert reads. */
function etcdSnapshotState(): Values {
  const [prefix, name] = [ETCD_SNAPSHOT_METRIC.replace(/_creation_timestamp_seconds$/, ""), "creation_timestamp_seconds"];
  return {
    kind: "CustomResourceStateMetrics",
    spec: {
      resources: [
        {
          groupVersionKind: { group: "k3s.cattle.io", version: "v1", kind: "ETCDSnapshotFile" },
          metricNamePrefix: prefix,
          labelsFromPath: { name: ["metadata", "name"], node: ["spec", "nodeName"] },
          metrics: [
            {
              name,
              help: "When etcd took the snapshot (status.creationTime)",
              each: { type: "Gauge", gauge: { path: ["status", "creationTime"] } },
            },
          ],
        },
      ],
    },
  };
}
