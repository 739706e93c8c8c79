/**
 * Process plumbing for the real-server tests and `bench/data.ts`: every process started goes
 * through one `Servers`, whose `stopAll()` stops it by PID and then runs the cleanups registered
 * with it (temp dirs, network namespaces). Waits are on conditions; their timeouts are safety
 * nets far above what a loaded machine needs.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Debian keeps PostgreSQL's server programs (initdb, postgres) off PATH, under their major version.
const PG_ROOT = "/usr/lib/postgresql";
const pgMajor = existsSync(PG_ROOT)
  ? readdirSync(PG_ROOT)
      .filter((v) => existsSync(join(PG_ROOT, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a))[0]
  : undefined;
if (pgMajor) process.env.PATH = `${process.env.PATH}:${join(PG_ROOT, pgMajor, "bin")}`;

/** How long a condition may take before the wait gives up: generous, since the machine may be busy. */
const PATIENCE_MS = 60_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = PATIENCE_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface Proc {
  /** The server's PID: the child's own, or that of the server runuser started. */
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  stopSignal: NodeJS.Signals;
}

export class Servers {
  private readonly procs: Proc[] = [];
  private readonly cleanups: (() => void)[] = [];

  /** A temp dir removed by `stopAll`; owned by postgres for PostgreSQL and PgBouncer. */
  tempDir(prefix: string, ownedByPostgres = false): string {
    const dir = mkdtempSync(join(tmpdir(), `enclii-${prefix}-`));
    this.onStop(() => rmSync(dir, { recursive: true, force: true }));
    if (ownedByPostgres) chownSync(dir, postgresId("-u"), postgresId("-g"));
    return dir;
  }

  /** Runs after every process has stopped, newest first. */
  onStop(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** A long-running child whose output goes to `log` (not a pipe, which would fill and stall it). */
  spawn(argv: string[], cwd: string, log: string, stopSignal: NodeJS.Signals = "SIGTERM"): Proc {
    const fd = openSync(log, "a");
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    const proc = { pid: child.pid, child, exited: new Promise<void>((r) => child.once("exit", () => r())), stopSignal };
    this.procs.push(proc);
    return proc;
  }

  /** Newest first, each by its PID; then the cleanups. */
  async stopAll(): Promise<void> {
    for (const p of this.procs.splice(0).reverse()) await stopProc(p);
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
  }

  /** Synchronous, for a signal handler about to exit. */
  killAllNow(): void {
    for (const p of this.procs.splice(0)) signal(p.pid, "SIGKILL");
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
  }
}

const postgresId = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());

/** Its stop signal, then SIGKILL if it is still there after `graceMs`. */
export async function stopProc(p: Proc, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  signal(p.pid, p.stopSignal);
  const late = setTimeout(() => signal(p.pid, "SIGKILL"), graceMs);
  await p.exited;
  clearTimeout(late);
}

/**
 * For a process that runs `runuser -u postgres -- …` (PostgreSQL and PgBouncer refuse root): the
 * server is signalled directly (runuser would forward a SIGTERM and then sleep 2 s), and stays a
 * child of runuser, which reaps it (a daemonized server would be left a zombie where PID 1 reaps nothing).
 */
export async function adoptRunuserChild(proc: Proc, what: string): Promise<void> {
  const children = `/proc/${proc.pid}/task/${proc.pid}/children`;
  proc.pid = await waitFor(`${what} to start`, async () => Number(readFileSync(children, "utf8").trim()) || undefined);
}

/**
 * SIGSTOP and wait until every thread of the process has stopped: the kernel stops a process's
 * threads one by one as each next runs, so on a busy machine a thread can still answer a request
 * sent right after the signal (a Go server's, for one). `/proc/<pid>/task/<tid>/stat` shows each
 * thread's state, `T` once it is stopped.
 */
export async function hang(pid: number, what: string): Promise<void> {
  process.kill(pid, "SIGSTOP");
  const tasks = `/proc/${pid}/task`;
  await waitFor(`${what} to stop`, async () =>
    readdirSync(tasks).every((tid) => /^\d+ \(.*\) T /.test(readFileSync(`${tasks}/${tid}/stat`, "utf8"))) ? true : undefined,
  );
}
