/**
 * The PostgreSQL rotation (components/data/postgresRoles.ts) against a real PostgreSQL and a real
 * PgBouncer configured like CloudNativePG's Pooler (auth_query, transaction pooling, TLS), each in
 * a pod: the managed roles of every phase applied as the operator's reconciler would
 * (testbed/cnpg.ts), the overlap's check script run from its Job's command and env, and apps
 * (testbed/pgFleet.ts) committing transactions through the Pooler the whole time, rolled to the
 * new login once the check passed. Three rotations, so each slot is reused with a new password.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { loginCheckJobSpec, loginRole, managedRoles } from "../components/data/postgresRoles";
import { budgetFor } from "../model/rules/connectionBudget";
import { DATABASES, POOLED_SERVICE, PORTS, serviceHost } from "../model/names";
import { IMAGES } from "../model/pins";
import { generationName, type Generations } from "../model/rotation";
import { reconcileRoles, reconcileUntilStable, startPooler, type PasswordStatus, type RoleSecrets } from "../testbed/cnpg";
import { Fleet, runInPod, type Login, type ScriptRun } from "../testbed/pgFleet";
import { PodNetwork, type Pod } from "../testbed/pods";
import { startPostgres, type Postgres } from "../testbed/postgres";
import { Servers, waitFor } from "../testbed/servers";
import { requirePods, requireTool } from "./harness";

const available =
  requirePods() &&
  requireTool("pgbouncer") &&
  requireTool("postgres", "postgresql") &&
  requireTool("psql", "postgresql-client") &&
  requireTool("openssl");

const CLUSTER_RW = "enclii-pg-rw";
const REPLICAS = 12;
/** Transactions committed between steps: enough that every pod has logged in again meanwhile. */
const BETWEEN_STEPS = 300;
/** The check's retry interval here (the Job waits 5 s between attempts). */
const TEST_INTERVAL_S = "0.2";
/** Failed queries the rotation may cost the apps. */
const FAILED_QUERIES_BOUND = 0;

