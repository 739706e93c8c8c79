/**
 * Redis and Sentinel as the StatefulSets run them: each pod in its own network namespace with its
 * StatefulSet hostname, its config Secret's files from `redisConfigFiles`, the init script
 * `redisInitScript` run in the pod, then `redisCommand`. Pod FQDNs resolve to the pods' addresses,
 * so Sentinel announces and resolves host names exactly as in the cluster.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { MASTER_NAME } from "../components/data/redisConfig";
import {
  CONFIG_FILES,
  redisCommand,
  redisConfigFiles,
  redisInitScript,
  SENTINEL_REPLICAS,
  SERVICES,
  podFqdn,
  type RedisMode,
  type RedisPodPaths,
  type RedisRole,
} from "../components/data/redisPods";
import { PORTS } from "../model/names";
import { PodNetwork, type Pod } from "./pods";
import { waitFor, type Proc, type Servers } from "./servers";

/** One command on a fresh connection that never retries (a dead server must fail fast). */
export async function redisCall(host: string, port: number, password: string | undefined, ...args: (string | number)[]): Promise<unknown> {
  // AUTH is sent as a command (not a client option) so its refusal is the error the caller sees;
  // RESP2 because ioredis's RESP3 handshake (HELLO) is itself refused before AUTH.
  const r = new Redis({
    host,
    port,
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    enableOfflineQueue: false,
  });
  r.on("error", () => undefined);
  try {
    await r.connect();
    if (password !== undefined) await r.call("AUTH", password);
    return await r.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

export function sentinelMaster(reply: unknown): Record<string, string> {
  const flat = reply as string[];
  return Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
}

/** One Redis or Sentinel pod, and how to (re)create its process. */
export interface RedisPod {
  role: RedisRole;
  pod: Pod;
  /** The stable name the others know it by. */
  fqdn: string;
  proc: Proc;
  /**
   * The pod recreated on the same node: a fresh working dir (emptyDir), the same data volume, the
   * init script run again, then the server.
   */
  recreate(): Promise<void>;
}

export interface RedisCluster {
  mode: RedisMode;
  password: string;
  net: PodNetwork;
  redis: RedisPod[];
  sentinels: RedisPod[];
  /** `call` on a Redis by its pod, authenticated. */
  call(target: RedisPod, ...args: (string | number)[]): Promise<unknown>;
  /** The master every Sentinel names, as a pod, or undefined while they disagree. */
  agreedMaster(): Promise<RedisPod | undefined>;
}

function paths(pod: Pod, fresh: boolean): RedisPodPaths {
  return { config: pod.volume("config"), work: pod.volume("work", fresh), data: pod.volume("data") };
}

async function startPod(net: PodNetwork, role: RedisRole, ordinal: number, mode: RedisMode, password: string): Promise<RedisPod> {
  const service = SERVICES[role];
  const name = `${service}-${ordinal}`;
  const fqdn = podFqdn(name, service);
  const pod = net.addPod(name, [fqdn]);
  const port = role === "redis" ? PORTS.redis : PORTS.sentinel;
  const start = async (fresh: boolean): Promise<Proc> => {
    const p = paths(pod, fresh);
    // What the config Secret holds, mounted read-only at `config`.
    const files = redisConfigFiles(mode, password, p);
    for (const file of Object.values(CONFIG_FILES)) if (files[file] !== undefined) writeFileSync(join(p.config, file), files[file]);
    const init = pod.run(["sh", "-c", redisInitScript(role, mode, p)]);
    if (init.status !== 0) throw new Error(`init of ${name} failed (${init.status}): ${init.output}`);
    const proc = await pod.start(redisCommand(role, p), `${role}.log`);
    await waitFor(`${name} to answer`, async () => ((await redisCall(pod.ip, port, password, "PING")) === "PONG" ? true : undefined));
    return proc;
  };
  const member: RedisPod = {
    role,
    pod,
    fqdn,
    proc: await start(true),
    recreate: async () => {
      member.proc = await start(true);
    },
  };
  return member;
}

/**
 * Standalone: one Redis. Sentinel: three Redis (the first starts as master, the others follow it
 * through the init script) and three Sentinels, returned once every Sentinel sees both replicas
 * and both other Sentinels, and the master counts both replicas as good.
 */
export async function startRedisCluster(servers: Servers, mode: RedisMode): Promise<RedisCluster> {
  // Sentinel-safe (no spaces or quotes) but still exercising the config quoting with a backslash.
  const password = `s3nt!nel\\${randomBytes(9).toString("base64url")}`;
  const net = PodNetwork.create(servers);
  const replicas = mode === "sentinel" ? SENTINEL_REPLICAS : 1;
  const redis: RedisPod[] = [];
  for (let i = 0; i < replicas; i++) redis.push(await startPod(net, "redis", i, mode, password));
  const sentinels: RedisPod[] = [];
  if (mode === "sentinel") for (let i = 0; i < SENTINEL_REPLICAS; i++) sentinels.push(await startPod(net, "sentinel", i, mode, password));

  const call = (target: RedisPod, ...args: (string | number)[]) => redisCall(target.pod.ip, PORTS.redis, password, ...args);
  const byFqdn = new Map(redis.map((r) => [r.fqdn, r]));
  const agreedMaster = async () => {
    const named = await Promise.all(
      sentinels.map(
        async (s) =>
          ((await redisCall(s.pod.ip, PORTS.sentinel, password, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as string[])[0],
      ),
    );
    return new Set(named).size === 1 ? byFqdn.get(named[0]) : undefined;
  };
  for (const s of sentinels) {
    await waitFor(`${s.pod.name} to see 2 replicas and 2 sentinels`, async () => {
      const info = sentinelMaster(await redisCall(s.pod.ip, PORTS.sentinel, password, "SENTINEL", "MASTER", MASTER_NAME));
      return info["num-slaves"] === "2" && info["num-other-sentinels"] === "2" ? true : undefined;
    });
  }
  if (mode === "sentinel") {
    // "Good" replicas (online, acknowledging) are what min-replicas-to-write counts.
    await waitFor("both replicas in sync", async () =>
      String(await call(redis[0], "INFO", "replication")).includes("min_slaves_good_slaves:2") ? true : undefined,
    );
  }
  return { mode, password, net, redis, sentinels, call, agreedMaster };
}

/** kill -9 the master's process; resolves with the new master once every Sentinel names it, and how long that took. */
export async function killMaster(c: RedisCluster): Promise<{ ms: number; master: RedisPod; killedAt: number }> {
  const old = c.redis[0];
  const killedAt = performance.now();
  process.kill(old.proc.pid, "SIGKILL");
  const master = await waitFor("every sentinel to agree on a new master", async () => {
    const m = await c.agreedMaster();
    return m && m !== old ? m : undefined;
  });
  return { ms: performance.now() - killedAt, master, killedAt };
}
