/**
 * Redis and Sentinel as the StatefulSets run them: each pod in its own network namespace with its
 * StatefulSet hostname, its config Secret's files from `redisConfigFiles`, the init script
 * `redisInitScript` run in the pod, then `redisCommand`. Pod FQDNs resolve to the pods' addresses,
 * so Sentinel announces and resolves host names exactly as in the cluster.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Redis } from "ioredis";
import { MASTER_NAME, redisAuth } from "../components/data/redisConfig";
import {
  EXPORTER_PASSWORDS_KEY,
  redisCommand,
  redisConfigFiles,
  redisInitScript,
  SENTINEL_REPLICAS,
  SERVICES,
  podFqdn,
  type RedisMode,
  type RedisPasswords,
  type RedisPodPaths,
  type RedisRole,
} from "../components/data/redisPods";
import { redisAuthSyncScript } from "../components/data/redisRotation";
import { PORTS } from "../model/names";
import { OBS_PORTS } from "../model/observability/config";
import { startExporterStandIn } from "./exporterStandIn";
import { PodNetwork, type Pod } from "./pods";
import { projectSecret } from "./secretVolume";
import { sleep, stopProc, waitFor, type Proc, type Servers } from "./servers";

/** A random password, Sentinel-safe (no spaces or quotes) but exercising the configs' quoting with a backslash. */
export const redisTestPassword = () => `s3nt!nel\\${randomBytes(9).toString("base64url")}`;

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
  /** Its volumes: the config Secret's (kept as the kubelet keeps it, secretVolume.ts), the working dir, the data. */
  paths: RedisPodPaths;
  proc: Proc;
  /** The auth-sync sidecar (components/data/redisRotation.ts), as the StatefulSets run it beside the server. */
  sidecar: Proc;
  /**
   * The pod recreated on the same node: a fresh working dir (emptyDir), the same data volume, the
   * init script run again, then the server and its sidecar.
   */
  recreate(): Promise<void>;
  /** The server's container restarted on its own: the same working dir, no init container. */
  restart(): Promise<void>;
}

export interface RedisCluster {
  mode: RedisMode;
  /** The password the cluster started with (generation 0). */
  password: string;
  /** What the config Secret holds now: the current generation's password, and the previous one's in overlap. */
  passwords: RedisPasswords;
  /** The password the servers use among themselves now (redisAuth), which every server accepts. */
  internal(): string;
  /**
   * The config Secret changed to `passwords`. The kubelet refreshes it in each pod at its own
   * time: here in `pods` (every pod by default), the others when called again.
   */
  project(passwords: RedisPasswords, pods?: RedisPod[]): void;
  net: PodNetwork;
  redis: RedisPod[];
  sentinels: RedisPod[];
  /** `call` on a Redis by its pod, authenticated. */
  call(target: RedisPod, ...args: (string | number)[]): Promise<unknown>;
  /** The master each of `sentinels` (all by default) names, by host name. */
  namedMasters(sentinels?: RedisPod[]): Promise<string[]>;
  /** The master every Sentinel names, as a pod, or undefined while they disagree. */
  agreedMaster(): Promise<RedisPod | undefined>;
}

/** What the config Secret holds, shared by every pod of a cluster, and whether the pods run an exporter. */
interface SecretState {
  passwords: RedisPasswords;
  exporter: boolean;
}

const internalOf = (s: SecretState) => redisAuth(s.passwords.current, s.passwords.previous).internal;

function project(mode: RedisMode, member: { paths: RedisPodPaths }, secret: SecretState): void {
  projectSecret(member.paths.config, redisConfigFiles(mode, secret.passwords, member.paths, secret.exporter));
}

async function startPod(net: PodNetwork, role: RedisRole, ordinal: number, mode: RedisMode, secret: SecretState): Promise<RedisPod> {
  const service = SERVICES[role];
  const name = `${service}-${ordinal}`;
  const fqdn = podFqdn(name, service);
  const pod = net.addPod(name, [fqdn]);
  const port = role === "redis" ? PORTS.redis : PORTS.sentinel;
  const paths = { config: pod.volume("config"), work: pod.volume("work"), data: pod.volume("data") };
  const server = async (): Promise<Proc> => {
    const proc = await pod.start(redisCommand(role, paths), `${role}.log`);
    await waitFor(`${name} to answer`, async () =>
      (await redisCall(pod.ip, port, internalOf(secret), "PING")) === "PONG" ? true : undefined,
    );
    return proc;
  };
  const start = async (): Promise<{ proc: Proc; sidecar: Proc }> => {
    pod.volume("work", true);
    // A new pod mounts the config Secret as it is now.
    project(mode, { paths }, secret);
    const init = pod.run(["sh", "-c", redisInitScript(role, mode, paths)]);
    if (init.status !== 0) throw new Error(`init of ${name} failed (${init.status}): ${init.output}`);
    const proc = await server();
    const exporterPort = secret.exporter ? OBS_PORTS.redisExporter : undefined;
    if (exporterPort !== undefined) await startExporterStandIn(pod, join(paths.config, EXPORTER_PASSWORDS_KEY), port);
    return { proc, sidecar: await pod.start(["sh", "-c", redisAuthSyncScript(role, paths, exporterPort)], "auth-sync.log") };
  };
  const member: RedisPod = {
    role,
    pod,
    fqdn,
    paths,
    ...(await start()),
    recreate: async () => {
      await stopProc(member.sidecar);
      Object.assign(member, await start());
    },
    restart: async () => {
      member.proc = await server();
    },
  };
  return member;
}

