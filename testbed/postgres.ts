/**
 * A real PostgreSQL with TLS (a test CA's certificate for its DNS name) behind a real PgBouncer
 * fed exactly what ExternalPostgres renders from `enclii:externalDatabaseUrls`: each in a pod of
 * its own on the production port, PgBouncer verifying the server's certificate against the CA
 * bundle path the image uses (`verify-full`, with the test CA bound over that path in its pod).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, chownSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import {
  CA_FILE,
  externalDatabases,
  INI_FILE,
  renderPgbouncerIni,
  renderUserlist,
  USERLIST_FILE,
  type ExternalServer,
} from "../components/data/pgbouncer";
import { budgetFor } from "../model/rules/connectionBudget";
import { DATABASES, PORTS } from "../model/names";
import { PodNetwork, type Pod } from "./pods";
import { sleep, waitFor, type Servers } from "./servers";

/** The managed database's name, on its certificate and in the URLs. */
const DB_HOST = "db.enclii.test";
/** Another name for the same server, absent from its certificate: verify-full must refuse it. */
export const DB_ALIAS = "db-alias.enclii.test";
export const PG_MAX_CONNECTIONS = 100;
/** The budget the external mode computes for this server: two PgBouncer replicas, as the Deployment runs. */
export const BUDGET = budgetFor({ mode: "external", maxConnections: PG_MAX_CONNECTIONS }, 1, DATABASES.length);
/** 1000 clients and 50 server connections need far more than the default 1024 descriptors. */
const PGBOUNCER_FILES = 8192;

function run(argv: string[], cwd: string): void {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
}

/** A CA, and a server key and certificate it signed for DB_HOST only. */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const days = ["-days", "2"];
  run(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      "/CN=enclii test CA",
      ...days,
    ],
    dir,
  );
  run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${DB_HOST}`], dir);
  writeFileSync(join(dir, "san.ext"), `subjectAltName=DNS:${DB_HOST}\n`);
  const sign = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "san.ext"];
  run(["openssl", "x509", "-req", "-in", "server.csr", ...sign, "-out", "server.crt", ...days], dir);
  const { uid, gid } = statSync(dir);
  for (const f of ["server.key", "server.crt"]) chownSync(join(dir, f), uid, gid);
  chmodSync(join(dir, "server.key"), 0o600);
  return { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
}

export interface Postgres {
  pod: Pod;
  /** A superuser client over the unix socket (trusted locally; TCP needs SCRAM). */
  admin(database?: string): Promise<Client>;
}

export async function startPostgres(db: Pod): Promise<Postgres & { ca: string }> {
  const data = db.volume("data");
  const sockets = db.volume("sockets");
  const certs = certificates(db.volume("tls"));
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
  const r = db.run(["runuser", "-u", "postgres", "--", ...initdb]);
  if (r.status !== 0) throw new Error(`initdb failed (${r.status}): ${r.output}`);
  // PgBouncer and the direct clients come over the pod network.
  appendFileSync(join(data, "pg_hba.conf"), "host all all 198.18.0.0/15 scram-sha-256\n");
  const settings = {
    listen_addresses: "*",
    port: String(PORTS.postgres),
    unix_socket_directories: sockets,
    max_connections: String(PG_MAX_CONNECTIONS),
    fsync: "off",
    ssl: "on",
    ssl_cert_file: certs.cert,
    ssl_key_file: certs.key,
  };
  const argv = ["postgres", "-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  // SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every session to end).
  await db.start(argv, "postgres.log", { asPostgres: true, stopSignal: "SIGINT" });
  const admin = async (database = "postgres") => {
    const c = new Client({ host: sockets, port: PORTS.postgres, user: "postgres", database });
    await c.connect();
    return c;
  };
  await waitFor("postgres to accept connections", async () => (await admin()).end().then(() => true));
  return { pod: db, admin, ca: certs.ca };
}

export interface PgbouncerStack {
  net: PodNetwork;
  pg: Postgres;
  pgbouncer: Pod;
  /** Users (client name = role name) and their passwords; `enclii`'s holds a `"` and a space. */
  passwords: Record<(typeof DATABASES)[number], string>;
  /** Another PgBouncer, configured like the first but for a name the server's certificate lacks. */
  startMisnamed(): Promise<Pod>;
  /** A second replica of the first, as the Deployment runs two. */
  startReplica(): Promise<Pod>;
}

