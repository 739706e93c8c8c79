/**
 * `enclii-infra loadtest`: its rules (model/loadtest.ts), and autocannon driving a server on
 * loopback that injects latency and errors, the report matching what was injected within the
 * tolerances below (docs/control-plane.md#load-test).
 */
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  generateLoad,
  loadtest,
  loadtestCommand,
  renderReport,
  type LoadGenerator,
  type LoadtestArgs,
} from "../automation/control/loadtest";
import { EXIT } from "../model/controlPlane";
import {
  burnRateQueries,
  burnRates,
  defaultConnections,
  figures,
  LatencyHistogram,
  loadTestReportSchema,
  parseConnections,
  parseDuration,
  parseMaxErrorRatio,
  parsePath,
  parseRps,
  sloVerdict,
  StopWindow,
  stopWindowSeconds,
  type LoadTestReport,
} from "../model/loadtest";
import { sloRuleGroups } from "../model/observability/slo";
import { resultProblems } from "../testbed/contract";
import { ROOT } from "./harness";

/**
 * How close the report must come to what the server injected. The error ratio is counted, so only
 * the requests in flight when the run ends (at most one per connection, of ~500) move it. A latency
 * is the server's delay plus the loopback round trip and the event loop's turn on both ends: never
 * less than the delay (less 1 ms: Node's timers round to the millisecond), and on a busy two-core
 * machine up to the tolerance plus scheduling slack above it. Bounds, not timings.
 */
const ERROR_RATIO_TOLERANCE = 0.005;
const TIMER_ROUNDING_MS = 1;
const LATENCY_TOLERANCE_MS = 15;
const SCHEDULING_SLACK_MS = 25;

const BASE_DELAY_MS = 40;
const SLOW_DELAY_MS = 150;
/** Every 10th request slow: p95 and p99 fall among the slow ones, p50 among the fast; 5% would put p95 on the boundary. */
const SLOW_EVERY = 10;
/** Every 50th request a 500: exactly 2%. */
const ERROR_EVERY = 50;

const servers: Server[] = [];
afterEach(async () => {
  // Without waiting out keep-alive connections (fetch's to the fake Prometheus).
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done).closeAllConnections())));
});

/** A server on loopback answering each request after `delay(n)` ms with `status(n)`, n counting requests from 1. */
async function injecting(delay: (n: number) => number, status: (n: number) => number): Promise<{ url: string; served: () => number }> {
  let n = 0;
  const server = createServer((_req, res) => {
    const k = ++n;
    setTimeout(() => {
      res.statusCode = status(k);
      res.end("ok");
    }, delay(k));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, served: () => n };
}

/** Prometheus's query API as the read-only path answers it: each query's vector from `answer`, every query kept. */
async function prometheus(
  answer: (query: string) => { service: string; value: string }[] | number,
): Promise<{ url: string; queries: string[] }> {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const query = new URL(req.url!, "http://x").searchParams.get("query")!;
    queries.push(query);
    const a = answer(query);
    res.statusCode = typeof a === "number" ? a : 200;
    res.setHeader("content-type", "application/json");
    const result = typeof a === "number" ? [] : a.map((s) => ({ metric: { service: s.service }, value: [1_700_000_000, s.value] }));
    res.end(
      JSON.stringify(
        typeof a === "number" ? { status: "error", error: "overloaded" } : { status: "success", data: { resultType: "vector", result } },
      ),
    );
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries };
}

/** autocannon, with each public URL's requests sent to a server on loopback instead. */
const toLoopback =
  (url: string): LoadGenerator =>
  (plan, opts) =>
    generateLoad({ ...plan, urls: plan.urls.map(() => url) }, opts);

const ARGS: LoadtestArgs = { env: "staging", rps: 100, duration: 5, path: "/", maxErrorRatio: 0.05 };

/** What a generator measured, from each answer's latency. */
function outcomes(latenciesMs: number[], statusErrors = 0, connectionErrors = 0) {
  const latencies = new LatencyHistogram();
  for (const ms of latenciesMs) latencies.record(ms);
  return { latencies, statusErrors, connectionErrors };
}

function capture() {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
}

