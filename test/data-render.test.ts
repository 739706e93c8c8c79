/** The data layer's renderers, on their text alone (the real servers run them in *.real.test.ts). */
import { describe, expect, it } from "vitest";
import {
  CA_FILE,
  externalDatabases,
  MAX_CLIENT_CONN,
  renderPgbouncerIni,
  renderUserlist,
  type ExternalServer,
} from "../components/data/pgbouncer";
import {
  aclRules,
  DOWN_AFTER_MS,
  FAILOVER_TIMEOUT_MS,
  MASTER_NAME,
  redisAuth,
  renderRedisConf,
  renderSentinelConf,
  SENTINEL_QUORUM,
} from "../components/data/redisConfig";
import { connectionBudget } from "../model/rules/connectionBudget";
import { shellcheck } from "./harness";
import { REDIS_POD_PATHS, redisCommand, redisConfigFiles, redisInitScript } from "../components/data/redisPods";

const lines = (text: string) => text.split("\n");

const server: ExternalServer = { host: "db.example.internal", port: 5432, sslmode: "verify-full" };
const urls = {
  enclii: "postgres://enclii_user:p%40ss@db.example.internal:5432/enclii",
  janua: "postgres://janua_user:s3cret@db.example.internal:5432/janua_prod",
};
const databases = externalDatabases(urls);
/** Two PgBouncer replicas, two databases, a 100-connection server: 21 per pool. */
const POOL = connectionBudget({ maxConnections: 100, poolerInstances: 2, databases: 2 }).perPool;

describe("pgbouncer.ini", () => {
  it("pools in transaction mode with the platform's limits, SCRAM auth and verified TLS to the server", () => {
    const ini = lines(renderPgbouncerIni(server, databases, "/etc/pgbouncer", POOL));
    expect(MAX_CLIENT_CONN).toBe(1000);
    expect(POOL).toBe(21);
    for (const line of [
      "[databases]",
      "enclii = host=db.example.internal port=5432 dbname=enclii",
      "janua = host=db.example.internal port=5432 dbname=janua_prod",
      "[pgbouncer]",
      "listen_addr = 0.0.0.0",
      "listen_port = 5432",
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      "auth_file = /etc/pgbouncer/userlist.txt",
      "pool_mode = transaction",
      "max_client_conn = 1000",
      "listen_backlog = 1000",
      "default_pool_size = 21",
      "max_db_connections = 21",
      "reserve_pool_size = 0",
      "server_tls_sslmode = verify-full",
      `server_tls_ca_file = ${CA_FILE}`,
    ])
      expect(ini).toContain(line);
    expect(ini.indexOf("[databases]")).toBeLessThan(ini.indexOf("enclii = host=db.example.internal port=5432 dbname=enclii"));
    expect(ini.indexOf("[pgbouncer]")).toBeLessThan(ini.indexOf("pool_mode = transaction"));
  });

  it("with sslmode require, encrypts without a CA file", () => {
    const ini = lines(renderPgbouncerIni({ ...server, sslmode: "require" }, databases, "/etc/pgbouncer", POOL));
    expect(ini).toContain("server_tls_sslmode = require");
    expect(ini.some((l) => l.startsWith("server_tls_ca_file"))).toBe(false);
  });

  it("reads each database's name, user and password from its URL, percent-decoded", () => {
    expect(databases).toEqual([
      { name: "enclii", dbname: "enclii", user: "enclii_user", password: "p@ss" },
      { name: "janua", dbname: "janua_prod", user: "janua_user", password: "s3cret" },
    ]);
  });

  it("is deterministic", () => {
    expect(renderPgbouncerIni(server, databases, "/etc/pgbouncer", POOL)).toBe(
      renderPgbouncerIni({ ...server }, structuredClone(databases), "/etc/pgbouncer", POOL),
    );
  });

  it.each<[string, () => string, string]>([
    ["no databases", () => renderPgbouncerIni(server, [], "/etc/pgbouncer", POOL), "at least one database is required"],
    [
      "a duplicate database",
      () => renderPgbouncerIni(server, [databases[0], databases[0]], "/etc/pgbouncer", POOL),
      "database enclii is listed twice",
    ],
    [
      "a database name that would break the ini",
      () => renderPgbouncerIni(server, [{ name: "a b", dbname: "x" }], "/etc/pgbouncer", POOL),
      'databases[0].name "a b" is not a plain identifier',
    ],
    [
      "a host with a space",
      () => renderPgbouncerIni({ ...server, host: "db x" }, databases, "/etc/pgbouncer", POOL),
      'host "db x" is not a host name or address',
    ],
    [
      "a port out of range",
      () => renderPgbouncerIni({ ...server, port: 70000 }, databases, "/etc/pgbouncer", POOL),
      "port must be an integer in 1..65535, got 70000",
    ],
    [
      "a relative config dir",
      () => renderPgbouncerIni(server, databases, "pgbouncer", POOL),
      'configDir "pgbouncer" must be an absolute path without spaces',
    ],
  ])("refuses %s", (_, render, message) => {
    expect(render).toThrow(message);
  });
});

