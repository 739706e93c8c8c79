/**
 * `enclii-infra loadtest`'s rules, pure: what its options accept, when a run stops on its own, the
 * figures and SLO verdicts it reports (the report's zod schema is the one source of its type), and
 * the PromQL of the burn rates Prometheus saw during the run. The generator that sends the load is
 * automation/control/loadtest.ts (docs/control-plane.md#load-test).
 */
import { z } from "zod";
import { BURN_WINDOWS, SLO } from "./observability/config";
import { sloRuleGroups } from "./observability/slo";

/** Ten times the roadmap's load (1000 requests a second, sustained). */
export const MAX_RPS = 10_000;
/** Longer than an hour is a soak test, which this command is not built to watch. */
export const MAX_DURATION_S = 3_600;
export const MAX_CONNECTIONS = 1_000;

export const LOADTEST_DEFAULTS = { rps: 100, duration: "60s", path: "/", maxErrorRatio: 0.05 } as const;

/**
 * Each connection sends its requests one after another, so it keeps up with its share of the rate
 * only while each answer comes back within 1 s / share. By default each gets 5 requests a second:
 * enough while answers take under 200 ms, the roadmap's p95 objective.
 */
const REQUESTS_PER_CONNECTION_S = 5;
const MIN_CONNECTIONS = 10;

/** The roadmap's latency objective (p95 < 200 ms), for a service whose spec states none (`spec.runtime.metrics.latencyP95Ms`). */
export const DEFAULT_LATENCY_P95_MS = 200;
/** The share of requests that may fail: 1 − SLO.errors.objective (0.1%), rounded off binary floating point's 0.0010000000000000009. */
export const ERROR_OBJECTIVE = Number((1 - SLO.errors.objective).toPrecision(12));

/**
 * When a run stops on its own: the error ratio over the last `windowSeconds` (longer at a low rate,
 * so that the window holds `minRequests` at the requested rate) is above --max-error-ratio, once the
 * window holds at least `minRequests` outcomes, so that a few early failures do not end it.
 */
export const STOP_RULE = { windowSeconds: 2, minRequests: 50 } as const;

export const RULES = {
  rps: `a whole number of requests a second from 1 to ${MAX_RPS}`,
  duration: `a duration in seconds or minutes, such as 30s or 5m, from 1s to ${MAX_DURATION_S / 60}m`,
  connections: `a whole number from 1 to ${MAX_CONNECTIONS}`,
  maxErrorRatio: "a ratio from 0 to 1, such as 0.05",
  path: "a URL path starting with /, such as /healthz, without spaces or #",
} as const;

const WHOLE = /^[1-9]\d*$/;

export function parseRps(text: string): number | undefined {
  const n = Number(text);
  return WHOLE.test(text) && n <= MAX_RPS ? n : undefined;
}

export function parseConnections(text: string): number | undefined {
  const n = Number(text);
  return WHOLE.test(text) && n <= MAX_CONNECTIONS ? n : undefined;
}

/** `30s`, `5m`: the duration in seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9]\d*)(s|m)$/.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[1]) * (m[2] === "m" ? 60 : 1);
  return seconds <= MAX_DURATION_S ? seconds : undefined;
}

export function parseMaxErrorRatio(text: string): number | undefined {
  const n = Number(text);
  return /^([01](\.\d+)?|\.\d+)$/.test(text) && n <= 1 ? n : undefined;
}

/** A path and query as a request line carries it; a fragment is never sent, a space would end the request target. */
export function parsePath(text: string): string | undefined {
  return /^\/[^\s#]*$/.test(text) ? text : undefined;
}

/** The connections a run opens: enough for the rate (see REQUESTS_PER_CONNECTION_S), the same number per host, never more than the rate. */
export function defaultConnections(rps: number, hosts: number): number {
  const wanted = Math.max(MIN_CONNECTIONS, hosts, Math.ceil(rps / REQUESTS_PER_CONNECTION_S));
  return Math.min(rps, Math.ceil(wanted / hosts) * hosts);
}

/** The stop rule's window for a rate: STOP_RULE.windowSeconds, or as long as `minRequests` take to send. */
export function stopWindowSeconds(rps: number): number {
  return Math.max(STOP_RULE.windowSeconds, STOP_RULE.minRequests / rps);
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

/**
 * The stop rule over a run's outcomes, in the order they arrive: `record` answers why the run must
 * stop, the first time it must.
 */
export class StopWindow {
  private readonly outcomes: { atMs: number; failed: boolean }[] = [];
  private first = 0;
  private failures = 0;
  private readonly windowMs: number;

  constructor(
    rps: number,
    private readonly maxErrorRatio: number,
  ) {
    this.windowMs = stopWindowSeconds(rps) * 1000;
  }

  record(atMs: number, failed: boolean): string | undefined {
    this.outcomes.push({ atMs, failed });
    if (failed) this.failures++;
    while (this.outcomes[this.first].atMs <= atMs - this.windowMs) {
      if (this.outcomes[this.first].failed) this.failures--;
      this.first++;
    }
    // The array is trimmed now and then, not on every shift: a run records up to MAX_RPS × MAX_DURATION_S outcomes.
    if (this.first > STOP_RULE.minRequests * 100) {
      this.outcomes.splice(0, this.first);
      this.first = 0;
    }
    const count = this.outcomes.length - this.first;
    const ratio = this.failures / count;
    if (count < STOP_RULE.minRequests || ratio <= this.maxErrorRatio) return undefined;
    return (
      `${this.failures} of the last ${count} requests failed (${percent(ratio)} over ${this.windowMs / 1000} s), ` +
      `above --max-error-ratio ${this.maxErrorRatio}`
    );
  }
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** How long a request may wait for its answer before it counts as failed without one. */
export const REQUEST_TIMEOUT_S = 10;
/** The report's precision. */
const LATENCY_STEP_MS = 0.1;

/**
 * Latencies counted in 0.1 ms steps up to the request timeout: exact to the report's precision in
 * constant memory (a run at 10,000 requests a second for an hour has 36 million answers). Each
 * latency is counted at the step at or above it, so a percentile never under-reports.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(Math.round((REQUEST_TIMEOUT_S * 1000) / LATENCY_STEP_MS) + 1);
  count = 0;

  record(latencyMs: number): void {
    // Less a millionth of a step, so that a latency on a step (40 ms) is not pushed to the next by binary rounding.
    const step = Math.max(0, Math.ceil(latencyMs / LATENCY_STEP_MS - 1e-6));
    this.counts[Math.min(step, this.counts.length - 1)]++;
    this.count++;
  }

  /** Adds `other`'s counts to this one's. */
  add(other: LatencyHistogram): this {
    other.counts.forEach((n, i) => (this.counts[i] += n));
    this.count += other.count;
    return this;
  }

  /** The nearest-rank percentile, ms (not interpolated: every figure is a latency some request had, to 0.1 ms); undefined when empty. */
  percentile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return round(i * LATENCY_STEP_MS, 1);
    }
    return undefined;
  }
}

