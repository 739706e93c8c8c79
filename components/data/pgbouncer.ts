/**
 * Renders PgBouncer's `pgbouncer.ini` and `userlist.txt` for the external-PostgreSQL mode (the
 * in-cluster mode gets the same pool settings through CloudNativePG's `Pooler`). Pure functions:
 * passwords arrive as plain strings and the caller wraps the userlist as a Pulumi secret.
 * Invalid input throws rather than rendering a file PgBouncer would misread.
 */

export const MAX_CLIENT_CONN = 1000;
export const DEFAULT_POOL_SIZE = 25;

export interface PgbouncerDatabase {
  /** The name clients connect to. */
  name: string;
  host: string;
  port: number;
  /** The database's name on the server. */
  dbname: string;
}

export interface PgbouncerOptions {
  databases: PgbouncerDatabase[];
  listenAddr: string;
  listenPort: number;
  /** Path of the userlist file inside the container. */
  authFile: string;
  serverTlsSslmode: "disable" | "require" | "verify-full";
  serverTlsCaFile?: string;
  maxClientConn?: number;
  defaultPoolSize?: number;
  /**
   * Server connections per database across all its users; default `defaultPoolSize`, so a
   * second role on a database cannot double its share of PostgreSQL's `max_connections`.
   */
  maxDbConnections?: number;
  adminUsers?: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const HOST = /^[A-Za-z0-9.:-]+$/;
const LISTEN = /^(\*|[A-Za-z0-9.:-]+)(,[A-Za-z0-9.:-]+)*$/;
const PATH = /^\/[^\s;#]*$/;

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`pgbouncer: ${message}`);
}

function positiveInt(v: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  check(Number.isInteger(v) && v > 0 && v <= max, `${what} must be an integer in 1..${max}, got ${v}`);
  return v;
}

export function renderPgbouncerIni(o: PgbouncerOptions): string {
  check(o.databases.length > 0, "at least one database is required");
  const seen = new Set<string>();
  const databases = o.databases.map((d, i) => {
    check(NAME.test(d.name), `databases[${i}].name ${JSON.stringify(d.name)} is not a plain identifier`);
    check(NAME.test(d.dbname), `databases[${i}].dbname ${JSON.stringify(d.dbname)} is not a plain identifier`);
    check(HOST.test(d.host), `databases[${i}].host ${JSON.stringify(d.host)} is not a host name or address`);
    check(!seen.has(d.name), `database ${d.name} is listed twice`);
    seen.add(d.name);
    positiveInt(d.port, `databases[${i}].port`, 65535);
    return `${d.name} = host=${d.host} port=${d.port} dbname=${d.dbname}`;
  });
  check(LISTEN.test(o.listenAddr), `listenAddr ${JSON.stringify(o.listenAddr)} is not an address list`);
  check(PATH.test(o.authFile), `authFile ${JSON.stringify(o.authFile)} must be an absolute path without spaces`);
  check(o.serverTlsSslmode !== "verify-full" || o.serverTlsCaFile !== undefined, "serverTlsSslmode verify-full needs serverTlsCaFile");
  check(o.serverTlsCaFile === undefined || PATH.test(o.serverTlsCaFile), "serverTlsCaFile must be an absolute path without spaces");
  const admins = o.adminUsers ?? [];
  admins.forEach((u) => check(NAME.test(u), `admin user ${JSON.stringify(u)} is not a plain identifier`));
  const poolSize = positiveInt(o.defaultPoolSize ?? DEFAULT_POOL_SIZE, "defaultPoolSize");

  return [
    "; Rendered by enclii-infra (components/data/pgbouncer.ts).",
    "[databases]",
    ...databases,
    "",
    "[pgbouncer]",
    `listen_addr = ${o.listenAddr}`,
    `listen_port = ${positiveInt(o.listenPort, "listenPort", 65535)}`,
    // No unix socket: the container's root filesystem is read-only and clients come over TCP.
    "unix_socket_dir =",
    "auth_type = scram-sha-256",
    `auth_file = ${o.authFile}`,
    ...(admins.length ? [`admin_users = ${admins.join(",")}`] : []),
    "pool_mode = transaction",
    `max_client_conn = ${positiveInt(o.maxClientConn ?? MAX_CLIENT_CONN, "maxClientConn")}`,
    `default_pool_size = ${poolSize}`,
    `max_db_connections = ${positiveInt(o.maxDbConnections ?? poolSize, "maxDbConnections")}`,
    `server_tls_sslmode = ${o.serverTlsSslmode}`,
    ...(o.serverTlsCaFile ? [`server_tls_ca_file = ${o.serverTlsCaFile}`] : []),
    // JDBC and some ORMs send it at startup; PgBouncer would otherwise refuse the connection.
    "ignore_startup_parameters = extra_float_digits",
    "",
  ].join("\n");
}

/** PgBouncer reads these shapes as stored hashes, not passwords, and would never match the real one. */
const LOOKS_HASHED = /^(md5[0-9a-f]{32}|SCRAM-SHA-256\$.*)$/;

export function renderUserlist(users: { name: string; password: string }[]): string {
  const seen = new Set<string>();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return users
    .map((u, i) => {
      check(u.name.length > 0 && !/[\x00-\x1f\x7f]/.test(u.name), `users[${i}].name must be non-empty without control characters`);
      check(!seen.has(u.name), `user ${JSON.stringify(u.name)} is listed twice`);
      seen.add(u.name);
      // The messages name the user only: the password must never reach a log.
      check(
        u.password.length > 0 && !/[\x00-\x1f\x7f]/.test(u.password),
        `password of ${u.name} must be non-empty without control characters`,
      );
      check(
        !LOOKS_HASHED.test(u.password),
        `password of ${u.name} has the shape of a stored hash; PgBouncer would not treat it as a password`,
      );
      return `${quote(u.name)} ${quote(u.password)}\n`;
    })
    .join("");
}
