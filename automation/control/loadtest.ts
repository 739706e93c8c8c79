/**
 * `enclii-infra loadtest`: drives an environment's public hostnames with autocannon at a fixed
 * rate for a fixed time, stops on its own when too many requests fail (model/loadtest.ts
 * STOP_RULE), and reports what it measured against the SLOs, with the burn rates Prometheus
 * recorded meanwhile (docs/control-plane.md#load-test). No Pulumi: the hostnames come from the
 * stack file and the specs, read as the program reads them.
 */
import autocannon from "autocannon";
import { operationResult, type OperationResult, type ResultBase } from "../../model/contract";
import { PRODUCTION_STACK } from "../../model/config/schema";
import {
  burnRateQueries,
  burnRates,
  burnRatesUnavailable,
  defaultConnections,
  figures,
  LatencyHistogram,
  REQUEST_TIMEOUT_S,
  sloVerdict,
  SLIS,
  StopWindow,
  stopWindowSeconds,
  type BurnRates,
  type LoadTestReport,
  type Outcomes,
  type Sli,
} from "../../model/loadtest";
import { ConfigError } from "../../stacks/config";
import type { Io } from "./commands";
import { loadEnvironment } from "./environment";
import { UsageError } from "./errors";
import { instantQuery, queryPathFromEnv, URL_VARIABLE, type QueryPath } from "./prometheus";
import { STOP_SIGNALS } from "./signals";

export interface LoadtestArgs {
  env: string;
  rps: number;
  /** Seconds. */
  duration: number;
  path: string;
  host?: string;
  connections?: number;
  maxErrorRatio: number;
  allowProduction?: boolean;
  json?: boolean;
}

/** What the generator is asked: the rate over all `urls` together. */
export interface LoadPlan {
  urls: string[];
  rps: number;
  durationSeconds: number;
  connections: number;
  maxErrorRatio: number;
}

/** What it measured, per URL in the plan's order; `stopReason` when it ended before its duration. */
export interface LoadRun {
  elapsedSeconds: number;
  outcomes: Outcomes[];
  stopReason?: string;
}

export type LoadGenerator = (plan: LoadPlan, opts: { signal?: AbortSignal; progress?: (line: string) => void }) => Promise<LoadRun>;

export interface LoadtestDeps {
  root: string;
  /** Where the query path is read from (ENCLII_PROMETHEUS_URL, ENCLII_PROMETHEUS_TOKEN). */
  env: NodeJS.ProcessEnv;
  /** autocannon unless a test stands in. */
  generate?: LoadGenerator;
}

/** A line of progress this often, so a long run shows it is alive. */
const PROGRESS_INTERVAL_MS = 10_000;
/**
 * autocannon's own end comes at a one-second tick at or after its duration (a run of 5 s can last
 * 6); the run is ended by its own timer instead, and autocannon's duration is only a backstop.
 */
const BACKSTOP_S = 2;

function merge(all: Outcomes[]): Outcomes {
  return {
    latencies: all.reduce((h, o) => h.add(o.latencies), new LatencyHistogram()),
    statusErrors: all.reduce((n, o) => n + o.statusErrors, 0),
    connectionErrors: all.reduce((n, o) => n + o.connectionErrors, 0),
  };
}

/**
 * autocannon at `plan.rps` over all URLs (its `overallRate`: each connection sends its share of
 * every second's requests, one after another), each answer and each failed attempt recorded
 * against its URL as it happens. The duration, the stop rule or `signal` ends the run: what
 * arrives after is not counted, and the run resolves once autocannon has closed its connections.
 */