describe("loadtest's options", () => {
  it("accepts a rate, a duration in s or m, connections, a ratio and a path within their limits, nothing else", () => {
    expect(["1", "100", "10000"].map(parseRps)).toEqual([1, 100, 10000]);
    expect(["0", "1.5", "ten", "10001", "1e2", "", " 1", "01"].map(parseRps)).toEqual(Array(8).fill(undefined));
    expect(["1s", "30s", "5m", "60m", "3600s"].map(parseDuration)).toEqual([1, 30, 300, 3600, 3600]);
    expect(["90", "0s", "1h", "61m", "3601s", "1.5m", "5M", "s"].map(parseDuration)).toEqual(Array(8).fill(undefined));
    expect(["1", "1000"].map(parseConnections)).toEqual([1, 1000]);
    expect(["0", "1001", "2.5"].map(parseConnections)).toEqual([undefined, undefined, undefined]);
    expect(["0", "1", "0.05", ".5", "1.0"].map(parseMaxErrorRatio)).toEqual([0, 1, 0.05, 0.5, 1]);
    expect(["5%", "1.5", "-0.1", "", ".", "2"].map(parseMaxErrorRatio)).toEqual(Array(6).fill(undefined));
    expect(["/", "/healthz", "/api/v1/status?full=1"].map(parsePath)).toEqual(["/", "/healthz", "/api/v1/status?full=1"]);
    expect(["healthz", "/a b", "/#top", ""].map(parsePath)).toEqual(Array(4).fill(undefined));
  });

  it("opens one connection per 5 requests a second, at least 10, the same number per host and never more than the rate", () => {
    expect(defaultConnections(100, 1)).toBe(20);
    expect(defaultConnections(1000, 1)).toBe(200);
    expect(defaultConnections(20, 1)).toBe(10);
    expect(defaultConnections(100, 6)).toBe(24);
    expect(defaultConnections(7, 6)).toBe(7);
  });
});

describe("the stop rule", () => {
  it("stops once 50 requests in the last 2 s hold more failures than the limit, and not before", () => {
    const w = new StopWindow(100, 0.05);
    for (let i = 0; i < 49; i++) expect(w.record(i, true)).toBeUndefined();
    expect(w.record(49, true)).toBe("50 of the last 50 requests failed (100.0% over 2 s), above --max-error-ratio 0.05");
  });

  it("forgets what fell out of the window, and stops only above the limit", () => {
    const w = new StopWindow(100, 0.05);
    for (let i = 0; i < 100; i++) w.record(i, i < 20);
    // 2.5 s later the 20 early failures are out of the window: 2 failures in 50 is 4%.
    for (let i = 0; i < 48; i++) expect(w.record(2_500 + i, false)).toBeUndefined();
    expect(w.record(2_548, true)).toBeUndefined();
    expect(w.record(2_549, true)).toBeUndefined();
    expect(w.record(2_550, true)).toBe("3 of the last 51 requests failed (5.9% over 2 s), above --max-error-ratio 0.05");
  });

  it("widens the window at a low rate, so it holds 50 requests", () => {
    expect(stopWindowSeconds(100)).toBe(2);
    expect(stopWindowSeconds(10)).toBe(5);
  });
});

