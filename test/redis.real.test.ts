/**
 * Redis and Sentinel as the StatefulSets run them (testbed/redis.ts): each pod in its own network
 * namespace with its hostname, the config Secret's files, the init script, the server command.
 * Standalone: persistence across kill -9 and pod recreation, auth. Sentinel: replication set up by
 * the init script, failover after kill -9, and none without quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER_NAME, MIN_REPLICAS_TO_WRITE, SENTINEL_QUORUM } from "../components/data/redisConfig";
import { FIRST_REDIS, SERVICES, podFqdn } from "../components/data/redisPods";
import { PORTS, REDIS_COMMAND_TIMEOUT_MS } from "../model/names";
import { requirePods, requireTool } from "./harness";
import {
  killMaster,
  lostWrites,
  partition,
  redisCall,
  sentinelMaster,
  startPipelinedWriter,
  startRedisCluster,
  startWriter,
  type RedisCluster,
} from "../testbed/redis";
import { Servers, stopProc, waitFor } from "../testbed/servers";

const available = requirePods() && requireTool("redis-server") && requireTool("redis-sentinel");

describe.skipIf(!available)("standalone Redis pod", () => {
  const servers = new Servers();
  let c: RedisCluster;
  beforeAll(async () => {
    c = await startRedisCluster(servers, "standalone");
  });
  afterAll(() => servers.stopAll());

  it("keeps every acknowledged write across kill -9 and the pod's recreation with a fresh working dir", async () => {
    const [redis] = c.redis;
    expect(await c.call(redis, "CONFIG", "GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await c.call(redis, "CONFIG", "GET", "dir")).toEqual(["dir", redis.pod.volume("data")]);
    // Sentinel makes Redis rewrite its file after every failover; the password must come back intact.
    expect(await c.call(redis, "CONFIG", "REWRITE")).toBe("OK");
    const writes = 200;
    for (let i = 0; i < writes; i++) expect(await c.call(redis, "SET", `key-${i}`, i)).toBe("OK");
    // kill -9 skips the shutdown snapshot, and no save point is due yet: only the AOF holds the writes.
    process.kill(redis.proc.pid, "SIGKILL");
    await redis.proc.exited;
    await redis.recreate();
    const values = (await c.call(redis, "MGET", ...Array.from({ length: writes }, (_, i) => `key-${i}`))) as (string | null)[];
    expect(values.filter((v, i) => v !== String(i))).toEqual([]);
  });

  it("refuses a wrong or missing password with a clear error", async () => {
    const { ip } = c.redis[0].pod;
    await expect(redisCall(ip, PORTS.redis, "wrong", "PING")).rejects.toThrow(
      "WRONGPASS invalid username-password pair or user is disabled",
    );
    await expect(redisCall(ip, PORTS.redis, undefined, "GET", "key-0")).rejects.toThrow("NOAUTH Authentication required");
  });
});

describe.skipIf(!available)("Redis with Sentinel: 3 Redis pods and 3 Sentinel pods", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());
  let c: RedisCluster;
  beforeAll(async () => {
    c = await startRedisCluster(servers, "sentinel");
  });

  it("replicates from the first pod by its stable name, as the init script says, with quorum 2 watching", async () => {
    const master = podFqdn(FIRST_REDIS, SERVICES.redis);
    for (const replica of c.redis.slice(1)) {
      const info = String(await c.call(replica, "INFO", "replication"));
      expect(info).toContain("role:slave");
      expect(info).toContain(`master_host:${master}`);
    }
    expect(await c.call(c.redis[0], "CONFIG", "GET", "min-replicas-to-write")).toEqual([
      "min-replicas-to-write",
      String(MIN_REPLICAS_TO_WRITE),
    ]);
    const seen = sentinelMaster(await redisCall(c.sentinels[0].pod.ip, PORTS.sentinel, c.password, "SENTINEL", "MASTER", MASTER_NAME));
    expect([seen.name, seen.ip, seen.quorum]).toEqual([MASTER_NAME, master, String(SENTINEL_QUORUM)]);
  });

  it("refuses Sentinel commands without the password (no unauthenticated SENTINEL FAILOVER)", async () => {
    for (const s of c.sentinels) {
      await expect(redisCall(s.pod.ip, PORTS.sentinel, undefined, "SENTINEL", "FAILOVER", MASTER_NAME)).rejects.toThrow(/NOAUTH/);
      await expect(redisCall(s.pod.ip, PORTS.sentinel, "wrong", "PING")).rejects.toThrow(/WRONGPASS|invalid password/);
      // The apps' URL carries the password without a user: Sentinel takes AUTH <password>.
      expect(await redisCall(s.pod.ip, PORTS.sentinel, c.password, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)).toEqual([
        c.redis[0].fqdn,
        String(PORTS.redis),
      ]);
    }
  });

  it("fails over after kill -9 of the master: every Sentinel names one former replica, which takes writes and kept the old ones", async () => {
    const [old, ...replicas] = c.redis;
    await c.call(old, "SET", "before", "failover");
    expect(await c.call(old, "WAIT", 2, 0)).toBe(2);
    const { master } = await killMaster(c);
    expect(replicas).toContain(master);
    expect(String(await c.call(master, "ROLE"))).toMatch(/^master/);
    // min-replicas-to-write 1: writes resume once the other replica has re-attached to the new master.
    await waitFor("a write to the new master", async () =>
      (await c.call(master, "SET", "after", "failover")) === "OK" ? true : undefined,
    );
    expect(await c.call(master, "GET", "before")).toBe("failover");
  });
});

describe.skipIf(!available)("Redis with Sentinel, 2 of 3 Sentinels down", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it("sees the master down but does not fail over without quorum (no split brain)", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    await Promise.all(c.sentinels.slice(1).map((s) => stopProc(s.proc)));
    const [lone] = c.sentinels;
    process.kill(c.redis[0].proc.pid, "SIGKILL");
    const master = async () => sentinelMaster(await redisCall(lone.pod.ip, PORTS.sentinel, c.password, "SENTINEL", "MASTER", MASTER_NAME));
    // The lone Sentinel sees the master down (s_down) but cannot reach quorum (o_down) to act on it.
    const flags = await waitFor("the lone sentinel to see the master down", async () =>
      (await master()).flags.includes("s_down") ? (await master()).flags : undefined,
    );
    expect(flags).not.toContain("o_down");
    expect((await master()).ip).toBe(c.redis[0].fqdn);
    for (const replica of c.redis.slice(1)) expect(String(await c.call(replica, "ROLE"))).toMatch(/^slave/);
  });
});

async function rejoined(c: RedisCluster, pod: RedisCluster["redis"][number]): Promise<true | undefined> {
  const info = String(await c.call(pod, "INFO", "replication"));
  return info.includes("role:slave") && info.includes("master_link_status:up") ? true : undefined;
}

describe.skipIf(!available || !requireTool("nft", "nftables"))("Redis with Sentinel: the master partitioned away with one Sentinel", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it("refuses writes before the majority promotes a replica; only writes acknowledged in that window are lost", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    const [old, ...replicas] = c.redis;
    // A client on the master's side of the cut.
    const writer = startWriter(c.password, async () => old.pod.ip, REDIS_COMMAND_TIMEOUT_MS, "p");
    await waitFor("writes acknowledged", async () => (writer.acked.length >= 20 ? true : undefined));
    const majority = c.sentinels.slice(1);
    const heal = partition(
      old.pod,
      [...replicas, ...majority].map((r) => r.pod),
    );
    const cutAt = performance.now();
    const promoted = await waitFor("the majority to promote a replica", async () => {
      const names = await c.namedMasters(majority);
      return names[0] !== old.fqdn && names.every((n) => n === names[0]) ? { fqdn: names[0], at: performance.now() } : undefined;
    });
    await waitFor("the cut-off master to refuse writes", async () => (writer.firstRefusalAt ? true : undefined));
    await writer.stop();
    const refusedAt = writer.firstRefusalAt!;
    expect(refusedAt).toBeLessThan(promoted.at);

    heal();
    const master = c.redis.find((r) => r.fqdn === promoted.fqdn)!;
    await waitFor("the old master to rejoin as a replica", () => rejoined(c, old));
    const lost = await lostWrites(c, master, writer.acked);
    // Replication is asynchronous: what was in flight at the cut may go too, hence a second's margin before it.
    const window = new Set(writer.acked.filter((a) => a.at >= cutAt - 1000 && a.at < refusedAt).map((a) => a.key));
    expect(lost.filter((k) => !window.has(k))).toEqual([]);
    console.warn(
      `partition: writes refused ${(refusedAt - cutAt).toFixed(0)} ms after the cut, replica promoted after ${(promoted.at - cutAt).toFixed(0)} ms; ` +
        `${lost.length} acknowledged writes lost of ${writer.acked.filter((a) => a.at >= cutAt).length} acknowledged after the cut`,
    );
  });
});

/**
 * The writer that keeps one connection sends a write every 50 ms, an app's pace, and slow enough
 * that a hang of up to ~20 s queues less than Redis reads from a client at once (16 KB): on waking,
 * the master can answer that whole read OK before it has recounted its replicas, the worst case
 * (when it recounts first, it refuses them all and nothing is lost). A faster writer's last writes
 * wait behind older ones and meet NOREPLICAS instead.
 */
