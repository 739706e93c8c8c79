/**
 * What CloudNativePG does for the in-cluster mode, stood in for against a real PostgreSQL (pods,
 * testbed/postgres.ts), following cloudnative-pg v1.30.0:
 *
 * - managed roles: one pass of the instance manager's RoleSynchronizer
 *   (internal/management/controller/roles/runnable.go `synchronizeRoles`): the actions of
 *   roles.go `evaluateNextRoleActions` (create; else update when the attributes differ or the
 *   password Secret changed; else memberships), as the statements of postgres.go `Create`,
 *   `Update` and `UpdateMembership`. Roles not in the spec are left alone, and so is anything
 *   `ALTER ROLE … SET` stored. The operator sends the password as a SCRAM verifier it computed;
 *   this sends it in clear and PostgreSQL stores the same kind of verifier.
 * - the Pooler's PgBouncer: the ini of pkg/management/pgbouncer/config/config.go
 *   (`pgBouncerIniTemplateString`, `defaultPgBouncerParameters`, `forcedPgBouncerParameters`, the
 *   hba template) with the Pooler's parameters from components/data/Postgres.ts, and its
 *   auth_query user and `public.user_search` (internal/management/controller/instance_controller.go
 *   `reconcilePgbouncerAuthUser`). The operator authenticates that user with a client
 *   certificate; here it has a password in the auth file, as a Pooler with a basic-auth
 *   `authQuerySecret` does (config.go `BuildConfigurationFiles`).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Client } from "pg";
import type { ManagedRole } from "../components/data/postgresRoles";
import { poolerPgbouncer } from "../components/data/Postgres";
import type { ConnectionBudget } from "../model/rules/connectionBudget";
import { PORTS } from "../model/names";
import type { PodNetwork, Pod } from "./pods";
import type { Postgres } from "./postgres";
import { waitFor } from "./servers";

const AUTH_USER = "cnpg_pooler_pgbouncer";
const AUTH_DBNAME = "postgres";
const USER_SEARCH =
  "CREATE OR REPLACE FUNCTION public.user_search(uname TEXT) RETURNS TABLE (usename name, passwd text) " +
  "AS 'SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename=$1;' " +
  "LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp";
/** PgBouncer reads auth_dbname from 1.19; before, it runs auth_query in the client's database. */
const AUTH_DBNAME_SINCE = [1, 19];

/** A basic-auth Secret's fields, by the Secret's name. */
export type RoleSecrets = Record<string, { username: string; password: string }>;
/** What the operator records per role in `status.managedRolesStatus.passwordStatus`: the Secret it applied, and the role's xmin after. */
export type PasswordStatus = Map<string, { secret: string; xmin: string }>;

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

function options(r: ManagedRole): string {
  return ` NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT ${r.login ? "LOGIN" : "NOLOGIN"} NOREPLICATION NOSUPERUSER CONNECTION LIMIT -1`;
}

/**
 * One reconciliation pass over `roles`; returns how many statements it ran. The operator runs
 * one whenever the Cluster changes or a role is pending, so callers repeat it until it runs none.
 */
export async function reconcileRoles(admin: Client, roles: ManagedRole[], secrets: RoleSecrets, status: PasswordStatus): Promise<number> {
  const rows = (
    await admin.query<{ rolname: string; rolcanlogin: boolean; xmin: string; inroles: string[] | null }>(
      `SELECT rolname, rolcanlogin, auth.xmin::text AS xmin, mem.inroles FROM pg_catalog.pg_authid AS auth
       LEFT JOIN (SELECT pg_catalog.array_agg(pg_catalog.pg_get_userbyid(roleid)::text) AS inroles, member
                  FROM pg_catalog.pg_auth_members GROUP BY member) mem ON member = oid`,
    )
  ).rows;
  const inDb = new Map(rows.map((r) => [r.rolname, r]));
  let statements = 0;
  const run = async (sql: string) => {
    await admin.query(sql);
    statements++;
  };
  const password = (r: ManagedRole) => {
    if (r.disablePassword) return " PASSWORD NULL";
    const secret = r.passwordSecret && secrets[r.passwordSecret.name];
    if (!secret) throw new Error(`failed to get password secret ${r.passwordSecret?.name}`);
    if (secret.username !== r.name) throw new Error(`the username in secret "${r.passwordSecret?.name}" does not match role "${r.name}"`);
    return ` PASSWORD ${literal(secret.password)}`;
  };
  for (const r of roles) {
    const row = inDb.get(r.name);
    const wanted = r.passwordSecret?.name ?? "";
    const applied = status.get(r.name);
    if (!row) {
      const inRoles = r.inRoles?.length ? ` IN ROLE ${r.inRoles.map(ident).join(",")}` : "";
      await run(`CREATE ROLE ${ident(r.name)}${options(r)}${inRoles}${password(r)}`);
    } else if (row.rolcanlogin !== r.login || applied?.secret !== wanted || applied.xmin !== row.xmin) {
      await run(`ALTER ROLE ${ident(r.name)}${options(r)}${password(r)}`);
    } else {
      const have = row.inroles ?? [];
      const want = r.inRoles ?? [];
      for (const g of want.filter((x) => !have.includes(x))) await run(`GRANT ${ident(g)} TO ${ident(r.name)}`);
      for (const g of have.filter((x) => !want.includes(x))) await run(`REVOKE ${ident(g)} FROM ${ident(r.name)}`);
      continue;
    }
    const xmin = (await admin.query("SELECT xmin::text AS xmin FROM pg_catalog.pg_authid WHERE rolname = $1", [r.name])).rows[0].xmin;
    status.set(r.name, { secret: wanted, xmin });
  }
  return statements;
}

