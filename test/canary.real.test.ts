/**
 * The canary's judge and the error-budget gate against a real Prometheus (Debian's), through the
 * rendered read-only proxy (nginx): twenty minutes of request series for a stable and a canary
 * track, written into Prometheus's storage with `promtool tsdb create-blocks-from openmetrics` and
 * ending as the test starts, one service per case. The rendered SLO rules run in that Prometheus;
 * the gate waits, on the condition, for the fast-burn alert's `for: 2m` to pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBudgetGate } from "../automation/control/gate";
import { QueryPathError, trackFigures, type QueryPath } from "../automation/control/prometheus";
import { ERROR_OBJECTIVE, judgeCanary, type CanaryPolicy } from "../model/canary";
import { HTTP_METRICS } from "../model/observability/config";
import { AVAILABILITY_JOB, sloRuleGroups } from "../model/observability/slo";
import { startPrometheus, startReadonlyProxy, type Running } from "../testbed/prometheus";
import { Servers, sleep, stopProc, waitFor } from "../testbed/servers";
import { requireTool } from "./harness";

const servers = new Servers();
const present = requireTool("prometheus") && requireTool("promtool", "prometheus") && requireTool("nginx", "nginx-light");

const SPAN_S = 20 * 60;
const STEP_S = 15;
/** The deploy's watch period as the queries see it: inside the span, with room for the tests' own minutes. */
const WINDOW = "10m";
const POLICY: CanaryPolicy = {
  minRequests: 100,
  errorObjective: ERROR_OBJECTIVE,
  latencyP95Ms: 200,
  maxErrorRatioIncrease: 0.001,
  maxP95IncreaseMs: 50,
};

/** Histogram bounds in seconds (+Inf last), with the 0.2 s one the latency SLO reads. */
const BOUNDS = ["0.025", "0.05", "0.1", "0.2", "0.25", "0.5", "1", "+Inf"];
/** Share of requests at or under each bound. FAST's p95 is 155.6 ms (0.1 + 0.1 × 0.05/0.09 s), SLOW's 388.9 ms. */
const FAST = [0.2, 0.5, 0.9, 0.99, 1, 1, 1, 1];
const SLOW = [0, 0.05, 0.2, 0.5, 0.9, 0.99, 1, 1];

interface Traffic {
  rps: number;
  errors: number;
  latency: number[];
}
const HEALTHY: Traffic = { rps: 20, errors: 0.0005, latency: FAST };
const CANARY: Traffic = { rps: 5, errors: 0.0004, latency: FAST };

/** One service per case: what its stable and canary pods served. */
const SERVICES: Record<string, { stable: Traffic; canary?: Traffic }> = {
  healthy: { stable: HEALTHY, canary: CANARY },
  erroring: { stable: HEALTHY, canary: { ...CANARY, errors: 0.02 } },
  slow: { stable: HEALTHY, canary: { ...CANARY, latency: SLOW } },
  // 0.05 requests a second: 30 in ten minutes, under minRequests.
  quiet: { stable: HEALTHY, canary: { rps: 0.05, errors: 0, latency: FAST } },
  lonely: { stable: HEALTHY },
  // 5% of requests failing is 50 times the 0.1% budget: the fast-burn alert's condition from the first evaluation.
  burning: { stable: { ...HEALTHY, errors: 0.05 } },
};
/** healthy's probes fail 0.03% of the time: 40% of the 0.05% availability budget left, less than errors' 52%. */
const HEALTHY_PROBE_SUCCESS = 0.9997;

