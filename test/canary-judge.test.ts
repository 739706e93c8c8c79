/**
 * The canary's judge and the error-budget gate (model/canary.ts), and the client of the query
 * path they read through (automation/control/prometheus.ts, gate.ts): every branch of the decision
 * rule with its exact reason, the PromQL, and instantQuery against a local HTTP server answering
 * Prometheus's JSON, an error, something else, or nothing at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBudgetGate } from "../automation/control/gate";
import { UsageError } from "../automation/control/errors";
import { instantQuery, queryPathFromEnv, QueryPathError, trackFigures, type QueryPath } from "../automation/control/prometheus";
import { ERROR_OBJECTIVE, gateQueries, judgeCanary, judgeGate, trackQueries, type CanaryPolicy, type TrackFigures } from "../model/canary";

const POLICY: CanaryPolicy = {
  minRequests: 100,
  errorObjective: ERROR_OBJECTIVE,
  latencyP95Ms: 200,
  maxErrorRatioIncrease: 0.001,
  maxP95IncreaseMs: 50,
};
const STABLE: TrackFigures = { requests: 24_000, errorRatio: 0.0005, p95Ms: 110 };
const canary = (f: Partial<TrackFigures> = {}): TrackFigures => ({ requests: 1200, errorRatio: 0.0002, p95Ms: 120, ...f });
const NO_STABLE = "stable served no requests: judged against the objectives only";

describe("judgeCanary", () => {
  it("states the objective as the errors SLO leaves it, 0.1%", () => {
    expect(ERROR_OBJECTIVE).toBe(0.001);
  });

  it("aborts without metrics for the canary, or for either track", () => {
    expect(judgeCanary(POLICY, undefined, undefined)).toEqual({
      decision: "abort",
      cause: "no-metrics",
      reason:
        'no request metrics for either track (http_server_request_duration_seconds_count with track="stable" or "canary"): the service exports none, or its pods are not scraped with their track',
    });
    expect(judgeCanary(POLICY, undefined, STABLE)).toEqual({
      decision: "abort",
      cause: "no-metrics",
      reason:
        'no request metrics for the canary (http_server_request_duration_seconds_count with track="canary"), though stable has them: its pods export none or are not scraped',
      stable: STABLE,
    });
  });

  it("aborts when the canary saw fewer requests than minRequests, saying how many it saw and needs", () => {
    const few = canary({ requests: 42 });
    expect(judgeCanary(POLICY, few, STABLE)).toEqual({
      decision: "abort",
      cause: "no-traffic",
      reason: "the canary saw 42 requests, fewer than the 100 needed to judge it (minRequests); stable saw 24,000",
      canary: few,
      stable: STABLE,
    });
    expect(judgeCanary({ ...POLICY, minRequests: 1500 }, canary(), undefined)).toMatchObject({
      cause: "no-traffic",
      reason: "the canary saw 1,200 requests, fewer than the 1,500 needed to judge it (minRequests)",
    });
    // Exactly minRequests is enough to judge.
    expect(judgeCanary({ ...POLICY, minRequests: 1200 }, canary(), STABLE).decision).toBe("promote");
  });

  it("aborts when the canary's error ratio is above the objective, with stable's beside it", () => {
    const bad = canary({ errorRatio: 0.0042 });
    expect(judgeCanary(POLICY, bad, STABLE)).toEqual({
      decision: "abort",
      cause: "errors",
      reason: "canary 0.42% errors over 1,200 requests, above the objective 0.10% (stable 0.05%)",
      canary: bad,
      stable: STABLE,
    });
    expect(judgeCanary(POLICY, bad, { requests: 0 }).reason).toBe(
      `canary 0.42% errors over 1,200 requests, above the objective 0.10% (${NO_STABLE})`,
    );
    expect(judgeCanary(POLICY, bad, undefined).reason).toBe(
      `canary 0.42% errors over 1,200 requests, above the objective 0.10% (${NO_STABLE})`,
    );
    // At the objective exactly is within it.
    expect(judgeCanary(POLICY, canary({ errorRatio: 0.001 }), STABLE).decision).toBe("promote");
  });

  it("aborts when the canary's error ratio exceeds stable's by more than maxErrorRatioIncrease", () => {
    const policy = { ...POLICY, maxErrorRatioIncrease: 0.0002 };
    const stable = { ...STABLE, errorRatio: 0.0001 };
    expect(judgeCanary(policy, canary({ errorRatio: 0.0008 }), stable)).toMatchObject({
      decision: "abort",
      cause: "errors",
      reason: "canary 0.08% errors over 1,200 requests, above stable's 0.01% plus the allowed increase 0.02%",
    });
    expect(judgeCanary(policy, canary({ errorRatio: 0.0003 }), stable).decision).toBe("promote");
  });

  it("aborts when the canary has requests but no error ratio", () => {
    expect(judgeCanary(POLICY, { requests: 1200 }, STABLE)).toMatchObject({
      cause: "no-metrics",
      reason: "the canary's error ratio could not be computed over 1,200 requests",
    });
  });

  it("aborts when the canary's p95 is above latencyP95Ms, with stable's p95, or its absence, beside it", () => {
    const slow = canary({ p95Ms: 245 });
    expect(judgeCanary(POLICY, slow, STABLE)).toEqual({
      decision: "abort",
      cause: "latency",
      reason: "canary p95 245 ms over 1,200 requests, above the objective 200 ms (stable 110 ms)",
      canary: slow,
      stable: STABLE,
    });
    expect(judgeCanary(POLICY, slow, undefined).reason).toBe(
      `canary p95 245 ms over 1,200 requests, above the objective 200 ms (${NO_STABLE})`,
    );
    expect(judgeCanary(POLICY, slow, { requests: 500, errorRatio: 0 }).reason).toBe(
      "canary p95 245 ms over 1,200 requests, above the objective 200 ms (stable has no p95)",
    );
    expect(judgeCanary(POLICY, canary({ p95Ms: 200 }), { ...STABLE, p95Ms: 180 }).decision).toBe("promote");
  });

  it("aborts when the canary's p95 exceeds stable's by more than maxP95IncreaseMs", () => {
    expect(judgeCanary(POLICY, canary({ p95Ms: 170.25 }), STABLE)).toMatchObject({
      decision: "abort",
      cause: "latency",
      reason: "canary p95 170.3 ms over 1,200 requests, above stable's 110 ms plus the allowed increase 50 ms",
    });
    expect(judgeCanary(POLICY, canary({ p95Ms: 160 }), STABLE).decision).toBe("promote");
  });

  it("aborts when latency is to be judged and the canary has no p95", () => {
    expect(judgeCanary(POLICY, { requests: 1200, errorRatio: 0 }, STABLE)).toMatchObject({
      cause: "no-metrics",
      reason:
        "the canary's p95 could not be computed from http_server_request_duration_seconds_bucket over 1,200 requests: its latency cannot be judged against 200 ms",
    });
  });

  it("promotes within the objectives and stable's figures, naming each", () => {
    const good = canary();
    expect(judgeCanary(POLICY, good, STABLE)).toEqual({
      decision: "promote",
      reason:
        "canary 0.02% errors and p95 120 ms over 1,200 requests: errors within the objective 0.10% and stable's 0.05% + 0.10%; p95 within the objective 200 ms and stable's 110 ms + 50 ms",
      canary: good,
      stable: STABLE,
    });
  });

  it("promotes without a latency judgement when latencyP95Ms is unset, slow or without a p95", () => {
    const policy = { ...POLICY, latencyP95Ms: undefined };
    expect(judgeCanary(policy, canary({ p95Ms: 900 }), STABLE).reason).toBe(
      "canary 0.02% errors and p95 900 ms over 1,200 requests: errors within the objective 0.10% and stable's 0.05% + 0.10%; latency not judged (no latencyP95Ms)",
    );
    expect(judgeCanary(policy, { requests: 1200, errorRatio: 0 }, STABLE).reason).toBe(
      "canary 0.00% errors over 1,200 requests: errors within the objective 0.10% and stable's 0.05% + 0.10%; latency not judged (no latencyP95Ms)",
    );
  });

  it("promotes against the objectives only when stable served nothing, and says so", () => {
    expect(judgeCanary(POLICY, canary(), undefined)).toEqual({
      decision: "promote",
      reason: `canary 0.02% errors and p95 120 ms over 1,200 requests: errors within the objective 0.10%; p95 within the objective 200 ms; ${NO_STABLE}`,
      canary: canary(),
      stable: { requests: 0 },
    });
  });
});

describe("judgeGate", () => {
  const burns = "14.4× over 1h and 5m or 6× over 6h and 30m";

  it("refuses while a fast-burn alert fires, whatever budget remains", () => {
    expect(judgeGate({ fastBurnFiring: true, budgetRemainingPercent: 92.34, minRemainingPercent: 0 })).toEqual({
      allowed: false,
      fastBurnFiring: true,
      budgetRemainingPercent: 92.34,
      reason: `a fast-burn SLO alert is firing (the error budget burning at ${burns}; 92.3% of the 30d error budget remains): deploy once it has stopped, or pass --force to deploy anyway`,
    });
    expect(judgeGate({ fastBurnFiring: true, minRemainingPercent: 0 })).toEqual({
      allowed: false,
      fastBurnFiring: true,
      reason: `a fast-burn SLO alert is firing (the error budget burning at ${burns}): deploy once it has stopped, or pass --force to deploy anyway`,
    });
  });

  it("refuses when less than minRemainingPercent of the budget remains, an overspent budget included", () => {
    expect(judgeGate({ fastBurnFiring: false, budgetRemainingPercent: 31.25, minRemainingPercent: 50 })).toEqual({
      allowed: false,
      fastBurnFiring: false,
      budgetRemainingPercent: 31.25,
      reason:
        "31.3% of the 30d error budget remains, less than the 50% this service requires (minRemainingPercent); deploy once it has recovered, or pass --force to deploy anyway",
    });
    expect(judgeGate({ fastBurnFiring: false, budgetRemainingPercent: -40, minRemainingPercent: 0 }).reason).toBe(
      "-40.0% of the 30d error budget remains, less than the 0% this service requires (minRemainingPercent); deploy once it has recovered, or pass --force to deploy anyway",
    );
  });

  it("allows with the budget at or above minRemainingPercent, or with nothing recorded", () => {
    expect(judgeGate({ fastBurnFiring: false, budgetRemainingPercent: 50, minRemainingPercent: 50 })).toEqual({
      allowed: true,
      fastBurnFiring: false,
      budgetRemainingPercent: 50,
      reason: "no fast-burn SLO alert is firing, and 50.0% of the 30d error budget remains (at least 50% required)",
    });
    expect(judgeGate({ fastBurnFiring: false, minRemainingPercent: 50 })).toEqual({
      allowed: true,
      fastBurnFiring: false,
      reason: "no fast-burn SLO alert is firing, and no error ratio was recorded over 30d: nothing has spent the budget",
    });
  });
});

describe("PromQL", () => {
  it("asks for a track's requests, 5xx and p95 by the service and track labels", () => {
    expect(trackQueries("switchyard-api", "canary", "5m")).toEqual({
      requests: 'sum(increase(http_server_request_duration_seconds_count{service="switchyard-api",track="canary"}[5m]))',
      errors:
        'sum(increase(http_server_request_duration_seconds_count{service="switchyard-api",track="canary",http_response_status_code=~"5.."}[5m]))',
      p95Seconds:
        'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{service="switchyard-api",track="canary"}[5m])))',
    });
  });

  it("asks for the service's firing fast-burn alerts and its lowest remaining 30-day budget", () => {
    const count = "http_server_request_duration_seconds_count";
    expect(gateQueries("janua")).toEqual({
      fastBurn:
        'ALERTS{alertstate="firing",alertname=~"SLOAvailabilityBudgetBurnFast|SLOErrorsBudgetBurnFast|SLOLatencyBudgetBurnFast",service="janua"}',
      budgetRemaining:
        'min(label_replace(100 * (1 - service:slo_availability_errors:ratio_rate30d{service="janua"} / 0.0005), "slo", "availability", "", "")' +
        ` or label_replace(100 * (1 - ((sum(rate(${count}{service="janua",http_response_status_code=~"5.."}[30d])) or vector(0))` +
        ` / sum(rate(${count}{service="janua"}[30d]))) / 0.001), "slo", "errors", "", ""))`,
    });
  });
});

describe("queryPathFromEnv", () => {
  it("reads the URL and token from the environment, and nothing when the URL is unset or empty", () => {
    expect(queryPathFromEnv({})).toBeUndefined();
    expect(queryPathFromEnv({ ENCLII_PROMETHEUS_URL: "", ENCLII_PROMETHEUS_TOKEN: "t0ken" })).toBeUndefined();
    expect(queryPathFromEnv({ ENCLII_PROMETHEUS_URL: "http://127.0.0.1:8080" })).toEqual({ url: "http://127.0.0.1:8080" });
    expect(queryPathFromEnv({ ENCLII_PROMETHEUS_URL: "https://q.example/prom", ENCLII_PROMETHEUS_TOKEN: "t0ken" })).toEqual({
      url: "https://q.example/prom",
      token: "t0ken",
    });
  });

  it("refuses a URL that is not http(s) or carries credentials, without quoting it", () => {
    const refused = (url: string) => {
      try {
        queryPathFromEnv({ ENCLII_PROMETHEUS_URL: url });
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    const notUrl = "ENCLII_PROMETHEUS_URL: must be an http:// or https:// URL, the read-only query path such as http://127.0.0.1:8080";
    expect(refused("prometheus:9090")).toBe(notUrl);
    expect(refused("not a url")).toBe(notUrl);
    expect(refused("ftp://127.0.0.1/")).toBe(notUrl);
    expect(refused("https://me:s3cret@q.example/")).toBe(
      "ENCLII_PROMETHEUS_URL: must not carry credentials; put a bearer token in ENCLII_PROMETHEUS_TOKEN",
    );
  });
});

/** A local stand-in for the query path: each test sets how it answers. */
let server: Server;
let base: string;
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const seen: { url: string; authorization?: string }[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url!, authorization: req.headers.authorization });
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const vector = (result: { metric: Record<string, string>; value: [number, string] }[]) =>
  JSON.stringify({ status: "success", data: { resultType: "vector", result } });
