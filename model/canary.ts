/**
 * How a canary is judged and whether a deploy may start, from the figures Prometheus gives; and
 * the PromQL that asks for them. Pure: the query path (automation/control/prometheus.ts) runs the
 * queries, the deploy path decides when.
 *
 * The canary's decision rule, in order, over one window (the whole watch period):
 * - no request series for the canary (or for either track) → abort, `no-metrics`; the query path
 *   unreachable, answering non-2xx or not Prometheus's JSON (a QueryPathError) → abort,
 *   `unreachable`, a verdict the deploy path makes;
 * - fewer canary requests than `minRequests` → abort, `no-traffic`: too few to tell;
 * - the canary's error ratio above the objective (0.1%, 1 − SLO.errors.objective), or above
 *   stable's plus `maxErrorRatioIncrease` → abort, `errors`;
 * - with `latencyP95Ms` set: the canary's p95 above it, or above stable's p95 plus
 *   `maxP95IncreaseMs` → abort, `latency` (no p95 to judge → abort, `no-metrics`);
 * - otherwise promote.
 * When stable served no requests in the window, the canary is judged against the objectives only,
 * and the reason says so. Every reason names the figures it was decided on.
 *
 * The gate: a deploy is not allowed while a fast-burn SLO alert fires for the service, or while
 * less than `minRemainingPercent` of its 30-day error budget remains (remaining = 100 × (1 − error
 * ratio over 30 days / allowed ratio), the lowest over its SLIs; below 0 when overspent). No figure
 * (nothing recorded over the window) is nothing spent.
 */
import { BURN_WINDOWS, HTTP_METRICS, SLO } from "./observability/config";
import { AVAILABILITY_SERIES, FAST_BURN_ALERTS, SLO_WINDOW } from "./observability/slo";
import { TRACK_SERIES_LABEL } from "./names";

export interface TrackFigures {
  /** Requests in the window. */
  requests: number;
  /** Share of requests answered 5xx, 0..1; undefined when requests is 0. */
  errorRatio?: number;
  /** 95th percentile latency in ms from the histogram; undefined when requests is 0. */
  p95Ms?: number;
}

export interface CanaryPolicy {
  /** The canary must have seen at least this many requests. */
  minRequests: number;
  /** Allowed error ratio, 1 − SLO.errors.objective (ERROR_OBJECTIVE). */
  errorObjective: number;
  /** The spec's latencyP95Ms; no latency judgement when undefined. */
  latencyP95Ms?: number;
  /** The canary may exceed stable's error ratio by at most this. */
  maxErrorRatioIncrease: number;
  /** The canary's p95 may exceed stable's by at most this. */
  maxP95IncreaseMs: number;
}

export type CanaryVerdict =
  | { decision: "promote"; reason: string; canary: TrackFigures; stable: TrackFigures }
  | {
      decision: "abort";
      cause: "errors" | "latency" | "no-traffic" | "no-metrics" | "unreachable";
      reason: string;
      canary?: TrackFigures;
      stable?: TrackFigures;
    };

/** Decimal, as people write it: 1 − 0.999 is 0.001, not 0.0010000000000000009. */
const decimal = (n: number) => Number(n.toPrecision(12));
/** The error ratio the errors SLO allows (0.1%): the canary's objective. */
export const ERROR_OBJECTIVE = decimal(1 - SLO.errors.objective);
/** Each SLI's allowed ratio over the SLO window, for the budget that remains. */
const AVAILABILITY_ALLOWED = decimal(1 - SLO.availability.objective);
/** The quantile the latency objective and the canary's latency are stated at. */
const P95 = 0.95;

const US_NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const count = (n: number) => US_NUMBER.format(n);
const percent = (ratio: number) => `${(ratio * 100).toFixed(2)}%`;
const ms = (n: number) => `${Number(n.toFixed(1))} ms`;

const NO_STABLE_TRAFFIC = "stable served no requests: judged against the objectives only";