/** Passes until one runs nothing, as the operator's requeues do; returns the statements run. */
export async function reconcileUntilStable(
  admin: Client,
  roles: ManagedRole[],
  secrets: RoleSecrets,
  status: PasswordStatus,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await reconcileRoles(admin, roles, secrets, status);
    if (n === 0) return total;
    total += n;
  }
}

function pgbouncerVersion(): number[] {
  const out = spawnSync("pgbouncer", ["--version"], { encoding: "utf8" }).stdout;
  const m = /PgBouncer (\d+)\.(\d+)/.exec(out);
  if (!m) throw new Error(`cannot read PgBouncer's version from ${JSON.stringify(out)}`);
  return [Number(m[1]), Number(m[2])];
}

const atLeast = (v: number[], min: number[]) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);

/**
 * The Pooler: its auth user and `user_search` in the server, then PgBouncer in a pod answering to
 * the pooled Service's names, transaction pooling onto `<cluster>-rw`, client TLS as the operator
 * sets it up (`client_tls_sslmode = prefer`), verify-ca to the server.
 */
export async function startPooler(
  net: PodNetwork,
  pg: Postgres & { ca: string },
  o: { names: string[]; rwHost: string; databases: readonly string[]; budget: ConnectionBudget },
): Promise<Pod> {
  const authPassword = randomBytes(12).toString("base64url");
  const version = pgbouncerVersion();
  const admin = await pg.admin();
  await admin.query(`CREATE ROLE ${AUTH_USER} WITH LOGIN PASSWORD ${literal(authPassword)}`);
  await admin.query(`GRANT CONNECT ON DATABASE ${AUTH_DBNAME} TO ${AUTH_USER}`);
  await admin.end();
  const functionIn = atLeast(version, AUTH_DBNAME_SINCE) ? [AUTH_DBNAME] : [AUTH_DBNAME, ...o.databases];
  for (const db of functionIn) {
    const c = await pg.admin(db);
    await c.query(USER_SEARCH);
    await c.query("REVOKE ALL ON FUNCTION public.user_search(text) FROM public");
    await c.query(`GRANT EXECUTE ON FUNCTION public.user_search(text) TO ${AUTH_USER}`);
    await c.end();
  }

  const pod = net.addPod(o.names[0], o.names.slice(1));
  const dir = pod.volume("config");
  const tls = pg.pod.volume("tls");
  const { poolMode, parameters } = poolerPgbouncer(o.budget);
  const params: Record<string, string> = {
    log_stats: "0",
    auth_type: "hba",
    client_tls_sslmode: "prefer",
    server_tls_sslmode: "verify-ca",
    ignore_startup_parameters: "extra_float_digits,options",
    ...parameters,
    unix_socket_dir: pod.volume("run"),
    listen_port: String(PORTS.postgres),
    listen_addr: "*",
    admin_users: "pgbouncer",
    auth_hba_file: join(dir, "pg_hba.conf"),
    server_tls_ca_file: pg.ca,
    client_tls_cert_file: join(tls, "server.crt"),
    client_tls_key_file: join(tls, "server.key"),
    auth_file: join(dir, "userlist.txt"),
  };
  const ini = [
    "[databases]",
    `* = host=${o.rwHost}`,
    "",
    "[pgbouncer]",
    `pool_mode = ${poolMode}`,
    `auth_user = ${AUTH_USER}`,
    "auth_query = SELECT usename, passwd FROM public.user_search($1)",
    ...(atLeast(version, AUTH_DBNAME_SINCE) ? [`auth_dbname = ${AUTH_DBNAME}`] : []),
    "",
    ...Object.keys(params)
      .sort()
      .map((k) => `${k} = ${params[k]}`),
    "",
  ].join("\n");
  writeFileSync(join(dir, "pgbouncer.ini"), ini);
  writeFileSync(join(dir, "pg_hba.conf"), "local pgbouncer pgbouncer peer\nhost all all 0.0.0.0/0 md5\nhost all all ::/0 md5\n");
  writeFileSync(join(dir, "userlist.txt"), `"${AUTH_USER}" "${authPassword}"\n`);
  await pod.start(["pgbouncer", join(dir, "pgbouncer.ini")], "pgbouncer.log", { asPostgres: true });
  await waitFor("the Pooler's PgBouncer to listen", async () => {
    const c = new Client({ host: pod.ip, port: PORTS.postgres, user: AUTH_USER, password: "probe", database: AUTH_DBNAME });
    c.on("error", () => undefined);
    // Any answer (a refused password included) means it listens.
    return c.connect().then(
      () => c.end().then(() => true),
      (err: Error) => (/ECONNREFUSED/.test(err.message) ? undefined : true),
    );
  });
  return pod;
}
