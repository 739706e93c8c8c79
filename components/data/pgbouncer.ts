/**
 * Renders PgBouncer's `pgbouncer.ini` and `userlist.txt` for the external-PostgreSQL mode (the
 * in-cluster mode gets the same pool settings through CloudNativePG's `Pooler`). Pure functions:
 * passwords arrive as plain strings and the caller wraps the userlist as a Pulumi secret.
 * Invalid input throws rather than rendering a file PgBouncer would misread. The real-server
 * tests run these files in a pod of their own (testbed/postgres.ts).
 */
import { CONTROL_CHARACTER, LOOKS_HASHED, PLAIN_IDENTIFIER } from "../../model/rules/data";
import { DATABASES, PORTS } from "../../model/names";

export const MAX_CLIENT_CONN = 1000;
/**
 * listen(2)'s queue: PgBouncer's default of 128 overflows when every client reconnects at once
 * (a rollout, a failover), and past it the kernel answers SYN cookies it then resets: 24 of
 * 1000 clients got ECONNRESET in test/pgbouncer.real.test.ts on a busy machine. Room for every
 * client (the kernel caps it at net.core.somaxconn, 4096 in a pod).
 */
export const LISTEN_BACKLOG = MAX_CLIENT_CONN;
/** Where the pod mounts the ini (ConfigMap) and the userlist (Secret). */
export const PGBOUNCER_CONFIG_DIR = "/etc/pgbouncer";
/** The Debian-family CA bundle in the image, for verify-full against a managed database. */
export const CA_FILE = "/etc/ssl/certs/ca-certificates.crt";
export const INI_FILE = "pgbouncer.ini";
export const USERLIST_FILE = "userlist.txt";
/** Every pod listens on its own address; NetworkPolicies decide who reaches it. */
const LISTEN_ADDR = "0.0.0.0";

/** The managed server, as `enclii:postgres` describes it. */
export interface ExternalServer {
  host: string;
  port: number;
  sslmode: "require" | "verify-full";
}

/** One platform database: the name clients connect to, its name on the server, and its login. */
export interface ExternalDatabase {
  name: string;
  dbname: string;
  user: string;
  password: string;
}

const HOST = /^[A-Za-z0-9.:-]+$/;
const PATH = /^\/[^\s;#]*$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`pgbouncer: ${message}`);
}

/** The secret `enclii:externalDatabaseUrls` map, one entry per platform database, in DATABASES order. */
export function externalDatabases(urls: Record<string, string>): ExternalDatabase[] {
  return DATABASES.map((name) => {
    const u = new URL(urls[name]);
    return {
      name,
      dbname: decodeURIComponent(u.pathname.slice(1)),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    };
  });
}

/** `poolSize`: server connections per database, from the connection budget (model/rules/connectionBudget.ts). */
export function renderPgbouncerIni(
  server: ExternalServer,
  databases: Pick<ExternalDatabase, "name" | "dbname">[],
  configDir: string,
  poolSize: number,
): string {
  check(Number.isInteger(poolSize) && poolSize >= 1, `poolSize must be a positive integer, got ${poolSize}`);
  check(databases.length > 0, "at least one database is required");
  check(HOST.test(server.host), `host ${JSON.stringify(server.host)} is not a host name or address`);
  check(
    Number.isInteger(server.port) && server.port > 0 && server.port <= 65535,
    `port must be an integer in 1..65535, got ${server.port}`,
  );
  check(PATH.test(configDir), `configDir ${JSON.stringify(configDir)} must be an absolute path without spaces`);
  const seen = new Set<string>();
  const lines = databases.map((d, i) => {
    check(PLAIN_IDENTIFIER.test(d.name), `databases[${i}].name ${JSON.stringify(d.name)} is not a plain identifier`);
    check(PLAIN_IDENTIFIER.test(d.dbname), `databases[${i}].dbname ${JSON.stringify(d.dbname)} is not a plain identifier`);
    check(!seen.has(d.name), `database ${d.name} is listed twice`);
    seen.add(d.name);
    return `${d.name} = host=${server.host} port=${server.port} dbname=${d.dbname}`;
  });
  return [
    "; Rendered by enclii-infra (components/data/pgbouncer.ts).",
    "[databases]",
    ...lines,
    "",
    "[pgbouncer]",
    `listen_addr = ${LISTEN_ADDR}`,
    `listen_port = ${PORTS.postgres}`,
    // No unix socket: the container's root filesystem is read-only and clients come over TCP.
    "unix_socket_dir =",
    "auth_type = scram-sha-256",
    `auth_file = ${configDir}/${USERLIST_FILE}`,
    "pool_mode = transaction",
    `max_client_conn = ${MAX_CLIENT_CONN}`,
    `listen_backlog = ${LISTEN_BACKLOG}`,
    `default_pool_size = ${poolSize}`,
    // A second role on a database cannot double its share of PostgreSQL's max_connections.
    `max_db_connections = ${poolSize}`,
    // No reserve pool: its connections would come on top of the budget.
    "reserve_pool_size = 0",
    `server_tls_sslmode = ${server.sslmode}`,
    ...(server.sslmode === "verify-full" ? [`server_tls_ca_file = ${CA_FILE}`] : []),
    // JDBC and some ORMs send it at startup; PgBouncer would otherwise refuse the connection.
    "ignore_startup_parameters = extra_float_digits",
    "",
  ].join("\n");
}

/** One line per user; a managed user who owns several databases is listed once. */
export function renderUserlist(databases: Pick<ExternalDatabase, "user" | "password">[]): string {
  const users = new Map<string, string>();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  databases.forEach(({ user, password }, i) => {
    check(user.length > 0 && !CONTROL_CHARACTER.test(user), `users[${i}].name must be non-empty without control characters`);
    // The messages name the user only: the password must never reach a log.
    check(users.get(user) === undefined || users.get(user) === password, `user ${JSON.stringify(user)} has two different passwords`);
    check(password.length > 0 && !CONTROL_CHARACTER.test(password), `password of ${user} must be non-empty without control characters`);
    check(!LOOKS_HASHED.test(password), `password of ${user} has the shape of a stored hash; PgBouncer would not treat it as a password`);
    users.set(user, password);
  });
  return [...users].map(([user, password]) => `${quote(user)} ${quote(password)}\n`).join("");
}
