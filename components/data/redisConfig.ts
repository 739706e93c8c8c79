/**
 * Renders redis.conf and sentinel.conf for the Redis layer (standalone, or 1 master + replicas
 * watched by Sentinels). Pure functions: the passwords arrive as plain strings and the caller
 * wraps the result as a Pulumi secret. Invalid input throws.
 *
 * Both files must be copied to a writable volume before the server starts: Sentinel rewrites its
 * own file (and refuses to start when it cannot), and after a failover it makes each Redis
 * rewrite its `replicaof` line, which a read-only ConfigMap mount would silently lose on restart.
 * Which Redis starts as a replica is decided by the pod's init script (redisPods.ts), not here.
 */
import { createHash } from "node:crypto";
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

/**
 * The passwords one rendering holds. A rotation (docs/data.md#how-the-redis-password-rotates) renders
 * two generations while they overlap, and every pod picks the new rendering up at its own time
 * (the kubelet refreshes a mounted Secret after a delay), so what the servers use among themselves
 * must be accepted both by pods that have it and by pods that do not have it yet.
 */
export interface RedisAuth {
  /** What clients may AUTH with: the current generation's password, and the previous one's while they overlap. */
  accepted: string[];
  /**
   * What Redis and Sentinel authenticate to each other with (replication, monitoring, Sentinel to
   * Sentinel): the previous generation's while they overlap (every server still accepts it), the
   * current one's once settled (every server has accepted it since the overlap).
   */
  internal: string;
}

/** The passwords of the current generation and, while they overlap, of the previous one. */
export function redisAuth(current: string, previous?: string): RedisAuth {
  return previous === undefined ? { accepted: [current], internal: current } : { accepted: [current, previous], internal: previous };
}

export interface RedisConfOptions {
  auth: RedisAuth;
  /** The data volume's mount path: AOF and RDB files. */
  dataDir: string;
  /** Sentinel mode: the stable name this Redis gives Sentinel and its master (its headless-Service name). */
  announceHostname?: string;
}

export interface SentinelConfOptions {
  /** Sentinel requires the Redis passwords of its own clients too, and uses the internal one with Redis and the other Sentinels. */
  auth: RedisAuth;
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

function checkAuth(auth: RedisAuth): void {
  // Messages never include a password itself.
  check(auth.accepted.length > 0 && [...auth.accepted, auth.internal].every((p) => p.length > 0), "password must not be empty");
  check(auth.accepted.includes(auth.internal), "the internal password must be one of the accepted ones");
}

/**
 * The `default` user's ACL rules: on, every accepted password by its SHA-256 (the `#<hash>` rule
 * of ACL SETUSER, https://redis.io/commands/acl-setuser; src/acl.c ACLSetUser), all
 * keys, channels and commands. One user with several passwords is how Redis accepts two at once;
 * `requirepass` holds one. The sidecar applies the same rules at run time (redisRotation.ts).
 */
export function aclRules(accepted: string[]): string {
  const hashes = accepted.map((p) => `#${createHash("sha256").update(p).digest("hex")}`);
  return ["on", ...hashes, "~*", "&*", "+@all"].join(" ");
}

export function renderRedisConf(o: RedisConfOptions): string {
  check(o.dataDir.startsWith("/"), `dataDir ${JSON.stringify(o.dataDir)} must be an absolute path`);
  checkAuth(o.auth);
  const lines = [
    "# Rendered by enclii-infra (components/data/redisConfig.ts).",
    `bind ${BIND}`,
    `port ${PORTS.redis}`,
    `dir ${quote(o.dataDir)}`,
    "appendonly yes",
    "appendfsync everysec",
    `save ${SAVE_POINTS}`,
    // In place of `requirepass`, which sets one password: the same `default` user, with each accepted one.
    `user default ${aclRules(o.auth.accepted)}`,
    // Every node may be demoted to a replica by a failover, so every node can authenticate to a master.
    `masterauth ${quote(o.auth.internal)}`,
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
 * Sentinel (7.0) writes `auth-pass` and `sentinel-pass` back unquoted whenever it rewrites its file, and then cannot
 * parse it at the next start; passwords are therefore limited to what survives unquoted.
 */
const SENTINEL_SAFE_PASSWORD = /^[^\s"'\x00-\x1f\x7f]+$/;

export function renderSentinelConf(o: SentinelConfOptions): string {
  // Each accepted password is the internal one in some phase of a rotation.
  check(
    [o.auth.internal, ...o.auth.accepted].every((p) => SENTINEL_SAFE_PASSWORD.test(p)),
    "the Sentinel password must be non-empty without spaces, quotes or control characters (Sentinel rewrites it unquoted)",
  );
  checkAuth(o.auth);
  const lines = [
    "# Rendered by enclii-infra (components/data/redisConfig.ts).",
    `bind ${BIND}`,
    `port ${PORTS.sentinel}`,
    // Must precede `sentinel monitor`, which resolves the master's host while being parsed.
    "sentinel resolve-hostnames yes",
    `sentinel announce-ip ${host(o.announceHostname, "announceHostname")}`,
    "sentinel announce-hostnames yes",
    `sentinel monitor ${MASTER_NAME} ${host(o.masterHost, "masterHost")} ${PORTS.redis} ${SENTINEL_QUORUM}`,
    `sentinel auth-pass ${MASTER_NAME} ${o.auth.internal}`,
    // Sentinel itself takes the same passwords: without them anyone who reaches 26379 can run
    // SENTINEL FAILOVER or SENTINEL REMOVE. Clients send theirs as their Sentinel password.
    `user default ${aclRules(o.auth.accepted)}`,
    // What a Sentinel sends the others (src/sentinel.c sentinelSendAuthIfNeeded; without it, its
    // `requirepass`, which the ACL rules above replace).
    `sentinel sentinel-pass ${o.auth.internal}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
    // One replica resyncs at a time, so the others keep serving reads during a failover.
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ];
  return `${lines.join("\n")}\n`;
}