/** What a run saw at one target (or all of them): its answers' latencies and errors, and the attempts that got none. */
export interface Outcomes {
  latencies: LatencyHistogram;
  /** Answers other than 2xx or 3xx. */
  statusErrors: number;
  /** Attempts without an answer: refused, reset, timed out. */
  connectionErrors: number;
}

const latencySchema = z
  .strictObject({ p50: z.number().min(0), p95: z.number().min(0), p99: z.number().min(0) })
  .describe("latency percentiles of the answered requests, ms, nearest rank (none without answers)");

const figuresSchema = z.strictObject({
  requests: z.number().int().min(0).describe("requests sent that were answered or failed without an answer"),
  errors: z.number().int().min(0).describe("answers other than 2xx or 3xx, plus connectionErrors"),
  connectionErrors: z.number().int().min(0).describe("requests without an answer: refused, reset, or none within 10 s"),
  errorRatio: z.number().min(0).max(1).optional().describe("errors / requests (none without requests)"),
  achievedRps: z.number().min(0).describe("requests / elapsedSeconds, taken as at least 1 s"),
  latencyMs: latencySchema.optional(),
});

const sloVerdictSchema = z.strictObject({
  latency: z.strictObject({
    objectiveP95Ms: z.number().describe("the service's spec.runtime.metrics.latencyP95Ms, else 200"),
    met: z.boolean().describe("p95 under the objective"),
  }),
  errors: z.strictObject({
    objectiveRatio: z.number().describe("1 − the errors SLO (0.001)"),
    met: z.boolean().describe("errorRatio under the objective"),
  }),
});

const targetSchema = figuresSchema.extend({
  url: z.string().describe("the URL requested"),
  hostname: z.string(),
  service: z.string().describe("the dogfooding/ service routed at the hostname"),
  slo: sloVerdictSchema,
});

export const SLIS = ["availability", "errors", "latency"] as const;
export type Sli = (typeof SLIS)[number];
const FAST_BURN = BURN_WINDOWS[0];

const burnRatesSchema = z
  .strictObject({
    window: z.string().describe("the recording rules' window read: the fast-burn page's short window"),
    pageAt: z.number().describe("the burn rate at which the fast-burn page fires (with its long window)"),
    rates: z
      .array(z.strictObject({ service: z.string(), sli: z.enum(SLIS), max: z.number().min(0) }))
      .describe("per service and SLI, the highest burn rate recorded during the run: error ratio / (1 − objective)"),
    unavailable: z.string().optional().describe("why no burn rate was read: the query path unset, or its error"),
  })
  .describe("the burn rates Prometheus recorded during the run, through the read-only query path (ENCLII_PROMETHEUS_URL)");

export const loadTestReportSchema = z
  .strictObject({
    environment: z.string(),
    path: z.string(),
    requestedRps: z.number().int().min(1),
    durationSeconds: z.number().int().min(1).describe("the duration asked for"),
    elapsedSeconds: z.number().min(0).describe("how long it ran: shorter when it stopped early"),
    connections: z.number().int().min(1),
    maxErrorRatio: z.number().min(0).max(1),
    total: figuresSchema.describe("every target together"),
    targets: z.array(targetSchema),
    sloMet: z.boolean().describe("every target met both objectives and the run was not stopped early"),
    stoppedEarly: z.boolean(),
    stopReason: z.string().optional().describe("why it stopped before its duration"),
    burnRates: burnRatesSchema,
  })
  .describe("`loadtest --json`: what the load generator measured, against the SLOs");

