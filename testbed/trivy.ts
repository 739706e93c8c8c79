/**
 * Trivy's misconfiguration scan over every Kubernetes manifest the plans render
 * (docs/security.md#trivys-findings): production, staging, the HA and external examples, and a
 * staging tenant shard, planned by the plan runner into a temp dir, then `trivy config` with the
 * checks embedded in the binary and no network. Run by hand: `npx tsx testbed/trivy.ts`.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { renderStacks } from "./clusterObjects";
import { toolPath } from "./toolchain";

/** The tenants of the shard scanned: every tenant's objects are the same shape, so two show anything one tenant's would. */
const SHARD_TENANTS = 2;

/** One failed check on one object, as the scan reports it. */
export interface Finding {
  /** Trivy's check ID, e.g. `KSV-0014`. */
  check: string;
  title: string;
  severity: string;
  /** The plan the manifest came from: a stack, or a shard stack such as `staging-000`. */
  stack: string;
  /** `<namespace>/<kind>-<name>`, the manifest's path under manifests/ without `.yaml`. */
  resource: string;
  /** What Trivy says is wrong, for the reader. */
  message: string;
}

/** Findings in a stable order, whichever batch finished first. */
const order = (f: Finding) => `${f.check} ${f.stack} ${f.resource}`;

/**
 * Plans every platform stack and one tenant shard (testbed/clusterObjects.ts, as the cluster check
 * does) and writes their manifests as `npm run plan` names them,
 * `<dir>/<stack>/manifests/<ns>/<kind>-<name>.yaml`; returns how many each plan wrote.
 */
export async function renderManifests(dir: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { stack, objects } of await renderStacks(SHARD_TENANTS)) {
    counts[stack] = 0;
    for (const { source, object } of objects.filter((o) => o.source.startsWith("manifests/"))) {
      mkdirSync(dirname(join(dir, stack, source)), { recursive: true });
      writeFileSync(join(dir, stack, source), stringify(object));
      counts[stack] += 1;
    }
  }
  return counts;
}

/**
 * The flags that keep the scan to the checks embedded in the binary and off the network:
 * - `--skip-check-update`: never pull the checks bundle (mirror.gcr.io/aquasec/trivy-checks). With
 *   an empty cache there is no downloaded bundle either, so Trivy logs "Falling back to embedded
 *   checks" and uses those (pkg/commands/artifact/run.go, initMisconfScannerOption), the checks of
 *   the binary's own pin;
 * - `--skip-version-check` and `--disable-telemetry`: both together skip the one request to
 *   Trivy's update API (pkg/notification/notice.go); either alone still sends it;
 * - `--cache-dir` and `--module-dir` in a fresh temp dir: no bundle or WASM module from
 *   ~/.cache/trivy or ~/.trivy/modules changes what runs;
 * - `--misconfig-scanners kubernetes`: the manifests are Kubernetes objects and nothing else.
 * Trivy runs in the temp dir with no TRIVY_* variables, so no trivy.yaml, .trivyignore or
 * environment setting of this machine applies.
 */
export function trivyArgs(target: string, cacheDir: string): string[] {
  return [
    "config",
    "--format=json",
    "--skip-check-update",
    "--skip-version-check",
    "--disable-telemetry",
    `--cache-dir=${join(cacheDir, "cache")}`,
    `--module-dir=${join(cacheDir, "modules")}`,
    "--misconfig-scanners=kubernetes",
    target,
  ];
}

export interface Scan {
  findings: Finding[];
  /** How many `trivy config` runs it took: one per kind. */
  batches: number;
  /** Trivy's log (stderr), for the reader and for proof that the embedded checks ran. */
  log: string;
  /** The first line of every request Trivy sent to the trap proxy: none, when it stays offline. */
  requests: string[];
  /** Wall time of the `trivy config` runs, copies included, the plans not. */
  ms: number;
}

interface Report {
  Results?: {
    Target: string;
    Misconfigurations?: { ID: string; Title: string; Severity: string; Status: string; Message: string }[];
  }[];
}

/**
 * A proxy that records each request's first line and hangs up. Trivy's HTTP clients take their
 * proxy from the environment (Go's ProxyFromEnvironment), so a request Trivy tries is both seen
 * and failed at once, instead of waiting out a dial timeout (five minutes) where no network is.
 */
