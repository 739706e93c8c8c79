/**
 * Data-layer rules: what must fit the node count, and the external database's URLs checked the
 * way PgBouncer will read them, without ever echoing a URL or a password.
 */
import { DATABASES } from "../names";
import { EXTERNAL_URLS_KEY, NAMESPACE, type Parsed } from "../config/schema";
import { decode } from "../config/validators";

/** Names PgBouncer's ini takes without quoting (components/data/pgbouncer.ts renders them); PostgreSQL's 63-byte limit. */
export const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
/** A control character would end or corrupt a line of the userlist. */
export const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;
/** PgBouncer reads these shapes as stored hashes, not passwords, and would never match the real one. */
export const LOOKS_HASHED = /^(md5[0-9a-f]{32}|SCRAM-SHA-256\$.*)$/;
const MAX_URL_LENGTH = 2048;

type PostgresSettings = NonNullable<Parsed["postgres"]>;

function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Problems with one database's URL, each after `where`; none name the URL or the password. */
function urlProblems(where: string, url: unknown, pg: Extract<PostgresSettings, { mode: "external" }>): string[] {
  if (typeof url !== "string") return [`${where}: is required (a postgres:// URL)`];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [`${where}: must be postgres://user:password@host:port/database`];
  }
  const shape =
    (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.username && u.password && u.hostname && u.pathname.length > 1;
  if (!shape) return [`${where}: must be postgres://user:password@host:port/database`];
  if (url.length > MAX_URL_LENGTH) return [`${where}: must be at most ${MAX_URL_LENGTH} characters long`];
  const [user, password, dbname] = [decoded(u.username), decoded(u.password), decoded(u.pathname.slice(1))];
  const problems: string[] = [];
  if (user === undefined || password === undefined || dbname === undefined)
    problems.push(`${where}: has a malformed percent-encoding (%XX) in its user, password or database`);
  if (user !== undefined && !PLAIN_IDENTIFIER.test(user))
    problems.push(`${where}: the user name must be letters, digits, '_', '.' and '-', at most 63 characters`);
  if (dbname !== undefined && !PLAIN_IDENTIFIER.test(dbname))
    problems.push(`${where}: the database name must be letters, digits, '_', '.' and '-', at most 63 characters`);
  if (password !== undefined && (CONTROL_CHARACTER.test(password) || LOOKS_HASHED.test(password))) {
    problems.push(`${where}: the password must be the password itself, without control characters (not a stored md5 or SCRAM hash)`);
  }
  const port = u.port === "" ? 5432 : Number(u.port);
  if (u.hostname !== pg.host || port !== pg.port) {
    problems.push(
      `${where}: points at another server than ${NAMESPACE}:postgres.host and port (${pg.host}:${pg.port}), which PgBouncer connects to`,
    );
  }
  return problems;
}

export function checkData(parsed: Parsed, nodeCount: number, externalUrls: string | undefined): string[] {
  const problems: string[] = [];
  const pg = parsed.postgres;
  if (pg?.mode === "in-cluster" && nodeCount > 0 && pg.instances > nodeCount) {
    problems.push(`${NAMESPACE}:postgres.instances: ${pg.instances} instances need as many nodes (have ${nodeCount})`);
  }
  if (pg?.mode === "in-cluster" && pg.restore?.fromCluster === pg.clusterName) {
    problems.push(`${NAMESPACE}:postgres.restore.fromCluster: restore into a new clusterName, not over "${pg.clusterName}" itself`);
  }
  // A lock shorter than the retention would let a compromised cluster delete backups still inside it.
  const lockDays = parsed.r2?.backupLockDays;
  if (pg && lockDays !== undefined && lockDays < pg.backupRetentionDays) {
    problems.push(
      `${NAMESPACE}:r2.backupLockDays: ${lockDays} days is shorter than ${NAMESPACE}:postgres.backupRetentionDays (${pg.backupRetentionDays}); set it to at least that, or leave it unset`,
    );
  }
  if (parsed.redis?.mode === "sentinel" && nodeCount > 0 && nodeCount < 3) {
    problems.push(`${NAMESPACE}:redis.mode: sentinel needs 3 schedulable nodes for 3 Redis and 3 Sentinels (have ${nodeCount})`);
  }
  if (pg?.mode === "external" && externalUrls !== undefined) {
    const urls = decode(externalUrls);
    if (urls === null || typeof urls !== "object" || Array.isArray(urls))
      return [...problems, `${EXTERNAL_URLS_KEY}: must be a JSON object: database → postgres:// URL`];
    const map = urls as Record<string, unknown>;
    for (const key of Object.keys(map).filter((k) => !(DATABASES as readonly string[]).includes(k))) {
      problems.push(`${EXTERNAL_URLS_KEY}.${key}: unknown database (known: ${DATABASES.join(", ")})`);
    }
    const passwords = new Map<string, string>();
    for (const db of DATABASES) {
      const where = `${EXTERNAL_URLS_KEY}.${db}`;
      const own = urlProblems(where, map[db], pg);
      problems.push(...own);
      if (own.length > 0) continue;
      const { username, password } = new URL(map[db] as string);
      if (passwords.has(username) && passwords.get(username) !== password) {
        problems.push(`${where}: user "${decodeURIComponent(username)}" has a different password in another URL`);
      }
      passwords.set(username, password);
    }
  }
  return problems;
}