export type LoadTestReport = z.infer<typeof loadTestReportSchema>;
export type Figures = z.infer<typeof figuresSchema>;
export type TargetReport = LoadTestReport["targets"][number];
export type BurnRates = LoadTestReport["burnRates"];

/**
 * The rate is taken over at least a second: autocannon sends each second's share of a connection at
 * the start of that second, so a run stopped after 30 ms has sent a whole second's requests.
 */
const MIN_RATE_SECONDS = 1;

/** Outcomes as figures: latencies to a tenth of a millisecond, the rate to a tenth of a request. */
export function figures(o: Outcomes, elapsedSeconds: number): Figures {
  const answered = o.latencies.count;
  const requests = answered + o.connectionErrors;
  const errors = o.statusErrors + o.connectionErrors;
  return {
    requests,
    errors,
    connectionErrors: o.connectionErrors,
    ...(requests > 0 && { errorRatio: errors / requests }),
    achievedRps: round(requests / Math.max(elapsedSeconds, MIN_RATE_SECONDS), 1),
    ...(answered > 0 && {
      latencyMs: { p50: o.latencies.percentile(0.5)!, p95: o.latencies.percentile(0.95)!, p99: o.latencies.percentile(0.99)! },
    }),
  };
}

/** Both objectives, strictly under: p95 < the latency objective, error ratio < 0.1%. No answers meets neither. */
export function sloVerdict(f: Figures, latencyP95Ms = DEFAULT_LATENCY_P95_MS): TargetReport["slo"] {
  return {
    latency: { objectiveP95Ms: latencyP95Ms, met: f.latencyMs !== undefined && f.latencyMs.p95 < latencyP95Ms },
    errors: { objectiveRatio: ERROR_OBJECTIVE, met: f.errorRatio !== undefined && f.errorRatio < ERROR_OBJECTIVE },
  };
}

const OBJECTIVES: Record<Sli, number> = {
  availability: SLO.availability.objective,
  errors: SLO.errors.objective,
  latency: SLO.latency.objective,
};
/**
 * The range read back: the run, and at least a minute, so that one evaluation of the recording
 * rules (every 30 s, the Prometheus operator's default, which the chart's values keep) falls in it
 * however short the run.
 */
const MIN_RANGE_S = 60;

/** Each SLI's recording rule at the fast-burn page's short window, named as the rendered rules name it (model/observability/slo.ts). */
function fastBurnRecords(): Record<Sli, string> {
  // One service with every SLI, rendered only for the rule names: the series carry the service as a label.
  const groups = sloRuleGroups({ probed: ["any"], scraped: [{ service: "any", latencyP95Ms: DEFAULT_LATENCY_P95_MS }] });
  const record = (sli: Sli) =>
    groups.find((g) => g.name === `slo-${sli}`)!.rules.find((r) => r.record?.endsWith(`:ratio_rate${FAST_BURN.short}`))!.record!;
  return { availability: record("availability"), errors: record("errors"), latency: record("latency") };
}

/**
 * Per SLI, the PromQL of the highest error ratio its recording rule recorded for `services` over
 * the last `elapsedSeconds`. A service without an SLI (no latency objective, no probed hostname)
 * has no series for it, and so no burn rate.
 */
export function burnRateQueries(services: readonly string[], elapsedSeconds: number): Record<Sli, string> {
  const records = fastBurnRecords();
  const range = `${Math.max(MIN_RANGE_S, Math.ceil(elapsedSeconds))}s`;
  // Service names are DNS labels: nothing in them is special in a regular expression.
  const selector = `{service=~"${services.join("|")}"}`;
  const query = (sli: Sli) => `max by (service) (max_over_time(${records[sli]}${selector}[${range}]))`;
  return { availability: query("availability"), errors: query("errors"), latency: query("latency") };
}

/** Error ratios read back as burn rates: each SLI's ratio over its budget, 1 − objective. */
export function burnRates(ratios: Record<Sli, { service: string; ratio: number }[]>): BurnRates {
  return {
    window: FAST_BURN.short,
    pageAt: FAST_BURN.factor,
    rates: SLIS.flatMap((sli) =>
      ratios[sli].map((r) => ({ service: r.service, sli, max: round(r.ratio / (1 - OBJECTIVES[sli]), 2) })),
    ).sort((a, b) => (a.service === b.service ? SLIS.indexOf(a.sli) - SLIS.indexOf(b.sli) : a.service < b.service ? -1 : 1)),
  };
}

/** No burn rate read, and why. */
export function burnRatesUnavailable(why: string): BurnRates {
  return { window: FAST_BURN.short, pageAt: FAST_BURN.factor, rates: [], unavailable: why };
}
