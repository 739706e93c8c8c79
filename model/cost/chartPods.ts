/**
 * The pods and volumes a Helm release runs, read from the values the program gives it: the
 * capacity check counts chart workloads from what is registered, not from a separate table. Only
 * charts whose pods the program sizes are read; the others (Longhorn, cert-manager, the operators)
 * set no requests and reserve nothing, as the scheduler sees them.
 */
import { requested, sumResources, type PodGroup, type Resources, type Volume } from "./capacity";
import { CHARTS } from "../pins";
import { quantityValue } from "../config/services";

type Values = Record<string, unknown>;
const GI = 2 ** 30;

function at(values: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Values)[k] : undefined), values);
}

const requests = (values: unknown, path: string[]): Resources =>
  requested(at(values, [...path, "requests"]) as { cpu?: string; memory?: string } | undefined);

const gi = (q: unknown) => (typeof q === "string" ? quantityValue(q) / GI : 0);

/** A pod's requests: its containers' summed, each read at a path of the values. */
function podRequests(values: unknown, containers: string[][]): Resources {
  return sumResources(containers.map((path) => requests(values, path)));
}

/** The operator's config reloader, a sidecar of Prometheus and Alertmanager. */
const KPS_RELOADER = ["prometheusOperator", "prometheusConfigReloader", "resources"];
/** Grafana's dashboards and data-sources sidecars share one resources value. */
const GRAFANA_SIDECARS = ["dashboards", "datasources"];

export interface ChartWorkloads {
  groups: PodGroup[];
  volumes: Volume[];
}

export function chartWorkloads(chart: string, namespace: string, values: unknown): ChartWorkloads {
  const pod = (name: string, paths: string[][], count: PodGroup["count"] = 1, surge = 0): PodGroup => ({
    workload: `${namespace}/${name}`,
    requests: podRequests(values, paths),
    count,
    surge,
  });
  const claim = (name: string, path: string[]): Volume[] => {
    const size = at(values, [...path, "volumeClaimTemplate", "spec", "resources", "requests", "storage"]);
    return size ? [{ name: `${namespace}/${name}`, sizeGi: gi(size) }] : [];
  };
  switch (chart) {
    case CHARTS.kubePrometheusStack.chart: {
      const nodeNs = (at(values, ["prometheus-node-exporter", "namespaceOverride"]) as string | undefined) ?? namespace;
      const sidecars = GRAFANA_SIDECARS.filter((s) => at(values, ["grafana", "sidecar", s, "enabled"]) !== false).map(() => [
        "grafana",
        "sidecar",
        "resources",
      ]);
      return {
        groups: [
          pod("prometheus", [["prometheus", "prometheusSpec", "resources"], KPS_RELOADER]),
          pod("alertmanager", [["alertmanager", "alertmanagerSpec", "resources"], KPS_RELOADER]),
          pod("prometheus-operator", [["prometheusOperator", "resources"]], 1, 1),
          pod("kube-state-metrics", [["kube-state-metrics", "resources"]], 1, 1),
          ...(at(values, ["grafana", "enabled"]) === false ? [] : [pod("grafana", [["grafana", "resources"], ...sidecars], 1, 1)]),
          {
            workload: `${nodeNs}/node-exporter`,
            requests: requests(values, ["prometheus-node-exporter", "resources"]),
            count: "every-node",
            surge: 0,
          },
        ],
        volumes: [
          ...claim("prometheus", ["prometheus", "prometheusSpec", "storageSpec"]),
          ...claim("alertmanager", ["alertmanager", "alertmanagerSpec", "storage"]),
        ],
      };
    }
    case CHARTS.loki.chart: {
      const size = at(values, ["singleBinary", "persistence", "size"]);
      const replicas = (at(values, ["singleBinary", "replicas"]) as number | undefined) ?? 1;
      return {
        groups: [pod("loki", [["singleBinary", "resources"]], replicas)],
        volumes: size ? Array.from({ length: replicas }, (_, i) => ({ name: `${namespace}/loki-${i}`, sizeGi: gi(size) })) : [],
      };
    }
    case CHARTS.tempo.chart: {
      const size = at(values, ["persistence", "enabled"]) ? at(values, ["persistence", "size"]) : undefined;
      return { groups: [pod("tempo", [["tempo", "resources"]])], volumes: size ? [{ name: `${namespace}/tempo`, sizeGi: gi(size) }] : [] };
    }
    case CHARTS.alloy.chart:
      return {
        groups: [
          pod(
            "alloy",
            [
              ["alloy", "resources"],
              ["configReloader", "resources"],
            ],
            "every-node",
          ),
        ],
        volumes: [],
      };
    case CHARTS.blackbox.chart:
      return { groups: [pod("blackbox-exporter", [["resources"]], 1, 1)], volumes: [] };
    default:
      return { groups: [], volumes: [] };
  }
}
