/**
 * The SLOs as Prometheus rules: recording rules for each SLI's error ratio over every window the
 * alerts read, and multi-window multi-burn-rate alerts (SRE workbook, "Alerting on SLOs"). Pure
 * data in the PrometheusRule `groups` shape; `promtool` checks and unit-tests it (test/slo.real.test.ts).
 */
import { BURN_WINDOWS, HTTP_METRICS, SLO, type Severity } from "./config";

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

/** The job the availability Probe's targets carry; the SLI reads its `probe_success`. */
export const AVAILABILITY_JOB = "availability";
/** Every window a recording rule exists for: the alerts' long and short windows, and the SLO's own. */
const WINDOWS = [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))];
/** The window an error budget is spent over (30 days). */
export const SLO_WINDOW = `${SLO.availability.windowDays}d`;
/**
 * Ratios are recorded to a billionth: far below anything an SLO distinguishes, and enough that a
 * burn of exactly a threshold (0.72% = 14.4 × 0.05%) compares as equal instead of losing to
 * binary floating point (1 − 0.9928 is 0.0071999…).
 */
const RATIO_PRECISION = "1e-09";
/** Decimal, as written in the rule text: 14.4 × 0.0005 is 0.0072, not 0.007200000000000001. */
const decimal = (n: number) => String(Number(n.toPrecision(12)));

export interface SloTargets {
  /** Public services with a probed hostname (availability). */
  probed: string[];
  /** Services Prometheus scrapes (error ratio), with their latency threshold where the spec sets one. */
  scraped: { service: string; latencyP95Ms?: number }[];
}

/** Each SLI's short name in rule and alert names. */
const SLI_NAMES = ["Availability", "Errors", "Latency"] as const;
type SliName = (typeof SLI_NAMES)[number];
/** A page is a fast burn, a ticket a slow one. */
const burnAlertName = (sli: SliName, severity: Severity) => `SLO${sli}BudgetBurn${severity === "critical" ? "Fast" : "Slow"}`;
/** The paging alerts, one per SLI, each labelled with the `service` it burns for: what the deploy gate refuses on. */
export const FAST_BURN_ALERTS = SLI_NAMES.map((sli) => burnAlertName(sli, "critical"));

interface Sli {
  name: SliName;
  objective: number;
  /** `service:slo_<what>:ratio_rate<window>` */
  record: (window: string) => string;
  ratio: (window: string) => string;
  description: string;
}

const recordName = (what: string) => (window: string) => `service:slo_${what}:ratio_rate${window}`;
const rounded = (expr: string) => `round(${expr}, ${RATIO_PRECISION})`;
const count = `${HTTP_METRICS.duration}_count`;

function slis(t: SloTargets): Sli[] {
  const out: Sli[] = [];
  if (t.probed.length > 0)
    out.push({
      name: "Availability",
      objective: SLO.availability.objective,
      record: recordName("availability_errors"),
      ratio: (w) => rounded(`1 - avg by (service) (avg_over_time(probe_success{job="${AVAILABILITY_JOB}"}[${w}]))`),
      description: "share of probes of its public hostname that failed",
    });
  if (t.scraped.length > 0)
    out.push({
      name: "Errors",
      objective: SLO.errors.objective,
      record: recordName("request_errors"),
      ratio: (w) =>
        rounded(`sum by (service) (rate(${count}{${HTTP_METRICS.status}=~"5.."}[${w}])) / sum by (service) (rate(${count}[${w}]))`),
      description: "share of requests answered with a 5xx",
    });
  return out;
}

/** One latency SLI per service that states a threshold: its bucket boundary is in the expression. */
function latencySlis(t: SloTargets): Sli[] {
  return t.scraped.flatMap(({ service, latencyP95Ms }) => {
    if (latencyP95Ms === undefined) return [];
    const le = decimal(latencyP95Ms / 1000);
    const sel = `service="${service}"`;
    return [
      {
        name: "Latency" as const,
        objective: SLO.latency.objective,
        record: recordName("latency_slow"),
        ratio: (w: string) =>
          rounded(
            `1 - sum by (service) (rate(${HTTP_METRICS.duration}_bucket{${sel},le="${le}"}[${w}])) / sum by (service) (rate(${count}{${sel}}[${w}]))`,
          ),
        description: `share of requests slower than ${latencyP95Ms} ms`,
      },
    ];
  });
}

/**
 * A page at or above its burn rate; a ticket only when strictly faster than its rate: at exactly
 * 1× the budget lasts exactly the SLO window, which is the objective, not a problem.
 */
const compare = (severity: Severity) => (severity === "critical" ? ">=" : ">");

function alerts(sli: Sli, selector = ""): Rule[] {
  const budget = 1 - sli.objective;
  const bySeverity = new Map<Severity, string[]>();
  for (const w of BURN_WINDOWS) {
    const threshold = decimal(w.factor * budget);
    const op = compare(w.severity);
    const cond = `(${sli.record(w.long)}${selector} ${op} ${threshold} and ${sli.record(w.short)}${selector} ${op} ${threshold})`;
    bySeverity.set(w.severity, [...(bySeverity.get(w.severity) ?? []), cond]);
  }
  const objective = `${decimal(sli.objective * 100)}%`;
  return [...bySeverity].map(([severity, conds]) => ({
    alert: burnAlertName(sli.name, severity),
    expr: conds.join(" or "),
    for: severity === "critical" ? "2m" : "15m",
    labels: { severity, slo: sli.name.toLowerCase() },
    annotations: {
      summary: `{{ $labels.service }} is spending its ${sli.name.toLowerCase()} error budget too fast (objective ${objective})`,
      description: `The ${sli.description} burns the ${SLO_WINDOW} budget at ${BURN_WINDOWS.filter((w) => w.severity === severity)
        .map((w) => `${w.factor}× over ${w.long} and ${w.short}`)
        .join(" or ")}.`,
      runbook_url: "https://github.com/madfam-io/enclii-infra#slos-and-alerts",
    },
  }));
}

/** Recording and alerting rules for the three SLOs, one group per SLI. */
export function sloRuleGroups(t: SloTargets): RuleGroup[] {
  const groups: RuleGroup[] = [];
  for (const sli of slis(t)) {
    const windows = sli.name === "Availability" ? [...WINDOWS, SLO_WINDOW] : WINDOWS;
    groups.push({
      name: `slo-${sli.name.toLowerCase()}`,
      rules: [...windows.map((w) => ({ record: sli.record(w), expr: sli.ratio(w) })), ...alerts(sli)],
    });
  }
  const latency = latencySlis(t);
  if (latency.length > 0) {
    groups.push({
      name: "slo-latency",
      rules: [
        ...latency.flatMap((sli) => WINDOWS.map((w) => ({ record: sli.record(w), expr: sli.ratio(w) }))),
        ...alerts(latency[0]),
        ...t.scraped
          .filter((s) => s.latencyP95Ms !== undefined)
          .map((s) => ({
            alert: "SLOLatencyBucketMissing",
            expr: `absent(${HTTP_METRICS.duration}_bucket{service="${s.service}",le="${decimal(s.latencyP95Ms! / 1000)}"})`,
            for: "30m",
            labels: { severity: "warning", slo: "latency", service: s.service },
            annotations: {
              summary: `${s.service} exports no histogram bucket at ${s.latencyP95Ms} ms, so its latency SLO cannot be computed`,
            },
          })),
      ],
    });
  }
  return groups;
}

/** The series the status page reads: each public service's availability over the SLO window. */
export const AVAILABILITY_SERIES = recordName("availability_errors")(SLO_WINDOW);