describe.skipIf(!available)("rotating PostgreSQL's logins behind CloudNativePG's Pooler, with apps running", () => {
  const servers = new Servers();
  const secrets: RoleSecrets = {};
  const status: PasswordStatus = new Map();
  let pg: Postgres;
  let admin: Client;
  let pooler: Pod;
  let checker: Pod;
  let fleet: Fleet;

  const secretName = (db: string, g: number) => generationName(`pg-role-${db}`, g);
  const rolesOf = (gens: Generations) => DATABASES.flatMap((db) => managedRoles(db, gens, (g) => secretName(db, g)));
  /** The generation's RandomPassword and role Secret, one per database. */
  const mint = (g: number) => {
    for (const db of DATABASES)
      secrets[secretName(db, g)] = { username: loginRole(db, g), password: randomBytes(24).toString("base64url") };
  };
  const login = (db: string, g: number): Login => {
    const s = secrets[secretName(db, g)];
    return { user: s.username, password: s.password };
  };
  const reconcile = (gens: Generations) => reconcileUntilStable(admin, rolesOf(gens), secrets, status);

  /** The check Job's container, as Postgres.ts registers it, with the Secret's values the kubelet would put in its env. */
  function check(db: string, g: number, override: Record<string, string> = {}): ScriptRun {
    const spec = loginCheckJobSpec({
      db,
      roleSecret: secretName(db, g),
      directHost: CLUSTER_RW,
      pooledHost: POOLED_SERVICE,
      image: IMAGES.postgres,
    });
    const container = (spec.template as any).spec.containers[0];
    const env: Record<string, string> = {};
    for (const e of container.env) {
      const ref = e.valueFrom?.secretKeyRef as { name: string; key: "username" | "password" } | undefined;
      env[e.name] = ref ? secrets[ref.name][ref.key] : e.value;
    }
    return runInPod(checker, container.command, { ...env, INTERVAL_S: TEST_INTERVAL_S, ...override });
  }

  async function connect(host: string, l: Login, database = "enclii"): Promise<Client> {
    const c = new Client({ host, port: PORTS.postgres, database, ...l, ssl: { rejectUnauthorized: false } });
    c.on("error", () => undefined);
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
  }
  /** Who a login acts as, straight at the server and through the Pooler. */
  async function actsAs(l: Login, database = "enclii"): Promise<string[]> {
    const out = [];
    for (const host of [pg.pod.ip, pooler.ip]) {
      const c = await connect(host, l, database);
      out.push((await c.query("SELECT current_user AS u")).rows[0].u as string);
      await c.end();
    }
    return out;
  }

  /**
   * Months pass between rotations: PgBouncer has long closed the disabled slot's idle server
   * connections (server_idle_timeout, 600 s by default, which the Pooler keeps), so the slot's
   * next generation needs new ones, opened with its new password.
   */
  async function monthsLater(slot: string): Promise<void> {
    const log = join(pooler.dir, "pgbouncer.log");
    const seen = readFileSync(log, "utf8").length;
    const closed = new RegExp(`/${slot}@\\S+ closing because: server conn crashed\\?`, "g");
    // Two statements: in one, the planner may call pg_terminate_backend before filtering on the user.
    const pids = (await admin.query("SELECT pid FROM pg_stat_activity WHERE usename = $1", [slot])).rows.map((r) => r.pid as number);
    for (const pid of pids) await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    const n = pids.length;
    await waitFor(`PgBouncer to drop ${slot}'s ${n} server connections`, async () =>
      (readFileSync(log, "utf8").slice(seen).match(closed) ?? []).length >= n ? true : undefined,
    );
  }

  /** The overlap's `up`: the Cluster gets both logins, the check waits for the operator, then the apps roll. */
  async function overlap(g: number, roll = true): Promise<void> {
    await monthsLater(loginRole("enclii", g));
    mint(g);
    const runs = DATABASES.map((db) => check(db, g));
    // The operator has not acted yet: the check must be retrying, not passing.
    await waitFor("the checks to retry", async () => (runs.every((r) => r.stderr().includes(`attempt 1 of `)) ? true : undefined));
    expect(await reconcile({ current: g, previous: g - 1 })).toBeGreaterThan(0);
    for (const [i, run] of runs.entries()) {
      const { code, stdout, stderr } = await run.exited;
      const db = DATABASES[i];
      expect({ code, stdout }, stderr).toEqual({
        code: 0,
        stdout: `${loginRole(db, g)} logs in to ${db} directly and through ${POOLED_SERVICE}, acting as ${db}\n`,
      });
    }
    // Setting the slot's default left pg_authid as the operator recorded it: nothing to redo.
    expect(await reconcileRoles(admin, rolesOf({ current: g, previous: g - 1 }), secrets, status)).toBe(0);
    if (roll) await fleet.roll(login("enclii", g));
    await fleet.progress(BETWEEN_STEPS);
    // Every server connection of the slot is new, opened with the new password's keys (PgBouncer's SCRAM pass-through).
    const slot = loginRole("enclii", g);
    expect((await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [slot])).rows[0].n).toBeGreaterThan(0);
  }

  /** The settled `up`: the previous slot can no longer log in. */
  async function settle(g: number): Promise<void> {
    expect(await reconcile({ current: g })).toBeGreaterThan(0);
    await fleet.progress(BETWEEN_STEPS);
  }

  beforeAll(async () => {
    const net = PodNetwork.create(servers);
    const db = await startPostgres(net.addPod("db", [CLUSTER_RW]));
    pg = db;
    admin = await pg.admin();
    mint(0);
    await reconcile({ current: 0 });
    // The Database objects: owned by <db>, whichever slot logs in.
    for (const name of DATABASES) await admin.query(`CREATE DATABASE ${name} OWNER ${name}`);
    const enclii = await pg.admin("enclii");
    await enclii.query(
      "CREATE TABLE hits (id bigserial PRIMARY KEY, login name DEFAULT session_user, actor name DEFAULT current_user); ALTER TABLE hits OWNER TO enclii",
    );
    await enclii.end();
    const budget = budgetFor({ mode: "in-cluster" }, 1, DATABASES.length);
    pooler = await startPooler(net, db, {
      names: [POOLED_SERVICE, serviceHost(POOLED_SERVICE)],
      rwHost: CLUSTER_RW,
      databases: DATABASES,
      budget,
    });
    checker = net.addPod("login-check");
    fleet = new Fleet(pooler.ip, "enclii");
    fleet.start(login("enclii", 0), REPLICAS);
    await fleet.progress(BETWEEN_STEPS);
  });
  afterAll(async () => {
    await fleet?.stop();
    await admin?.end();
    await servers.stopAll();
  });

  it("generation 0: the apps log in as the owner, the only role, as before rotation", () => {
    expect(rolesOf({ current: 0 }).map((r) => r.name)).toEqual([...DATABASES]);
    expect(fleet.logins()).toEqual(["enclii"]);
    expect(fleet.failed).toBe(0);
  });

  it("overlap of generation 1: the check waits for the operator, then the apps move to <db>_b; both logins work", async () => {
    await overlap(1);
    expect(fleet.logins()).toEqual(["enclii_b"]);
    for (const db of DATABASES) {
      expect(await actsAs(login(db, 0), db)).toEqual([db, db]);
      expect(await actsAs(login(db, 1), db)).toEqual([db, db]);
    }
    expect(fleet.failed).toBe(0);
  });

  it("a migration run as <db>_b, through the Pooler or straight at the server, leaves everything owned by <db>", async () => {
    for (const host of [pooler.ip, pg.pod.ip]) {
      const c = await connect(host, login("enclii", 1));
      const table = host === pooler.ip ? "pooled_migration" : "direct_migration";
      await c.query(`CREATE TABLE ${table} (id int); CREATE INDEX ON ${table} (id); CREATE SEQUENCE ${table}_seq`);
      await c.end();
    }
    // The owner's own table, altered by the other slot: it acts with the owner's rights.
    const c = await connect(pooler.ip, login("enclii", 1));
    await c.query("ALTER TABLE hits ADD COLUMN note text");
    await c.end();
    const enclii = await pg.admin("enclii");
    const owners = await enclii.query(
      "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
    );
    await enclii.end();
    expect(owners.rows.length).toBeGreaterThan(4);
    expect(new Set(owners.rows.map((r) => r.owner))).toEqual(new Set(["enclii"]));
  });

  it("settled at generation 1: the owner's own login is off and its password gone; the apps go on", async () => {
    await settle(1);
    await expect(connect(pooler.ip, login("enclii", 0))).rejects.toThrow("no such user");
    await expect(connect(pg.pod.ip, login("enclii", 0))).rejects.toThrow('password authentication failed for user "enclii"');
    const roles = await admin.query(
      "SELECT rolname, rolcanlogin, rolpassword IS NULL AS nopassword FROM pg_authid WHERE rolname LIKE 'enclii%' ORDER BY 1",
    );
    expect(roles.rows).toEqual([
      { rolname: "enclii", rolcanlogin: false, nopassword: true },
      { rolname: "enclii_b", rolcanlogin: true, nopassword: false },
    ]);
    expect(fleet.failed).toBe(0);
  });

  it("generation 2 moves back to <db> with a new password, and settles with <db>_b off", async () => {
    await overlap(2);
    expect(fleet.logins()).toEqual(["enclii"]);
    await settle(2);
    await expect(connect(pooler.ip, login("enclii", 1))).rejects.toThrow("no such user");
    const c = await connect(pooler.ip, login("enclii", 2));
    await c.query("ALTER TABLE pooled_migration ADD COLUMN note text");
    await c.end();
    expect(fleet.failed).toBe(0);
  });

  it("a rotation stopped in its overlap leaves both logins working; running it again resumes and settles", async () => {
    await overlap(3, false);
    // Interrupted before the apps rolled: they go on with generation 2 while generation 3 works too.
    expect(fleet.logins()).toEqual(["enclii"]);
    for (const db of DATABASES) {
      expect(await actsAs(login(db, 2), db)).toEqual([db, db]);
      expect(await actsAs(login(db, 3), db)).toEqual([db, db]);
    }
    // The same `up` again: the operator has nothing to do and the check passes at its first attempt.
    expect(await reconcile({ current: 3, previous: 2 })).toBe(0);
    const again = await check("enclii", 3).exited;
    expect(again).toEqual({ code: 0, stdout: "enclii_b logs in to enclii directly and through postgres, acting as enclii\n", stderr: "" });
    await fleet.roll(login("enclii", 3));
    await settle(3);
    await expect(connect(pooler.ip, login("enclii", 2))).rejects.toThrow("no such user");
    expect(fleet.logins()).toEqual(["enclii_b"]);
  });

  it("the check gives up with its message when the login never works", async () => {
    const run = check("enclii", 3, { PGPASSWORD: "not-the-password", ATTEMPTS: "2" });
    const { code, stderr } = await run.exited;
    const lines = stderr.trim().split("\n");
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^attempt 1 of 2: enclii_b cannot log in to enclii at enclii-pg-rw acting as enclii yet: psql: error: /);
    expect(lines.at(-1)).toMatch(/^enclii_b could not log in to enclii at enclii-pg-rw acting as enclii after 2 attempts: psql: error: /);
    expect(lines.at(-1)).toContain('password authentication failed for user "enclii_b"');
  });

  it("refuses a pooled session opened before the slot's default existed: why the check sets it straight at the server first", async () => {
    // A slot-like role whose first login went through the Pooler: PgBouncer keeps that server connection.
    const probe = { user: "enclii_probe", password: randomBytes(24).toString("base64url") };
    await admin.query(`CREATE ROLE enclii_probe LOGIN PASSWORD '${probe.password}' IN ROLE enclii`);
    const early = await connect(pooler.ip, probe);
    expect((await early.query("SELECT current_user AS u")).rows[0].u).toBe("enclii_probe");
    await early.end();
    const { code, stderr } = await check("enclii", 3, { PGUSER: probe.user, PGPASSWORD: probe.password }).exited;
    expect({ code, stderr }).toEqual({ code: 1, stderr: "enclii_probe acts as enclii_probe through postgres, not as enclii\n" });
  });
  it(`the apps lost at most ${FAILED_QUERIES_BOUND} queries over the three rotations, and every row was written as the owner`, async () => {
    await fleet.stop();
    expect(fleet.errors).toEqual({});
    expect(fleet.failed).toBeLessThanOrEqual(FAILED_QUERIES_BOUND);
    const enclii = await pg.admin("enclii");
    const rows = (await enclii.query("SELECT login, actor, count(*)::int AS n FROM hits GROUP BY 1, 2 ORDER BY 1")).rows;
    await enclii.end();
    expect(rows.map((r) => [r.login, r.actor])).toEqual([
      ["enclii", "enclii"],
      ["enclii_b", "enclii"],
    ]);
    // Each acknowledged commit is a row, and no row was committed unacknowledged.
    expect(rows.reduce((n, r) => n + r.n, 0)).toBe(fleet.ok);
  });
});
