/**
 * What rotating the Redis password runs in the cluster (docs/data.md#how-the-redis-password-rotates),
 * as plain text: the sidecar that applies the config Secret's passwords to its server at run time,
 * since a restart of standalone Redis drops requests and the pod template must not change with a
 * password; and the check the overlap's Job runs before clients are given the new password. The
 * real-server tests run both (test/redis-rotation.real.test.ts).
 */
import { PORTS } from "../../model/names";
import { MASTER_NAME } from "./redisConfig";
import { AUTH_KEY, SENTINEL_REPLICAS, SERVICES, podFqdn, type RedisMode, type RedisPodPaths, type RedisRole } from "./redisPods";

/** How often the sidecar reads the mounted Secret; the kubelet's own refresh takes up to a minute or two. */
const SYNC_INTERVAL_S = 2;
/** Every redis-cli call gives up after this, so a hung server never stops the loop (or its heartbeat). */
const CLI_TIMEOUT_S = 5;
/** The sidecar's liveness: its heartbeat is at most this old. */
const HEARTBEAT_STALE_S = 30;
/** The file the sidecar touches every round, in the pod's working dir. */
const HEARTBEAT_FILE = "auth-sync.beat";
/** The check Job's bound: this many rounds, CHECK_INTERVAL_S apart (5 minutes: past the kubelet's refresh). */
const CHECK_ATTEMPTS = 150;
const CHECK_INTERVAL_S = 2;
/**
 * And the Job's own deadline (activeDeadlineSeconds), for rounds slowed by pods that do not
 * answer: under the 10 minutes Pulumi waits for a Job, so the Job's failure is what the update reports.
 */
export const CHECK_DEADLINE_S = 540;
/** What a check round gives each server before counting it as refusing. */
const CHECK_TIMEOUT_S = 2;

/** How the sidecar applies the passwords to each kind of server; every reply must be OK. */
function applyCommands(role: RedisRole): string[] {
  const acl = `[ "$(printf 'ACL SETUSER default resetpass %s\\n' "$rules" | cli)" = OK ]`;
  if (role === "redis")
    return [
      acl,
      `[ "$(printf '%s' "$internal" | cli -x CONFIG SET masterauth)" = OK ]`,
      // The container may restart without the init container (emptyDir kept): it must start with these.
      `[ "$(cli CONFIG REWRITE)" = OK ]`,
    ];
  // SENTINEL SET and SENTINEL CONFIG SET rewrite sentinel.conf, the ACL rules included (src/config.c rewriteConfigUserOption).
  return [
    acl,
    `[ "$(printf '%s' "$internal" | cli -x SENTINEL SET ${MASTER_NAME} auth-pass)" = OK ]`,
    `[ "$(printf '%s' "$internal" | cli -x SENTINEL CONFIG SET sentinel-pass)" = OK ]`,
  ];
}

/**
 * The sidecar's loop. The kubelet swaps a Secret volume's files all at once (pkg/volume/util/
 * atomic_writer.go, AtomicWriter.Write), and the passwords come from one file, so a round never
 * applies half of two versions. It applies when the file or the server's run_id changed (a
 * restarted server starts from its working copy of the config), authenticating with the internal
 * password, which the server accepts both before and after; passwords reach redis-cli through
 * REDISCLI_AUTH and stdin (`printf` is a shell builtin), never as arguments. With an exporter
 * beside it, the exporter is told to reload its password file (redis_exporter's `/-/reload`).
 */
