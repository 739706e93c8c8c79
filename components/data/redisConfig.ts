/**
 * Renders redis.conf and sentinel.conf for the Redis layer (standalone, or 1 master + replicas
 * watched by Sentinels). Pure functions: the password arrives as a plain string and the caller
 * wraps the result as a Pulumi secret. Invalid input throws.
 *
 * Both files must be copied to a writable volume before the server starts: Sentinel rewrites its
 * own file (and refuses to start when it cannot), and after a failover it makes each Redis
 * rewrite its `replicaof` line, which a read-only ConfigMap mount would silently lose on restart.
 * Which Redis starts as a replica is decided by the pod's init script (redisPods.ts), not here.
 */
import { PORTS, REDIS_DOWN_AFTER_MS } from "../../model/names";

export const SENTINEL_QUORUM = 2;
export const DOWN_AFTER_MS = REDIS_DOWN_AFTER_MS;
export const FAILOVER_TIMEOUT_MS = 10000;
export const MASTER_NAME = "enclii";
/** A master takes writes only while this many replicas acknowledge it. */
export const MIN_REPLICAS_TO_WRITE = 1;
/**
 * Replication lag (s) after which a replica stops counting towards `min-replicas-to-write`.
 * Replicas acknowledge every second and the master recounts every second, so a master cut off
 * from its replicas refuses writes (NOREPLICAS) about 2 s later: well inside down-after (5 s),
 * before the Sentinels can promote a replica. Replication stays asynchronous, so the writes a
 * master took in those 2 s can still be lost; an operation that must survive a failover waits
 * for a replica (`WAIT 1 <ms>`) before it counts as done. At 10 s, a partitioned master kept
 * taking writes for 10 s, half of them after its replacement had taken over.
 */
export const MIN_REPLICAS_MAX_LAG_S = 1;
/** Every pod listens on its own address; NetworkPolicies decide who reaches it. */
const BIND = "0.0.0.0";
/** RDB snapshots beside the AOF (Redis 7's default points, explicit so no packaged default can drop them). */
const SAVE_POINTS = "3600 1 300 100 60 10000";

export interface RedisConfOptions {
  password: string;
  /** The data volume's mount path: AOF and RDB files. */
  dataDir: string;
  /** Sentinel mode: the stable name this Redis gives Sentinel and its master (its headless-Service name). */
  announceHostname?: string;
}

export interface SentinelConfOptions {
  /** The Redis password: Sentinel authenticates to Redis with it (`sentinel auth-pass`) and requires it of its own clients. */
  password: string;
  /** The Redis that starts as master, by its stable host name. */
  masterHost: string;
  /** This Sentinel's stable name, announced to the others. */
  announceHostname: string;
}

const HOST = /^[A-Za-z0-9.:-]+$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`redis: ${message}`);
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
  check(o.dataDir.startsWith("/"), `dataDir ${JSON.stringify(o.dataDir)} must be an absolute path`);
  const pass = password(o.password);
  const lines = [
    "# Rendered by enclii-infra (components/data/redisConfig.ts).",
    `bind ${BIND}`,
    `port ${PORTS.redis}`,
    `dir ${quote(o.dataDir)}`,
    "appendonly yes",
    "appendfsync everysec",
    `save ${SAVE_POINTS}`,
    `requirepass ${pass}`,
    // Every node may be demoted to a replica by a failover, so every node can authenticate to a master.
    `masterauth ${pass}`,
  ];
  if (o.announceHostname !== undefined) {
    lines.push(
      `min-replicas-to-write ${MIN_REPLICAS_TO_WRITE}`,
      `min-replicas-max-lag ${MIN_REPLICAS_MAX_LAG_S}`,
      `replica-announce-ip ${host(o.announceHostname, "announceHostname")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Sentinel (7.0) writes `auth-pass` back unquoted whenever it rewrites its file, and then cannot
 * parse it at the next start; passwords are therefore limited to what survives unquoted.
 */
const SENTINEL_SAFE_PASSWORD = /^[^\s"'\x00-\x1f\x7f]+$/;

export function renderSentinelConf(o: SentinelConfOptions): string {
  check(
    SENTINEL_SAFE_PASSWORD.test(o.password),
    "the Sentinel password must be non-empty without spaces, quotes or control characters (Sentinel rewrites it unquoted)",
  );
  const lines = [
    "# Rendered by enclii-infra (components/data/redisConfig.ts).",
    `bind ${BIND}`,
    `port ${PORTS.sentinel}`,
    // Must precede `sentinel monitor`, which resolves the master's host while being parsed.
    "sentinel resolve-hostnames yes",
    `sentinel announce-ip ${host(o.announceHostname, "announceHostname")}`,
    "sentinel announce-hostnames yes",
    `sentinel monitor ${MASTER_NAME} ${host(o.masterHost, "masterHost")} ${PORTS.redis} ${SENTINEL_QUORUM}`,
    `sentinel auth-pass ${MASTER_NAME} ${o.password}`,
    // Sentinel itself takes the same password: without it anyone who reaches 26379 can run
    // SENTINEL FAILOVER or SENTINEL REMOVE. Sentinels use it with each other too, so every
    // Sentinel must have the same one; clients send it as their Sentinel password.
    `requirepass ${o.password}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
    // One replica resyncs at a time, so the others keep serving reads during a failover.
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ];
  return `${lines.join("\n")}\n`;
}
