/**
 * Rotating the Redis password on real servers (docs/data.md#how-the-redis-password-rotates): the pods
 * of testbed/redis.ts run the rendered configs, the init script and the auth-sync sidecar; the
 * config Secret changes as the kubelet changes a mounted Secret (testbed/secretVolume.ts), pod by
 * pod; the overlap's check Job runs its script; app clients keep sending requests, new ones with
 * the new password as rolled pods would, old ones finishing. Waits are on conditions; work is
 * bounded by request counts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_FILES, type RedisMode } from "../components/data/redisPods";
import { requirePods, requireTool } from "./harness";
import { redisCall, redisTestPassword, startRedisCluster, type RedisCluster, type RedisPod } from "../testbed/redis";
import { exporterAuth } from "../testbed/exporterStandIn";
import { answer, portOf, progress, runPasswordCheck, startAppClient, type AppClient } from "../testbed/redisRotation";
import { Servers, stopProc, waitFor } from "../testbed/servers";

const available = requirePods() && requireTool("redis-server") && requireTool("redis-sentinel");

/** Failed requests a whole rotation may cost the apps: none. */
const FAILED_REQUESTS_BOUND = 0;
/** App pods during the rotation; each is replaced by one with the new password, one at a time. */
const APP_PODS = 3;
/** Requests each client completes before the rotation takes its next step. */
const REQUESTS_PER_STEP = 40;
const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
const APPLIED = "auth-sync: redis holds the config Secret's passwords";

const everyPod = (c: RedisCluster) => [...c.redis, ...c.sentinels];
const accepts = (p: RedisPod, password: string) => async () => ((await answer(p, password)) === "PONG" ? true : undefined);
const refuses = (p: RedisPod, password: string) => async () => ((await answer(p, password)) === WRONGPASS ? true : undefined);

async function answers(c: RedisCluster, password: string): Promise<Record<string, string>> {
  const pods = everyPod(c);
  return Object.fromEntries(await Promise.all(pods.map(async (p) => [p.pod.name, await answer(p, password)])));
}
const allPong = (c: RedisCluster) => Object.fromEntries(everyPod(c).map((p) => [p.pod.name, "PONG"]));

/**
 * Kills the links Sentinels hold open to `target`, then waits for `count` new ones: a Sentinel
 * names a link (`sentinel-<id>-cmd` or `-pubsub`) right after its AUTH (src/sentinel.c
 * sentinelReconnectInstance: sentinelSendAuthIfNeeded, then sentinelSetClientName), and a
 * refused AUTH leaves the name refused too. So the new links prove the password Sentinels use now.
 */
async function reconnected(target: RedisPod, password: string, count: number): Promise<void> {
  const links = async () =>
    String(await redisCall(target.pod.ip, portOf(target), password, "CLIENT", "LIST"))
      .split("\n")
      .filter((l) => / name=sentinel-[0-9a-f]+-(cmd|pubsub) /.test(l))
      .map((l) => /^id=(\d+) /.exec(l)![1]);
  const killed = await links();
  expect(killed.length).toBe(count);
  for (const id of killed) await redisCall(target.pod.ip, portOf(target), password, "CLIENT", "KILL", "ID", id);
  await waitFor(`${target.pod.name}'s Sentinel links to come back, authenticated`, async () =>
    (await links()).filter((id) => !killed.includes(id)).length === count ? true : undefined,
  );
}

