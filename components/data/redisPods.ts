/**
 * What each Redis and Sentinel pod runs, as plain data: the files in its config Secret, the init
 * script that turns them into the pod's working config, and the server's command line. The
 * StatefulSets run exactly this, and the real-server tests run it too, each pod in its own
 * network namespace with its own hostname (testbed/redis.ts).
 */
import { DATA_NAMESPACE, PORTS } from "../../model/names";
import { aclRules, MASTER_NAME, redisAuth, renderRedisConf, renderSentinelConf } from "./redisConfig";

export type RedisMode = "standalone" | "sentinel";
export type RedisRole = "redis" | "sentinel";

/** Where a pod mounts its volumes: the config Secret, the emptyDir it works in, the data volume. */
export interface RedisPodPaths {
  config: string;
  work: string;
  data: string;
}
export const REDIS_POD_PATHS: RedisPodPaths = { config: "/config", work: "/work", data: "/data" };

export const SENTINEL_REPLICAS = 3;
/** StatefulSet and Service names; pods are `<service>-<ordinal>`. */
export const SERVICES: Record<RedisRole, string> = { redis: "redis", sentinel: "redis-sentinel" };
export const CONFIG_FILES: Record<RedisRole, string> = { redis: "redis.conf", sentinel: "sentinel.conf" };
/**
 * The config Secret's keys beside the two configs. `password`: the internal password (RedisAuth),
 * which every server accepts before and after the Secret changes: for the probes, the init
 * scripts' questions to the Sentinels and the sidecar's own commands. `client-password`: the
 * current generation's, what clients get; the overlap's check Job authenticates with it. `auth`:
 * what the sidecar applies at run time, the internal password on its first line and the ACL
 * rules on its second, in one file so a read never mixes two versions of the Secret.
 * `exporter-passwords.json`: redis_exporter's password file (the internal password by address).
 */
export const PASSWORD_KEY = "password";
export const CLIENT_PASSWORD_KEY = "client-password";
export const AUTH_KEY = "auth";
export const EXPORTER_PASSWORDS_KEY = "exporter-passwords.json";
/** What redis_exporter scrapes in a pod; also the key of its password file, which it looks the address up by. */
export const exporterAddress = (port: number) => `redis://localhost:${port}`;
/**
 * Replaced per pod by the init script: each Redis and Sentinel announces its stable DNS name.
 * A valid host name under the reserved `.invalid` TLD, so the renderers accept it.
 */
const POD_FQDN = "pod-fqdn.enclii.invalid";

export const headless = (service: string) => `${service}-headless`;
/** A pod's stable name through its StatefulSet's headless Service. */
export const podFqdn = (pod: string, service: string) => `${pod}.${headless(service)}.${DATA_NAMESPACE}.svc.cluster.local`;
/** The Redis that starts as master: the first pod. */
export const FIRST_REDIS = `${SERVICES.redis}-0`;

/** The current generation's password and, while two generations overlap, the previous one's. */
export interface RedisPasswords {
  current: string;
  previous?: string;
}

/** The config Secret's content: the keys above, redis.conf, and with Sentinel, sentinel.conf. */
export function redisConfigFiles(
  mode: RedisMode,
  passwords: RedisPasswords,
  paths: RedisPodPaths,
  exporter = false,
): Record<string, string> {
  const sentinel = mode === "sentinel";
  const auth = redisAuth(passwords.current, passwords.previous);
  const ports = sentinel ? [PORTS.redis, PORTS.sentinel] : [PORTS.redis];
  return {
    [PASSWORD_KEY]: auth.internal,
    [CLIENT_PASSWORD_KEY]: passwords.current,
    [AUTH_KEY]: `${auth.internal}\n${aclRules(auth.accepted)}\n`,
    ...(exporter
      ? { [EXPORTER_PASSWORDS_KEY]: JSON.stringify(Object.fromEntries(ports.map((p) => [exporterAddress(p), auth.internal]))) }
      : {}),
    [CONFIG_FILES.redis]: renderRedisConf({ auth, dataDir: paths.data, ...(sentinel ? { announceHostname: POD_FQDN } : {}) }),
    ...(sentinel
      ? {
          [CONFIG_FILES.sentinel]: renderSentinelConf({
            auth,
            masterHost: podFqdn(FIRST_REDIS, SERVICES.redis),
            announceHostname: POD_FQDN,
          }),
        }
      : {}),
  };
}

