/**
 * A Redis password rotation's other moving parts, beside the pods of testbed/redis.ts (whose
 * sidecars apply the config Secret): the apps' clients, each keeping the password its pod started
 * with, and the overlap's check Job, run in a pod of its own on the cluster's network.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { MASTER_NAME } from "../components/data/redisConfig";
import { redisPasswordCheckScript } from "../components/data/redisRotation";
import { PORTS, REDIS_COMMAND_TIMEOUT_MS } from "../model/names";
import { redisCall, type RedisCluster, type RedisPod } from "./redis";
import { sleep } from "./servers";

/** An app's pace rather than a benchmark's: the machine has 2 cores and other tests. */
const REQUEST_PAUSE_MS = 5;
/** Requests on one connection before the next (with its own AUTH), as pooled connections are recycled. */
const REQUESTS_PER_CONNECTION = 20;

export interface AppClient {
  password: string;
  /** Requests that succeeded: a SET and a GET of the client's own key, read back equal. */
  done: number;
  /** Requests that failed, each by its error. */
  failures: string[];
  /** Lets the request in flight finish, then closes the connection: the old pod going away. */
  stop(): Promise<void>;
}

/** Where a client finds the master: standalone, the one Redis; with Sentinel, the master a Sentinel names when asked with `password`. */
async function masterAddress(c: RedisCluster, password: string, round: number): Promise<string> {
  if (c.mode === "standalone") return c.redis[0].pod.ip;
  const sentinel = c.sentinels[round % c.sentinels.length];
  const [host] = (await redisCall(
    sentinel.pod.ip,
    PORTS.sentinel,
    password,
    "SENTINEL",
    "GET-MASTER-ADDR-BY-NAME",
    MASTER_NAME,
  )) as string[];
  return c.net.resolve(host);
}

/**
 * One app pod's Redis client: it authenticates with `password` (the one its pod read at start)
 * on every new connection, including its Sentinel questions, and gives each command the apps'
 * timeout. A failure is counted, and the client starts over on a new connection.
 */
export function startAppClient(c: RedisCluster, password: string, name: string): AppClient {
  const client: AppClient = { password, done: 0, failures: [], stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    for (let round = 0; running; round++) {
      let r: Redis | undefined;
      try {
        // AUTH as a command, RESP2, so a refused password is the error this client counts (see redisCall).
        r = new Redis({
          host: await masterAddress(c, password, round),
          port: PORTS.redis,
          protocol: 2,
          lazyConnect: true,
          enableReadyCheck: false,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
          enableOfflineQueue: false,
          connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        });
        r.on("error", () => undefined);
        await r.connect();
        await r.call("AUTH", password);
        for (let i = 0; i < REQUESTS_PER_CONNECTION && running; i++) {
          const key = `${name}:${round}:${i}`;
          await r.set(key, key);
          const value = await r.get(key);
          if (value !== key) throw new Error(`read ${JSON.stringify(value)} back for ${key}`);
          client.done++;
          await sleep(REQUEST_PAUSE_MS);
        }
      } catch (err) {
        client.failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        r?.disconnect();
      }
    }
  })();
  client.stop = async () => {
    running = false;
    await loop;
  };
  return client;
}

/** Until each of `clients` has done `count` more requests than it had done when called. */
export function progress(clients: AppClient[], count: number): () => Promise<true | undefined> {
  const from = clients.map((x) => x.done);
  return async () => (clients.every((x, i) => x.done - from[i] >= count) ? true : undefined);
}

let checks = 0;

/**
 * The overlap's check Job: redisPasswordCheckScript in a pod of its own on the cluster's network,
 * with REDISCLI_AUTH read from a file (the Job takes it from the Secret into its env), never an argument.
 */
export async function runPasswordCheck(
  c: RedisCluster,
  password: string,
  attempts?: number,
): Promise<{ code: number | null; output: string }> {
  const pod = c.net.addPod(`redis-password-check-${checks++}`);
  const file = join(pod.dir, "client-password");
  writeFileSync(file, password);
  chmodSync(file, 0o600);
  const script = redisPasswordCheckScript(c.mode, attempts);
  const proc = await pod.start(["sh", "-c", 'REDISCLI_AUTH="$(cat "$1")" exec sh -c "$2"', "check", file, script], "check.log");
  await proc.exited;
  return { code: proc.child.exitCode, output: readFileSync(join(pod.dir, "check.log"), "utf8") };
}

/** A Redis or Sentinel pod's port. */
export const portOf = (p: RedisPod) => (p.role === "redis" ? PORTS.redis : PORTS.sentinel);

/** What a new connection authenticating with `password` gets from `p`: PONG, or the refusal's message. */
export async function answer(p: RedisPod, password: string): Promise<string> {
  return redisCall(p.pod.ip, portOf(p), password, "PING").then(String, (err: Error) => err.message);
}