const PIPELINE_PAUSE_MS = 50;
/** Node's timers count whole milliseconds: besides any hold-up of the loop, one may fire up to 1 ms late. */
const TIMER_GRANULARITY_MS = 1;

describe.skipIf(!available)("Redis with Sentinel: the master hung (SIGSTOP) past the failover", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it("loses no acknowledged write of a client that asks the Sentinels again after a timeout and has moved on before the master wakes", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    const [old] = c.redis;
    // As a Sentinel-aware client: after a failure, ask a Sentinel where the master is.
    const resolve = async () => {
      const [host] = await c.namedMasters(c.sentinels.slice(0, 1));
      return c.redis.find((r) => r.fqdn === host)!.pod.ip;
    };
    const writer = startWriter(c.password, resolve, REDIS_COMMAND_TIMEOUT_MS, "h");
    await waitFor("writes acknowledged", async () => (writer.acked.length >= 20 ? true : undefined));
    process.kill(old.proc.pid, "SIGSTOP");
    const master = await waitFor("a new master", async () => {
      const m = await c.agreedMaster();
      return m && m !== old ? m : undefined;
    });
    const promotedAt = performance.now();
    await waitFor("writes acknowledged by the new master", async () =>
      writer.acked.filter((a) => a.at > promotedAt).length >= 20 ? true : undefined,
    );
    // The old master wakes with its queued writes and a stale view of its replicas. Every write this
    // client sent it had timed out before the client moved, so none of their OKs can reach it.
    process.kill(old.proc.pid, "SIGCONT");
    await waitFor("the old master to be demoted and rejoin", () => rejoined(c, old));
    await writer.stop();
    const lost = await lostWrites(c, master, writer.acked);
    expect(lost).toEqual([]);
    console.warn(
      `hang: ${writer.acked.length} writes acknowledged, ${lost.length} lost; failures by kind ${JSON.stringify(writer.errors)}`,
    );
  });

  it("a client that keeps writing on one connection loses only writes sent within its command timeout before the master woke", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    const [old] = c.redis;
    const writer = startPipelinedWriter(old.pod.ip, c.password, REDIS_COMMAND_TIMEOUT_MS, "q", PIPELINE_PAUSE_MS);
    const acked = () => writer.writes.filter((w) => w.outcome === "OK");
    await waitFor("writes acknowledged", async () => (acked().length >= 20 ? true : undefined));
    const stoppedAt = performance.now();
    process.kill(old.proc.pid, "SIGSTOP");
    const master = await waitFor("a new master", async () => {
      const m = await c.agreedMaster();
      return m && m !== old ? m : undefined;
    });
    const promotedAt = performance.now();
    await waitFor("a write to the new master", async () => ((await c.call(master, "SET", "q-after", "1")) === "OK" ? true : undefined));
    // Taken before the signal: the master wakes after it, so the window below is if anything wider.
    const wokeAt = performance.now();
    process.kill(old.proc.pid, "SIGCONT");
    await waitFor("the old master to be demoted and rejoin", () => rejoined(c, old));
    await writer.stop();

    const lostKeys = new Set(await lostWrites(c, master, acked()));
    const lost = acked().filter((w) => lostKeys.has(w.key));
    // An OK needs the reply read before the command's timer ran: the reply comes after the wake,
    // the timer runs REDIS_COMMAND_TIMEOUT_MS after the send, late by as much as the loop was held up.
    const from = wokeAt - REDIS_COMMAND_TIMEOUT_MS - writer.maxLoopDelayMs - TIMER_GRANULARITY_MS;
    // One connection answers in order, and a master that refused once refuses from then on.
    const firstRefused = writer.writes.find((w) => w.settledAt! > wokeAt && w.outcome !== "OK" && w.outcome !== "Command");
    expect(firstRefused).toBeDefined();
    const rel = (t: number) => (t - wokeAt).toFixed(0);
    const outside = lost.filter((w) => w.sentAt <= from || w.sentAt >= firstRefused!.sentAt);
    expect(
      outside.map((w) => `${w.key} sent at ${rel(w.sentAt)} ms`),
      `window ${rel(from)}…${rel(firstRefused!.sentAt)} ms`,
    ).toEqual([]);
    console.warn(
      `hang, one connection: master stopped ${(wokeAt - stoppedAt).toFixed(0)} ms, replica promoted after ${(promotedAt - stoppedAt).toFixed(0)} ms; ` +
        `${acked().length} writes acknowledged, ${lost.length} lost, sent ${lost.length ? `${rel(lost[0].sentAt)}…${rel(lost.at(-1)!.sentAt)}` : "–"} ms ` +
        `from the wake (window from ${rel(from)} ms); first refusal (${firstRefused!.outcome}) sent at ${rel(firstRefused!.sentAt)} ms; ` +
        `client loop held up ${writer.maxLoopDelayMs.toFixed(1)} ms at most`,
    );
  });
});