const send =
  (status: number, body: string, type = "application/json") =>
  (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };
async function queryError(path: QueryPath, timeoutMs?: number): Promise<string> {
  const e = await instantQuery(path, "up", fetch, timeoutMs).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(QueryPathError);
  return (e as Error).message;
}

describe("instantQuery (a local HTTP server)", () => {
  it("GETs /api/v1/query under the base URL with the bearer token, and reads the vector's values, special floats included", async () => {
    answer = send(
      200,
      vector([
        { metric: { service: "a" }, value: [1, "0.5"] },
        { metric: {}, value: [1, "NaN"] },
        { metric: {}, value: [1, "+Inf"] },
      ]),
    );
    seen.length = 0;
    const result = await instantQuery({ url: `${base}/prom/`, token: "t0ken" }, 'sum(x{a="b"})');
    expect(result).toEqual([
      { labels: { service: "a" }, value: 0.5 },
      { labels: {}, value: NaN },
      { labels: {}, value: Infinity },
    ]);
    expect(seen).toEqual([{ url: `/prom/api/v1/query?query=${encodeURIComponent('sum(x{a="b"})')}`, authorization: "Bearer t0ken" }]);
    seen.length = 0;
    await instantQuery({ url: base }, "up");
    expect(seen).toEqual([{ url: "/api/v1/query?query=up", authorization: undefined }]);
  });

  it("throws on an error status, quoting Prometheus's error or the start of the body", async () => {
    answer = send(400, JSON.stringify({ status: "error", errorType: "bad_data", error: 'parse error at char 3: unexpected "}"' }));
    expect(await queryError({ url: `${base}/prom` })).toBe(`${base}/prom answered 400: parse error at char 3: unexpected "}"`);
    answer = send(502, "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>", "text/html");
    expect(await queryError({ url: base })).toBe(`${base} answered 502: <html> <head><title>502 Bad Gateway</title></head> </html>`);
    answer = send(503, "x".repeat(500), "text/plain");
    expect(await queryError({ url: base })).toBe(`${base} answered 503: ${"x".repeat(200)}…`);
  });

  it("throws on a 2xx that is not Prometheus's JSON vector", async () => {
    answer = send(200, "hello", "text/plain");
    expect(await queryError({ url: base })).toBe(`${base} did not answer with Prometheus's JSON vector: hello`);
    const scalar = JSON.stringify({ status: "success", data: { resultType: "scalar", result: [1, "1"] } });
    answer = send(200, scalar);
    expect(await queryError({ url: base })).toBe(`${base} did not answer with Prometheus's JSON vector: ${scalar}`);
    const numbers = JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1, 1] }] } });
    answer = send(200, numbers);
    expect(await queryError({ url: base })).toBe(`${base} did not answer with Prometheus's JSON vector: ${numbers}`);
  });

  it("gives up on a server that never answers after its timeout", async () => {
    answer = () => {};
    const started = Date.now();
    expect(await queryError({ url: base }, 300)).toBe(`${base} gave no answer within 0.3 s`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("throws when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise((r) => closed.close(r));
    expect(await queryError({ url })).toBe(`${url} could not be reached: ECONNREFUSED`);
  });
});

