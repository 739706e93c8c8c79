/**
 * Observability's contract: the `enclii:observability` and `enclii:paging` config, the names and
 * ports the components, NetworkPolicies and rules agree on, the SLO objectives, and the sizes each
 * piece runs at. Pure: the components render from these, the capacity check counts them.
 */
import { z } from "zod";
import { describeIssues, fieldPath } from "../config/issues";
import { CHARTS } from "../pins";
import { dnsLabel, domainName, whole } from "../config/validators";
import { serviceUrl } from "../routes";

export const OBSERVABILITY_KEY = "enclii:observability";
/** The prometheus-operator objects' apiVersion (monitors, probes, rules). */
export const MONITORING_API = "monitoring.coreos.com/v1";
export const PAGING_KEY = "enclii:paging";

/** Where the stack runs: Prometheus, Alertmanager, Grafana, Loki, Tempo, the probes (PodSecurity restricted). */
export const MONITORING_NAMESPACE = CHARTS.kubePrometheusStack.namespace;
/**
 * node-exporter reads the host (/proc, /sys, the root filesystem, hostNetwork), so it lives apart, in
 * a namespace that PodSecurity admits as privileged. Nothing else runs there: the log collector
 * reads logs through the API and runs in `monitoring` (CHARTS.alloy.namespace).
 */
export const AGENTS_NAMESPACE = "monitoring-agents";

/** Pod labels NetworkPolicies select the scrapers and readers by (set by the charts or by us). */
export const POD_LABELS = {
  prometheus: { "app.kubernetes.io/name": "prometheus" },
  alertmanager: { "app.kubernetes.io/name": "alertmanager" },
  grafana: { "app.kubernetes.io/name": "grafana" },
  operator: { app: "kube-prometheus-stack-operator" },
  kubeStateMetrics: { "app.kubernetes.io/name": "kube-state-metrics" },
  loki: { "app.kubernetes.io/name": "loki" },
  alloy: { "app.kubernetes.io/name": "alloy" },
  tempo: { "app.kubernetes.io/name": "tempo" },
  blackbox: { "app.kubernetes.io/name": "prometheus-blackbox-exporter" },
  readonly: { "app.kubernetes.io/name": "prometheus-readonly" },
} as const;

/** Services the releases create (release names fixed below, so these are too). */
export const SERVICES = {
  prometheus: "kube-prometheus-stack-prometheus",
  alertmanager: "kube-prometheus-stack-alertmanager",
  grafana: "kube-prometheus-stack-grafana",
  loki: "loki",
  tempo: "tempo",
  blackbox: "prometheus-blackbox-exporter",
  readonly: "prometheus-readonly",
} as const;

export const OBS_PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3000,
  loki: 3100,
  tempoQuery: 3200,
  otlpGrpc: 4317,
  otlpHttp: 4318,
  blackbox: 9115,
  readonly: 8080,
  kubeStateMetrics: 8080,
  operator: 8080,
  nodeExporter: 9100,
  kubelet: 10250,
  /** The operator's config-reloader sidecar beside Prometheus and Alertmanager; the chart scrapes it. */
  configReloader: 8080,
  /** k3s's CoreDNS, scraped through the chart's own Service in kube-system. */
  coreDns: 9153,
  /** Embedded etcd's metrics on each server's node address (k3s `etcd-expose-metrics`). */
  etcdMetrics: 2381,
  /** CloudNativePG's instance exporter, the Pooler's PgBouncer exporter. */
  cnpg: 9187,
  pooler: 9127,
  redisExporter: 9121,
  longhorn: 9500,
  certManager: 9402,
} as const;

/** Grafana's provisioned data sources, by uid: dashboards refer to them by these. */
export const DATASOURCES = { prometheus: "prometheus", alertmanager: "alertmanager", loki: "loki", tempo: "tempo" } as const;
/** ConfigMaps carrying this label are loaded as dashboards by Grafana's sidecar. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

/**
 * The metrics a service with `runtime.metrics` exposes: OpenTelemetry's HTTP server histogram as
 * Prometheus names it. The latency SLO needs a bucket boundary at its threshold (0.2 s for 200 ms).
 */
export const HTTP_METRICS = {
  duration: "http_server_request_duration_seconds",
  status: "http_response_status_code",
} as const;

/** The roadmap's objectives. Latency is "95% of requests under the threshold" (P95 < 200 ms). */
export const SLO = {
  availability: { objective: 0.9995, windowDays: 30 },
  errors: { objective: 0.999 },
  latency: { objective: 0.95 },
} as const;

/**
 * Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", table 5-8): each
 * fires when both its long and short window burn the error budget at least this fast.
 */