async function trapProxy(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    socket.once("data", (d) => {
      requests.push(d.toString("latin1").split("\r\n")[0]);
      socket.destroy();
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((done) => server.close(() => done())) };
}

function run(
  bin: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

/** Every manifest under `dir`, relative to it, grouped by kind (the file name's prefix, as planFiles writes it). */
function byKind(dir: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const path of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const m = /\/manifests\/[^/]+\/([a-z0-9]+)-[^/]+\.yaml$/.exec(path);
    if (m) groups.set(m[1], [...(groups.get(m[1]) ?? []), path]);
  }
  return groups;
}

/**
 * Runs `trivy config` over the manifests under `dir` (as renderManifests writes them) and returns
 * every failed check. One run per kind: Trivy v0.74.0 decides whether a check applies from its
 * kind selector over the whole batch of files at once (pkg/iac/rego/scanner.go,
 * isPolicyApplicable), then runs it on every file. In one run over all the plans, the shard's
 * LimitRanges made KSV-0039 ("limit range usage") fire on 316 objects that are not LimitRanges,
 * and its ResourceQuotas did the same for KSV-0040. A batch of one kind gets each check exactly
 * when its selector names that kind.
 * `only` scans some kinds without some of trivyArgs' flags: the test's control for the trap proxy.
 */
export async function scan(bin: string, dir: string, only?: { kinds: string[]; without: string[] }): Promise<Scan> {
  const work = mkdtempSync(join(tmpdir(), "enclii-trivy-"));
  const proxy = await trapProxy();
  try {
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TRIVY_|no_proxy$)/i.test(k)));
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) env[k] = proxy.url;
    const findings: Finding[] = [];
    const logs: string[] = [];
    const batches = new Map([...byKind(dir)].filter(([kind]) => !only || only.kinds.includes(kind)));
    const started = performance.now();
    const scanKind = async ([kind, paths]: [string, string[]]) => {
      const batch = join(work, "batches", kind);
      for (const p of paths) {
        mkdirSync(dirname(join(batch, p)), { recursive: true });
        copyFileSync(join(dir, p), join(batch, p));
      }
      const args = trivyArgs(batch, join(work, "trivy")).filter((a) => !only?.without.includes(a));
      const r = await run(bin, args, work, env);
      if (r.code !== 0) throw new Error(`trivy config exited ${r.code} on the ${kind} batch:\n${r.stderr}`);
      logs.push(r.stderr);
      for (const result of (JSON.parse(r.stdout) as Report).Results ?? []) {
        const m = /^([^/]+)\/manifests\/(.+)\.yaml$/.exec(result.Target);
        if (!m) throw new Error(`unexpected target ${result.Target}`);
        for (const c of result.Misconfigurations ?? []) {
          if (c.Status !== "FAIL") continue;
          findings.push({ check: c.ID, title: c.Title, severity: c.Severity, stack: m[1], resource: m[2], message: c.Message });
        }
      }
    };
    // Most of a run is Trivy loading and compiling its checks on one core: two runs at a time.
    const queue = [...batches];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await scanKind(next);
    };
    // Both workers finish before the temp dir goes, even when one has failed.
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(2, availableParallelism()) }, worker));
    for (const o of outcomes) if (o.status === "rejected") throw o.reason;
    findings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    return {
      findings,
      batches: batches.size,
      log: logs.join(""),
      requests: [...proxy.requests],
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await proxy.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** `npx tsx testbed/trivy.ts`: the scan by hand, one line per check and object, with the plans that render it. */
async function main(): Promise<void> {
  const bin = toolPath("trivy");
  if (!bin) throw new Error("trivy is not built: npm run toolchain -- trivy");
  const dir = mkdtempSync(join(tmpdir(), "enclii-trivy-manifests-"));
  try {
    const counts = await renderManifests(dir);
    const { findings, batches, ms } = await scan(bin, dir);
    const lines = new Map<string, { f: Finding; stacks: string[] }>();
    for (const f of findings) {
      const line = lines.get(`${f.check} ${f.resource}`) ?? { f, stacks: [] };
      line.stacks.push(f.stack);
      lines.set(`${f.check} ${f.resource}`, line);
    }
    for (const { f, stacks } of lines.values())
      process.stdout.write(`${f.check}\t${f.severity}\t${f.resource}\t${[...new Set(stacks)].join(",")}\t${f.title}: ${f.message}\n`);
    const manifests = Object.values(counts).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `${findings.length} findings (${lines.size} distinct) in ${manifests} manifests; ${batches} trivy runs took ${ms} ms\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
