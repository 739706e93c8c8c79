/**
 * A small client of Prometheus's read-only query path (docs/observability.md: nginx passing GET
 * /api/v1/query and /api/v1/query_range only): instant queries, and a track's canary figures.
 * Anything but Prometheus's JSON answer is a QueryPathError, which a canary and the deploy gate
 * treat as "cannot judge", never as healthy.
 */
import { trackQueries, type TrackFigures } from "../../model/canary";
import { UsageError } from "./errors";

/** Base URL of the read-only proxy; bearer token optional. */
export interface QueryPath {
  url: string;
  token?: string;
}

export const URL_VARIABLE = "ENCLII_PROMETHEUS_URL";
export const TOKEN_VARIABLE = "ENCLII_PROMETHEUS_TOKEN";
/** The proxy's own read timeout (components/observability/readonlyProxy.ts): past it nginx has given up too. */
export const QUERY_TIMEOUT_MS = 10_000;
/** How much of a non-JSON or error answer a message quotes. */
const QUOTED_CHARS = 200;
const MS_PER_SECOND = 1000;

/**
 * `ENCLII_PROMETHEUS_URL` and `ENCLII_PROMETHEUS_TOKEN` from the environment (never arguments,
 * which other users can read in the process list); undefined when the URL is unset or empty.
 */
export function queryPathFromEnv(env: NodeJS.ProcessEnv): QueryPath | undefined {
  const url = env[URL_VARIABLE];
  if (!url) return undefined;
  // The value is never quoted back: it may hold credentials.
  if (!URL.canParse(url) || !["http:", "https:"].includes(new URL(url).protocol))
    throw new UsageError(`${URL_VARIABLE}: must be an http:// or https:// URL, the read-only query path such as http://127.0.0.1:8080`);
  const { username, password } = new URL(url);
  // fetch refuses a URL with credentials in it.
  if (username || password) throw new UsageError(`${URL_VARIABLE}: must not carry credentials; put a bearer token in ${TOKEN_VARIABLE}`);
  const token = env[TOKEN_VARIABLE];
  return token ? { url, token } : { url };
}

/** Unreachable, non-2xx, or not Prometheus's JSON. */
export class QueryPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryPathError";
  }
}

/** Where a message says the query went: the origin and path, without the query string. */
function where(path: QueryPath): string {
  const u = new URL(path.url);
  return `${u.origin}${u.pathname.replace(/\/$/, "")}`;
}

/** Prometheus writes special floats as text. */
function sampleValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > QUOTED_CHARS ? `${flat.slice(0, QUOTED_CHARS)}…` : flat;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

function isVector(body: unknown): body is { status: "success"; data: { resultType: "vector"; result: VectorSample[] } } {
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  return (
    b?.status === "success" &&
    b.data?.resultType === "vector" &&
    Array.isArray(b.data.result) &&
    b.data.result.every((s: VectorSample) => typeof s?.metric === "object" && Array.isArray(s.value) && typeof s.value[1] === "string")
  );
}

/** One instant query's vector; throws QueryPathError. Times out after QUERY_TIMEOUT_MS. */
export async function instantQuery(
  path: QueryPath,
  promql: string,
  fetchImpl: typeof fetch = fetch,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  const base = path.url.endsWith("/") ? path.url : `${path.url}/`;
  const url = new URL(`api/v1/query?query=${encodeURIComponent(promql)}`, base);
  const at = where(path);
  let status: number;
  let text: string;
  try {
    const response = await fetchImpl(url, {
      headers: { accept: "application/json", ...(path.token ? { authorization: `Bearer ${path.token}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    text = await response.text();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === "TimeoutError") throw new QueryPathError(`${at} gave no answer within ${timeoutMs / MS_PER_SECOND} s`);
    throw new QueryPathError(`${at} could not be reached: ${err.cause?.code ?? err.cause?.message ?? err.message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status < 200 || status > 299) {
    const error = (body as { error?: unknown } | undefined)?.error;
    throw new QueryPathError(`${at} answered ${status}: ${typeof error === "string" ? error : quote(text)}`);
  }
  if (!isVector(body)) throw new QueryPathError(`${at} did not answer with Prometheus's JSON vector: ${quote(text)}`);
  return body.data.result.map((s) => ({ labels: s.metric, value: sampleValue(s.value[1]) }));
}

/** A one-sample aggregate's value; undefined when empty or NaN (0/0: no requests in the window). */
function single(vector: { value: number }[]): number | undefined {
  const value = vector[0]?.value;
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

/** One track's figures over `window`; undefined when Prometheus has no request series for it at all. */
export async function trackFigures(
  path: QueryPath,
  service: string,
  track: "stable" | "canary",
  window: string,
  fetchImpl: typeof fetch = fetch,
): Promise<TrackFigures | undefined> {
  const q = trackQueries(service, track, window);
  const [requests, errors, p95] = await Promise.all([q.requests, q.errors, q.p95Seconds].map((p) => instantQuery(path, p, fetchImpl)));
  const total = single(requests);
  if (total === undefined) return undefined;
  // increase() extrapolates to the window's edges: a count of requests is whole.
  const whole = Math.round(total);
  if (whole === 0) return { requests: 0 };
  const p95Seconds = single(p95);
  return {
    requests: whole,
    // A track that never answered 5xx has no 5xx series: no errors, not an unknown ratio.
    errorRatio: (single(errors) ?? 0) / total,
    ...(p95Seconds === undefined ? {} : { p95Ms: p95Seconds * MS_PER_SECOND }),
  };
}