export const BURN_WINDOWS = [
  { long: "1h", short: "5m", factor: 14.4, severity: "critical" },
  { long: "6h", short: "30m", factor: 6, severity: "critical" },
  { long: "1d", short: "2h", factor: 3, severity: "warning" },
  { long: "3d", short: "6h", factor: 1, severity: "warning" },
] as const;
export type Severity = (typeof BURN_WINDOWS)[number]["severity"];

export interface Size {
  requests: { cpu: string; memory: string };
  limits: { memory: string };
}
const size = (cpu: string, memory: string, limit: string): Size => ({ requests: { cpu, memory }, limits: { memory: limit } });

/** What each piece runs at: `full` fits the AX41 beside everything else, `lean` a cx33 staging node. */
export const SIZES = {
  full: {
    prometheus: size("500m", "2Gi", "4Gi"),
    alertmanager: size("20m", "64Mi", "128Mi"),
    operator: size("50m", "128Mi", "256Mi"),
    grafana: size("100m", "256Mi", "512Mi"),
    kubeStateMetrics: size("50m", "128Mi", "256Mi"),
    nodeExporter: size("50m", "64Mi", "128Mi"),
    loki: size("250m", "1Gi", "2Gi"),
    alloy: size("100m", "128Mi", "512Mi"),
    tempo: size("200m", "512Mi", "1Gi"),
    blackbox: size("20m", "32Mi", "64Mi"),
    readonly: size("20m", "32Mi", "64Mi"),
    redisExporter: size("20m", "32Mi", "64Mi"),
    /** The config reloaders beside Prometheus, Alertmanager and Alloy. */
    configReloader: size("10m", "32Mi", "64Mi"),
    /** Grafana's dashboards sidecar, a Python process watching ConfigMaps through the API. */
    grafanaSidecar: size("10m", "96Mi", "192Mi"),
  },
  // A few dozen targets: memory is what Prometheus needs; its CPU stays low but for compaction.
  lean: {
    prometheus: size("50m", "512Mi", "1Gi"),
    alertmanager: size("10m", "32Mi", "64Mi"),
    operator: size("10m", "64Mi", "128Mi"),
    grafana: size("10m", "128Mi", "256Mi"),
    kubeStateMetrics: size("10m", "48Mi", "96Mi"),
    nodeExporter: size("10m", "24Mi", "64Mi"),
    loki: size("50m", "256Mi", "512Mi"),
    alloy: size("20m", "64Mi", "256Mi"),
    tempo: size("50m", "128Mi", "384Mi"),
    blackbox: size("10m", "24Mi", "48Mi"),
    readonly: size("10m", "16Mi", "32Mi"),
    redisExporter: size("10m", "16Mi", "32Mi"),
    configReloader: size("5m", "24Mi", "48Mi"),
    grafanaSidecar: size("5m", "64Mi", "128Mi"),
  },
} as const satisfies Record<string, Record<string, Size>>;
export type Profile = keyof typeof SIZES;
export type Component = keyof (typeof SIZES)["full"];

/**
 * Prometheus, Loki and Tempo are one pod each, so what matters is the node they land on: the full
 * set's requests (about 4 GiB) are an eighth of this. Smaller nodes (cx33, cpx32, even three of
 * them) get the lean set unless the stack asks for `full`.
 */
export const FULL_PROFILE_MIN_NODE_MEMORY_GI = 32;

const DEFAULTS = {
  full: { metricsDays: 15, logsDays: 14, tracesDays: 7, metricsGi: 50, logsGi: 50, tracesGi: 20 },
  lean: { metricsDays: 7, logsDays: 3, tracesDays: 2, metricsGi: 10, logsGi: 5, tracesGi: 5 },
} as const;
/** Alertmanager keeps silences and notification state only. */
export const ALERTMANAGER_STORAGE_GI = 1;
/** How often the blackbox exporter probes each public hostname. */
export const PROBE_INTERVAL = "30s";
/** Tenants' custom hostnames are probed less often: there may be thousands, and a stuck certificate is an hour's alert. */
export const CUSTOM_HOSTNAME_PROBE_INTERVAL = "5m";
/** The blackbox exporter's modules: an HTTPS GET answering 2xx, and a TLS handshake with a valid certificate. */
export const PROBE_MODULES = { http: "http_2xx", tls: "tls_connect" } as const;

/**
 * A Zero Trust team's Access domain: it issues the JWT Cloudflare Access puts in front of every
 * request it lets through (`iss`), and serves the keys that sign it at `/cdn-cgi/access/certs`.
 */
export const accessTeamDomain = (teamName: string) => `https://${teamName}.cloudflareaccess.com`;

const days = whole(1, 400);
const gi = whole(1, 2048);
const emailDomain = domainName("must be a lowercase domain such as example.com");