/** A query path that answers each PromQL text from a table (unknown queries fail the test). */
function fakePath(answers: Record<string, { value: string }[]>): typeof fetch {
  return async (input) => {
    const query = new URL(String(input)).searchParams.get("query")!;
    const result = answers[query];
    if (!result) throw new Error(`unexpected query ${query}`);
    return new Response(vector(result.map((r) => ({ metric: {}, value: [1, r.value] }))));
  };
}
const PATH = { url: "http://query.test" };
const refused: typeof fetch = async () => {
  throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
};

describe("trackFigures", () => {
  const q = trackQueries("api", "canary", "5m");
  const s = trackQueries("api", "stable", "5m");

  it("turns the three answers into figures: whole requests, the 5xx share, p95 in ms", async () => {
    const figures = await trackFigures(
      PATH,
      "api",
      "canary",
      "5m",
      fakePath({ [q.requests]: [{ value: "1199.6" }], [q.errors]: [{ value: "6" }], [q.p95Seconds]: [{ value: "0.1555" }] }),
    );
    expect(figures).toEqual({ requests: 1200, errorRatio: 6 / 1199.6, p95Ms: 155.5 });
  });

  it("counts a track without 5xx series as error-free, and leaves out a p95 the histogram cannot give", async () => {
    const figures = await trackFigures(
      PATH,
      "api",
      "canary",
      "5m",
      fakePath({ [q.requests]: [{ value: "300" }], [q.errors]: [], [q.p95Seconds]: [{ value: "NaN" }] }),
    );
    expect(figures).toEqual({ requests: 300, errorRatio: 0 });
  });

  it("gives no figures without request series, and zero requests without ratios", async () => {
    expect(
      await trackFigures(PATH, "api", "canary", "5m", fakePath({ [q.requests]: [], [q.errors]: [], [q.p95Seconds]: [] })),
    ).toBeUndefined();
    const idle = fakePath({ [q.requests]: [{ value: "0.3" }], [q.errors]: [], [q.p95Seconds]: [{ value: "NaN" }] });
    expect(await trackFigures(PATH, "api", "canary", "5m", idle)).toEqual({ requests: 0 });
  });

  it("gives figures judgeCanary promotes on, and throws QueryPathError when the query path does not answer", async () => {
    const healthy = fakePath({
      [q.requests]: [{ value: "1200" }],
      [q.errors]: [],
      [q.p95Seconds]: [{ value: "0.12" }],
      [s.requests]: [{ value: "24000" }],
      [s.errors]: [{ value: "12" }],
      [s.p95Seconds]: [{ value: "0.11" }],
    });
    const [c, st] = await Promise.all([
      trackFigures(PATH, "api", "canary", "5m", healthy),
      trackFigures(PATH, "api", "stable", "5m", healthy),
    ]);
    expect([c, st]).toEqual([
      { requests: 1200, errorRatio: 0, p95Ms: 120 },
      { requests: 24_000, errorRatio: 0.0005, p95Ms: 110 },
    ]);
    expect(judgeCanary(POLICY, c, st)).toMatchObject({ decision: "promote" });
    const e = await trackFigures(PATH, "api", "canary", "5m", refused).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(QueryPathError);
    expect((e as Error).message).toBe("http://query.test could not be reached: ECONNREFUSED");
  });
});