/**
 * `enclii:externalDatabaseUrls` for the test server, with roles and databases to match; a table
 * `hits` in enclii for the load test.
 */
async function provision(pg: Postgres): Promise<Record<string, string>> {
  const secret = () => randomBytes(12).toString("base64url");
  const passwords: Record<string, string> = { enclii: `p"w ${secret()}`, janua: secret() };
  const admin = await pg.admin();
  for (const db of DATABASES) {
    await admin.query(`CREATE ROLE ${db} LOGIN PASSWORD ${admin.escapeLiteral(passwords[db])}`);
    await admin.query(`CREATE DATABASE ${db} OWNER ${db}`);
  }
  await admin.end();
  const enclii = await pg.admin("enclii");
  await enclii.query("CREATE TABLE hits (id bigserial PRIMARY KEY, at timestamptz DEFAULT now()); ALTER TABLE hits OWNER TO enclii");
  await enclii.end();
  return Object.fromEntries(
    DATABASES.map((db) => [db, `postgres://${db}:${encodeURIComponent(passwords[db])}@${DB_HOST}:${PORTS.postgres}/${db}`]),
  );
}

/** A PgBouncer pod running the ini and userlist ExternalPostgres renders for `server` and `urls`. */
async function startPgbouncer(
  net: PodNetwork,
  name: string,
  server: ExternalServer,
  urls: Record<string, string>,
  ca: string,
): Promise<Pod> {
  const pod = net.addPod(name);
  const configDir = pod.volume("config");
  const databases = externalDatabases(urls);
  writeFileSync(join(configDir, INI_FILE), renderPgbouncerIni(server, databases, configDir, BUDGET.perPool));
  writeFileSync(join(configDir, USERLIST_FILE), renderUserlist(databases));
  // SIGTERM is PgBouncer's immediate shutdown.
  const argv = ["bash", "-c", `ulimit -n ${PGBOUNCER_FILES} && exec pgbouncer ${join(configDir, INI_FILE)}`];
  await pod.start(argv, "pgbouncer.log", { asPostgres: true, binds: [[ca, CA_FILE]] });
  await waitFor(`${name} to listen`, async () => {
    const c = new Client({ host: pod.ip, port: PORTS.postgres, user: "janua", password: "probe", database: "janua" });
    c.on("error", () => undefined);
    // Any answer (a refused password included) means it listens.
    return c.connect().then(
      () => c.end().then(() => true),
      (err: Error) => (/ECONNREFUSED/.test(err.message) ? undefined : true),
    );
  });
  return pod;
}

/** The managed-database layout: PostgreSQL (TLS) and PgBouncer in pods, verify-full between them. */
export async function startPgbouncerStack(servers: Servers): Promise<PgbouncerStack> {
  const net = PodNetwork.create(servers);
  const pg = await startPostgres(net.addPod("db", [DB_HOST, DB_ALIAS]));
  const urls = await provision(pg);
  const server: ExternalServer = { host: DB_HOST, port: PORTS.postgres, sslmode: "verify-full" };
  const pgbouncer = await startPgbouncer(net, "pgbouncer", server, urls, pg.ca);
  const passwords = Object.fromEntries(externalDatabases(urls).map((d) => [d.user, d.password])) as PgbouncerStack["passwords"];
  const misnamed = Object.fromEntries(Object.entries(urls).map(([db, url]) => [db, url.replace(DB_HOST, DB_ALIAS)]));
  return {
    net,
    pg,
    pgbouncer,
    passwords,
    startMisnamed: () => startPgbouncer(net, "pgbouncer-misnamed", { ...server, host: DB_ALIAS }, misnamed, pg.ca),
    startReplica: () => startPgbouncer(net, "pgbouncer-2", server, urls, pg.ca),
  };
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

/** `clients` concurrent connections to `host`, each running one short transaction on `enclii`. */
export async function runClients(stack: PgbouncerStack, host: string, clients: number): Promise<LoadResult> {
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
        host,
        port: PORTS.postgres,
        user: "enclii",
        password: stack.passwords.enclii,
        database: "enclii",
        connectionTimeoutMillis: 120_000,
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