/** A profile's defaults as the config reference states them: "metrics/logs/traces" days or GiB. */
function profileTriple(what: "retentionDays" | "storageGi", profile: Profile = "full"): string {
  const d = DEFAULTS[profile];
  return what === "retentionDays" ? `${d.metricsDays}/${d.logsDays}/${d.tracesDays} days` : `${d.metricsGi}/${d.logsGi}/${d.tracesGi} GiB`;
}

/** One setting per piece (metrics, logs, traces), each unset by default: the profile decides. */
function perPiece(value: z.ZodNumber, what: string, summary: string, key: "retentionDays" | "storageGi") {
  return z
    .strictObject({
      metrics: value.optional().describe(`Prometheus's ${what}`),
      logs: value.optional().describe(`Loki's ${what}`),
      traces: value.optional().describe(`Tempo's ${what}`),
    })
    .prefault({})
    .describe(`${summary}; unset, the profile's (full ${profileTriple(key)}; lean ${profileTriple(key, "lean")})`);
}

/** `enclii:observability`: on by default, each piece switchable, sizes and retention per environment. */
export const observabilitySchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("`false` runs no monitoring at all"),
    profile: z
      .enum(["full", "lean"])
      .optional()
      .describe(
        `sizes and retention; unset: \`full\` when a node has ${FULL_PROFILE_MIN_NODE_MEMORY_GI} GiB of memory or more, else \`lean\``,
      ),
    logs: z.boolean().default(true).describe("Loki and Alloy"),
    traces: z.boolean().default(true).describe("Tempo"),
    retentionDays: perPiece(days, "retention", "days kept", "retentionDays"),
    storageGi: perPiece(gi, "volume", "volume sizes", "storageGi"),
    grafana: z
      .strictObject({
        host: dnsLabel.default("grafana").describe("Grafana at `<host>.<domain>`"),
        allowedEmails: z
          .array(z.email({ error: "must be an email address" }))
          .max(100)
          .default([])
          .describe("who Cloudflare Access lets in"),
        allowedEmailDomains: z.array(emailDomain).max(20).default([]).describe("whole email domains Cloudflare Access lets in"),
        teamName: z
          .string()
          .regex(
            /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
            "must be the Zero Trust team name alone, the <team> of <team>.cloudflareaccess.com (lowercase letters, digits and '-')",
          )
          .describe(
            "the Cloudflare Zero Trust team name, `<team>` in `<team>.cloudflareaccess.com` (Zero Trust → Settings): Grafana and cloudflared check each request's Access token against its issuer and keys",
          ),
      })
      .optional()
      .describe("Grafana behind Cloudflare Access; left out, Grafana is not exposed at all"),
  })
  .prefault({})
  .describe("metrics, logs, traces, SLO alerts and dashboards; on unless `enabled: false`");

export interface Observability {
  profile: Profile;
  logs: boolean;
  traces: boolean;
  retentionDays: { metrics: number; logs: number; traces: number };
  storageGi: { metrics: number; logs: number; traces: number };
  /** `hostname` is `<host>.<domain>`, computed here once: the route, the Access application and the URLs all read it. */
  grafana?: { host: string; hostname: string; allowedEmails: string[]; allowedEmailDomains: string[]; teamName: string };
  /** `enclii:paging` is set (its content stays a secret, passed beside the environment). */
  paging: boolean;
}

/** Defaults resolved for the profile (chosen by the largest node's memory when unset); undefined when observability is off. */
export function resolveObservability(
  parsed: z.output<typeof observabilitySchema>,
  largestNodeMemoryGi: number,
  domain: string,
  paging = false,
): Observability | undefined {
  if (!parsed.enabled) return undefined;
  const profile = parsed.profile ?? (largestNodeMemoryGi >= FULL_PROFILE_MIN_NODE_MEMORY_GI ? "full" : "lean");
  const d = DEFAULTS[profile];
  return {
    profile,
    logs: parsed.logs,
    traces: parsed.traces,
    retentionDays: {
      metrics: parsed.retentionDays.metrics ?? d.metricsDays,
      logs: parsed.retentionDays.logs ?? d.logsDays,
      traces: parsed.retentionDays.traces ?? d.tracesDays,
    },
    storageGi: {
      metrics: parsed.storageGi.metrics ?? d.metricsGi,
      logs: parsed.storageGi.logs ?? d.logsGi,
      traces: parsed.storageGi.traces ?? d.tracesGi,
    },
    grafana: parsed.grafana && { ...parsed.grafana, hostname: `${parsed.grafana.host}.${domain}` },
    paging,
  };
}

