/**
 * Two tenant shards on the real engine, one of a single tenant and one of TENANTS_PER_SHARD, made
 * and changed by the real `enclii-infra domains` (testbed/cliFixture.ts, the tenants fixture, a
 * real API server), with what each command's preview and update touched (testbed/engineLog.ts):
 * the measurement of test/domains-targets.real.test.ts and bench/domains.ts.
 *
 * The full shard is `<environment>-000`: its file is written with all tenants but one, and
 * `domains add` of the last fills it, updating the whole shard (it has never been updated). The
 * single tenant then goes to `<environment>-001`, the next shard, by the shard rule. Tenant names
 * are `t0`…`t99`, unpadded, so the tenant a test changes (`t4`) is a prefix of ten others.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parse as parseYaml, stringify } from "yaml";
import { shardFile, shardStack, TENANTS_KEY, TENANTS_PER_SHARD } from "../model/config/tenants";
import type { Tenant } from "../model/routes";
import { cliFixtureRoot, type CliFixture } from "./cliFixture";
import { startEngine, type ENGINE_TOOLS } from "./engine";
import type { EngineRun } from "./engineLog";
import { startKube, type Kube } from "./kube";
import type { Servers } from "./servers";
import { writeShardFiles } from "./tenantShards";

export const ENVIRONMENT = "targets";
export const FULL_SHARD = shardStack(ENVIRONMENT, 0);
export const SOLO_SHARD = shardStack(ENVIRONMENT, 1);
export const SOLO = "solo";
/** The full shard's tenant a change is measured on: a prefix of t40…t49. */
export const CHANGED = "t4";
const SERVICE = "web:80";

export const hostnameOf = (tenant: string) => `${tenant}.example.com`;

/** One CLI command: its exit status, its JSON result, how long it took, and each engine command it ran. */
export interface Measured {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the result as the CLI printed it
  result: any;
  stderr: string;
  wallMs: number;
  runs: EngineRun[];
}

export interface DomainsShards {
  cli: CliFixture;
  kube: Kube;
  /** Runs `enclii-infra <args> --env <environment> --json` and measures it. */
  domains(args: string[]): Promise<Measured>;
  /**
   * What an operator does instead, on the whole full shard: with `add`, that hostname added to that
   * tenant in its file by hand; then `pulumi preview` and `pulumi up`, with `refresh` both with
   * `--refresh --run-program` as `domains status` runs them; measured together (no result).
   */
  byHand(opts: { add?: { tenant: string; hostname: string }; refresh?: boolean }): Promise<Measured>;
  /** The commands that made the shards: the platform's `up`, the full shard's first `domains add`, the single tenant's. */
  made: { platform: Measured; full: Measured; solo: Measured };
}

/** The platform stack, then both shards, as the file's header says; throws naming a command that failed. */
export async function domainsShards(servers: Servers, tools: Record<(typeof ENGINE_TOOLS)[number], string>): Promise<DomainsShards> {
  const engine = startEngine(servers, tools);
  const kube = await startKube(servers);
  if (!kube) throw new Error("the API server is not built (npm run toolchain)");
  const cli = await cliFixtureRoot(engine, ENVIRONMENT, { kube, engineLog: true });
  const run = async (args: string[]): Promise<Measured> => {
    const before = cli.engineRuns().length;
    const started = performance.now();
    // Not spawnSync: a blocked event loop for minutes would starve the test runner.
    const done = await cli.spawn([...args, "--env", ENVIRONMENT, "--json"]).done;
    const wallMs = performance.now() - started;
    const measured = { status: done.status, result: parse(done.stdout), stderr: done.stderr, wallMs, runs: cli.engineRuns().slice(before) };
    return measured;
  };
  const must = async (args: string[]) => {
    const m = await run(args);
    if (m.status !== 0) throw new Error(`enclii-infra ${args.join(" ")}: exit ${m.status}\n${m.stderr}`);
    return m;
  };
  const add = (tenant: string, hostname: string) => ["domains", "add", "--tenant", tenant, "--hostname", hostname, "--service", SERVICE];

  const platform = await must(["up"]);
  const tenants: Tenant[] = Array.from({ length: TENANTS_PER_SHARD }, (_, i) => ({
    name: `t${i}`,
    hostnames: [hostnameOf(`t${i}`)],
    service: { name: "web", port: 80 },
  }));
  const last = tenants.pop()!;
  writeShardFiles(join(cli.root, "tenants"), [{ stack: FULL_SHARD, tenants }]);
  const full = await must(add(last.name, last.hostnames[0]));
  const solo = await must(add(SOLO, hostnameOf(SOLO)));

  const byHand: DomainsShards["byHand"] = async ({ add, refresh }) => {
    const file = join(cli.root, shardFile(FULL_SHARD));
    if (add) {
      const doc = parseYaml(readFileSync(file, "utf8")) as { config: Record<string, Tenant[]> };
      doc.config[TENANTS_KEY].find((t) => t.name === add.tenant)!.hostnames.push(add.hostname);
      writeFileSync(file, stringify(doc));
    }
    const before = cli.engineRuns().length;
    const started = performance.now();
    let stderr = "";
    let status = 0;
    const options = ["--stack", FULL_SHARD, "--non-interactive", ...(refresh ? ["--refresh", "--run-program"] : [])];
    for (const args of [["preview"], ["up", "--yes", "--skip-preview"]]) {
      const done = await pulumiIn(join(cli.root, "tenants"), [...args, ...options], cli.vars);
      stderr += done.stderr;
      status ||= done.status;
    }
    return { status, result: undefined, stderr, wallMs: performance.now() - started, runs: cli.engineRuns().slice(before) };
  };
  return { cli, kube, domains: run, byHand, made: { platform, full, solo } };
}

/** The `pulumi` first on `vars`' PATH in `cwd`, to the end. */
function pulumiIn(cwd: string, args: string[], vars: Record<string, string>): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", args, { cwd, env: { ...process.env, ...vars }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    child.on("close", (code) => resolve({ status: code ?? -1, stderr }));
  });
}

function parse(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}
