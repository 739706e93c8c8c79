/**
 * Grafana dashboards as code, typed by Grafana's own schema package: the platform overview, one
 * golden-signals dashboard per service (built from its spec, so a new spec gets one), the data
 * layer and the edge. Each becomes a ConfigMap Grafana's sidecar loads.
 */
import type { Dashboard, Panel } from "@grafana/schema";
import { DATASOURCES, HTTP_METRICS } from "./config";
import { AVAILABILITY_JOB } from "./slo";
import { CUSTOM_HOSTNAMES_JOB, ETCD_SNAPSHOT_METRIC } from "./platformRules";

/** Grafana's dashboard JSON schema version these are written against (Grafana 12/13). */
const SCHEMA_VERSION = 41;
const WIDTH = 24;
const HEIGHT = 8;

export interface DashboardTarget {
  expr: string;
  legend?: string;
  datasource?: keyof typeof DATASOURCES;
}
type Kind = "timeseries" | "stat" | "logs";

interface PanelSpec {
  title: string;
  kind?: Kind;
  unit?: string;
  targets: DashboardTarget[];
  description?: string;
}

/** Panels two to a row, in order; a logs panel takes a row of its own. */
function layout(specs: PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  return specs.map((p, i) => {
    const kind = p.kind ?? "timeseries";
    const ds = p.targets[0]?.datasource ?? (kind === "logs" ? "loki" : "prometheus");
    const w = kind === "logs" ? WIDTH : WIDTH / 2;
    if (x + w > WIDTH) [x, y] = [0, y + HEIGHT];
    const gridPos = { x, y, w, h: HEIGHT };
    x += w;
    return {
      id: i + 1,
      type: kind,
      title: p.title,
      description: p.description,
      datasource: { type: ds, uid: DATASOURCES[ds] },
      gridPos,
      fieldConfig: { defaults: p.unit ? { unit: p.unit } : {}, overrides: [] },
      options: {},
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: { type: t.datasource ?? ds, uid: DATASOURCES[t.datasource ?? ds] },
        expr: t.expr,
        ...(t.legend ? { legendFormat: t.legend } : {}),
      })),
    };
  });
}

function dashboard(uid: string, title: string, tags: string[], panels: PanelSpec[]): Dashboard {
  return {
    uid,
    title,
    tags: ["enclii", ...tags],
    editable: false,
    schemaVersion: SCHEMA_VERSION,
    timezone: "utc",
    time: { from: "now-6h", to: "now" },
    refresh: "1m",
    panels: layout(panels),
  };
}

export interface DashboardService {
  name: string;
  /** Probed through its public hostname: availability is shown. */
  routed: boolean;
  /** Scraped: request rate, errors and latency are shown. */
  scraped: boolean;
  latencyP95Ms?: number;
}

export interface DashboardArgs {
  services: DashboardService[];
  namespace: string;
  logs: boolean;
  inClusterPostgres: boolean;
}

const count = `${HTTP_METRICS.duration}_count`;
const bucket = `${HTTP_METRICS.duration}_bucket`;

/** Traffic, errors, latency and saturation of one service, plus its availability and logs where it has them. */
export function serviceDashboard(s: DashboardService, a: Pick<DashboardArgs, "namespace" | "logs">): Dashboard {
  const sel = `service="${s.name}"`;
  const pods = `namespace="${a.namespace}", pod=~"${s.name}-.*", container="${s.name}"`;
  const panels: PanelSpec[] = [];
  if (s.scraped)
    panels.push(
      { title: "Requests per second", unit: "reqps", targets: [{ expr: `sum(rate(${count}{${sel}}[5m]))`, legend: "all" }] },
      {
        title: "Errors (5xx share)",
        unit: "percentunit",
        targets: [
          { expr: `sum(rate(${count}{${sel}, ${HTTP_METRICS.status}=~"5.."}[5m])) / sum(rate(${count}{${sel}}[5m]))`, legend: "5xx" },
        ],
      },
      {
        title: "Latency",
        unit: "s",
        targets: [0.5, 0.95, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(${bucket}{${sel}}[5m])))`,
          legend: `p${q * 100}`,
        })),
        description: s.latencyP95Ms ? `SLO: p95 under ${s.latencyP95Ms} ms` : undefined,
      },
    );
  panels.push(
    {
      title: "CPU (cores)",
      targets: [{ expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${pods}}[5m]))`, legend: "{{pod}}" }],
    },
    {
      title: "Memory (working set)",
      unit: "bytes",
      targets: [{ expr: `sum by (pod) (container_memory_working_set_bytes{${pods}})`, legend: "{{pod}}" }],
    },
    {
      title: "Restarts (1h)",
      kind: "stat",
      targets: [{ expr: `sum(increase(kube_pod_container_status_restarts_total{${pods}}[1h]))` }],
    },
  );
  if (s.routed)
    panels.push(
      {
        title: "Availability (30 days)",
        kind: "stat",
        unit: "percentunit",
        targets: [{ expr: `1 - service:slo_availability_errors:ratio_rate30d{${sel}}` }],
      },
      {
        title: "Probe success",
        unit: "percentunit",
        targets: [{ expr: `avg_over_time(probe_success{job="${AVAILABILITY_JOB}", ${sel}}[5m])`, legend: "{{instance}}" }],
      },
    );
  if (a.logs)
    panels.push({
      title: "Logs",
      kind: "logs",
      targets: [{ expr: `{namespace="${a.namespace}", app="${s.name}"}`, datasource: "loki" }],
    });
  return dashboard(`enclii-svc-${s.name}`, `Service: ${s.name}`, ["service"], panels);
}