/** The volumes observability asks Longhorn for, in GiB, for the disk check. */
export function observabilityVolumesGi(o: Observability | undefined): number {
  if (!o) return 0;
  return o.storageGi.metrics + ALERTMANAGER_STORAGE_GI + (o.logs ? o.storageGi.logs : 0) + (o.traces ? o.storageGi.traces : 0);
}

/** What spans the observability key alone: a switch that contradicts another, Grafana exposed to nobody. */
export function checkObservability(parsed: z.output<typeof observabilitySchema>, pagingSet: boolean): string[] {
  const problems: string[] = [];
  if (!parsed.enabled) {
    if (parsed.grafana) problems.push(`${OBSERVABILITY_KEY}.grafana: Grafana is exposed but observability is off (enabled: false)`);
    if (pagingSet) problems.push(`${PAGING_KEY}: paging is set but observability is off (${OBSERVABILITY_KEY}.enabled: false)`);
    return problems;
  }
  const g = parsed.grafana;
  if (g && g.allowedEmails.length === 0 && g.allowedEmailDomains.length === 0)
    problems.push(
      `${OBSERVABILITY_KEY}.grafana: needs allowedEmails or allowedEmailDomains (who Cloudflare Access lets in); leave grafana out to keep it unexposed`,
    );
  return problems;
}

const secretText = z.string().min(8).max(512);
const httpsUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });

/**
 * `enclii:paging` (secret JSON): where critical and warning alerts go (PagerDuty Events v2 or
 * Opsgenie), and the dead man's switch's heartbeat URL. Unset: alerts stay in Alertmanager.
 */
export const pagingSchema = z
  .strictObject({
    pagerduty: z
      .strictObject({ routingKey: secretText.describe("the service integration's routing key") })
      .optional()
      .describe("PagerDuty Events v2"),
    opsgenie: z
      .strictObject({
        apiKey: secretText.describe("the API integration's key"),
        apiUrl: httpsUrl.default("https://api.opsgenie.com/").describe("the EU instance: https://api.eu.opsgenie.com/"),
      })
      .optional()
      .describe("Opsgenie"),
    deadMansSwitch: z
      .strictObject({ url: httpsUrl.describe("the heartbeat URL") })
      .optional()
      .describe("pinged every minute while the Watchdog alert fires; the service behind it pages when the pings stop"),
  })
  .refine((p) => !(p.pagerduty && p.opsgenie), { message: "set pagerduty or opsgenie, not both" })
  .refine((p) => p.pagerduty || p.opsgenie || p.deadMansSwitch, { message: "set pagerduty, opsgenie or deadMansSwitch" })
  .describe(
    "JSON: where Alertmanager sends alerts (critical pages, warnings open tickets) — PagerDuty or Opsgenie, not both — and the dead man's switch; unset, alerts stay in Alertmanager",
  );
export type Paging = z.output<typeof pagingSchema>;

/** The secret's problems, naming fields only: the message never carries the key or URL. */
export function parsePaging(text: string): { paging?: Paging; problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problems: [`${PAGING_KEY}: must be JSON such as {"pagerduty":{"routingKey":"…"}}`] };
  }
  const result = pagingSchema.safeParse(value);
  if (result.success) return { paging: result.data, problems: [] };
  return {
    problems: describeIssues(pagingSchema, result.error.issues, (path) => `${PAGING_KEY}${path.length ? "." : ""}${fieldPath(path)}`),
  };
}

const inCluster = (name: string, port: number) => serviceUrl({ namespace: MONITORING_NAMESPACE, name, port });
/** What the tunnel routes Grafana's hostname to. */
export const GRAFANA_SERVICE = { namespace: MONITORING_NAMESPACE, name: SERVICES.grafana, port: OBS_PORTS.grafana } as const;
/** Where apps send traces (OTLP over HTTP) and where the status page reads availability. */
export const OTLP_HTTP_URL = inCluster(SERVICES.tempo, OBS_PORTS.otlpHttp);
export const READONLY_PROMETHEUS_URL = inCluster(SERVICES.readonly, OBS_PORTS.readonly);
export const PROMETHEUS_URL = inCluster(SERVICES.prometheus, OBS_PORTS.prometheus);
export const LOKI_URL = inCluster(SERVICES.loki, OBS_PORTS.loki);
export const TEMPO_URL = inCluster(SERVICES.tempo, OBS_PORTS.tempoQuery);
export const ALERTMANAGER_URL = inCluster(SERVICES.alertmanager, OBS_PORTS.alertmanager);
/** The blackbox exporter as Probe objects name it (host:port, no scheme). */
export const BLACKBOX_PROBER = `${SERVICES.blackbox}.${MONITORING_NAMESPACE}.svc:${OBS_PORTS.blackbox}`;