describe("userlist.txt", () => {
  it('quotes names and passwords, doubling any ", and lists a user who owns two databases once', () => {
    expect(
      renderUserlist([
        { user: "enclii", password: 'a"b c' },
        { user: "janua", password: "plain" },
        { user: "enclii", password: 'a"b c' },
      ]),
    ).toBe('"enclii" "a""b c"\n"janua" "plain"\n');
  });

  it("refuses what PgBouncer would misread, without echoing the password", () => {
    const refuse = (password: string, message: string) => {
      let error = "";
      try {
        renderUserlist([{ user: "enclii", password }]);
      } catch (e) {
        error = (e as Error).message;
      }
      expect(error).toContain(message);
      expect(error).not.toContain(password);
    };
    refuse("line\nbreak", "password of enclii must be non-empty without control characters");
    refuse(`md5${"0".repeat(32)}`, "password of enclii has the shape of a stored hash");
    refuse("SCRAM-SHA-256$4096:c2FsdA==$a:b", "password of enclii has the shape of a stored hash");
    expect(() =>
      renderUserlist([
        { user: "a", password: "x" },
        { user: "a", password: "y" },
      ]),
    ).toThrow('user "a" has two different passwords');
  });
});

const PASSWORD = 's3"cr\\et x';
const AUTH = redisAuth(PASSWORD);
/** SHA-256 of PASSWORD, as `printf %s … | sha256sum` prints it. */
const PASSWORD_SHA256 = "fac85176b71ea6b5b014f8de5cecffa28b00ac6319b29e544d497508e4b8d31c";

describe("redis.conf", () => {
  it("persists with AOF and RDB on the data dir, and sets the same password for clients and for its master", () => {
    expect(lines(renderRedisConf({ auth: AUTH, dataDir: "/data" }))).toEqual(
      expect.arrayContaining([
        "bind 0.0.0.0",
        "port 6379",
        'dir "/data"',
        "appendonly yes",
        "appendfsync everysec",
        "save 3600 1 300 100 60 10000",
        `user default on #${PASSWORD_SHA256} ~* &* +@all`,
        'masterauth "s3\\"cr\\\\et x"',
      ]),
    );
    expect(renderRedisConf({ auth: AUTH, dataDir: "/data" })).not.toMatch(/replicaof|min-replicas|replica-announce|requirepass/);
  });

  it("escapes control characters the way Redis reads them back", () => {
    expect(renderRedisConf({ auth: redisAuth("a\tb"), dataDir: "/data" })).toContain('masterauth "a\\x09b"\n');
  });

  it("under Sentinel, writes only with a replica in sync and announces the pod's stable name", () => {
    const conf = lines(
      renderRedisConf({ auth: AUTH, dataDir: "/data", announceHostname: "redis-1.redis-headless.enclii-data.svc.cluster.local" }),
    );
    expect(conf).toEqual(
      expect.arrayContaining([
        "min-replicas-to-write 1",
        "min-replicas-max-lag 1",
        "replica-announce-ip redis-1.redis-headless.enclii-data.svc.cluster.local",
      ]),
    );
  });

  it.each<[string, Parameters<typeof renderRedisConf>[0], string]>([
    ["an empty password", { auth: redisAuth(""), dataDir: "/data" }, "redis: password must not be empty"],
    ["no accepted password", { auth: { accepted: [], internal: PASSWORD }, dataDir: "/data" }, "redis: password must not be empty"],
    [
      "an internal password the servers do not accept",
      { auth: { accepted: [PASSWORD], internal: "other" }, dataDir: "/data" },
      "redis: the internal password must be one of the accepted ones",
    ],
    ["a relative data dir", { auth: AUTH, dataDir: "data" }, 'dataDir "data" must be an absolute path'],
    [
      "an announced name with a space",
      { auth: AUTH, dataDir: "/data", announceHostname: "a b" },
      'announceHostname "a b" is not a host name or address',
    ],
  ])("refuses %s", (_, options, message) => {
    expect(() => renderRedisConf(options)).toThrow(message);
  });
});

const sentinel = {
  auth: redisAuth("s3cr\\et!"),
  masterHost: "redis-0.redis-headless.enclii-data.svc.cluster.local",
  announceHostname: "redis-sentinel-0.x",
};

