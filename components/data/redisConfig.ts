/**
 * Renders redis.conf and sentinel.conf for the Redis layer (standalone, or 1 master + replicas
 * watched by Sentinels). Pure functions: the password arrives as a plain string and the caller
 * wraps the result as a Pulumi secret. Invalid input throws.
 *
 * Both files must be copied to a writable volume before the server starts: Sentinel rewrites its
 * own file (and refuses to start when it cannot), and after a failover it makes each Redis
 * rewrite its `replicaof` line, which a read-only ConfigMap mount would silently lose on restart.
 */
import { isIP } from "node:net";

export const SENTINEL_QUORUM = 2;
export const DOWN_AFTER_MS = 5000;
export const FAILOVER_TIMEOUT_MS = 10000;
export const MASTER_NAME = "enclii";
/** Replication lag (s) after which a replica stops counting towards `min-replicas-to-write`. */
export const MIN_REPLICAS_MAX_LAG_S = 10;
/** RDB snapshots beside the AOF (Redis 7's default points, explicit so no packaged default can drop them). */
const SAVE_POINTS = "3600 1 300 100 60 10000";

export interface RedisConfOptions {
  port: number;
  bind: string;
  password: string;
  dir: string;
  appendonly: boolean;
  replicaOf?: { host: string; port: number };
  minReplicasToWrite?: number;
  minReplicasMaxLagS?: number;
  /** Stable name this Redis gives Sentinel and its master (e.g. the pod's headless-Service name). */
  announceHostname?: string;
}

export interface SentinelConfOptions {
  port: number;
  bind: string;
  masterName?: string;
  master: { host: string; port: number };
  quorum?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  /** The Redis password Sentinel authenticates with (`sentinel auth-pass`). */
  password: string;
  announceHostname?: string;
  /** Default: on when the master is a host name or announceHostname is set. */
  resolveHostnames?: boolean;
}

const HOST = /^[A-Za-z0-9.:-]+$/;
const BIND = /^-?[A-Za-z0-9.:*-]+( -?[A-Za-z0-9.:*-]+)*$/;
const MASTER = /^[A-Za-z0-9._-]+$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`redis: ${message}`);
}

function int(v: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  check(Number.isInteger(v) && v >= min && v <= max, `${what} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

function host(h: string, what: string): string {
  check(HOST.test(h), `${what} ${JSON.stringify(h)} is not a host name or address`);
  return h;
}

/** Double-quoted the way Redis's config parser (sdssplitargs) reads it back. */
function quote(s: string): string {
  const body = s.replace(/[\\"\x00-\x1f\x7f]/g, (c) =>
    c === "\\" || c === '"' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${body}"`;
}

function password(p: string): string {
  // The message never includes the password itself.
  check(p.length > 0, "password must not be empty");
  return quote(p);
}

export function renderRedisConf(o: RedisConfOptions): string {
  check(BIND.test(o.bind), `bind ${JSON.stringify(o.bind)} is not an address list`);
  check(o.dir.startsWith("/"), `dir ${JSON.stringify(o.dir)} must be an absolute path`);
  check(o.minReplicasMaxLagS === undefined || o.minReplicasToWrite !== undefined, "minReplicasMaxLagS needs minReplicasToWrite");
  const pass = password(o.password);
  const lines = [
    "# Rendered by enclii-infra (components/data/redisConfig.ts).",
    `bind ${o.bind}`,
    `port ${int(o.port, "port", 1, 65535)}`,
    `dir ${quote(o.dir)}`,
    `appendonly ${o.appendonly ? "yes" : "no"}`,
    "appendfsync everysec",
    `save ${SAVE_POINTS}`,
    `requirepass ${pass}`,
    // Every node may be demoted to a replica by a failover, so every node can authenticate to a master.
    `masterauth ${pass}`,
  ];
  if (o.replicaOf) lines.push(`replicaof ${host(o.replicaOf.host, "replicaOf.host")} ${int(o.replicaOf.port, "replicaOf.port", 1, 65535)}`);
  if (o.minReplicasToWrite !== undefined) {
    lines.push(`min-replicas-to-write ${int(o.minReplicasToWrite, "minReplicasToWrite", 0)}`);
    lines.push(`min-replicas-max-lag ${int(o.minReplicasMaxLagS ?? MIN_REPLICAS_MAX_LAG_S, "minReplicasMaxLagS", 1)}`);
  }
  if (o.announceHostname) lines.push(`replica-announce-ip ${host(o.announceHostname, "announceHostname")}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Sentinel (7.0) writes `auth-pass` back unquoted whenever it rewrites its file, and then cannot
 * parse it at the next start; passwords are therefore limited to what survives unquoted.
 */
const SENTINEL_SAFE_PASSWORD = /^[^\s"'\x00-\x1f\x7f]+$/;

export function renderSentinelConf(o: SentinelConfOptions): string {
  const name = o.masterName ?? MASTER_NAME;
  check(MASTER.test(name), `masterName ${JSON.stringify(name)} may only contain letters, digits, '.', '_' and '-'`);
  check(BIND.test(o.bind), `bind ${JSON.stringify(o.bind)} is not an address list`);
  check(
    SENTINEL_SAFE_PASSWORD.test(o.password),
    "the Sentinel password must be non-empty without spaces, quotes or control characters (Sentinel rewrites it unquoted)",
  );
  const resolve = o.resolveHostnames ?? (isIP(o.master.host) === 0 || o.announceHostname !== undefined);
  check(resolve || isIP(o.master.host) !== 0, `master.host ${JSON.stringify(o.master.host)} is a host name: set resolveHostnames`);
  check(resolve || o.announceHostname === undefined, "announceHostname needs resolveHostnames");
  const lines = ["# Rendered by enclii-infra (components/data/redisConfig.ts).", `bind ${o.bind}`, `port ${int(o.port, "port", 1, 65535)}`];
  // Must precede `sentinel monitor`, which resolves the master's host while being parsed.
  if (resolve) lines.push("sentinel resolve-hostnames yes");
  if (o.announceHostname)
    lines.push(`sentinel announce-ip ${host(o.announceHostname, "announceHostname")}`, "sentinel announce-hostnames yes");
  lines.push(
    `sentinel monitor ${name} ${host(o.master.host, "master.host")} ${int(o.master.port, "master.port", 1, 65535)} ${int(o.quorum ?? SENTINEL_QUORUM, "quorum", 1)}`,
    `sentinel auth-pass ${name} ${o.password}`,
    `sentinel down-after-milliseconds ${name} ${int(o.downAfterMs ?? DOWN_AFTER_MS, "downAfterMs", 1)}`,
    `sentinel failover-timeout ${name} ${int(o.failoverTimeoutMs ?? FAILOVER_TIMEOUT_MS, "failoverTimeoutMs", 1)}`,
    // One replica resyncs at a time, so the others keep serving reads during a failover.
    `sentinel parallel-syncs ${name} 1`,
  );
  return `${lines.join("\n")}\n`;
}
