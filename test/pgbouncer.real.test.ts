/**
 * The pgbouncer.ini and userlist we render, run by a real PgBouncer in front of a real PostgreSQL
 * (max_connections 100, databases enclii and janua with SCRAM roles), on 127.0.0.1.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POOL_SIZE, MAX_CLIENT_CONN } from "../components/data/pgbouncer";
import { requireTool } from "./harness";
import { LOOPBACK, runClients, Servers, startPgbouncerStack, type PgbouncerStack } from "../testbed/servers";

const available = requireTool("pgbouncer") && requireTool("postgres", "postgresql");

describe.skipIf(!available)("PgBouncer with the rendered config, in front of real PostgreSQL", () => {
  const servers = new Servers();
  let stack: PgbouncerStack;
  beforeAll(async () => {
    stack = await startPgbouncerStack(servers);
  });
  afterAll(() => servers.stopAll());

  /** A connected client through PgBouncer (janua's credentials unless overridden), or the connect error. */
  async function connect(o: { user?: string; password?: string; database?: string } = {}): Promise<Client> {
    const c = new Client({
      host: LOOPBACK,
      port: stack.bouncerPort,
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

  it(`serves ${MAX_CLIENT_CONN} concurrent clients with at most ${DEFAULT_POOL_SIZE} PostgreSQL connections`, async () => {
    const r = await runClients(stack, stack.bouncerPort, MAX_CLIENT_CONN);
    expect(r.errors).toEqual({});
    expect(r.succeeded).toBe(MAX_CLIENT_CONN);
    expect(r.maxServerConnections).toBeGreaterThan(0);
    expect(r.maxServerConnections).toBeLessThanOrEqual(DEFAULT_POOL_SIZE);
    const admin = await stack.pg.admin("enclii");
    expect((await admin.query("SELECT count(*)::int AS n FROM hits")).rows[0].n).toBe(MAX_CLIENT_CONN);
    await admin.end();
  });

  it("the same clients straight at PostgreSQL are mostly refused", async () => {
    const r = await runClients(stack, stack.pg.port, MAX_CLIENT_CONN);
    expect(r.failed).toBeGreaterThan(800);
    // Both are PostgreSQL's max_connections refusals (the second once only superuser slots are left).
    for (const msg of Object.keys(r.errors))
      expect(msg).toMatch(
        /^(sorry, too many clients already|remaining connection slots are reserved for non-replication superuser connections)$/,
      );
    expect(r.errors["sorry, too many clients already"]).toBeGreaterThan(r.failed / 2);
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

  it("gives the admin console to admin_users only, and its pools respect the pool size", async () => {
    await expect(connect({ database: "pgbouncer" })).rejects.toThrow(/not allowed/);
    const admin = await connect({ user: "pgbouncer_admin", password: stack.passwords.pgbouncer_admin, database: "pgbouncer" });
    const pools = (await admin.query("SHOW POOLS")).rows as Record<string, string>[];
    await admin.end();
    const enclii = pools.find((p) => p.database === "enclii");
    expect(enclii?.pool_mode).toBe("transaction");
    const server = ["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"].reduce((n, k) => n + Number(enclii?.[k]), 0);
    expect(server).toBeGreaterThan(0);
    expect(server).toBeLessThanOrEqual(DEFAULT_POOL_SIZE);
  });
});