describe("errorBudgetGate", () => {
  const g = gateQueries("api");

  it("is not allowed without a query path, saying what to set", async () => {
    expect(await errorBudgetGate(undefined, "api", 0)).toEqual({
      allowed: false,
      fastBurnFiring: false,
      reason:
        "no query path to Prometheus, so the error budget cannot be checked: set ENCLII_PROMETHEUS_URL to the read-only query path (and ENCLII_PROMETHEUS_TOKEN if it wants a bearer token), or pass --force to deploy without the check",
    });
  });

  it("is not allowed when the query path does not answer", async () => {
    expect(await errorBudgetGate(PATH, "api", 0, refused)).toEqual({
      allowed: false,
      fastBurnFiring: false,
      reason:
        "the query path did not answer (http://query.test could not be reached: ECONNREFUSED), so the error budget cannot be checked: check ENCLII_PROMETHEUS_URL and ENCLII_PROMETHEUS_TOKEN, or pass --force to deploy without the check",
    });
  });

  it("judges the firing alerts and the remaining budget Prometheus gives", async () => {
    const firing = fakePath({ [g.fastBurn]: [{ value: "1" }], [g.budgetRemaining]: [{ value: "12.5" }] });
    expect(await errorBudgetGate(PATH, "api", 0, firing)).toMatchObject({
      allowed: false,
      fastBurnFiring: true,
      budgetRemainingPercent: 12.5,
    });
    const low = fakePath({ [g.fastBurn]: [], [g.budgetRemaining]: [{ value: "12.5" }] });
    expect(await errorBudgetGate(PATH, "api", 20, low)).toMatchObject({
      allowed: false,
      fastBurnFiring: false,
      budgetRemainingPercent: 12.5,
    });
    expect(await errorBudgetGate(PATH, "api", 10, low)).toMatchObject({ allowed: true, budgetRemainingPercent: 12.5 });
    const idle = fakePath({ [g.fastBurn]: [], [g.budgetRemaining]: [{ value: "NaN" }] });
    expect(await errorBudgetGate(PATH, "api", 50, idle)).toEqual(judgeGate({ fastBurnFiring: false, minRemainingPercent: 50 }));
  });
});
