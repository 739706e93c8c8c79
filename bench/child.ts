/**
 * One benchmarked child process: wall time, the peak RSS of every Node process it started (a
 * module preloaded through NODE_OPTIONS, which forked workers inherit, records each one's
 * `process.resourceUsage().maxRSS` at exit), and the peak of their sum: its process tree's RSS,
 * sampled from /proc every TREE_SAMPLE_MS (Linux; the tree includes what they start, such as
 * esbuild's service).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

/** A 10,000-tenant plan takes tens of seconds here, more under load; a hung child still ends. */
const CHILD_TIMEOUT_MS = 300_000;
const RSS_HOOK =
  'const{appendFileSync}=require("node:fs");process.on("exit",()=>{const f=process.env.BENCH_RSS_FILE;' +
  'if(f)appendFileSync(f,JSON.stringify({pid:process.pid,maxRSS:process.resourceUsage().maxRSS})+"\\n")});';

/** How often the process tree's memory is sampled: a plan's peaks last seconds, and each scan of /proc takes CPU from it. */
const TREE_SAMPLE_MS = 200;

/** The RSS in KiB of `root` and every process under it, from /proc; 0 where there is no /proc. */
function treeRssKiB(root: number): number {
  const parents = new Map<number, number[]>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  const rss = new Map<number, number>();
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // Fields after the command (which may hold spaces) in parentheses: state, ppid, ….
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(d)]);
      rss.set(Number(d), Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, "utf8"))?.[1] ?? 0));
    } catch {
      // Gone between the listing and the read.
    }
  }
  let sum = 0;
  for (const stack = [root]; stack.length > 0;) {
    const pid = stack.pop()!;
    sum += rss.get(pid) ?? 0;
    stack.push(...(parents.get(pid) ?? []));
  }
  return sum;
}

export interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The largest of its processes' peaks. */
  maxRssMiB: number;
  /** Each process's peak, the child's own first. */
  rssMiB: number[];
  /** The peak of the process tree's summed RSS, as sampled (0 without /proc). */
  treeMiB: number;
}

let runs = 0;

/** Runs `node <args>` in `cwd`, with its scratch files in `work`; rejects when it fails. */
export function runChild(args: string[], opts: { cwd: string; work: string; env?: Record<string, string> }): Promise<Child> {
  const rssFile = join(opts.work, `rss-${process.pid}-${runs++}.jsonl`);
  const hook = join(opts.work, "rss-hook.cjs");
  if (!existsSync(hook)) writeFileSync(hook, RSS_HOOK);
  const env = {
    ...process.env,
    ...opts.env,
    BENCH_RSS_FILE: rssFile,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require=${hook}`.trim(),
  };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let treeKiB = 0;
    const sampler = setInterval(() => (treeKiB = Math.max(treeKiB, child.pid ? treeRssKiB(child.pid) : 0)), TREE_SAMPLE_MS);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      const ms = performance.now() - t0;
      const lines = existsSync(rssFile) ? readFileSync(rssFile, "utf8").trim().split("\n") : [];
      const peaks = lines.map((l) => JSON.parse(l) as { pid: number; maxRSS: number });
      // The child itself exits last: its line is the last one written.
      const rssMiB = peaks.reverse().map((p) => p.maxRSS / 1024);
      if (code !== 0 && code !== 3)
        reject(new Error(`node ${args.join(" ")} failed (exit ${code}):\n${(stderr || stdout).trim().split("\n").slice(-10).join("\n")}`));
      else resolve({ code, stdout, stderr, ms, maxRssMiB: Math.max(0, ...rssMiB), rssMiB, treeMiB: treeKiB / 1024 });
    });
  });
}
