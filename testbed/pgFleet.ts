/**
 * Apps as a rotation sees them: pods that each read one login at start and keep using it, a
 * rolling update that starts a pod with the new login, waits until it has served, then stops an
 * old one (maxSurge 1, maxUnavailable 0), and every failed query counted. Each pod reconnects
 * after a few transactions, as a connection pool recycles connections, so logins go on
 * throughout. Work is counted, never timed.
 */
import { spawn } from "node:child_process";
import { Client } from "pg";
import { PORTS } from "../model/names";
import type { Pod } from "./pods";
import { waitFor } from "./servers";

export interface Login {
  user: string;
  password: string;
}

const TRANSACTIONS_PER_CONNECTION = 5;

class AppPod {
  ok = 0;
  private stopping = false;
  readonly done: Promise<void>;

  constructor(
    host: string,
    database: string,
    readonly login: Login,
    private readonly fail: (err: unknown) => void,
  ) {
    this.done = this.loop(host, database);
  }

  private async loop(host: string, database: string): Promise<void> {
    while (!this.stopping) {
      // sslmode=require, as the apps' DATABASE_URL says.
      const c = new Client({ host, port: PORTS.postgres, database, ...this.login, ssl: { rejectUnauthorized: false } });
      c.on("error", () => undefined);
      try {
        await c.connect();
        for (let i = 0; i < TRANSACTIONS_PER_CONNECTION && !this.stopping; i++) {
          await c.query("BEGIN");
          await c.query("INSERT INTO hits DEFAULT VALUES");
          await c.query("COMMIT");
          this.ok++;
        }
      } catch (err) {
        this.fail(err);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
  }

  /** Finishes the transaction in flight, as a pod given SIGTERM drains. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.done;
  }
}

export class Fleet {
  private pods: AppPod[] = [];
  private retired = 0;
  /** Failed queries (a failed login counts as one) by message. */
  readonly errors: Record<string, number> = {};

  constructor(
    private readonly host: string,
    private readonly database: string,
  ) {}

  get ok(): number {
    return this.retired + this.pods.reduce((n, p) => n + p.ok, 0);
  }

  get failed(): number {
    return Object.values(this.errors).reduce((a, b) => a + b, 0);
  }

  /** The logins the running pods hold. */
  logins(): string[] {
    return [...new Set(this.pods.map((p) => p.login.user))];
  }

  private add(login: Login): AppPod {
    const pod = new AppPod(this.host, this.database, login, (err) => {
      const msg = err instanceof Error ? err.message : String(err);
      this.errors[msg] = (this.errors[msg] ?? 0) + 1;
    });
    this.pods.push(pod);
    return pod;
  }

  start(login: Login, replicas: number): void {
    for (let i = 0; i < replicas; i++) this.add(login);
  }

  /** Replaces every pod by one with `login`, one at a time. */
  async roll(login: Login): Promise<void> {
    for (const old of [...this.pods]) {
      const fresh = this.add(login);
      await waitFor(`a pod with ${login.user}'s login to serve`, async () => (fresh.ok > 0 ? true : undefined));
      await old.stop();
      this.retired += old.ok;
      this.pods = this.pods.filter((p) => p !== old);
    }
  }

  /** Waits until `transactions` more have committed. */
  async progress(transactions: number): Promise<void> {
    const target = this.ok + transactions;
    await waitFor(`${transactions} more transactions`, async () => (this.ok >= target ? true : undefined));
  }

  async stop(): Promise<void> {
    for (const p of this.pods) this.retired += await p.stop().then(() => p.ok);
    this.pods = [];
  }
}

export interface ScriptRun {
  /** What it has written to stderr so far. */
  stderr(): string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** A container's `command` run in a pod's network namespace, with its env (secrets stay out of the arguments). */
export function runInPod(pod: Pod, command: string[], env: Record<string, string>): ScriptRun {
  const child = spawn("ip", ["netns", "exec", pod.netns, ...command], {
    env: { PATH: process.env.PATH ?? "", ...env },
    // Not a socket on stdin: bash would take itself for a remote shell and read ~/.bashrc.
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return {
    stderr: () => stderr,
    exited: new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr }))),
  };
}