/** OpenMetrics text of every series, one sample every STEP_S seconds for SPAN_S seconds ending at `end`. */
function openMetrics(end: number): string {
  const times = Array.from({ length: SPAN_S / STEP_S + 1 }, (_, i) => end - SPAN_S + i * STEP_S);
  const lines = [`# TYPE ${HTTP_METRICS.duration} histogram`];
  const series = (name: string, labels: Record<string, string>, value: (elapsed: number) => number) => {
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(",");
    for (const t of times) lines.push(`${name}{${text}} ${value(t - times[0])} ${t}`);
  };
  for (const [service, tracks] of Object.entries(SERVICES))
    for (const [track, traffic] of Object.entries(tracks)) {
      for (const [code, share] of [
        ["200", 1 - traffic.errors],
        ["500", traffic.errors],
      ] as const) {
        // An exporter has no series for a status it never answered.
        if (share === 0) continue;
        const labels = { service, track, [HTTP_METRICS.status]: code };
        const requests = (elapsed: number) => traffic.rps * share * elapsed;
        BOUNDS.forEach((le, i) => series(`${HTTP_METRICS.duration}_bucket`, { ...labels, le }, (e) => requests(e) * traffic.latency[i]));
        series(`${HTTP_METRICS.duration}_count`, labels, requests);
      }
    }
  lines.push("# TYPE probe_success gauge");
  series("probe_success", { job: AVAILABILITY_JOB, service: "healthy" }, () => HEALTHY_PROBE_SUCCESS);
  lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

let prometheus: Running;
let proxy: Running;
let path: QueryPath;

beforeAll(async () => {
  if (!present) return;
  const rules = sloRuleGroups({ probed: ["healthy"], scraped: Object.keys(SERVICES).map((service) => ({ service, latencyP95Ms: 200 })) });
  prometheus = await startPrometheus(servers, { "slo.yaml": rules }, openMetrics(Math.floor(Date.now() / 1000)));
  proxy = await startReadonlyProxy(servers, prometheus.url.replace("http://", ""));
  path = { url: proxy.url };
}, 120_000);
afterAll(() => servers.stopAll(), 60_000);

const FIGURES = /[\d,]+ requests/.source;

/** What the deploy path decides on at the end of its period: both tracks' figures, judged. */
async function judged(at: QueryPath, service: string) {
  const [canary, stable] = await Promise.all([trackFigures(at, service, "canary", WINDOW), trackFigures(at, service, "stable", WINDOW)]);
  return judgeCanary(POLICY, canary, stable);
}

describe("a canary judged through the read-only proxy (Prometheus + nginx)", () => {
  it("promotes a canary as healthy as stable, with the figures Prometheus computed", async () => {
    if (!present) return;
    const v = await judged(path, "healthy");
    expect(v.decision, v.reason).toBe("promote");
    expect(v.reason).toMatch(
      new RegExp(
        `^canary 0\\.04% errors and p95 155\\.6 ms over ${FIGURES}: errors within the objective 0\\.10% and stable's 0\\.05% \\+ 0\\.10%; p95 within the objective 200 ms and stable's 155\\.6 ms \\+ 50 ms$`,
      ),
    );
    // 5 a second over ten minutes, less what the window has moved past the series' end since they were written.
    expect(v.canary!.requests).toBeLessThanOrEqual(3000);
    expect(v.canary!.requests).toBeGreaterThan(2400);
    // Four times as many stable requests as canary ones: the rates written, over the same window.
    expect(v.stable!.requests / v.canary!.requests).toBeCloseTo(4, 1);
  });

  it("aborts a canary whose error ratio is over the objective", async () => {
    if (!present) return;
    const v = await judged(path, "erroring");
    expect(v).toMatchObject({ decision: "abort", cause: "errors" });
    expect(v.reason).toMatch(new RegExp(`^canary 2\\.00% errors over ${FIGURES}, above the objective 0\\.10% \\(stable 0\\.05%\\)$`));
  });

  it("aborts a canary whose p95 is over the objective", async () => {
    if (!present) return;
    const v = await judged(path, "slow");
    expect(v).toMatchObject({ decision: "abort", cause: "latency" });
    expect(v.reason).toMatch(new RegExp(`^canary p95 388\\.9 ms over ${FIGURES}, above the objective 200 ms \\(stable 155\\.6 ms\\)$`));
  });

  it("aborts a canary that saw fewer requests than minRequests", async () => {
    if (!present) return;
    const v = await judged(path, "quiet");
    expect(v).toMatchObject({ decision: "abort", cause: "no-traffic" });
    expect(v.reason).toMatch(/^the canary saw \d+ requests, fewer than the 100 needed to judge it \(minRequests\); stable saw [\d,]+$/);
    expect(v.canary!.requests).toBeGreaterThan(0);
    expect(v.canary!.requests).toBeLessThan(POLICY.minRequests);
  });

  it("aborts a canary without any series", async () => {
    if (!present) return;
    const v = await judged(path, "lonely");
    expect(v).toMatchObject({
      decision: "abort",
      cause: "no-metrics",
      reason:
        'no request metrics for the canary (http_server_request_duration_seconds_count with track="canary"), though stable has them: its pods export none or are not scraped',
    });
    expect(v.stable!.requests).toBeGreaterThan(0);
  });

  it("throws QueryPathError (the deploy's `unreachable`), and the gate refuses, once the query path is down", async () => {
    if (!present) return;
    const own = await startReadonlyProxy(servers, prometheus.url.replace("http://", ""));
    expect((await judged({ url: own.url }, "healthy")).decision).toBe("promote");
    await stopProc(own.proc);
    const e = await trackFigures({ url: own.url }, "healthy", "canary", WINDOW).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(QueryPathError);
    expect((e as Error).message).toBe(`${own.url} could not be reached: ECONNREFUSED`);
    expect(await errorBudgetGate({ url: own.url }, "healthy", 0)).toEqual({
      allowed: false,
      fastBurnFiring: false,
      reason: `the query path did not answer (${own.url} could not be reached: ECONNREFUSED), so the error budget cannot be checked: check ENCLII_PROMETHEUS_URL and ENCLII_PROMETHEUS_TOKEN, or pass --force to deploy without the check`,
    });
  });
});

describe("the error-budget gate through the read-only proxy, with the rendered SLO rules", () => {
  it("refuses while the rendered fast-burn alert fires, and allows a healthy service on its remaining budget", async () => {
    if (!present) return;
    // The alert holds for `for: 2m` before it fires; the gate is asked every second until it says so.
    const refused = await waitFor(
      "the fast-burn alert to fire for burning",
      async () => {
        const v = await errorBudgetGate(path, "burning", 0);
        if (v.fastBurnFiring) return v;
        await sleep(1000);
        return undefined;
      },
      240_000,
    );
    expect(refused.allowed).toBe(false);
    expect(refused.reason).toMatch(
      /^a fast-burn SLO alert is firing \(the error budget burning at 14\.4× over 1h and 5m or 6× over 6h and 30m; /,
    );
    // 5% errors against a 0.1% budget: spent 50 times over.
    expect(refused.budgetRemainingPercent).toBeCloseTo(-4900, 6);
    const alerts = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    expect(
      alerts.data.alerts.filter((a) => a.state === "firing" && a.labels.alertname.endsWith("BudgetBurnFast")).map((a) => a.labels),
    ).toEqual([{ alertname: "SLOErrorsBudgetBurnFast", service: "burning", severity: "critical", slo: "errors" }]);

    // healthy: availability leaves 40% (its recorded 30d ratio), errors 52%; the gate takes the lower.
    const allowed = await errorBudgetGate(path, "healthy", 0);
    expect(allowed).toEqual({
      allowed: true,
      fastBurnFiring: false,
      budgetRemainingPercent: expect.closeTo(40, 6),
      reason: "no fast-burn SLO alert is firing, and 40.0% of the 30d error budget remains (at least 0% required)",
    });
    expect(await errorBudgetGate(path, "healthy", 45)).toMatchObject({
      allowed: false,
      reason:
        "40.0% of the 30d error budget remains, less than the 45% this service requires (minRemainingPercent); deploy once it has recovered, or pass --force to deploy anyway",
    });
  }, 300_000);
});
