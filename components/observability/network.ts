/**
 * Who may talk to whom in the monitoring namespaces, as data: each piece admits exactly its
 * readers and writers, and reaches exactly what it scrapes, reads or pushes to. The default-deny
 * underneath is the namespace's own (components/baseline.ts).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CLOUDFLARED, APPS_NAMESPACE, DATA_NAMESPACE, KUBE_SYSTEM_NAMESPACE, NAME_LABEL, PORTS } from "../../model/names";
import { MONITORING_NAMESPACE, OBS_PORTS, POD_LABELS } from "../../model/observability/config";
import { CHARTS } from "../../model/pins";
import { FROM_CLOUDFLARED, inNamespace, internetEgress, podsIn, tcp } from "../baseline";

type Spec = k8s.types.input.networking.v1.NetworkPolicySpec;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Egress = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/**
 * The Kubernetes API (and kubelets, node-exporter on the host network, embedded etcd) are reached
 * at the nodes' own addresses, not pod addresses: these, and nothing else on those ports.
 * NetworkPolicy sees the API server's address after the `kubernetes` Service's DNAT (k3s
 * advertises each server's node address).
 */
const nodes = (cidrs: pulumi.Input<string>[], ports: number[]): Egress => ({
  to: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
  ports: ports.map(tcp),
});
const monitoring = (labels: Record<string, string>): Peer => podsIn(MONITORING_NAMESPACE, labels);
const only = (labels: Record<string, string>) => ({ podSelector: { matchLabels: labels } });
const cert = CHARTS.certManager.namespace;
/** These services' pods in the apps namespace; nobody when the list is empty. */
const appPods = (services: string[]): Peer[] =>
  services.length > 0
    ? [
        {
          ...inNamespace(APPS_NAMESPACE),
          podSelector: { matchExpressions: [{ key: NAME_LABEL, operator: "In", values: [...services].sort() }] },
        },
      ]
    : [];

export interface MonitoringPolicyArgs {
  /** Every node's address as a /32: where the API server, kubelets, node-exporter and etcd listen. */
  nodeCidrs: pulumi.Input<string>[];
  /** Metrics ports of our services, scraped in the apps namespace. */
  appMetricsPorts: number[];
  /** Services that send traces (`bindings.tracing`): the only pods Tempo admits. */
  tracingServices: string[];
  /** Services that read availability (`bindings.availability`): the only pods the read-only proxy admits. */
  availabilityReaders: string[];
  /** Grafana is reached through the tunnel, behind Cloudflare Access. */
  grafanaExposed: boolean;
  logs: boolean;
  traces: boolean;
  /** Alertmanager sends to PagerDuty, Opsgenie or a heartbeat over HTTPS. */
  paging: boolean;
}