/** What a pod's init asks a Sentinel, on a fresh connection that gives up after 2 s. */
function askSentinel(paths: RedisPodPaths, host: string, ...command: string[]): string {
  return `REDISCLI_AUTH="$(cat ${paths.config}/${PASSWORD_KEY})" timeout 2 redis-cli -h "${host}" -p ${PORTS.sentinel} ${command.join(" ")} 2>/dev/null`;
}

/**
 * The init container's script: copy the pod's config into its working dir with its own stable
 * name filled in. Under Sentinel the working dir is an emptyDir, so a recreated pod has forgotten
 * every failover; it asks the Sentinels instead. A Redis follows the master they name (the first
 * pod leads only when no Sentinel answers, i.e. on a new cluster's first start); a Sentinel
 * monitors that master and starts out knowing its replicas, so it can fail over even when the
 * master is already down.
 */
export function redisInitScript(role: RedisRole, mode: RedisMode, paths: RedisPodPaths): string {
  const service = SERVICES[role];
  const file = CONFIG_FILES[role];
  const me = `$(hostname).${headless(service)}.${DATA_NAMESPACE}.svc.cluster.local`;
  const copy = `sed "s/${POD_FQDN.replace(/\./g, "\\.")}/$me/g" ${paths.config}/${file} > ${paths.work}/${file}`;
  if (mode !== "sentinel") return `set -eu\nme="${me}"\n${copy}`;
  const redisDomain = `.${headless(SERVICES.redis)}.${DATA_NAMESPACE}.svc.cluster.local`;
  const sentinels = Array.from({ length: SENTINEL_REPLICAS }, (_, i) => podFqdn(`${SERVICES.sentinel}-${i}`, SERVICES.sentinel));
  // Only a name of ours counts as an answer: an error or a refusal prints something else.
  const lookup = `master=""
for s in ${sentinels.join(" ")}; do
  [ "$s" = "$me" ] && continue
  answer=$(${askSentinel(paths, "$s", "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)} | head -n 1) || answer=""
  case "$answer" in
    *${redisDomain}) master=$answer; break ;;
  esac
done`;
  if (role === "redis")
    return `set -eu
me="${me}"
${copy}
${lookup}
[ -n "$master" ] || master=${podFqdn(FIRST_REDIS, SERVICES.redis)}
[ "$master" = "$me" ] || echo "replicaof $master ${PORTS.redis}" >> ${paths.work}/${file}`;
  return `set -eu
me="${me}"
${copy}
${lookup}
if [ -n "$master" ]; then
  sed -i "s/^sentinel monitor ${MASTER_NAME} [^ ]* /sentinel monitor ${MASTER_NAME} $master /" ${paths.work}/${file}
  ${askSentinel(paths, "$s", "SENTINEL", "REPLICAS", MASTER_NAME)} | awk 'key == "ip" { print } { key = $0 }' | while read -r replica; do
    case "$replica" in
      *${redisDomain}) echo "sentinel known-replica ${MASTER_NAME} $replica ${PORTS.redis}" >> ${paths.work}/${file} ;;
    esac
  done
fi`;
}

/** The server's command line, on the working copy of its config. */
export function redisCommand(role: RedisRole, paths: RedisPodPaths): string[] {
  return [role === "sentinel" ? "redis-sentinel" : "redis-server", `${paths.work}/${CONFIG_FILES[role]}`];
}
