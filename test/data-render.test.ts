/** The data layer's renderers, on their text alone (the real servers run them in *.real.test.ts). */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_POOL_SIZE,
  MAX_CLIENT_CONN,
  renderPgbouncerIni,
  renderUserlist,
  type PgbouncerOptions,
} from "../components/data/pgbouncer";
import {
  DOWN_AFTER_MS,
  FAILOVER_TIMEOUT_MS,
  MASTER_NAME,
  renderRedisConf,
  renderSentinelConf,
  SENTINEL_QUORUM,
  type RedisConfOptions,
  type SentinelConfOptions,
} from "../components/data/redisConfig";

const lines = (text: string) => text.split("\n");

const pgbouncer: PgbouncerOptions = {
  databases: [
    { name: "enclii", host: "db.example.internal", port: 5432, dbname: "enclii" },
    { name: "janua", host: "db.example.internal", port: 5432, dbname: "janua_prod" },
  ],
  listenAddr: "0.0.0.0",
  listenPort: 6432,
  authFile: "/etc/pgbouncer/userlist.txt",
  serverTlsSslmode: "verify-full",
  serverTlsCaFile: "/etc/pgbouncer/ca.crt",
  adminUsers: ["pgbouncer_admin"],
};

describe("pgbouncer.ini", () => {
  it("pools in transaction mode with the platform's limits and SCRAM auth", () => {
    const ini = lines(renderPgbouncerIni(pgbouncer));
    expect(MAX_CLIENT_CONN).toBe(1000);
    expect(DEFAULT_POOL_SIZE).toBe(25);
    for (const line of [
      "[databases]",
      "enclii = host=db.example.internal port=5432 dbname=enclii",
      "janua = host=db.example.internal port=5432 dbname=janua_prod",
      "[pgbouncer]",
      "listen_addr = 0.0.0.0",
      "listen_port = 6432",
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      "auth_file = /etc/pgbouncer/userlist.txt",
      "admin_users = pgbouncer_admin",
      "pool_mode = transaction",
      "max_client_conn = 1000",
      "default_pool_size = 25",
      "max_db_connections = 25",
      "server_tls_sslmode = verify-full",
      "server_tls_ca_file = /etc/pgbouncer/ca.crt",
    ])
      expect(ini).toContain(line);
    expect(ini.indexOf("[databases]")).toBeLessThan(ini.indexOf("enclii = host=db.example.internal port=5432 dbname=enclii"));
    expect(ini.indexOf("[pgbouncer]")).toBeLessThan(ini.indexOf("pool_mode = transaction"));
  });

  it("takes overrides, and leaves out what is not set", () => {
    const ini = lines(
      renderPgbouncerIni({
        ...pgbouncer,
        serverTlsSslmode: "disable",
        serverTlsCaFile: undefined,
        adminUsers: undefined,
        maxClientConn: 200,
        defaultPoolSize: 10,
      }),
    );
    expect(ini).toEqual(
      expect.arrayContaining([
        "server_tls_sslmode = disable",
        "max_client_conn = 200",
        "default_pool_size = 10",
        "max_db_connections = 10",
      ]),
    );
    expect(ini.some((l) => l.startsWith("server_tls_ca_file") || l.startsWith("admin_users"))).toBe(false);
    expect(lines(renderPgbouncerIni({ ...pgbouncer, maxDbConnections: 40 }))).toContain("max_db_connections = 40");
  });

  it("is deterministic", () => {
    expect(renderPgbouncerIni(pgbouncer)).toBe(renderPgbouncerIni(structuredClone(pgbouncer)));
  });

  it.each<[string, Partial<PgbouncerOptions>, string]>([
    ["verify-full without a CA", { serverTlsCaFile: undefined }, "serverTlsSslmode verify-full needs serverTlsCaFile"],
    ["no databases", { databases: [] }, "at least one database is required"],
    ["a duplicate database", { databases: [pgbouncer.databases[0], pgbouncer.databases[0]] }, "database enclii is listed twice"],
    [
      "a database name that would break the ini",
      { databases: [{ ...pgbouncer.databases[0], name: "a b" }] },
      'databases[0].name "a b" is not a plain identifier',
    ],
    [
      "a host with a space",
      { databases: [{ ...pgbouncer.databases[0], host: "db x" }] },
      'databases[0].host "db x" is not a host name or address',
    ],
    ["a port out of range", { listenPort: 70000 }, "listenPort must be an integer in 1..65535, got 70000"],
    ["a relative auth file", { authFile: "userlist.txt" }, 'authFile "userlist.txt" must be an absolute path without spaces'],
    ["a zero pool", { defaultPoolSize: 0 }, "defaultPoolSize must be an integer"],
  ])("refuses %s", (_, patch, message) => {
    expect(() => renderPgbouncerIni({ ...pgbouncer, ...patch })).toThrow(message);
  });
});

describe("userlist.txt", () => {
  it('quotes names and passwords, doubling any "', () => {
    expect(
      renderUserlist([
        { name: "enclii", password: 'a"b c' },
        { name: "janua", password: "plain" },
      ]),
    ).toBe('"enclii" "a""b c"\n"janua" "plain"\n');
  });

  it("refuses what PgBouncer would misread, without echoing the password", () => {
    const refuse = (password: string, message: string) => {
      let error = "";
      try {
        renderUserlist([{ name: "enclii", password }]);
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
        { name: "a", password: "x" },
        { name: "a", password: "y" },
      ]),
    ).toThrow('user "a" is listed twice');
  });
});

const redis: RedisConfOptions = { port: 6379, bind: "0.0.0.0", password: 's3"cr\\et x', dir: "/data", appendonly: true };