/** NetworkPolicies in the monitoring namespace, by name. */
export function monitoringPolicies(a: MonitoringPolicyArgs): Record<string, Spec> {
  const P = POD_LABELS;
  const grafana = monitoring(P.grafana);
  const prometheus = monitoring(P.prometheus);
  const apiServer = nodes(a.nodeCidrs, [PORTS.kubernetesApi]);
  // node-exporter, alone in the agents namespace, is on the host network: reached at the nodes' addresses.
  const scrapeTargets: Egress[] = [
    { to: [inNamespace(MONITORING_NAMESPACE)] },
    ...(a.appMetricsPorts.length > 0
      ? [{ to: [inNamespace(APPS_NAMESPACE)], ports: [...new Set(a.appMetricsPorts)].sort().map(tcp) }]
      : []),
    { to: [inNamespace(DATA_NAMESPACE)], ports: [OBS_PORTS.cnpg, OBS_PORTS.pooler, OBS_PORTS.redisExporter].map(tcp) },
    { to: [inNamespace(CLOUDFLARED.namespace)], ports: [tcp(CLOUDFLARED.metricsPort)] },
    { to: [inNamespace(CHARTS.longhorn.namespace)], ports: [tcp(OBS_PORTS.longhorn)] },
    { to: [inNamespace(cert)], ports: [tcp(OBS_PORTS.certManager)] },
    { to: [inNamespace(KUBE_SYSTEM_NAMESPACE)], ports: [tcp(OBS_PORTS.coreDns)] },
    nodes(a.nodeCidrs, [OBS_PORTS.nodeExporter, OBS_PORTS.kubelet, PORTS.kubernetesApi, OBS_PORTS.etcdMetrics]),
  ];
  const policies: Record<string, Spec> = {
    prometheus: {
      ...only(P.prometheus),
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        { from: [grafana, monitoring(P.readonly)], ports: [tcp(OBS_PORTS.prometheus)] },
        // The chart's monitors scrape Prometheus itself and its config reloader.
        { from: [prometheus], ports: [OBS_PORTS.prometheus, OBS_PORTS.configReloader].map(tcp) },
      ],
      egress: scrapeTargets,
    },
    alertmanager: {
      ...only(P.alertmanager),
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        { from: [prometheus, grafana], ports: [tcp(OBS_PORTS.alertmanager)] },
        { from: [prometheus], ports: [tcp(OBS_PORTS.configReloader)] },
      ],
      egress: a.paging ? [internetEgress([tcp(PORTS.https)])] : [],
    },
    grafana: {
      ...only(P.grafana),
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        ...(a.grafanaExposed ? [{ from: [FROM_CLOUDFLARED], ports: [tcp(OBS_PORTS.grafana)] }] : []),
        { from: [prometheus], ports: [tcp(OBS_PORTS.grafana)] },
      ],
      egress: [
        {
          to: [prometheus, monitoring(P.alertmanager), ...(a.logs ? [monitoring(P.loki)] : []), ...(a.traces ? [monitoring(P.tempo)] : [])],
          ports: [OBS_PORTS.prometheus, OBS_PORTS.alertmanager, OBS_PORTS.loki, OBS_PORTS.tempoQuery].map(tcp),
        },
        // The sidecar watches ConfigMaps for dashboards through the API.
        apiServer,
        // Exposed, Grafana checks Access's token against the keys at https://<team>.cloudflareaccess.com.
        ...(a.grafanaExposed ? [internetEgress([tcp(PORTS.https)])] : []),
      ],
    },
    "kube-api-clients": {
      podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["kube-state-metrics"] }] },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [prometheus], ports: [tcp(OBS_PORTS.kubeStateMetrics)] }],
      egress: [apiServer],
    },
    operator: {
      ...only(P.operator),
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [prometheus], ports: [tcp(OBS_PORTS.operator)] }],
      egress: [apiServer, { to: [prometheus, monitoring(P.alertmanager)] }],
    },
    blackbox: {
      ...only(P.blackbox),
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [prometheus], ports: [tcp(OBS_PORTS.blackbox)] }],
      // Probes go out to the public hostnames, through Cloudflare, as a visitor's request would.
      egress: [internetEgress([tcp(PORTS.https)])],
    },
    readonly: {
      ...only(P.readonly),
      policyTypes: ["Ingress", "Egress"],
      ingress: a.availabilityReaders.length > 0 ? [{ from: appPods(a.availabilityReaders), ports: [tcp(OBS_PORTS.readonly)] }] : [],
      egress: [{ to: [prometheus], ports: [tcp(OBS_PORTS.prometheus)] }],
    },
  };
  if (a.logs) {
    policies.loki = {
      ...only(P.loki),
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [monitoring(P.alloy), grafana, prometheus], ports: [tcp(OBS_PORTS.loki)] }],
      egress: [],
    };
    // The log collector: pods and their logs from the API server, pushed to Loki. Nothing reads it
    // (the chart's ServiceMonitor is off), and it reaches no kubelet or host path.
    policies.alloy = {
      ...only(P.alloy),
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [apiServer, { to: [monitoring(P.loki)], ports: [tcp(OBS_PORTS.loki)] }],
    };
  }
  if (a.traces)
    policies.tempo = {
      ...only(P.tempo),
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        ...(a.tracingServices.length > 0 ? [{ from: appPods(a.tracingServices), ports: [tcp(OBS_PORTS.otlpHttp)] }] : []),
        { from: [grafana, prometheus], ports: [tcp(OBS_PORTS.tempoQuery)] },
      ],
      egress: [],
    };
  return policies;
}
