/**
 * What a `domains` change to one tenant costs in a shard of 1 tenant and of TENANTS_PER_SHARD, with
 * the real CLI, engine and API server (testbed/domainsShards.ts; alone: `npx tsx bench/domains.ts`).
 * Per command: the resources whose provider Check or Diff its preview and its update called, the
 * resources the update left out as not targeted and those it read, its steps (and of them the changes), and
 * the time of each engine command and of the whole command, read from the engine's own verbose
 * log (testbed/engineLog.ts).
 * Against them, the same change made by hand to the full shard's file and applied by `pulumi
 * preview` and `pulumi up` of the whole shard, and each shard's first update (a whole shard).
 * Skips (no rows) when the engine or the API server is not built (`npm run toolchain`).
 */
import { TENANTS_PER_SHARD } from "../model/config/tenants";
import { CHANGED, domainsShards, FULL_SHARD, hostnameOf, SOLO, SOLO_SHARD, type Measured } from "../testbed/domainsShards";
import { ENGINE_TOOLS } from "../testbed/engine";
import { Servers } from "../testbed/servers";
import { toolPath } from "../testbed/toolchain";

const TOOLS = [...ENGINE_TOOLS, "etcd", "kube-apiserver", "kubectl"] as const;

export interface DomainsRow {
  command: string;
  shard: string;
  tenants: number;
  previewTouched: number;
  updateTouched: number;
  updateUntargeted: number;
  /** Resources whose provider Read the update called: what its refresh read back. */
  updateRead: number;
  updateSteps: number;
  updateChanges: number;
  /** The engine's preview and update, each from its log's first line to its last. */
  previewMs: number;
  updateMs: number;
  /** The whole command: the CLI, its stack reads and both engine commands. */
  wallMs: number;
}

/** The header and the rows as text cells, for a table. */
export function domainsTable(rows: readonly DomainsRow[]): string[][] {
  return [
    [
      "command",
      "shard",
      "tenants",
      "preview touched",
      "update touched",
      "left out",
      "read",
      "steps",
      "changes",
      "preview s",
      "update s",
      "wall s",
    ],
    ...rows.map((r) => [
      r.command,
      r.shard,
      String(r.tenants),
      String(r.previewTouched),
      String(r.updateTouched),
      String(r.updateUntargeted),
      String(r.updateRead),
      String(r.updateSteps),
      String(r.updateChanges),
      ...[r.previewMs, r.updateMs, r.wallMs].map((ms) => (ms / 1000).toFixed(1)),
    ]),
  ];
}

function row(command: string, shard: string, tenants: number, m: Measured): DomainsRow {
  if (m.status !== 0) throw new Error(`${command} in ${shard}: exit ${m.status}\n${m.stderr}`);
  const preview = m.runs.find((r) => r.command === "preview");
  const update = m.runs.find((r) => r.command === "up");
  const steps = Object.values(update?.steps ?? {}).reduce((a, b) => a + b, 0);
  return {
    command,
    shard,
    tenants,
    previewTouched: preview?.touched.length ?? 0,
    updateTouched: update?.touched.length ?? 0,
    updateUntargeted: update?.untargeted.length ?? 0,
    updateRead: update?.read.length ?? 0,
    updateSteps: steps,
    updateChanges: steps - (update?.steps.same ?? 0),
    previewMs: preview?.ms ?? 0,
    updateMs: update?.ms ?? 0,
    wallMs: m.wallMs,
  };
}

export async function benchDomains(log: (s: string) => void): Promise<{ rows: DomainsRow[] }> {
  const tools = Object.fromEntries(TOOLS.map((t) => [t, toolPath(t)]));
  const missing = TOOLS.filter((t) => !tools[t]);
  if (missing.length > 0) {
    log(`domains bench skipped: ${missing.join(", ")} not built (npm run toolchain)`);
    return { rows: [] };
  }
  const servers = new Servers();
  try {
    log(`domains: a shard of ${TENANTS_PER_SHARD} tenants and one of 1, made with the real CLI`);
    const shards = await domainsShards(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
    const www = (tenant: string) => `www.${hostnameOf(tenant)}`;
    const rows = [
      row("first update (whole shard)", SOLO_SHARD, 1, shards.made.solo),
      row("first update (whole shard)", FULL_SHARD, TENANTS_PER_SHARD, shards.made.full),
    ];
    log("domains: add and status of one tenant in each");
    for (const [tenant, shard, tenants] of [
      [SOLO, SOLO_SHARD, 1],
      [CHANGED, FULL_SHARD, TENANTS_PER_SHARD],
    ] as const) {
      rows.push(
        row("domains add", shard, tenants, await shards.domains(["domains", "add", "--tenant", tenant, "--hostname", www(tenant)])),
      );
      rows.push(row("domains status", shard, tenants, await shards.domains(["domains", "status", "--tenant", tenant])));
    }
    log("domains: the same by hand, pulumi preview and up of the whole full shard");
    const add = { tenant: "t5", hostname: www("t5") };
    rows.push(row("by hand: add, pulumi preview, up", FULL_SHARD, TENANTS_PER_SHARD, await shards.byHand({ add })));
    rows.push(row("by hand: pulumi preview, up --refresh", FULL_SHARD, TENANTS_PER_SHARD, await shards.byHand({ refresh: true })));
    return { rows };
  } finally {
    await servers.stopAll();
  }
}

if (require.main === module)
  benchDomains((s) => process.stderr.write(`${s}\n`)).then(({ rows }) => {
    const cells = domainsTable(rows);
    const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
    process.stdout.write(
      `${cells.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n")}\n`,
    );
  });
