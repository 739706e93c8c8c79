/**
 * Redis and Sentinel as the StatefulSets run them (testbed/redis.ts): each pod in its own network
 * namespace with its hostname, the config Secret's files, the init script, the server command.
 * Standalone: persistence across kill -9 and pod recreation, auth. Sentinel: replication set up by
 * the init script, failover after kill -9, and none without quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER_NAME, MIN_REPLICAS_TO_WRITE, SENTINEL_QUORUM } from "../components/data/redisConfig";
import { FIRST_REDIS, SERVICES, podFqdn } from "../components/data/redisPods";
import { PORTS } from "../model/names";
import { requirePods, requireTool } from "./harness";
import { killMaster, redisCall, sentinelMaster, startRedisCluster, type RedisCluster } from "../testbed/redis";
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