describe.skipIf(!available)("Redis with Sentinel: pods recreated with fresh working dirs", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it("the old master's pod, recreated after a failover, rejoins as a replica and writes go on within 10 s", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    const { master } = await killMaster(c);
    const old = c.redis[0];
    const started = performance.now();
    await old.recreate();
    // It asked the Sentinels: it starts as a replica of the new master, never as a second master.
    expect(String(await c.call(old, "ROLE"))).toMatch(/^slave/);
    await waitFor("the recreated pod in sync and the master taking writes", async () =>
      (await rejoined(c, old)) && (await c.call(master, "SET", "after-recreate", "1")) === "OK" ? true : undefined,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await c.agreedMaster()).toBe(master);
  });

  it("two Sentinels recreated while the master is down still fail over within 15 s", async () => {
    const c = await startRedisCluster(servers, "sentinel");
    const [old] = c.redis;
    const killedAt = performance.now();
    process.kill(old.proc.pid, "SIGKILL");
    for (const s of c.sentinels.slice(1)) {
      process.kill(s.proc.pid, "SIGKILL");
      await s.recreate();
    }
    const master = await waitFor("every sentinel to agree on a new master", async () => {
      const m = await c.agreedMaster();
      return m && m !== old ? m : undefined;
    });
    expect(performance.now() - killedAt).toBeLessThan(15_000);
    await waitFor("a write to the new master", async () =>
      (await c.call(master, "SET", "after", "failover")) === "OK" ? true : undefined,
    );
  });
});