/**
 * Standalone: one Redis. Sentinel: three Redis (the first starts as master, the others follow it
 * through the init script) and three Sentinels, returned once every Sentinel sees both replicas
 * and both other Sentinels, and the master counts both replicas as good. With `exporter`, each
 * pod runs the exporter's stand-in (exporterStandIn.ts) and its sidecar reloads it.
 */
export async function startRedisCluster(servers: Servers, mode: RedisMode, o: { exporter?: boolean } = {}): Promise<RedisCluster> {
  const password = redisTestPassword();
  const secret: SecretState = { passwords: { current: password }, exporter: o.exporter ?? false };
  const internal = () => internalOf(secret);
  const net = PodNetwork.create(servers);
  const replicas = mode === "sentinel" ? SENTINEL_REPLICAS : 1;
  const redis: RedisPod[] = [];
  for (let i = 0; i < replicas; i++) redis.push(await startPod(net, "redis", i, mode, secret));
  const sentinels: RedisPod[] = [];
  if (mode === "sentinel") for (let i = 0; i < SENTINEL_REPLICAS; i++) sentinels.push(await startPod(net, "sentinel", i, mode, secret));

  const call = (target: RedisPod, ...args: (string | number)[]) => redisCall(target.pod.ip, PORTS.redis, internal(), ...args);
  const byFqdn = new Map(redis.map((r) => [r.fqdn, r]));
  const namedMasters = (asked = sentinels) =>
    Promise.all(
      asked.map(
        async (s) =>
          ((await redisCall(s.pod.ip, PORTS.sentinel, internal(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as string[])[0],
      ),
    );
  const agreedMaster = async () => {
    const named = await namedMasters();
    return new Set(named).size === 1 ? byFqdn.get(named[0]) : undefined;
  };
  for (const s of sentinels) {
    await waitFor(`${s.pod.name} to see 2 replicas and 2 sentinels`, async () => {
      const info = sentinelMaster(await redisCall(s.pod.ip, PORTS.sentinel, internal(), "SENTINEL", "MASTER", MASTER_NAME));
      return info["num-slaves"] === "2" && info["num-other-sentinels"] === "2" ? true : undefined;
    });
  }
  if (mode === "sentinel") {
    // "Good" replicas (online, acknowledging) are what min-replicas-to-write counts.
    await waitFor("both replicas in sync", async () =>
      String(await call(redis[0], "INFO", "replication")).includes("min_slaves_good_slaves:2") ? true : undefined,
    );
  }
  return {
    mode,
    password,
    get passwords() {
      return secret.passwords;
    },
    internal,
    project: (passwords, pods = [...redis, ...sentinels]) => {
      secret.passwords = passwords;
      for (const pod of pods) project(mode, pod, secret);
    },
    net,
    redis,
    sentinels,
    call,
    namedMasters,
    agreedMaster,
  };
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

/** Cuts `pod` off from `peers` in both directions, inside its network namespace; returns the undo. */
export function partition(pod: Pod, peers: Pod[]): () => void {
  const addrs = peers.map((p) => p.ip).join(", ");
  const rules = `table inet partition {
  chain input { type filter hook input priority 0; ip saddr { ${addrs} } drop; }
  chain output { type filter hook output priority 0; ip daddr { ${addrs} } drop; }
}
`;
  const nft = (args: string[], input?: string) => {
    const r = spawnSync("ip", ["netns", "exec", pod.netns, "nft", ...args], { input, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`nft ${args.join(" ")} in ${pod.name}: ${r.stderr.trim()}`);
  };
  nft(["-f", "-"], rules);
  return () => nft(["delete", "table", "inet", "partition"]);
}

const WRITE_PAUSE_MS = 5;

export interface WriteLog {
  /** Keys the writer saw acknowledged (OK), with when (performance.now()). */
  acked: { key: string; at: number }[];
  /** The first refusal by min-replicas-to-write (NOREPLICAS), if any. */
  firstRefusalAt?: number;
  /** Commands that failed otherwise (timeouts, resets), by message. */
  errors: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * A client writing one key at a time, as an app would: each command gives up after
 * `commandTimeoutMs`, and after any failure the client asks `resolveMaster` where the master is
 * and reconnects there (what a Sentinel-aware client does). Keys are `prefix:<n>`, one every
 * WRITE_PAUSE_MS at most, an app's pace rather than a benchmark's.
 */
export function startWriter(password: string, resolveMaster: () => Promise<string>, commandTimeoutMs: number, prefix: string): WriteLog {
  const log: WriteLog = { acked: [], errors: {}, stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    let n = 0;
    let client: Redis | undefined;
    while (running) {
      try {
        if (!client) {
          client = new Redis({
            host: await resolveMaster(),
            port: PORTS.redis,
            password,
            lazyConnect: true,
            enableReadyCheck: false,
            retryStrategy: () => null,
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
            connectTimeout: commandTimeoutMs,
            commandTimeout: commandTimeoutMs,
          });
          client.on("error", () => undefined);
          await client.connect();
        }
        const key = `${prefix}:${n++}`;
        if ((await client.set(key, key)) === "OK") log.acked.push({ key, at: performance.now() });
        await sleep(WRITE_PAUSE_MS);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (msg.startsWith("NOREPLICAS")) log.firstRefusalAt ??= performance.now();
        const kind = msg.split(" ")[0];
        log.errors[kind] = (log.errors[kind] ?? 0) + 1;
        client?.disconnect();
        client = undefined;
        // A refused or failed write is retried as the next key after a short pause, as apps back off.
        await sleep(50);
      }
    }
    client?.disconnect();
  })();
  log.stop = async () => {
    running = false;
    await loop;
  };
  return log;
}

/** One write of `startPipelinedWriter`: when it was sent and, once settled, when and how. */
export interface PipelinedWrite {
  key: string;
  /** performance.now() just before the command was handed to the client (which starts its timeout then). */
  sentAt: number;
  settledAt?: number;
  /** "OK", or the error's first word (`Command` for a command timeout, NOREPLICAS, READONLY…). */
  outcome?: string;
}

export interface PipelineLog {
  writes: PipelinedWrite[];
  /**
   * The longest this process's event loop was held up while the writer ran (known after `stop`):
   * how late a command timeout, a Node timer, can have fired, so how long past its timeout a
   * reply read first can still have counted as OK.
   */
  maxLoopDelayMs: number;
  /** Stops sending, waits for every write to settle (each within its timeout), then disconnects. */
  stop(): Promise<void>;
}

/**
 * A client that keeps writing on one connection, as an app does whose concurrent requests share
 * one ioredis client: a write every `pauseMs`, sent without waiting for the replies to the earlier
 * ones, each given up after `commandTimeoutMs` (ioredis `commandTimeout`, which rejects the
 * command but keeps the connection). Nothing makes it reconnect: it stays on `host`.
 */
export function startPipelinedWriter(
  host: string,
  password: string,
  commandTimeoutMs: number,
  prefix: string,
  pauseMs: number,
): PipelineLog {
  const writes: PipelinedWrite[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const client = new Redis({
    host,
    port: PORTS.redis,
    password,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: commandTimeoutMs,
    commandTimeout: commandTimeoutMs,
  });
  client.on("error", () => undefined);
  const pending = new Set<Promise<void>>();
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const w: PipelinedWrite = { key: `${prefix}:${n}`, sentAt: performance.now() };
      writes.push(w);
      const settle = (outcome: string) => {
        w.settledAt = performance.now();
        w.outcome = outcome;
      };
      const p = client.set(w.key, w.key).then(
        (reply) => settle(String(reply)),
        (err: unknown) => settle((err instanceof Error ? err.message : String(err)).split(" ")[0]),
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
      await sleep(pauseMs);
    }
  })();
  const log: PipelineLog = {
    writes,
    maxLoopDelayMs: NaN,
    stop: async () => {
      running = false;
      await loop;
      await Promise.all(pending);
      client.disconnect();
      loopDelay.disable();
      log.maxLoopDelayMs = loopDelay.max / 1e6;
    },
  };
  return log;
}

/** The acknowledged keys `master` does not hold. */
export async function lostWrites(c: RedisCluster, master: RedisPod, acked: { key: string }[]): Promise<string[]> {
  const lost: string[] = [];
  for (let i = 0; i < acked.length; i += 500) {
    const keys = acked.slice(i, i + 500).map((a) => a.key);
    const values = (await c.call(master, "MGET", ...keys)) as (string | null)[];
    values.forEach((v, j) => v === null && lost.push(keys[j]));
  }
  return lost;
}
