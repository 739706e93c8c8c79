/**
 * The data layer's figures with real servers fed the configs we render (run by `npm run bench`
 * after the plan figures, or alone: `npx tsx bench/data.ts`):
 *  1. 1000 concurrent clients, each one short transaction, through PgBouncer (transaction mode,
 *     pool 25) and then straight at PostgreSQL (max_connections 100): succeeded, failed, the most
 *     server connections PostgreSQL showed, wall time;
 *  2. Sentinel failover (1 master + 2 replicas + 3 Sentinels, down-after 5000 ms): kill -9 the
 *     master, time until every Sentinel names the same new master and until it takes a write;
 *     median of FAILOVER_RUNS runs, each on a fresh set.
 * Every server runs in a pod of its own (testbed/). Prints a table and writes `.bench/data.json`.
 * Skips (exit 0) when the Debian tools or root (for network namespaces) are missing.
 */
import { stats, type Stats } from "./stats";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { MAX_CLIENT_CONN } from "../components/data/pgbouncer";
import { DOWN_AFTER_MS } from "../components/data/redisConfig";
import { BUDGET, runClients, startPgbouncerStack, type LoadResult } from "../testbed/postgres";
import { killMaster, startRedisCluster } from "../testbed/redis";
import { Servers, waitFor } from "../testbed/servers";

const RESULTS = join(__dirname, "..", ".bench", "data.json");
const TOOLS = ["pgbouncer", "postgres", "redis-server", "redis-sentinel", "openssl", "ip", "unshare"];
const FAILOVER_RUNS = 5;
/** Keeps the whole bench under 2 minutes: no new failover run starts after this. */
const FAILOVER_BUDGET_MS = 80_000;

async function withServers<T>(run: (servers: Servers) => Promise<T>): Promise<T> {
  const servers = new Servers();
  // Prepended so it runs before any handler that exits (bench/run.ts installs one).
  const onSignal = (sig: NodeJS.Signals) => {
    servers.killAllNow();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.prependOnceListener("SIGINT", onSignal);
  process.prependOnceListener("SIGTERM", onSignal);
  try {
    return await run(servers);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await servers.stopAll();
  }
}

async function failoverOnce(): Promise<{ agreeMs: number; writableMs: number }> {
  return withServers(async (servers) => {
    const c = await startRedisCluster(servers, "sentinel");
    const { ms, master, killedAt } = await killMaster(c);
    await waitFor("a write to the new master", async () => ((await c.call(master, "SET", "k", "v")) === "OK" ? true : undefined));
    return { agreeMs: ms, writableMs: performance.now() - killedAt };
  });
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const range = (s: Stats) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
const loadRow = (what: string, r: LoadResult) => [
  what,
  String(r.succeeded),
  String(r.failed),
  String(r.maxServerConnections),
  r.wallMs.toFixed(0),
];

/** Returns the exit code: 1 if a measurement failed. */
export async function benchData(log = (s: string) => process.stderr.write(`${s}\n`)): Promise<number> {
  const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length || process.getuid?.() !== 0) {
    log(
      `data bench skipped: ${missing.length ? `${missing.join(", ")} not installed (see .ci/run)` : "pods need root (network namespaces)"}`,
    );
    return 0;
  }
  const started = performance.now();
  try {
    log("data: 1000 clients through PgBouncer, then straight at PostgreSQL");
    const [viaPgbouncer, direct] = await withServers(async (servers) => {
      const stack = await startPgbouncerStack(servers);
      return [await runClients(stack, stack.pgbouncer.ip, MAX_CLIENT_CONN), await runClients(stack, stack.pg.pod.ip, MAX_CLIENT_CONN)];
    });
    const runs: { agreeMs: number; writableMs: number }[] = [];
    while (runs.length < FAILOVER_RUNS && performance.now() - started < FAILOVER_BUDGET_MS) {
      runs.push(await failoverOnce());
      log(`  failover ${runs.length}/${FAILOVER_RUNS}: all Sentinels agree after ${runs.at(-1)?.agreeMs.toFixed(0)} ms`);
    }
    const agreeMs = stats(runs.map((r) => r.agreeMs));
    const writableMs = stats(runs.map((r) => r.writableMs));
    const totalS = (performance.now() - started) / 1000;

    process.stdout.write(
      [
        "",
        table([
          ["1000 clients, one transaction each", "succeeded", "failed", "max PG conns", "wall ms"],
          loadRow(`via PgBouncer (pool ${BUDGET.perPool})`, viaPgbouncer),
          loadRow("straight at PostgreSQL (max 100)", direct),
        ]),
        `  refusals straight at PostgreSQL: ${
          Object.entries(direct.errors)
            .map(([m, n]) => `${n} × "${m}"`)
            .join(", ") || "none"
        }`,
        "",
        table([
          [`Sentinel failover (down-after ${DOWN_AFTER_MS} ms)`, "median (min-max) ms"],
          ["kill -9 → every Sentinel names the new master", range(agreeMs)],
          ["kill -9 → new master takes a write", range(writableMs)],
        ]),
        `${runs.length} failover runs, each on fresh pods: 1 master + 2 replicas + 3 Sentinels. Total ${totalS.toFixed(0)} s on ${cpus().length} CPUs.`,
        "",
      ].join("\n"),
    );
    mkdirSync(join(RESULTS, ".."), { recursive: true });
    const report = {
      generatedAt: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      method: {
        clients: `${MAX_CLIENT_CONN} pg clients connect at once and hold their connection until all have tried, then each runs BEGIN; INSERT; SELECT pg_sleep(0.02); COMMIT`,
        maxServerConnections:
          "max over the run of pg_stat_activity client backends on database enclii, polled every ~5 ms over a superuser socket connection",
        failover:
          "kill -9 of the master to: every Sentinel's GET-MASTER-ADDR-BY-NAME naming the same new master (agree), a SET accepted by it (writable); polled every 50 ms",
      },
      totalSeconds: totalS,
      pgbouncer: viaPgbouncer,
      direct,
      failover: { downAfterMs: DOWN_AFTER_MS, runs: runs.length, agreeMs, writableMs },
    };
    writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`Wrote ${RESULTS}\n`);
    return 0;
  } catch (err) {
    log(`data bench FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) benchData().then((code) => process.exit(code));
