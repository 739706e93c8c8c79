/**
 * The redis.conf and sentinel.conf we render, run by real redis-server and redis-sentinel on
 * 127.0.0.1: persistence and auth for standalone; failover and its absence without quorum for
 * 1 master + 2 replicas + 3 Sentinels.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { DOWN_AFTER_MS, MASTER_NAME, renderRedisConf, SENTINEL_QUORUM } from "../components/data/redisConfig";
import { requireTool } from "./harness";
import {
  failover,
  freePorts,
  LOOPBACK,
  masterAddr,
  redisCall,
  sentinelMaster,
  Servers,
  sleep,
  startRedis,
  startSentinelTopology,
  stopProc,
  waitFor,
} from "../testbed/servers";

const available = requireTool("redis-server") && requireTool("redis-sentinel");
/** Measured failovers finish about 1.2 s after down-after; this leaves 1.8 s more. */
const FAILOVER_MARGIN_MS = 3000;
const AGREEMENT_LIMIT_MS = 8000;

const role = async (port: number, password: string) => ((await redisCall(port, password, "ROLE")) as string[])[0];

describe.skipIf(!available)("standalone Redis with the rendered redis.conf", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());
  // Quotes, a space and a backslash: the quoting must survive Redis's parser and its CONFIG REWRITE.
  const password = `p"w \\${randomBytes(9).toString("base64url")}`;
  let port: number;

  it("runs with AOF on its dir and keeps a write across kill -9, CONFIG REWRITE and restart", async () => {
    [port] = await freePorts(1);
    const redis = await startRedis(servers, port, password, (dir) =>
      renderRedisConf({ port, bind: LOOPBACK, password, dir, appendonly: true }),
    );
    expect(await redisCall(port, password, "CONFIG", "GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await redisCall(port, password, "CONFIG", "GET", "dir")).toEqual(["dir", redis.dir]);
    await redisCall(port, password, "SET", "survives", "restart");
    // Sentinel makes Redis rewrite its file after every failover; the password must come back intact.
    expect(await redisCall(port, password, "CONFIG", "REWRITE")).toBe("OK");
    // kill -9 skips the shutdown snapshot, and no save point is due yet: only the AOF holds the write.
    process.kill(redis.pid, "SIGKILL");
    await redis.exited;
    await redis.restart();
    expect(await redisCall(port, password, "GET", "survives")).toBe("restart");
  });

  it("rejects a wrong or missing password with a clear error", async () => {
    await expect(redisCall(port, "wrong", "PING")).rejects.toThrow("WRONGPASS invalid username-password pair or user is disabled");
    await expect(redisCall(port, undefined, "GET", "survives")).rejects.toThrow("NOAUTH Authentication required");
  });
});

describe.skipIf(!available)("Redis Sentinel with the rendered configs (1 master, 2 replicas, 3 Sentinels)", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it(`fails over after kill -9 of the master: every Sentinel names one new master within ${AGREEMENT_LIMIT_MS / 1000} s, and it takes writes`, async () => {
    const t = await startSentinelTopology(servers);
    const [oldPort, ...replicaPorts] = t.redisPorts;
    expect(await redisCall(oldPort, t.password, "CONFIG", "GET", "min-replicas-to-write")).toEqual(["min-replicas-to-write", "1"]);
    expect(sentinelMaster(await redisCall(t.sentinelPorts[0], undefined, "SENTINEL", "MASTER", MASTER_NAME)).quorum).toBe(
      String(SENTINEL_QUORUM),
    );
    await redisCall(oldPort, t.password, "SET", "before", "failover");
    expect(await redisCall(oldPort, t.password, "WAIT", 2, 2000)).toBe(2);

    const { ms, master } = await failover(t, AGREEMENT_LIMIT_MS);
    expect(ms).toBeLessThan(AGREEMENT_LIMIT_MS);
    const newPort = Number(master.split(":")[1]);
    expect(replicaPorts).toContain(newPort);
    expect(await role(newPort, t.password)).toBe("master");
    // min-replicas-to-write 1: writes resume once the other replica has re-attached to the new master.
    await waitFor("a write to the new master", 10_000, async () =>
      (await redisCall(newPort, t.password, "SET", "after", "failover")) === "OK" ? true : undefined,
    );
    expect(await redisCall(newPort, t.password, "GET", "before")).toBe("failover");
  });

  it("does not fail over with 2 of 3 Sentinels stopped (no split brain)", async () => {
    const t = await startSentinelTopology(servers);
    await Promise.all(t.sentinels.slice(1).map((s) => stopProc(s)));
    process.kill(t.redis[0].pid, "SIGKILL");
    await sleep(DOWN_AFTER_MS + FAILOVER_MARGIN_MS);
    const [sentinel] = t.sentinelPorts;
    expect(await masterAddr(sentinel)).toBe(`${LOOPBACK}:${t.redisPorts[0]}`);
    // The lone Sentinel sees the master down (s_down) but cannot reach quorum (o_down) to act on it.
    const flags = sentinelMaster(await redisCall(sentinel, undefined, "SENTINEL", "MASTER", MASTER_NAME)).flags;
    expect(flags).toContain("s_down");
    expect(flags).not.toContain("o_down");
    for (const port of t.redisPorts.slice(1)) expect(await role(port, t.password)).toBe("slave");
  });
});
