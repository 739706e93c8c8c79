/**
 * What ExternalPostgres renders, run by a real PgBouncer in front of a real PostgreSQL
 * (max_connections 100, TLS with a test CA, databases enclii and janua with SCRAM roles), each in
 * its own pod (testbed/postgres.ts), PgBouncer verifying the server's certificate (verify-full).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CLIENT_CONN } from "../components/data/pgbouncer";
import { DATABASES, PORTS } from "../model/names";
import { requirePods, requireTool } from "./harness";
import { BUDGET, DB_ALIAS, PG_MAX_CONNECTIONS, runClients, startPgbouncerStack, type PgbouncerStack } from "../testbed/postgres";
import { Servers, waitFor } from "../testbed/servers";

const available = requirePods() && requireTool("pgbouncer") && requireTool("postgres", "postgresql") && requireTool("openssl");

describe.skipIf(!available)("PgBouncer with the rendered config, in front of real PostgreSQL over verified TLS", () => {
  const servers = new Servers();
  let stack: PgbouncerStack;
  beforeAll(async () => {
    stack = await startPgbouncerStack(servers);
  });
  afterAll(() => servers.stopAll());

  /** A connected client through a PgBouncer (janua's credentials unless overridden), or the connect error. */
  async function connect(o: { user?: string; password?: string; database?: string; host?: string } = {}): Promise<Client> {
    const c = new Client({
      host: stack.pgbouncer.ip,
      port: PORTS.postgres,
      user: "janua",
      password: stack.passwords.janua,
      database: "janua",
      ...o,
    });
    c.on("error", () => undefined);
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
  }

  async function worksNormally(): Promise<void> {
    const c = await connect();
    expect((await c.query("SELECT current_user AS u, current_database() AS d")).rows).toEqual([{ u: "janua", d: "janua" }]);
    await c.end();
  }

  it(`serves ${MAX_CLIENT_CONN} concurrent clients with at most ${BUDGET.perPool} PostgreSQL connections`, async () => {
    const before = stack.pgbouncer.tcpCounters();
    const r = await runClients(stack, stack.pgbouncer.ip, MAX_CLIENT_CONN);
    const after = stack.pgbouncer.tcpCounters();
    // Every connection attempt fitted PgBouncer's listen queue: none was turned into a SYN cookie
    // and reset (with PgBouncer's default backlog of 128, 24 of 1000 were on a busy machine).
    expect(after.ListenOverflows - before.ListenOverflows).toBe(0);
    expect(r.errors).toEqual({});
    expect(r.succeeded).toBe(MAX_CLIENT_CONN);
    expect(r.maxServerConnections).toBeGreaterThan(0);
    expect(r.maxServerConnections).toBeLessThanOrEqual(BUDGET.perPool);
    const admin = await stack.pg.admin("enclii");
    expect((await admin.query("SELECT count(*)::int AS n FROM hits")).rows[0].n).toBe(MAX_CLIENT_CONN);
    await admin.end();
  });

  it("talks to PostgreSQL over TLS", async () => {
    const c = await connect();
    await c.query("BEGIN");
    const admin = await stack.pg.admin();
    const rows = (await admin.query("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'janua'")).rows;
    await admin.end();
    await c.query("COMMIT");
    await c.end();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.ssl === true)).toBe(true);
  });

  it(`the same clients straight at PostgreSQL: at most ${PG_MAX_CONNECTIONS} get in, the rest are refused`, async () => {
    const r = await runClients(stack, stack.pg.pod.ip, MAX_CLIENT_CONN);
    expect(r.succeeded).toBeLessThanOrEqual(PG_MAX_CONNECTIONS);
    expect(r.failed).toBeGreaterThanOrEqual(MAX_CLIENT_CONN - PG_MAX_CONNECTIONS);
    // PostgreSQL's max_connections refusals (the second once only superuser slots are left). A
    // backend that refuses closes the socket at once, so a client still writing its TLS or
    // startup packet sees the refusal as a reset instead: how many do depends on timing.
    const refusal =
      /^(sorry, too many clients already|remaining connection slots are reserved for (non-replication superuser connections|roles with the SUPERUSER attribute))$/;
    for (const msg of Object.keys(r.errors)) expect(msg).toMatch(new RegExp(`${refusal.source}|^read ECONNRESET$`));
    expect(Object.keys(r.errors).some((msg) => refusal.test(msg))).toBe(true);
  });

  it(`two replicas × two databases at full load hold at most ${BUDGET.poolers} of ${PG_MAX_CONNECTIONS} connections, and a direct client still gets in`, async () => {
    const pods = [stack.pgbouncer, await stack.startReplica()];
    // More clients per pool than a pool holds: the rest wait in PgBouncer's queue.
    const perPool = BUDGET.perPool + 5;
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    const failures: string[] = [];
    const clients = pods.flatMap((pod) =>
      DATABASES.flatMap((db) =>
        Array.from({ length: perPool }, async () => {
          const c = new Client({ host: pod.ip, port: PORTS.postgres, user: db, password: stack.passwords[db], database: db });
          c.on("error", () => undefined);
          try {
            await c.connect();
            // An open transaction holds its server connection until COMMIT.
            await c.query("BEGIN");
            await c.query("SELECT 1");
            await released;
            await c.query("COMMIT");
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
          } finally {
            await c.end().catch(() => undefined);
          }
        }),
      ),
    );
    const admin = await stack.pg.admin();
    const byPool = async () =>
      (
        await admin.query(
          "SELECT host(client_addr) AS pod, datname, count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1) GROUP BY 1, 2",
          [[...DATABASES]],
        )
      ).rows as { pod: string; datname: string; n: number }[];
    // Every pool full: each (replica, database) holds its share, none more.
    const peak = await waitFor("every pool to hold its share", async () => {
      const rows = await byPool();
      return rows.length === pods.length * DATABASES.length && rows.every((r) => r.n >= BUDGET.perPool) ? rows : undefined;
    });
    expect(peak.map((r) => r.n)).toEqual(Array(pods.length * DATABASES.length).fill(BUDGET.perPool));
    expect(peak.reduce((n, r) => n + r.n, 0)).toBe(BUDGET.poolers);
    // At the peak, a migration or psql straight at the server (not a superuser) still gets in.
    const direct = new Client({
      host: stack.pg.pod.ip,
      port: PORTS.postgres,
      user: "enclii",
      password: stack.passwords.enclii,
      database: "enclii",
    });
    await direct.connect();
    expect((await direct.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await direct.end();
    release();
    await Promise.all(clients);
    await admin.end();
    expect(failures).toEqual([]);
  });

  it("refuses a wrong password, an unknown user and an unknown database with clear errors", async () => {
    await expect(connect({ password: "not-the-password" })).rejects.toThrow("SASL authentication failed");
    await expect(connect({ user: "mallory", password: "x" })).rejects.toThrow("SASL authentication failed");
    await expect(connect({ database: "nope" })).rejects.toThrow("no such database: nope");
    await worksNormally();
  });

  it(`refuses client ${MAX_CLIENT_CONN + 1} (max_client_conn) and recovers once clients leave`, async () => {
    const held = await Promise.all(Array.from({ length: MAX_CLIENT_CONN }, () => connect()));
    try {
      await expect(connect()).rejects.toThrow("no more connections allowed (max_client_conn)");
    } finally {
      await Promise.all(held.map((c) => c.end()));
    }
    await worksNormally();
  });

  it("verify-full refuses a server whose certificate does not carry the configured host name", async () => {
    const misnamed = await stack.startMisnamed();
    let connected = false;
    // Stays pending: PgBouncer keeps the client waiting while it retries the server (until stopAll ends it).
    void connect({ host: misnamed.ip }).then(
      (c) => {
        connected = true;
        return c.end();
      },
      () => undefined,
    );
    const log = join(misnamed.dir, "pgbouncer.log");
    await waitFor("PgBouncer to refuse the server's certificate", async () =>
      readFileSync(log, "utf8").includes(`TLS handshake error: name \`${DB_ALIAS}' not present in server certificate`) ? true : undefined,
    );
    expect(connected).toBe(false);
    const admin = await stack.pg.admin();
    const sessions = (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE client_addr = $1", [misnamed.ip])).rows[0].n;
    await admin.end();
    expect(sessions).toBe(0);
    await worksNormally();
  });
});