export function redisAuthSyncScript(role: RedisRole, paths: RedisPodPaths, exporterPort?: number): string {
  const port = role === "redis" ? PORTS.redis : PORTS.sentinel;
  const reload =
    exporterPort === undefined
      ? []
      : [
          `    if [ "$version" != "$reloaded" ] && wget -q -O /dev/null http://localhost:${exporterPort}/-/reload; then reloaded=$version; fi`,
        ];
  return [
    "set -u",
    'applied=""',
    ...(exporterPort === undefined ? [] : ['reloaded=""']),
    "cli() {",
    `  REDISCLI_AUTH="$internal" timeout ${CLI_TIMEOUT_S} redis-cli -p ${port} "$@" 2>/dev/null`,
    "}",
    "apply() {",
    `  ${applyCommands(role).join(" &&\n    ")}`,
    "}",
    "while :; do",
    `  date +%s > ${paths.work}/${HEARTBEAT_FILE}`,
    `  if auth=$(cat ${paths.config}/${AUTH_KEY}); then`,
    `    internal=$(printf '%s\\n' "$auth" | sed -n 1p)`,
    `    rules=$(printf '%s\\n' "$auth" | sed -n 2p)`,
    `    version=$(printf '%s' "$auth" | cksum)`,
    `    run_id=$(cli INFO server | sed -n 's/^run_id:\\([0-9a-f]*\\).*/\\1/p')`,
    '    if [ -n "$run_id" ] && [ "$run_id $version" != "$applied" ]; then',
    "      if apply; then",
    '        applied="$run_id $version"',
    `        echo "auth-sync: ${SERVICES[role]} holds the config Secret's passwords"`,
    "      else",
    `        echo "auth-sync: could not apply the config Secret's passwords to ${SERVICES[role]}; retrying" >&2`,
    "      fi",
    "    fi",
    ...reload,
    "  fi",
    `  sleep ${SYNC_INTERVAL_S}`,
    "done",
    "",
  ].join("\n");
}

/** The sidecar's probes: started (readiness), and its loop still going round (liveness). */
export function redisAuthSyncProbes(paths: RedisPodPaths): { started: string[]; alive: string[] } {
  const beat = `${paths.work}/${HEARTBEAT_FILE}`;
  return {
    started: ["test", "-f", beat],
    alive: ["sh", "-c", `test $(($(date +%s) - $(cat ${beat}))) -lt ${HEARTBEAT_STALE_S}`],
  };
}

/** Every Redis and Sentinel pod by its stable name and port. */
export function redisEndpoints(mode: RedisMode): string[] {
  const pods = (role: RedisRole, port: number) =>
    Array.from({ length: SENTINEL_REPLICAS }, (_, i) => `${podFqdn(`${SERVICES[role]}-${i}`, SERVICES[role])}:${port}`);
  if (mode === "standalone") return [`${podFqdn(`${SERVICES.redis}-0`, SERVICES.redis)}:${PORTS.redis}`];
  return [...pods("redis", PORTS.redis), ...pods("sentinel", PORTS.sentinel)];
}

/**
 * The overlap's check (a Job, which Pulumi waits for before handing clients the new password):
 * succeeds once every Redis and Sentinel pod accepts REDISCLI_AUTH, the new password; fails after
 * `attempts` rounds naming the pods that still refuse it, and clients keep the old one.
 */
export function redisPasswordCheckScript(mode: RedisMode, attempts = CHECK_ATTEMPTS): string {
  const endpoints = redisEndpoints(mode);
  return `set -u
endpoints="${endpoints.join(" ")}"
attempt=1
while :; do
  refusing=""
  for endpoint in $endpoints; do
    [ "$(timeout ${CHECK_TIMEOUT_S} redis-cli -h "\${endpoint%:*}" -p "\${endpoint##*:}" PING 2>/dev/null)" = PONG ] || refusing="$refusing \${endpoint%%.*}"
  done
  if [ -z "$refusing" ]; then
    echo "all ${endpoints.length} Redis${mode === "sentinel" ? " and Sentinel" : ""} pods accept the new password"
    exit 0
  fi
  if [ "$attempt" -ge ${attempts} ]; then
    echo "redis: after ${attempts} rounds ${CHECK_INTERVAL_S} s apart, still refusing the new password:$refusing (clients keep the old one; docs/data.md#how-the-redis-password-rotates)" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep ${CHECK_INTERVAL_S}
done
`;
}