export const generateLoad: LoadGenerator = (plan, opts) =>
  new Promise((resolve, reject) => {
    const index = new Map(plan.urls.map((u, i) => [new URL(u).origin, i]));
    const outcomes: Outcomes[] = plan.urls.map(() => ({ latencies: new LatencyHistogram(), statusErrors: 0, connectionErrors: 0 }));
    const window = new StopWindow(plan.rps, plan.maxErrorRatio);
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let ended: { elapsedSeconds: number; stopReason?: string } | undefined;
    let lastConnectionError: string | undefined;

    const end = (stopReason?: string) => {
      if (ended) return;
      ended = { elapsedSeconds: elapsed(), ...(stopReason !== undefined && { stopReason }) };
      instance.stop();
    };
    const record = (failed: boolean) => {
      if (ended) return false;
      const why = window.record(performance.now(), failed);
      if (why) end(`${why}${lastConnectionError ? ` (the last connection error: ${lastConnectionError})` : ""}`);
      return true;
    };
    const instance = autocannon(
      {
        url: plan.urls,
        connections: plan.connections,
        overallRate: plan.rps,
        duration: plan.durationSeconds + BACKSTOP_S,
        timeout: REQUEST_TIMEOUT_S,
        setupClient: (client) => {
          const i = index.get(client.opts.origin)!;
          client.on("response", (status, _bytes, latencyMs) => {
            const failed = status < 200 || status >= 400;
            if (!record(failed)) return;
            outcomes[i].latencies.record(latencyMs);
            if (failed) outcomes[i].statusErrors++;
          });
          const failedAttempt = (message: string) => {
            lastConnectionError = message;
            if (record(true)) outcomes[i].connectionErrors++;
          };
          client.on("connError", (err) => failedAttempt(err.message));
          client.on("timeout", () => failedAttempt(`no answer within ${REQUEST_TIMEOUT_S} s`));
        },
      },
      (err) => {
        clearTimeout(deadline);
        clearInterval(ticker);
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) return reject(err);
        // Ended by the deadline, the stop rule or a signal; by autocannon's backstop only if the deadline's timer came that late.
        const { elapsedSeconds, stopReason } = ended ?? { elapsedSeconds: elapsed() };
        resolve({ elapsedSeconds, outcomes, ...(stopReason !== undefined && { stopReason }) });
      },
    );
    const deadline = setTimeout(() => end(), plan.durationSeconds * 1000);
    const onAbort = () => end(`interrupted by ${String(opts.signal?.reason ?? "a signal")}`);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort);
    const ticker = setInterval(() => {
      const requests = outcomes.reduce((n, o) => n + o.latencies.count + o.connectionErrors, 0);
      const errors = outcomes.reduce((n, o) => n + o.statusErrors + o.connectionErrors, 0);
      opts.progress?.(
        `loadtest: ${Math.round(elapsed())} s of ${plan.durationSeconds}, ${requests} requests, ${requests ? ((100 * errors) / requests).toFixed(2) : "0.00"}% errors`,
      );
    }, PROGRESS_INTERVAL_MS);
  });

interface Target {
  hostname: string;
  service: string;
  latencyP95Ms?: number;
}

/** The environment's public hostnames: each service's routes under `enclii:domain` (Grafana's sits behind Cloudflare Access, and is left out). */
function publicTargets(root: string, environment: string): Target[] {
  const env = loadEnvironment(root, environment);
  return env.services
    .flatMap((s) => s.hostnames.map((hostname) => ({ hostname, service: s.name, latencyP95Ms: s.metrics?.latencyP95Ms })))
    .sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
}

/** The run's targets and connections, every problem with the arguments as a UsageError. */
function plan(a: LoadtestArgs, root: string): { targets: Target[]; connections: number } {
  if (a.env === PRODUCTION_STACK && !a.allowProduction)
    throw new UsageError(
      `a load test sends real traffic to ${PRODUCTION_STACK}'s public hostnames, which customers use; refused without --allow-production`,
    );
  const all = publicTargets(root, a.env);
  if (all.length === 0) throw new UsageError(`${a.env} has no public hostnames: no service in dogfooding/ has spec.routes`);
  const targets = a.host === undefined ? all : all.filter((t) => t.hostname === a.host);
  if (targets.length === 0)
    throw new UsageError(
      `--host: ${a.host} is not a public hostname of ${a.env} (its public hostnames: ${all.map((t) => t.hostname).join(", ")})`,
    );
  const n = targets.length;
  const fewer = (flag: string, value: number) =>
    new UsageError(`${flag} ${value} is fewer than the ${n} hostnames it drives: at least 1 each, or pick one with --host`);
  if (a.rps < n) throw fewer("--rps", a.rps);
  if (a.connections !== undefined && a.connections < n) throw fewer("--connections", a.connections);
  // autocannon opens no more connections than the rate: each sends at least one request a second.
  return { targets, connections: Math.min(a.rps, a.connections ?? defaultConnections(a.rps, n)) };
}