describe("redis.conf", () => {
  it("persists with AOF and RDB on dir, and sets the same password for clients and for its master", () => {
    expect(lines(renderRedisConf(redis))).toEqual(
      expect.arrayContaining([
        "bind 0.0.0.0",
        "port 6379",
        'dir "/data"',
        "appendonly yes",
        "appendfsync everysec",
        "save 3600 1 300 100 60 10000",
        'requirepass "s3\\"cr\\\\et x"',
        'masterauth "s3\\"cr\\\\et x"',
      ]),
    );
    expect(renderRedisConf({ ...redis, appendonly: false })).toContain("appendonly no\n");
    expect(renderRedisConf(redis)).not.toMatch(/replicaof|min-replicas|replica-announce/);
  });

  it("escapes control characters the way Redis reads them back", () => {
    expect(renderRedisConf({ ...redis, password: "a\tb" })).toContain('requirepass "a\\x09b"\n');
  });

  it("renders a Sentinel-managed replica", () => {
    const conf = lines(
      renderRedisConf({
        ...redis,
        replicaOf: { host: "redis-0.redis.data.svc", port: 6379 },
        minReplicasToWrite: 1,
        announceHostname: "redis-1.redis.data.svc",
      }),
    );
    expect(conf).toEqual(
      expect.arrayContaining([
        "replicaof redis-0.redis.data.svc 6379",
        "min-replicas-to-write 1",
        "min-replicas-max-lag 10",
        "replica-announce-ip redis-1.redis.data.svc",
      ]),
    );
    expect(renderRedisConf({ ...redis, minReplicasToWrite: 1, minReplicasMaxLagS: 5 })).toContain("min-replicas-max-lag 5\n");
  });

  it.each<[string, Partial<RedisConfOptions>, string]>([
    ["an empty password", { password: "" }, "password must not be empty"],
    ["a relative dir", { dir: "data" }, 'dir "data" must be an absolute path'],
    ["a lag without a replica minimum", { minReplicasMaxLagS: 5 }, "minReplicasMaxLagS needs minReplicasToWrite"],
    ["a master host with a space", { replicaOf: { host: "a b", port: 6379 } }, 'replicaOf.host "a b" is not a host name or address'],
  ])("refuses %s", (_, patch, message) => {
    expect(() => renderRedisConf({ ...redis, ...patch })).toThrow(message);
  });
});

const sentinel: SentinelConfOptions = { port: 26379, bind: "0.0.0.0", master: { host: "10.0.1.10", port: 6379 }, password: "s3cr\\et!" };

describe("sentinel.conf", () => {
  it("monitors the master with quorum 2, 5 s down-after and the Redis password", () => {
    expect([SENTINEL_QUORUM, DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER_NAME]).toEqual([2, 5000, 10000, "enclii"]);
    expect(lines(renderSentinelConf(sentinel))).toEqual(
      expect.arrayContaining([
        "port 26379",
        "sentinel monitor enclii 10.0.1.10 6379 2",
        "sentinel auth-pass enclii s3cr\\et!",
        "sentinel down-after-milliseconds enclii 5000",
        "sentinel failover-timeout enclii 10000",
        "sentinel parallel-syncs enclii 1",
      ]),
    );
    expect(renderSentinelConf(sentinel)).not.toMatch(/hostnames|announce-ip/);
  });

  it("resolves and announces stable host names, resolving before the monitor line is parsed", () => {
    const conf = lines(
      renderSentinelConf({
        ...sentinel,
        master: { host: "redis-0.redis.data.svc", port: 6379 },
        announceHostname: "sentinel-0.sentinel.data.svc",
      }),
    );
    expect(conf).toEqual(
      expect.arrayContaining([
        "sentinel resolve-hostnames yes",
        "sentinel announce-ip sentinel-0.sentinel.data.svc",
        "sentinel announce-hostnames yes",
      ]),
    );
    expect(conf.indexOf("sentinel resolve-hostnames yes")).toBeLessThan(conf.findIndex((l) => l.startsWith("sentinel monitor")));
    expect(renderSentinelConf({ ...sentinel, resolveHostnames: true })).toContain("sentinel resolve-hostnames yes\n");
  });

  it("takes another master name, quorum and timings", () => {
    const conf = renderSentinelConf({ ...sentinel, masterName: "cache", quorum: 3, downAfterMs: 3000, failoverTimeoutMs: 9000 });
    expect(lines(conf)).toEqual(
      expect.arrayContaining([
        "sentinel monitor cache 10.0.1.10 6379 3",
        "sentinel down-after-milliseconds cache 3000",
        "sentinel failover-timeout cache 9000",
      ]),
    );
  });

  it.each<[string, Partial<SentinelConfOptions>, string]>([
    ["a password Sentinel would rewrite unquoted", { password: "a b" }, "without spaces, quotes or control characters"],
    ["a quoted password", { password: 'a"b' }, "without spaces, quotes or control characters"],
    [
      "a host-name master without resolve-hostnames",
      { master: { host: "redis-0", port: 6379 }, resolveHostnames: false },
      'master.host "redis-0" is a host name: set resolveHostnames',
    ],
    [
      "announcing a host name without resolving them",
      { announceHostname: "s-0", resolveHostnames: false },
      "announceHostname needs resolveHostnames",
    ],
    ["a master name with a space", { masterName: "my master" }, 'masterName "my master" may only contain'],
    ["a quorum of 0", { quorum: 0 }, "quorum must be an integer in 1.."],
  ])("refuses %s", (_, patch, message) => {
    expect(() => renderSentinelConf({ ...sentinel, ...patch })).toThrow(message);
  });
});