/** The canary against the objectives and against stable over the same window (the rule above). */
export function judgeCanary(policy: CanaryPolicy, canary: TrackFigures | undefined, stable: TrackFigures | undefined): CanaryVerdict {
  const metric = `${HTTP_METRICS.duration}_count`;
  if (!canary) {
    const reason = stable
      ? `no request metrics for the canary (${metric} with ${TRACK_SERIES_LABEL}="canary"), though stable has them: its pods export none or are not scraped`
      : `no request metrics for either track (${metric} with ${TRACK_SERIES_LABEL}="stable" or "canary"): the service exports none, or its pods are not scraped with their track`;
    return { decision: "abort", cause: "no-metrics", reason, stable };
  }
  const abort = (cause: "errors" | "latency" | "no-traffic" | "no-metrics", reason: string): CanaryVerdict => ({
    decision: "abort",
    cause,
    reason,
    canary,
    stable,
  });
  if (canary.requests < policy.minRequests)
    return abort(
      "no-traffic",
      `the canary saw ${count(canary.requests)} requests, fewer than the ${count(policy.minRequests)} needed to judge it (minRequests)${stable ? `; stable saw ${count(stable.requests)}` : ""}`,
    );
  const over = `over ${count(canary.requests)} requests`;
  // Only a stable track with requests has figures to compare with.
  const baseline = stable && stable.requests > 0 ? stable : undefined;

  const errors = canary.errorRatio;
  if (errors === undefined) return abort("no-metrics", `the canary's error ratio could not be computed ${over}`);
  const stableErrors = baseline?.errorRatio;
  const canaryErrors = `canary ${percent(errors)} errors ${over}`;
  if (errors > policy.errorObjective)
    return abort(
      "errors",
      `${canaryErrors}, above the objective ${percent(policy.errorObjective)} (${stableErrors === undefined ? NO_STABLE_TRAFFIC : `stable ${percent(stableErrors)}`})`,
    );
  if (stableErrors !== undefined && errors > stableErrors + policy.maxErrorRatioIncrease)
    return abort(
      "errors",
      `${canaryErrors}, above stable's ${percent(stableErrors)} plus the allowed increase ${percent(policy.maxErrorRatioIncrease)}`,
    );
  const judged = [
    `errors within the objective ${percent(policy.errorObjective)}${stableErrors === undefined ? "" : ` and stable's ${percent(stableErrors)} + ${percent(policy.maxErrorRatioIncrease)}`}`,
  ];

  const p95 = canary.p95Ms;
  const stableP95 = baseline?.p95Ms;
  if (policy.latencyP95Ms !== undefined) {
    if (p95 === undefined)
      return abort(
        "no-metrics",
        `the canary's p95 could not be computed from ${HTTP_METRICS.duration}_bucket ${over}: its latency cannot be judged against ${ms(policy.latencyP95Ms)}`,
      );
    const canaryP95 = `canary p95 ${ms(p95)} ${over}`;
    if (p95 > policy.latencyP95Ms)
      return abort(
        "latency",
        `${canaryP95}, above the objective ${ms(policy.latencyP95Ms)} (${baseline ? (stableP95 === undefined ? "stable has no p95" : `stable ${ms(stableP95)}`) : NO_STABLE_TRAFFIC})`,
      );
    if (stableP95 !== undefined && p95 > stableP95 + policy.maxP95IncreaseMs)
      return abort("latency", `${canaryP95}, above stable's ${ms(stableP95)} plus the allowed increase ${ms(policy.maxP95IncreaseMs)}`);
    judged.push(
      `p95 within the objective ${ms(policy.latencyP95Ms)}${stableP95 === undefined ? "" : ` and stable's ${ms(stableP95)} + ${ms(policy.maxP95IncreaseMs)}`}`,
    );
  } else judged.push("latency not judged (no latencyP95Ms)");
  if (!baseline) judged.push(NO_STABLE_TRAFFIC);

  const figures = `canary ${percent(errors)} errors${p95 === undefined ? "" : ` and p95 ${ms(p95)}`} ${over}`;
  return { decision: "promote", reason: `${figures}: ${judged.join("; ")}`, canary, stable: stable ?? { requests: 0 } };
}

/** A PromQL label matcher's value: PromQL strings take Go's escapes, which JSON's are a subset of. */
const quoted = (value: string) => JSON.stringify(value);