describe("sentinel.conf", () => {
  it("monitors the master by name with quorum 2, 5 s down-after and the Redis password, resolving before the monitor line", () => {
    expect([SENTINEL_QUORUM, DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER_NAME]).toEqual([2, 5000, 10000, "enclii"]);
    const conf = lines(renderSentinelConf(sentinel));
    expect(conf).toEqual(
      expect.arrayContaining([
        "port 26379",
        "sentinel resolve-hostnames yes",
        "sentinel announce-ip redis-sentinel-0.x",
        "sentinel announce-hostnames yes",
        "sentinel monitor enclii redis-0.redis-headless.enclii-data.svc.cluster.local 6379 2",
        "sentinel auth-pass enclii s3cr\\et!",
        `user default ${aclRules(["s3cr\\et!"])}`,
        "sentinel sentinel-pass s3cr\\et!",
        "sentinel down-after-milliseconds enclii 5000",
        "sentinel failover-timeout enclii 10000",
        "sentinel parallel-syncs enclii 1",
      ]),
    );
    expect(conf.indexOf("sentinel resolve-hostnames yes")).toBeLessThan(conf.findIndex((l) => l.startsWith("sentinel monitor")));
    expect(conf.filter((l) => l.startsWith("requirepass"))).toEqual([]);
  });

  it.each<[string, Partial<typeof sentinel>, string]>([
    ["a password Sentinel would rewrite unquoted", { auth: redisAuth("a b") }, "without spaces, quotes or control characters"],
    ["a quoted password", { auth: redisAuth('a"b') }, "without spaces, quotes or control characters"],
    ["a quoted previous password", { auth: redisAuth("ab", 'a"b') }, "without spaces, quotes or control characters"],
    ["a master host with a space", { masterHost: "redis 0" }, 'masterHost "redis 0" is not a host name or address'],
  ])("refuses %s", (_, patch, message) => {
    expect(() => renderSentinelConf({ ...sentinel, ...patch })).toThrow(message);
  });
});

describe("Redis pods", () => {
  it("hold the password and redis.conf standalone, plus sentinel.conf with Sentinel", () => {
    expect(Object.keys(redisConfigFiles("standalone", { current: "pw" }, REDIS_POD_PATHS)).sort()).toEqual([
      "auth",
      "client-password",
      "password",
      "redis.conf",
    ]);
    const files = redisConfigFiles("sentinel", { current: "pw" }, REDIS_POD_PATHS);
    expect(Object.keys(files).sort()).toEqual(["auth", "client-password", "password", "redis.conf", "sentinel.conf"]);
    expect(files["sentinel.conf"]).toContain("sentinel monitor enclii redis-0.redis-headless.enclii-data.svc.cluster.local 6379 2");
  });

  it("fill in the pod's own name at start; under Sentinel a Redis follows the master the Sentinels name, else the first pod", () => {
    const script = redisInitScript("redis", "sentinel", REDIS_POD_PATHS);
    expect(script).toContain('sed "s/pod-fqdn\\.enclii\\.invalid/$me/g" /config/redis.conf > /work/redis.conf');
    expect(script).toContain(
      'answer=$(REDISCLI_AUTH="$(cat /config/password)" timeout 2 redis-cli -h "$s" -p 26379 SENTINEL GET-MASTER-ADDR-BY-NAME enclii 2>/dev/null | head -n 1)',
    );
    expect(script).toContain('[ -n "$master" ] || master=redis-0.redis-headless.enclii-data.svc.cluster.local');
    expect(script).toContain('[ "$master" = "$me" ] || echo "replicaof $master 6379" >> /work/redis.conf');
    const sentinel = redisInitScript("sentinel", "sentinel", REDIS_POD_PATHS);
    expect(sentinel).toContain('sed -i "s/^sentinel monitor enclii [^ ]* /sentinel monitor enclii $master /" /work/sentinel.conf');
    expect(sentinel).toContain('echo "sentinel known-replica enclii $replica 6379" >> /work/sentinel.conf');
    for (const text of [script, sentinel, redisInitScript("redis", "standalone", REDIS_POD_PATHS)]) expect(shellcheck(text, "sh")).toBe("");
    expect(redisInitScript("redis", "standalone", REDIS_POD_PATHS)).not.toContain("replicaof");
    expect(redisInitScript("sentinel", "sentinel", REDIS_POD_PATHS)).not.toContain("replicaof");
    expect(redisCommand("sentinel", REDIS_POD_PATHS)).toEqual(["redis-sentinel", "/work/sentinel.conf"]);
  });
});