describe.skipIf(!available).each<RedisMode>(["standalone", "sentinel"])("rotating the Redis password under load (%s)", (mode) => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it(`fails no request (bound ${FAILED_REQUESTS_BOUND}) while clients move to the new password, then only the new one works`, async () => {
    const c = await startRedisCluster(servers, mode, { exporter: true });
    const [before, after] = [c.password, redisTestPassword()];
    const masters = mode === "sentinel" ? await c.namedMasters() : [];
    const old: AppClient[] = Array.from({ length: APP_PODS }, (_, i) => startAppClient(c, before, `old-${i}`));
    const fresh: AppClient[] = [];
    await waitFor("the apps' requests", progress(old, REQUESTS_PER_STEP));

    // Overlap. The kubelet refreshes the Secret in one pod first: the check refuses to pass.
    const [first, ...rest] = everyPod(c);
    c.project({ current: after, previous: before }, [first]);
    await waitFor(`${first.pod.name}'s sidecar to apply the new password`, accepts(first, after));
    if (rest.length > 0) {
      const early = await runPasswordCheck(c, after, 1);
      expect(early.code).toBe(1);
      expect(early.output).toBe(
        `redis: after 1 rounds 2 s apart, still refusing the new password: ${rest.map((p) => p.pod.name).join(" ")} ` +
          "(clients keep the old one; docs/data.md#how-the-redis-password-rotates)\n",
      );
    }
    c.project({ current: after, previous: before }, rest);
    const check = await runPasswordCheck(c, after);
    expect(check).toEqual({
      code: 0,
      output: `all ${everyPod(c).length} Redis${mode === "sentinel" ? " and Sentinel" : ""} pods accept the new password\n`,
    });
    expect(await answers(c, before)).toEqual(allPong(c));
    expect(await answers(c, after)).toEqual(allPong(c));

    // The apps roll, one pod at a time: a new one with the new password is up, then an old one goes.
    for (const [i, o] of old.entries()) {
      fresh.push(startAppClient(c, after, `new-${i}`));
      await waitFor(`new-${i}'s requests`, progress(fresh.slice(-1), REQUESTS_PER_STEP));
      await o.stop();
    }

    // Settled: each pod drops the old password when its Secret is refreshed.
    c.project({ current: after });
    for (const p of everyPod(c)) await waitFor(`${p.pod.name} to refuse the old password`, refuses(p, before));
    // The exporters scrape with the new password: the sidecar had them reload their password file.
    for (const p of everyPod(c))
      await waitFor(`${p.pod.name}'s exporter to authenticate`, async () => ((await exporterAuth(p.pod)) === "+OK" ? true : undefined));
    await waitFor("the apps' requests after the rotation", progress(fresh, REQUESTS_PER_STEP));
    expect(await answers(c, after)).toEqual(allPong(c));

    if (mode === "sentinel") {
      // No failover on the way, and the links the servers open among themselves use the new password.
      expect(await c.namedMasters()).toEqual(masters);
      for (const replica of c.redis.filter((r) => r.fqdn !== masters[0])) {
        await c.call(replica, "CLIENT", "KILL", "TYPE", "master");
        await waitFor(`${replica.pod.name} to sync again`, async () =>
          String(await c.call(replica, "INFO", "replication")).includes("master_link_status:up") ? true : undefined,
        );
      }
      const master = c.redis.find((r) => r.fqdn === masters[0])!;
      await reconnected(master, after, 2 * c.sentinels.length);
      for (const s of c.sentinels) await reconnected(s, after, c.sentinels.length - 1);
    }

    await Promise.all(fresh.map((f) => f.stop()));
    const clients = [...old, ...fresh];
    const failures = clients.flatMap((x) => x.failures);
    console.warn(`${mode}: ${clients.reduce((n, x) => n + x.done, 0)} requests across the rotation, ${failures.length} failed`);
    expect(failures.length).toBeLessThanOrEqual(FAILED_REQUESTS_BOUND);
    expect(failures).toEqual([]);
  });
});

describe.skipIf(!available)("a rotation stopped in overlap (standalone)", () => {
  const servers = new Servers();
  afterAll(() => servers.stopAll());

  it("leaves both passwords working, through a restart of Redis's container and a recreation of its pod", async () => {
    const c = await startRedisCluster(servers, "standalone");
    const [redis] = c.redis;
    const [before, after] = [c.password, redisTestPassword()];
    c.project({ current: after, previous: before });
    expect((await runPasswordCheck(c, after)).code).toBe(0);

    // The container restarts on its own (working dir kept, no init), its sidecar stopped: what the
    // sidecar wrote back (CONFIG REWRITE) is what it starts with.
    await stopProc(redis.sidecar);
    const conf = readFileSync(join(redis.paths.work, CONFIG_FILES.redis), "utf8");
    expect(conf.match(/^user default .*$/m)?.[0].match(/#[0-9a-f]{64}/g)).toHaveLength(2);
    process.kill(redis.proc.pid, "SIGKILL");
    await redis.proc.exited;
    await redis.restart();
    expect([await answer(redis, before), await answer(redis, after)]).toEqual(["PONG", "PONG"]);

    // The pod recreated: a fresh working dir from the config Secret as it is now, the overlap's.
    const applied = () => readFileSync(join(redis.pod.dir, "auth-sync.log"), "utf8").split(APPLIED).length - 1;
    const appliedBefore = applied();
    process.kill(redis.proc.pid, "SIGKILL");
    await redis.proc.exited;
    await redis.recreate();
    expect([await answer(redis, before), await answer(redis, after)]).toEqual(["PONG", "PONG"]);
    expect(await c.call(redis, "CONFIG", "GET", "masterauth")).toEqual(["masterauth", before]);

    // Nothing is locked out: the new sidecar applies the Secret, the check passes again, and the rotation can go on or stay.
    await waitFor("the new sidecar to apply the Secret", async () => (applied() > appliedBefore ? true : undefined));
    expect((await runPasswordCheck(c, after)).code).toBe(0);
    expect([await answer(redis, before), await answer(redis, after)]).toEqual(["PONG", "PONG"]);
  });
});