describe("figures and verdicts", () => {
  it("takes nearest-rank percentiles over the answers and counts failed attempts as requests and errors", () => {
    const f = figures(
      outcomes(
        Array.from({ length: 100 }, (_, i) => 100 - i),
        1,
        4,
      ),
      2,
    );
    expect(f).toEqual({
      requests: 104,
      errors: 5,
      connectionErrors: 4,
      errorRatio: 5 / 104,
      achievedRps: 52,
      latencyMs: { p50: 50, p95: 95, p99: 99 },
    });
    // A run stopped within its first second sent that second's requests at its start: its rate is over a whole second.
    expect(figures(outcomes([1, 2, 3]), 0.03).achievedRps).toBe(3);
    expect(figures(outcomes([]), 1)).toEqual({
      requests: 0,
      errors: 0,
      connectionErrors: 0,
      achievedRps: 0,
    });
  });

  it("counts latencies to the report's 0.1 ms, each at the step at or above it, up to the 10 s timeout", () => {
    const h = new LatencyHistogram();
    for (const ms of [40, 40.01, 40.1, 0, 12_000]) h.record(ms);
    expect([0.2, 0.4, 0.6, 0.8, 1].map((q) => h.percentile(q))).toEqual([0, 40, 40.1, 40.1, 10_000]);
    expect(new LatencyHistogram().percentile(0.5)).toBeUndefined();
    expect(new LatencyHistogram().add(h).add(h).count).toBe(10);
  });

  it("meets an objective only strictly under it: p95 under the spec's latencyP95Ms or 200 ms, errors under 0.1%", () => {
    const f = (p95: number, errorRatio: number) => ({
      requests: 1000,
      errors: 0,
      connectionErrors: 0,
      achievedRps: 1,
      errorRatio,
      latencyMs: { p50: 1, p95, p99: p95 },
    });
    expect(sloVerdict(f(199.9, 0.0009))).toEqual({
      latency: { objectiveP95Ms: 200, met: true },
      errors: { objectiveRatio: 0.001, met: true },
    });
    expect(sloVerdict(f(200, 0.001))).toEqual({
      latency: { objectiveP95Ms: 200, met: false },
      errors: { objectiveRatio: 0.001, met: false },
    });
    expect(sloVerdict(f(120, 0), 100).latency).toEqual({ objectiveP95Ms: 100, met: false });
    expect(sloVerdict({ requests: 0, errors: 0, connectionErrors: 0, achievedRps: 0 })).toMatchObject({
      latency: { met: false },
      errors: { met: false },
    });
  });

  it("reads the burn rates from the rendered recording rules of the fast-burn page's short window", () => {
    const q = burnRateQueries(["janua", "switchyard-api"], 125.2);
    expect(q).toEqual({
      availability: 'max by (service) (max_over_time(service:slo_availability_errors:ratio_rate5m{service=~"janua|switchyard-api"}[126s]))',
      errors: 'max by (service) (max_over_time(service:slo_request_errors:ratio_rate5m{service=~"janua|switchyard-api"}[126s]))',
      latency: 'max by (service) (max_over_time(service:slo_latency_slow:ratio_rate5m{service=~"janua|switchyard-api"}[126s]))',
    });
    // A short run still reads a minute back: one evaluation of the rules falls in it.
    expect(burnRateQueries(["janua"], 5).errors).toContain("[60s]");
    const recorded = sloRuleGroups({ probed: ["janua"], scraped: [{ service: "janua", latencyP95Ms: 200 }] }).flatMap((g) =>
      g.rules.map((r) => r.record),
    );
    for (const text of Object.values(q)) expect(recorded).toContain(/max_over_time\(([^{]+)\{/.exec(text)![1]);
    expect(
      burnRates({
        availability: [{ service: "janua", ratio: 0.0005 }],
        errors: [{ service: "switchyard-api", ratio: 0.0036 }],
        latency: [{ service: "switchyard-api", ratio: 0.1 }],
      }),
    ).toEqual({
      window: "5m",
      pageAt: 14.4,
      rates: [
        { service: "janua", sli: "availability", max: 1 },
        { service: "switchyard-api", sli: "errors", max: 3.6 },
        { service: "switchyard-api", sli: "latency", max: 2 },
      ],
    });
  });
});

describe("refusals before any request is sent", () => {
  const never: LoadGenerator = () => {
    throw new Error("the generator must not run");
  };

  it("refuses production without --allow-production, and drives production's hostnames with it", async () => {
    const { out, io } = capture();
    expect(await loadtestCommand({ ...ARGS, env: "production", json: true }, io, { root: ROOT, env: {}, generate: never })).toBe(
      EXIT.usage,
    );
    expect(JSON.parse(out.stdout)).toMatchObject({
      operation: "loadtest",
      status: "usage",
      message:
        "production (stack production): a load test sends real traffic to production's public hostnames, which customers use; refused without --allow-production",
    });
    let urls: string[] = [];
    const recorded: LoadGenerator = async (plan) => {
      urls = plan.urls;
      return { elapsedSeconds: 1, outcomes: plan.urls.map(() => outcomes([10])) };
    };
    await loadtest(
      { ...ARGS, env: "production", host: "api.enclii.io", allowProduction: true },
      { root: ROOT, env: {}, generate: recorded },
    );
    expect(urls).toEqual(["https://api.enclii.io/"]);
  });

  it("refuses a --host that is not a public hostname, listing them; more hosts than the rate or the connections; a query path set wrong", async () => {
    const refusal = async (a: Partial<LoadtestArgs>, env: NodeJS.ProcessEnv = {}) => {
      const { out, io } = capture();
      expect(await loadtestCommand({ ...ARGS, ...a }, io, { root: ROOT, env, generate: never })).toBe(EXIT.usage);
      expect(out.stdout).toBe("");
      return out.stderr;
    };
    expect(await refusal({ host: "grafana.enclii.dev" })).toBe(
      "staging (stack staging): --host: grafana.enclii.dev is not a public hostname of staging (its public hostnames: api.enclii.dev, app.enclii.dev, auth.enclii.dev, docs.enclii.dev, enclii.dev, status.enclii.dev)\n",
    );
    expect(await refusal({ rps: 5 })).toBe(
      "staging (stack staging): --rps 5 is fewer than the 6 hostnames it drives: at least 1 each, or pick one with --host\n",
    );
    expect(await refusal({ connections: 3 })).toBe(
      "staging (stack staging): --connections 3 is fewer than the 6 hostnames it drives: at least 1 each, or pick one with --host\n",
    );
    expect(await refusal({}, { ENCLII_PROMETHEUS_URL: "ftp://prometheus" })).toBe(
      "staging (stack staging): ENCLII_PROMETHEUS_URL: must be an http:// or https:// URL, the read-only query path such as http://127.0.0.1:8080\n",
    );
  });
});

describe("every public hostname at once", () => {
  it("shares the rate over them and judges each against its own service's objective", async () => {
    let asked: Parameters<LoadGenerator>[0] | undefined;
    const synthetic: LoadGenerator = async (plan) => {
      asked = plan;
      // api.enclii.dev (first by name) answers slowly; every other host well inside the objectives.
      return {
        elapsedSeconds: 5,
        outcomes: plan.urls.map((_, i) => outcomes(Array(100).fill(i === 0 ? 250 : 30))),
      };
    };
    const { out, io } = capture();
    expect(await loadtestCommand({ ...ARGS, json: true }, io, { root: ROOT, env: {}, generate: synthetic })).toBe(EXIT.failed);
    expect(asked).toEqual({
      urls: ["api", "app", "auth", "docs", "", "status"].map((h) => `https://${h ? `${h}.` : ""}enclii.dev/`),
      rps: 100,
      durationSeconds: 5,
      connections: 24,
      maxErrorRatio: 0.05,
    });
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({
      operation: "loadtest",
      status: "slo-missed",
      exitCode: EXIT.failed,
      message: "staging: load test SLOs missed",
    });
    expect(resultProblems(out.stdout)).toEqual([]);
    const report = loadTestReportSchema.parse(result.loadtest);
    expect(report.targets.map((t) => [t.service, t.slo.latency.met])).toEqual([
      ["switchyard-api", false],
      ["switchyard-ui", true],
      ["janua", true],
      ["docs-site", true],
      ["landing-page", true],
      ["status-page", true],
    ]);
    expect(report).toMatchObject({ sloMet: false, stoppedEarly: false, total: { requests: 600, achievedRps: 120 } });
    expect(report.burnRates).toEqual({ window: "5m", pageAt: 14.4, rates: [], unavailable: "ENCLII_PROMETHEUS_URL is not set" });
    expect(out.stderr).toContain(
      "loadtest staging: 100 requests/s for 5 s over 24 connections to https://api.enclii.dev/, https://app.enclii.dev/,",
    );
  });
});

describe("autocannon against a server on loopback", () => {
  it(`reports the injected 2% errors and latencies (p50 ${BASE_DELAY_MS} ms, p95 ${SLOW_DELAY_MS} ms) within tolerance, and the burn rates Prometheus recorded`, async () => {
    const target = await injecting(
      (n) => (n % SLOW_EVERY === 5 ? SLOW_DELAY_MS : BASE_DELAY_MS),
      (n) => (n % ERROR_EVERY === 0 ? 500 : 200),
    );
    const prom = await prometheus((q) =>
      q.includes("request_errors")
        ? [{ service: "switchyard-api", value: "0.0036" }]
        : q.includes("latency_slow")
          ? [{ service: "switchyard-api", value: "NaN" }]
          : [],
    );
    const { out, io } = capture();
    const code = await loadtestCommand({ ...ARGS, host: "api.enclii.dev", json: true }, io, {
      root: ROOT,
      env: { ENCLII_PROMETHEUS_URL: prom.url },
      generate: toLoopback(target.url),
    });
    const report: LoadTestReport = loadTestReportSchema.parse(JSON.parse(out.stdout).loadtest);
    const [t] = report.targets;
    expect(t).toMatchObject({ url: "https://api.enclii.dev/", service: "switchyard-api", connectionErrors: 0 });
    // About 500 requests (100/s for 5 s), some the server took in flight as the run ended.
    expect(t.requests).toBeGreaterThan(400);
    expect(t.requests).toBeLessThanOrEqual(target.served());
    expect(Math.abs(t.errorRatio! - 1 / ERROR_EVERY)).toBeLessThanOrEqual(ERROR_RATIO_TOLERANCE);
    for (const [figure, injected] of [
      [t.latencyMs!.p50, BASE_DELAY_MS],
      [t.latencyMs!.p95, SLOW_DELAY_MS],
      [t.latencyMs!.p99, SLOW_DELAY_MS],
    ]) {
      expect(figure).toBeGreaterThanOrEqual(injected - TIMER_ROUNDING_MS);
      expect(figure).toBeLessThanOrEqual(injected + LATENCY_TOLERANCE_MS + SCHEDULING_SLACK_MS);
    }
    // Rate-limited: never above the rate asked (a tenth of a request of rounding), and near it on loopback.
    expect(t.achievedRps).toBeLessThanOrEqual(100.1);
    expect(t.achievedRps).toBeGreaterThan(80);
    // 2% errors miss the 0.1% objective; p95 150 ms meets 200 ms.
    expect(t.slo).toEqual({ latency: { objectiveP95Ms: 200, met: true }, errors: { objectiveRatio: 0.001, met: false } });
    expect(report).toMatchObject({ sloMet: false, stoppedEarly: false, requestedRps: 100, durationSeconds: 5, connections: 20 });
    expect(code).toBe(EXIT.failed);
    // NaN (no requests in the window) is no burn rate; an empty vector neither.
    expect(report.burnRates).toEqual({ window: "5m", pageAt: 14.4, rates: [{ service: "switchyard-api", sli: "errors", max: 3.6 }] });
    expect(prom.queries).toHaveLength(3);
    expect(prom.queries).toContain(
      'max by (service) (max_over_time(service:slo_request_errors:ratio_rate5m{service=~"switchyard-api"}[60s]))',
    );
  });

  it("stops on its own when half the answers are errors, says why, and exits 1", async () => {
    const target = await injecting(
      () => 5,
      (n) => (n % 2 === 0 ? 500 : 200),
    );
    const { out, io } = capture();
    const code = await loadtestCommand({ ...ARGS, host: "api.enclii.dev", duration: 30 }, io, {
      root: ROOT,
      env: {},
      generate: toLoopback(target.url),
    });
    expect(code).toBe(EXIT.failed);
    expect(out.stdout).toMatch(
      /\nstopped early: \d+ of the last \d+ requests failed \(\d+\.\d% over 2 s\), above --max-error-ratio 0\.05\nburn rates: none read \(ENCLII_PROMETHEUS_URL is not set\)\n$/,
    );
    // Its first line and the table's: how long it ran, and the error ratio it saw.
    const ran = Number(/; ran ([\d.]+) s,/.exec(out.stdout)![1]);
    expect(ran).toBeLessThan(10);
    const errors = Number(/https:\/\/api\.enclii\.dev\/ +\d+ +[\d.]+ +([\d.]+)%/.exec(out.stdout)![1]);
    expect(Math.abs(errors - 50)).toBeLessThanOrEqual(5);
  });

  it("keeps going under the limit: 2% errors do not stop a run limited to 5%", async () => {
    const target = await injecting(
      () => 5,
      (n) => (n % ERROR_EVERY === 0 ? 500 : 200),
    );
    const report = await loadtest(
      { ...ARGS, host: "api.enclii.dev", duration: 3 },
      { root: ROOT, env: {}, generate: toLoopback(target.url) },
    );
    expect(report.stoppedEarly).toBe(false);
    // Its own timer ended it: at 3 s less the event loop's cached clock, not at autocannon's next tick.
    expect(report.elapsedSeconds).toBeGreaterThanOrEqual(2.99);
  });

  it("counts refused connections as errors and names the last one when it stops", async () => {
    const closed = await injecting(
      () => 0,
      () => 200,
    );
    await new Promise((done) => servers.pop()!.close(done));
    const report = await loadtest(
      { ...ARGS, host: "api.enclii.dev", duration: 30 },
      { root: ROOT, env: {}, generate: toLoopback(closed.url) },
    );
    expect(report.stoppedEarly).toBe(true);
    expect(report.stopReason).toMatch(
      /requests failed \(100\.0% over 2 s\), above --max-error-ratio 0\.05 \(the last connection error: connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/,
    );
    expect(report.total).toMatchObject({ errorRatio: 1 });
    expect(report.total.connectionErrors).toBe(report.total.requests);
    expect(report.total.latencyMs).toBeUndefined();
  });

  it("stops when interrupted and reports what it measured until then", async () => {
    const target = await injecting(
      () => 5,
      () => 200,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT"), 1_500);
    const report = await loadtest(
      { ...ARGS, host: "api.enclii.dev", duration: 30 },
      { root: ROOT, env: {}, generate: toLoopback(target.url) },
      { signal: controller.signal },
    );
    expect(report).toMatchObject({ stoppedEarly: true, stopReason: "interrupted by SIGINT", sloMet: false });
    expect(report.elapsedSeconds).toBeLessThan(10);
    expect(report.total.requests).toBeGreaterThan(0);
  });

  it("a query path that fails costs the burn rates, not the report", async () => {
    const target = await injecting(
      () => 5,
      () => 200,
    );
    const prom = await prometheus(() => 503);
    const report = await loadtest(
      { ...ARGS, host: "api.enclii.dev", duration: 1 },
      { root: ROOT, env: { ENCLII_PROMETHEUS_URL: prom.url }, generate: toLoopback(target.url) },
    );
    expect(report.burnRates.unavailable).toBe(`the query path failed: ${prom.url} answered 503: overloaded`);
    expect(report.sloMet).toBe(true);
    expect(renderReport(report)).toContain(
      `\nSLOs met\nburn rates: none read (the query path failed: ${prom.url} answered 503: overloaded)`,
    );
  });
});

describe("enclii-infra loadtest, as the control plane runs it", () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, "automation", "launch.cjs"), "loadtest", ...args], {
      cwd: ROOT,
      env: { ...process.env, ENCLII_PROMETHEUS_URL: "" },
      encoding: "utf8",
    });

  it("refuses production without --allow-production: exit 2, as JSON when asked", () => {
    const res = cli(["--env", "production"]);
    expect(res.status).toBe(EXIT.usage);
    expect(res.stderr).toBe(
      "production (stack production): a load test sends real traffic to production's public hostnames, which customers use; refused without --allow-production\n",
    );
    const json = cli(["--env", "production", "--json"]);
    expect(json.status).toBe(EXIT.usage);
    expect(JSON.parse(json.stdout)).toMatchObject({
      operation: "loadtest",
      environment: "production",
      status: "usage",
      exitCode: EXIT.usage,
    });
  });

  it("refuses a bad --rps, --duration, --connections, --max-error-ratio, --path or --host with exit 2 and what the value must be", () => {
    const cases: [string[], string][] = [
      [["--rps", "0"], "error: option '--rps <n>' argument '0' is invalid. a whole number of requests a second from 1 to 10000"],
      [["--rps", "1.5"], "error: option '--rps <n>' argument '1.5' is invalid. a whole number of requests a second from 1 to 10000"],
      [
        ["--duration", "90"],
        "error: option '--duration <time>' argument '90' is invalid. a duration in seconds or minutes, such as 30s or 5m, from 1s to 60m",
      ],
      [
        ["--duration", "2h"],
        "error: option '--duration <time>' argument '2h' is invalid. a duration in seconds or minutes, such as 30s or 5m, from 1s to 60m",
      ],
      [["--connections", "0"], "error: option '--connections <n>' argument '0' is invalid. a whole number from 1 to 1000"],
      [
        ["--max-error-ratio", "5%"],
        "error: option '--max-error-ratio <ratio>' argument '5%' is invalid. a ratio from 0 to 1, such as 0.05",
      ],
      [
        ["--path", "healthz"],
        "error: option '--path <path>' argument 'healthz' is invalid. a URL path starting with /, such as /healthz, without spaces or #",
      ],
      [
        ["--host", "enclii.io"],
        "staging (stack staging): --host: enclii.io is not a public hostname of staging (its public hostnames: api.enclii.dev, app.enclii.dev, auth.enclii.dev, docs.enclii.dev, enclii.dev, status.enclii.dev)",
      ],
    ];
    for (const [args, message] of cases) {
      const res = cli(["--env", "staging", ...args]);
      expect(res.status, args.join(" ")).toBe(EXIT.usage);
      expect(res.stderr.split("\n")[0], args.join(" ")).toBe(message);
      expect(res.stdout, args.join(" ")).toBe("");
    }
  });
});
