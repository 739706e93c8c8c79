/**
 * The observability charts' values as plain data, from the environment's sizes and retention.
 * Every pod gets requests and a memory limit (the capacity check reads them back from the release,
 * model/cost/chartPods.ts), the restricted security context where the chart lets us set it, and storage
 * on Longhorn. kube-prometheus-stack's values are in metricsValues.ts.
 */
import { ALLOY_ACCOUNT } from "../../model/observability/accounts";
import { LOKI_URL, OBS_PORTS, PROBE_MODULES, SIZES, type Observability } from "../../model/observability/config";
import { RESTRICTED_CONTAINER, restrictedPod } from "../baseline";
export type Values = Record<string, unknown>;

/**
 * The images' own users: Prometheus/Alertmanager/operator/KSM run as nobody, Grafana as 472, Loki
 * 10001, Tempo 10001; Alloy's image creates `alloy` (473) but runs as root unless told (its Dockerfile).
 */
export const UID = { nobody: 65534, grafana: 472, loki: 10001, tempo: 10001, blackbox: 1000, alloy: 473 } as const;

/** Where Alloy keeps its state (log positions): an emptyDir, since its root filesystem is read-only. */
const ALLOY_STORAGE = { volume: "storage", path: "/var/lib/alloy/data" } as const;

export const claim = (storageClass: string, gi: number) => ({
  volumeClaimTemplate: {
    spec: { storageClassName: storageClass, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${gi}Gi` } } },
  },
});

/** Loki as one pod on the filesystem (Longhorn), retention by its compactor. */
export function lokiValues(o: Observability, storageClass: string): Values {
  return {
    deploymentMode: "Monolithic",
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          { from: "2026-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } },
        ],
      },
      limits_config: { retention_period: `${o.retentionDays.logs * 24}h` },
      compactor: { retention_enabled: true, delete_request_store: "filesystem" },
      // No usage reports to Grafana Labs (the namespace's egress would refuse them anyway).
      analytics: { reporting_enabled: false },
      podSecurityContext: restrictedPod(UID.loki),
      containerSecurityContext: RESTRICTED_CONTAINER,
    },
    singleBinary: {
      replicas: 1,
      resources: SIZES[o.profile].loki,
      persistence: { enabled: true, size: `${o.storageGi.logs}Gi`, storageClass },
    },
    backend: { replicas: 0 },
    read: { replicas: 0 },
    write: { replicas: 0 },
    gateway: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    minio: { enabled: false },
    sidecar: { rules: { enabled: false } },
  };
}

/** Alloy reads every pod's logs through the Kubernetes API (no host mounts) and pushes them to Loki. */
export function alloyConfig(): string {
  return `discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }
}

loki.source.kubernetes "pods" {
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "${LOKI_URL}/loki/api/v1/push"
  }
}
`;
}

/**
 * Alloy's chart (grafana/alloy, operations/helm/charts/alloy at helm-chart/1.11.1, values.yaml):
 * no host mounts, its own restricted security context, and our account in place of the chart's
 * ClusterRole (which reads Secrets, ConfigMaps and more in every namespace).
 */
export function alloyValues(o: Observability): Values {
  return {
    controller: { type: "daemonset", volumes: { extra: [{ name: ALLOY_STORAGE.volume, emptyDir: {} }] } },
    global: { podSecurityContext: restrictedPod(UID.alloy) },
    alloy: {
      configMap: { create: true, content: alloyConfig() },
      storagePath: ALLOY_STORAGE.path,
      mounts: { varlog: false, dockercontainers: false, extra: [{ name: ALLOY_STORAGE.volume, mountPath: ALLOY_STORAGE.path }] },
      // No usage reports to Grafana Labs: Alloy has no internet egress.
      enableReporting: false,
      securityContext: RESTRICTED_CONTAINER,
      resources: SIZES[o.profile].alloy,
    },
    rbac: { create: false },
    serviceAccount: { create: false, name: ALLOY_ACCOUNT.name },
    // The chart's config reloader already runs restricted (non-root 65534, read-only root, drop ALL, RuntimeDefault).
    configReloader: { resources: SIZES[o.profile].configReloader },
  };
}

/** Tempo as one pod: OTLP in, traces kept on its volume for the retention. */
export function tempoValues(o: Observability, storageClass: string): Values {
  return {
    tempo: {
      retention: `${o.retentionDays.traces * 24}h`,
      receivers: {
        // The chart also turns on Jaeger's four receivers (tempo.receivers.jaeger in its values.yaml);
        // null deletes a default key in Helm, and the Kubernetes provider passes it on since v4.30.0
        // (pulumi/pulumi-kubernetes#4293). Only OTLP is left listening.
        jaeger: null,
        otlp: { protocols: { grpc: { endpoint: `0.0.0.0:${OBS_PORTS.otlpGrpc}` }, http: { endpoint: `0.0.0.0:${OBS_PORTS.otlpHttp}` } } },
      },
      metricsGenerator: { enabled: false },
      reportingEnabled: false,
      resources: SIZES[o.profile].tempo,
      securityContext: RESTRICTED_CONTAINER,
    },
    securityContext: restrictedPod(UID.tempo),
    persistence: { enabled: true, size: `${o.storageGi.traces}Gi`, storageClassName: storageClass },
  };
}

/** The blackbox exporter's modules: an HTTPS GET that must answer 2xx over a valid certificate, and a bare TLS handshake. */
export function blackboxValues(o: Observability): Values {
  return {
    config: {
      modules: {
        [PROBE_MODULES.tls]: { prober: "tcp", timeout: "5s", tcp: { tls: true, preferred_ip_protocol: "ip4" } },
        [PROBE_MODULES.http]: {
          prober: "http",
          timeout: "5s",
          http: {
            valid_http_versions: ["HTTP/1.1", "HTTP/2.0"],
            valid_status_codes: [],
            follow_redirects: false,
            preferred_ip_protocol: "ip4",
            fail_if_not_ssl: true,
          },
        },
      },
    },
    resources: SIZES[o.profile].blackbox,
    securityContext: RESTRICTED_CONTAINER,
    podSecurityContext: restrictedPod(UID.blackbox),
  };
}