/** What the recording rules saw during the run; a query path that fails costs the burn rates, not the report. */
async function readBurnRates(path: QueryPath | undefined, services: string[], elapsedSeconds: number): Promise<BurnRates> {
  if (!path) return burnRatesUnavailable(`${URL_VARIABLE} is not set`);
  const queries = burnRateQueries(services, elapsedSeconds);
  try {
    const read = await Promise.all(
      SLIS.map(async (sli) => {
        const vector = await instantQuery(path, queries[sli]);
        // 0/0 is NaN: a service that had no requests in the window has no ratio.
        return [sli, vector.filter((s) => Number.isFinite(s.value)).map((s) => ({ service: s.labels.service, ratio: s.value }))] as const;
      }),
    );
    return burnRates(Object.fromEntries(read) as Record<Sli, { service: string; ratio: number }[]>);
  } catch (err) {
    return burnRatesUnavailable(`the query path failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The run measured, as the report. */
export async function loadtest(
  a: LoadtestArgs,
  deps: LoadtestDeps,
  opts: { signal?: AbortSignal; progress?: (line: string) => void } = {},
): Promise<LoadTestReport> {
  const { targets, connections } = plan(a, deps.root);
  // Read before the run: a query path set wrong is a usage error while nothing has been sent yet.
  const queryPath = queryPathFromEnv(deps.env);
  const urls = targets.map((t) => `https://${t.hostname}${a.path}`);
  opts.progress?.(
    `loadtest ${a.env}: ${a.rps} requests/s for ${a.duration} s over ${connections} connections to ${urls.join(", ")}` +
      `; stops if the error ratio over the last ${stopWindowSeconds(a.rps)} s exceeds ${a.maxErrorRatio}`,
  );
  const run = await (deps.generate ?? generateLoad)(
    { urls, rps: a.rps, durationSeconds: a.duration, connections, maxErrorRatio: a.maxErrorRatio },
    opts,
  );
  const perTarget = targets.map((t, i) => {
    const f = figures(run.outcomes[i], run.elapsedSeconds);
    return { url: urls[i], hostname: t.hostname, service: t.service, ...f, slo: sloVerdict(f, t.latencyP95Ms) };
  });
  const stoppedEarly = run.stopReason !== undefined;
  return {
    environment: a.env,
    path: a.path,
    requestedRps: a.rps,
    durationSeconds: a.duration,
    elapsedSeconds: Number(run.elapsedSeconds.toFixed(2)),
    connections,
    maxErrorRatio: a.maxErrorRatio,
    total: figures(merge(run.outcomes), run.elapsedSeconds),
    targets: perTarget,
    sloMet: !stoppedEarly && perTarget.every((t) => t.slo.latency.met && t.slo.errors.met),
    stoppedEarly,
    ...(stoppedEarly && { stopReason: run.stopReason }),
    burnRates: await readBurnRates(queryPath, [...new Set(targets.map((t) => t.service))], run.elapsedSeconds),
  };
}

const pct = (ratio?: number) => (ratio === undefined ? "-" : `${(ratio * 100).toFixed(2)}%`);
const msText = (n?: number) => (n === undefined ? "-" : `${n.toFixed(1)} ms`);

/** The report as a short table, one row per hostname and one for all. */
export function renderReport(r: LoadTestReport): string {
  const rows = [
    ["target", "requests", "rate/s", "errors", "p50", "p95", "p99", "SLO"],
    ...r.targets.map((t) => {
      const missed = [
        ...(t.slo.latency.met ? [] : [`p95 not under ${t.slo.latency.objectiveP95Ms} ms`]),
        ...(t.slo.errors.met ? [] : [`errors not under ${pct(t.slo.errors.objectiveRatio)}`]),
      ];
      return [
        t.url,
        String(t.requests),
        t.achievedRps.toFixed(1),
        pct(t.errorRatio),
        msText(t.latencyMs?.p50),
        msText(t.latencyMs?.p95),
        msText(t.latencyMs?.p99),
        missed.length ? `missed: ${missed.join(", ")}` : "met",
      ];
    }),
    [
      "all",
      String(r.total.requests),
      r.total.achievedRps.toFixed(1),
      pct(r.total.errorRatio),
      msText(r.total.latencyMs?.p50),
      msText(r.total.latencyMs?.p95),
      msText(r.total.latencyMs?.p99),
      "",
    ],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const table = rows.map((row) =>
    `  ${row.map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")}`.trimEnd(),
  );
  const b = r.burnRates;
  const burn = b.unavailable
    ? `burn rates: none read (${b.unavailable})`
    : `burn rates (highest over the ${b.window} window during the run; the fast-burn page fires at ${b.pageAt}): ` +
      (b.rates.map((x) => `${x.service} ${x.sli} ${x.max}`).join(", ") || "no series for these services");
  return [
    `${r.environment}: ${r.requestedRps} requests/s asked for ${r.durationSeconds} s over ${r.connections} connections; ran ${r.elapsedSeconds} s, ${r.total.connectionErrors} request(s) without an answer`,
    ...table,
    r.stoppedEarly ? `stopped early: ${r.stopReason}` : r.sloMet ? "SLOs met" : "SLOs missed",
    burn,
  ].join("\n");
}

/**
 * The report as every command's result: `ok` when every SLO was met over the whole duration,
 * `cancelled` after a signal, `slo-missed` (exit 1) otherwise; the report under `loadtest`.
 */
function loadtestResult(a: LoadtestArgs, r: LoadTestReport, interrupted: boolean): OperationResult {
  const base: ResultBase = { operation: "loadtest", environment: a.env, stack: a.env };
  const status = interrupted ? "cancelled" : r.sloMet ? "ok" : "slo-missed";
  const said = r.stoppedEarly ? `stopped early: ${r.stopReason}` : r.sloMet ? "SLOs met" : "SLOs missed";
  return operationResult(base, status, `${a.env}: load test ${said}`, { loadtest: r });
}

/**
 * Runs the command and prints its answer: the report (a table, or with --json the report as JSON);
 * a usage error as every command gives one (docs/control-plane.md#exit-status). SIGINT or SIGTERM
 * ends the run early and still reports what was measured (exit 11, cancelled).
 */
export async function loadtestCommand(a: LoadtestArgs, io: Io, deps: LoadtestDeps): Promise<number> {
  const progress = (line: string) => (a.json ? io.stderr : io.stdout)(`${line}\n`);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    const report = await loadtest(a, deps, { signal: controller.signal, progress });
    const res = loadtestResult(a, report, controller.signal.aborted);
    if (a.json) io.stdout(`${JSON.stringify(res)}\n`);
    else io.stdout(`${renderReport(report)}\n`);
    return res.exitCode;
  } catch (err) {
    const base: ResultBase = { operation: "loadtest", environment: a.env, stack: a.env };
    const usage = err instanceof UsageError || err instanceof ConfigError;
    const res = usage
      ? operationResult(base, "usage", err.message)
      : operationResult(base, "failed", `${a.env}: loadtest failed: ${err instanceof Error ? err.message : String(err)}`);
    if (a.json) io.stdout(`${JSON.stringify(res)}\n`);
    else io.stderr(`${res.message}\n`);
    return res.exitCode;
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