/** PromQL for one track's figures over `window` (e.g. "5m"), by the `service` and `track` labels. */
export function trackQueries(
  service: string,
  track: "stable" | "canary",
  window: string,
): { requests: string; errors: string; p95Seconds: string } {
  const labels = `service=${quoted(service)},${TRACK_SERIES_LABEL}=${quoted(track)}`;
  const requests = (extra: string) => `sum(increase(${HTTP_METRICS.duration}_count{${labels}${extra}}[${window}]))`;
  return {
    requests: requests(""),
    errors: requests(`,${HTTP_METRICS.status}=~"5.."`),
    p95Seconds: `histogram_quantile(${P95}, sum by (le) (rate(${HTTP_METRICS.duration}_bucket{${labels}}[${window}])))`,
  };
}

export interface GateVerdict {
  allowed: boolean;
  reason: string;
  fastBurnFiring: boolean;
  budgetRemainingPercent?: number;
}

const FORCE_HINT = "or pass --force to deploy anyway";
/** The burns that page, as the fast-burn alerts' descriptions state them. */
const PAGING_BURNS = BURN_WINDOWS.filter((w) => w.severity === "critical")
  .map((w) => `${w.factor}× over ${w.long} and ${w.short}`)
  .join(" or ");
const budget = (remaining: number) => `${remaining.toFixed(1)}% of the ${SLO_WINDOW} error budget remains`;

/** The error-budget gate's rule (above). */
export function judgeGate(input: { fastBurnFiring: boolean; budgetRemainingPercent?: number; minRemainingPercent: number }): GateVerdict {
  const { fastBurnFiring, budgetRemainingPercent: remaining, minRemainingPercent: min } = input;
  const verdict = (allowed: boolean, reason: string): GateVerdict => ({
    allowed,
    reason,
    fastBurnFiring,
    ...(remaining === undefined ? {} : { budgetRemainingPercent: remaining }),
  });
  if (fastBurnFiring)
    return verdict(
      false,
      `a fast-burn SLO alert is firing (the error budget burning at ${PAGING_BURNS}${remaining === undefined ? "" : `; ${budget(remaining)}`}): deploy once it has stopped, ${FORCE_HINT}`,
    );
  if (remaining === undefined)
    return verdict(
      true,
      `no fast-burn SLO alert is firing, and no error ratio was recorded over ${SLO_WINDOW}: nothing has spent the budget`,
    );
  if (remaining < min)
    return verdict(
      false,
      `${budget(remaining)}, less than the ${min}% this service requires (minRemainingPercent); deploy once it has recovered, ${FORCE_HINT}`,
    );
  return verdict(true, `no fast-burn SLO alert is firing, and ${budget(remaining)} (at least ${min}% required)`);
}

/**
 * The gate's PromQL. `fastBurn`: the service's paging burn alerts that fire. `budgetRemaining`: the
 * lowest remaining budget over the SLIs that have a figure: availability from its recorded 30-day
 * ratio, errors from the raw counters (no 30-day rule is recorded for it); `or vector(0)` counts a
 * service that never answered 5xx as spending nothing rather than having no figure. Each SLI's
 * figure is labelled with its name, so `or` keeps both. A service without traffic or probes gives
 * an empty vector or NaN.
 */
export function gateQueries(service: string): { fastBurn: string; budgetRemaining: string } {
  const svc = `service=${quoted(service)}`;
  const count = `${HTTP_METRICS.duration}_count`;
  const rate = (extra: string) => `sum(rate(${count}{${svc}${extra}}[${SLO_WINDOW}]))`;
  const errors = `(${rate(`,${HTTP_METRICS.status}=~"5.."`)} or vector(0)) / ${rate("")}`;
  const remaining = (ratio: string, allowed: number, sli: string) =>
    `label_replace(100 * (1 - ${ratio} / ${allowed}), "slo", "${sli}", "", "")`;
  return {
    fastBurn: `ALERTS{alertstate="firing",alertname=~"${FAST_BURN_ALERTS.join("|")}",${svc}}`,
    budgetRemaining: `min(${remaining(`${AVAILABILITY_SERIES}{${svc}}`, AVAILABILITY_ALLOWED, "availability")} or ${remaining(`(${errors})`, ERROR_OBJECTIVE, "errors")})`,
  };
}