export function platformDashboard(): Dashboard {
  return dashboard(
    "enclii-platform",
    "Enclii platform overview",
    ["platform"],
    [
      {
        title: "Node CPU busy",
        unit: "percentunit",
        targets: [{ expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', legend: "{{instance}}" }],
      },
      {
        title: "Node memory available",
        unit: "percentunit",
        targets: [{ expr: "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", legend: "{{instance}}" }],
      },
      {
        title: "Disk free",
        unit: "percentunit",
        targets: [
          {
            expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}',
            legend: "{{instance}} {{mountpoint}}",
          },
        ],
      },
      {
        title: "Availability by service (30 days)",
        kind: "stat",
        unit: "percentunit",
        targets: [{ expr: "1 - service:slo_availability_errors:ratio_rate30d", legend: "{{service}}" }],
      },
      {
        title: "Deployments short of replicas",
        kind: "stat",
        targets: [{ expr: "count(kube_deployment_spec_replicas != kube_deployment_status_replicas_available) or vector(0)" }],
      },
      {
        title: "Alerts firing",
        kind: "stat",
        targets: [{ expr: 'count by (severity) (ALERTS{alertstate="firing"})', legend: "{{severity}}" }],
      },
      {
        title: "Hours since the last etcd snapshot",
        kind: "stat",
        targets: [{ expr: `(time() - max(${ETCD_SNAPSHOT_METRIC})) / 3600` }],
      },
      {
        title: "Requests per second by service",
        unit: "reqps",
        targets: [{ expr: `sum by (service) (rate(${count}[5m]))`, legend: "{{service}}" }],
      },
    ],
  );
}

export function dataDashboard(a: DashboardArgs): Dashboard {
  const postgres: PanelSpec[] = a.inClusterPostgres
    ? [
        { title: "PostgreSQL backends", targets: [{ expr: "sum by (pod) (cnpg_backends_total)", legend: "{{pod}}" }] },
        { title: "Replication lag", unit: "s", targets: [{ expr: "max by (pod) (cnpg_pg_replication_lag)", legend: "{{pod}}" }] },
        {
          title: "Hours since the last base backup",
          kind: "stat",
          targets: [{ expr: "(time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp)) / 3600" }],
        },
        {
          title: "WAL archiving failures",
          targets: [{ expr: "sum by (pod) (increase(cnpg_pg_stat_archiver_failed_count[1h]))", legend: "{{pod}}" }],
        },
        {
          title: "PgBouncer clients waiting",
          targets: [{ expr: "sum by (database) (cnpg_pgbouncer_pools_cl_waiting)", legend: "{{database}}" }],
        },
      ]
    : [];
  return dashboard(
    "enclii-data",
    "Enclii data layer",
    ["data"],
    [
      ...postgres,
      { title: "Redis up", kind: "stat", targets: [{ expr: "sum(redis_up)" }] },
      { title: "Redis memory", unit: "bytes", targets: [{ expr: "sum by (pod) (redis_memory_used_bytes)", legend: "{{pod}}" }] },
      { title: "Redis clients", targets: [{ expr: "sum by (pod) (redis_connected_clients)", legend: "{{pod}}" }] },
      {
        title: "Longhorn volumes not healthy",
        kind: "stat",
        targets: [{ expr: 'count(longhorn_volume_robustness{state=~"degraded|faulted"} == 1) or vector(0)' }],
      },
      {
        title: "Longhorn volume usage",
        unit: "bytes",
        targets: [{ expr: "sum by (volume) (longhorn_volume_actual_size_bytes)", legend: "{{volume}}" }],
      },
    ],
  );
}

export function edgeDashboard(): Dashboard {
  return dashboard(
    "enclii-edge",
    "Enclii edge",
    ["edge"],
    [
      {
        title: "Tunnel connections to Cloudflare",
        targets: [{ expr: "sum by (pod) (cloudflared_tunnel_ha_connections)", legend: "{{pod}}" }],
      },
      {
        title: "Requests through the tunnel",
        unit: "reqps",
        targets: [{ expr: "sum(rate(cloudflared_tunnel_total_requests[5m]))", legend: "requests" }],
      },
      {
        title: "Tunnel request errors",
        unit: "reqps",
        targets: [{ expr: "sum(rate(cloudflared_tunnel_request_errors[5m]))", legend: "errors" }],
      },
      {
        title: "Probe success by hostname",
        unit: "percentunit",
        targets: [{ expr: `avg by (instance) (avg_over_time(probe_success{job="${AVAILABILITY_JOB}"}[5m]))`, legend: "{{instance}}" }],
      },
      {
        title: "Probe duration",
        unit: "s",
        targets: [{ expr: `max by (instance) (probe_duration_seconds{job="${AVAILABILITY_JOB}"})`, legend: "{{instance}}" }],
      },
      {
        title: "Custom hostnames not serving",
        kind: "stat",
        targets: [{ expr: `count(probe_success{job="${CUSTOM_HOSTNAMES_JOB}"} == 0) or vector(0)` }],
      },
    ],
  );
}

/** Every dashboard, keyed by the ConfigMap file name Grafana's sidecar writes it to. */
export function dashboards(a: DashboardArgs): Record<string, Dashboard> {
  const all = [platformDashboard(), dataDashboard(a), edgeDashboard(), ...a.services.map((s) => serviceDashboard(s, a))];
  return Object.fromEntries(all.map((d) => [`${d.uid}.json`, d]));
}
