/**
 * Real PostgreSQL, PgBouncer, Redis and Sentinel for the data-layer tests and `bench/data.ts`,
 * each on 127.0.0.1, a free port and a temp dir, fed the configs our renderers produce.
 * Everything started goes through one `Servers`, whose `stopAll()` stops it by PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Client } from "pg";
import { renderPgbouncerIni, renderUserlist } from "../components/data/pgbouncer";
import { MASTER_NAME, renderRedisConf, renderSentinelConf } from "../components/data/redisConfig";

export const LOOPBACK = "127.0.0.1";

// Debian keeps PostgreSQL's server programs (initdb, postgres) off PATH, under their major version.
const PG_ROOT = "/usr/lib/postgresql";
const pgMajor = existsSync(PG_ROOT)
  ? readdirSync(PG_ROOT)
      .filter((v) => existsSync(join(PG_ROOT, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a))[0]
  : undefined;
if (pgMajor) process.env.PATH = `${process.env.PATH}:${join(PG_ROOT, pgMajor, "bin")}`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** `n` distinct free loopback ports (all held open together, so none is handed out twice). */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, LOOPBACK, r));
    held.push(s);
  }
  const ports = held.map((s) => (s.address() as { port: number }).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface Proc {
  /** The server's PID: the child's own, or that of the server runuser started. */
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  stopSignal: NodeJS.Signals;
}

export class Servers {
  private readonly procs: Proc[] = [];
  private readonly dirs: string[] = [];

  tempDir(prefix: string, ownedByPostgres = false): string {
    const dir = mkdtempSync(join(tmpdir(), `enclii-${prefix}-`));
    this.dirs.push(dir);
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    if (ownedByPostgres) chownSync(dir, id("-u"), id("-g"));
    return dir;
  }

  /** A long-running child whose output goes to `log` (not a pipe, which would fill and stall it). */
  spawn(cmd: string, args: string[], cwd: string, log: string, stopSignal: NodeJS.Signals = "SIGTERM"): Proc {
    const fd = openSync(log, "a");
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    const proc = { pid: child.pid, child, exited: new Promise<void>((r) => child.once("exit", () => r())), stopSignal };
    this.procs.push(proc);
    return proc;
  }

  /** Newest first, each by its PID; then removes the temp dirs. */
  async stopAll(): Promise<void> {
    for (const p of this.procs.splice(0).reverse()) await stopProc(p);
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** Synchronous, for a signal handler about to exit. */
  killAllNow(): void {
    for (const p of this.procs.splice(0)) signal(p.pid, "SIGKILL");
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Its stop signal, then SIGKILL if it is still there after `graceMs`. */
export async function stopProc(p: Proc, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  signal(p.pid, p.stopSignal);
  const late = setTimeout(() => signal(p.pid, "SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(late);
}

/**
 * PostgreSQL and PgBouncer refuse root: `command` runs as postgres under runuser. The server is
 * signalled directly (runuser would forward a SIGTERM and then sleep 2 s), and stays a child of
 * runuser, which reaps it (a daemonized server would be left a zombie where PID 1 reaps nothing).
 */
async function spawnAsPostgres(servers: Servers, command: string, dir: string, stopSignal: NodeJS.Signals): Promise<void> {
  const proc = servers.spawn("runuser", ["-u", "postgres", "--", "bash", "-c", command], dir, join(dir, "server.log"), stopSignal);
  const children = `/proc/${proc.pid}/task/${proc.pid}/children`;
  proc.pid = await waitFor(`${command} to start`, 10_000, async () => Number(readFileSync(children, "utf8").trim()) || undefined);
}

// ---------------------------------------------------------------- PostgreSQL and PgBouncer

export interface Postgres {
  port: number;
  /** A superuser client over the unix socket (trusted locally; TCP needs SCRAM). */
  admin(database?: string): Promise<Client>;
}

export async function startPostgres(servers: Servers, maxConnections = 100): Promise<Postgres> {
  const dir = servers.tempDir("pg", true);
  const data = join(dir, "data");
  const [port] = await freePorts(1);
  const initdb = [
    "initdb",
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ];
  const r = spawnSync("runuser", ["-u", "postgres", "--", ...initdb], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`initdb failed (${r.status}): ${r.stderr}`);
  const opts = `-c listen_addresses=${LOOPBACK} -p ${port} -c unix_socket_directories=${dir} -c max_connections=${maxConnections} -c fsync=off`;
  // SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every session to end).
  await spawnAsPostgres(servers, `exec postgres -D ${data} ${opts}`, dir, "SIGINT");
  const admin = async (database = "postgres") => {
    const c = new Client({ host: dir, port, user: "postgres", database });
    await c.connect();
    return c;
  };
  await waitFor("postgres to accept connections", 30_000, async () => (await admin()).end().then(() => true));
  return { port, admin };
}

export interface PgbouncerStack {
  pg: Postgres;
  bouncerPort: number;
  /** Users (client name = role name) and their passwords; `enclii`'s holds a `"` and a space. */
  passwords: { enclii: string; janua: string; pgbouncer_admin: string };
}

/** PostgreSQL with databases enclii and janua (SCRAM roles of the same names) behind our PgBouncer. */
export async function startPgbouncerStack(servers: Servers): Promise<PgbouncerStack> {
  const pg = await startPostgres(servers);
  const secret = () => randomBytes(12).toString("base64url");
  const passwords = { enclii: `p"w ${secret()}`, janua: secret(), pgbouncer_admin: secret() };
  const admin = await pg.admin();
  for (const db of ["enclii", "janua"] as const) {
    await admin.query(`CREATE ROLE ${db} LOGIN PASSWORD ${admin.escapeLiteral(passwords[db])}`);
    await admin.query(`CREATE DATABASE ${db} OWNER ${db}`);
  }
  await admin.end();
  const enclii = await pg.admin("enclii");
  await enclii.query("CREATE TABLE hits (id bigserial PRIMARY KEY, at timestamptz DEFAULT now()); ALTER TABLE hits OWNER TO enclii");
  await enclii.end();

  const dir = servers.tempDir("pgbouncer", true);
  const [bouncerPort] = await freePorts(1);
  const [ini, userlist] = [join(dir, "pgbouncer.ini"), join(dir, "userlist.txt")];
  writeFileSync(userlist, renderUserlist(Object.entries(passwords).map(([name, password]) => ({ name, password }))));
  const databases = ["enclii", "janua"].map((name) => ({ name, host: LOOPBACK, port: pg.port, dbname: name }));
  writeFileSync(
    ini,
    renderPgbouncerIni({
      databases,
      listenAddr: LOOPBACK,
      listenPort: bouncerPort,
      authFile: userlist,
      serverTlsSslmode: "disable",
      adminUsers: ["pgbouncer_admin"],
    }),
  );
  // 1000 clients + 50 server connections need far more than the default 1024 descriptors.
  // SIGTERM is PgBouncer's immediate shutdown.
  await spawnAsPostgres(servers, `ulimit -n 8192 && exec pgbouncer ${ini}`, dir, "SIGTERM");
  await waitFor("pgbouncer to listen", 10_000, async () => {
    const c = new Client({ host: LOOPBACK, port: bouncerPort, user: "janua", password: passwords.janua, database: "janua" });
    return c
      .connect()
      .then(() => c.end())
      .then(() => true);
  });
  return { pg, bouncerPort, passwords };
}

export interface LoadResult {
  clients: number;
  succeeded: number;
  failed: number;
  /** Failure messages and how often each occurred. */
  errors: Record<string, number>;
  /** Most server connections PostgreSQL showed for the database at any poll during the run. */
  maxServerConnections: number;
  wallMs: number;
}

/** `clients` concurrent connections to `port`, each running one short transaction on `enclii`. */
export async function runClients(stack: PgbouncerStack, port: number, clients: number): Promise<LoadResult> {
  const monitor = await stack.pg.admin();
  let maxServerConnections = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const r = await monitor.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'enclii' AND backend_type = 'client backend'",
      );
      maxServerConnections = Math.max(maxServerConnections, r.rows[0].n);
      await sleep(5);
    }
  })();
  const errors: Record<string, number> = {};
  const failed = (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    errors[msg] = (errors[msg] ?? 0) + 1;
    return false;
  };
  const t0 = performance.now();
  // Every client holds its connection until all have tried, so `clients` really are connected at once.
  const connected = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new Client({
        host: LOOPBACK,
        port,
        user: "enclii",
        password: stack.passwords.enclii,
        database: "enclii",
        connectionTimeoutMillis: 60_000,
      });
      c.on("error", () => undefined);
      try {
        await c.connect();
        return c;
      } catch (err) {
        failed(err);
        await c.end().catch(() => undefined);
        return undefined;
      }
    }),
  );
  const outcomes = await Promise.all(
    connected.map(async (c) => {
      if (!c) return false;
      try {
        await c.query("BEGIN");
        await c.query("INSERT INTO hits DEFAULT VALUES");
        // Holds the server connection long enough that the clients really compete for the pool.
        await c.query("SELECT pg_sleep(0.02)");
        await c.query("COMMIT");
        return true;
      } catch (err) {
        return failed(err);
      } finally {
        await c.end().catch(() => undefined);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  polling = false;
  await poller;
  await monitor.end();
  const succeeded = outcomes.filter(Boolean).length;
  return { clients, succeeded, failed: clients - succeeded, errors, maxServerConnections, wallMs };
}

// ---------------------------------------------------------------- Redis and Sentinel

/** One command on a fresh connection that never retries (a dead server must fail fast). */
export async function redisCall(port: number, password: string | undefined, ...args: (string | number)[]): Promise<unknown> {
  // AUTH is sent as a command (not a client option) so its refusal is the error the caller sees;
  // RESP2 because ioredis's RESP3 handshake (HELLO) is itself refused before AUTH.
  const r = new Redis({
    host: LOOPBACK,
    port,
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
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

/**
 * redis-server on the rendered `conf`, written to a fresh temp dir (redis-sentinel when `password`
 * is undefined); `restart()` starts it again on the same file and data.
 */
export async function startRedis(
  servers: Servers,
  port: number,
  password: string | undefined,
  conf: (dir: string) => string,
): Promise<Proc & { dir: string; restart(): Promise<Proc> }> {
  const sentinel = password === undefined;
  const dir = servers.tempDir(sentinel ? "sentinel" : "redis");
  const file = join(dir, sentinel ? "sentinel.conf" : "redis.conf");
  writeFileSync(file, conf(dir));
  const start = async () => {
    const p = servers.spawn(sentinel ? "redis-sentinel" : "redis-server", [file], dir, join(dir, "log"));
    await waitFor(`redis on ${port}`, 10_000, async () => ((await redisCall(port, password, "PING")) === "PONG" ? true : undefined));
    return p;
  };
  return { ...(await start()), dir, restart: start };
}

export interface SentinelTopology {
  password: string;
  redisPorts: number[];
  sentinelPorts: number[];
  redis: Proc[];
  sentinels: Proc[];
}

/** 1 master + 2 replicas + 3 Sentinels from our renderers, with every Sentinel seeing the whole set. */
export async function startSentinelTopology(servers: Servers): Promise<SentinelTopology> {
  // Sentinel-safe (no spaces or quotes) but still exercising the config quoting with a backslash.
  const password = `s3nt!nel\\${randomBytes(9).toString("base64url")}`;
  const ports = await freePorts(6);
  const [redisPorts, sentinelPorts] = [ports.slice(0, 3), ports.slice(3)];
  const master = { host: LOOPBACK, port: redisPorts[0] };
  const redis: Proc[] = [];
  for (const [i, port] of redisPorts.entries()) {
    const replicaOf = i === 0 ? undefined : master;
    redis.push(
      await startRedis(servers, port, password, (dir) =>
        renderRedisConf({ port, bind: LOOPBACK, password, dir, appendonly: true, replicaOf, minReplicasToWrite: 1 }),
      ),
    );
  }
  const sentinels = await Promise.all(
    sentinelPorts.map((port) => startRedis(servers, port, undefined, () => renderSentinelConf({ port, bind: LOOPBACK, master, password }))),
  );
  for (const port of sentinelPorts) {
    await waitFor(`sentinel ${port} to see 2 replicas and 2 sentinels`, 20_000, async () => {
      const info = sentinelMaster(await redisCall(port, undefined, "SENTINEL", "MASTER", MASTER_NAME));
      return info["num-slaves"] === "2" && info["num-other-sentinels"] === "2" ? true : undefined;
    });
  }
  // "Good" replicas (online, acknowledging) are what min-replicas-to-write counts.
  await waitFor("both replicas in sync", 10_000, async () =>
    String(await redisCall(master.port, password, "INFO", "replication")).includes("min_slaves_good_slaves:2") ? true : undefined,
  );
  return { password, redisPorts, sentinelPorts, redis, sentinels };
}

export function sentinelMaster(reply: unknown): Record<string, string> {
  const flat = reply as string[];
  return Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])));
}

export async function masterAddr(sentinelPort: number): Promise<string> {
  const [host, port] = (await redisCall(sentinelPort, undefined, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as string[];
  return `${host}:${port}`;
}

/** kill -9 the master; returns when that was, and ms until every Sentinel names the same new master. */
export async function failover(t: SentinelTopology, timeoutMs: number): Promise<{ ms: number; master: string; killedAt: number }> {
  const old = `${LOOPBACK}:${t.redisPorts[0]}`;
  const killedAt = performance.now();
  process.kill(t.redis[0].pid, "SIGKILL");
  const master = await waitFor("every sentinel to agree on a new master", timeoutMs, async () => {
    const seen = new Set(await Promise.all(t.sentinelPorts.map(masterAddr)));
    const [only] = seen;
    return seen.size === 1 && only !== old ? only : undefined;
  });
  return { ms: performance.now() - killedAt, master, killedAt };
}
