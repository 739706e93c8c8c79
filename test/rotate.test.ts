/**
 * `enclii-infra rotate` (automation/control/rotate.ts): through the command line, the real
 * Automation API and the stand-in Pulumi CLI (testbed/pulumi), which edits the stack file as the
 * real CLI does and replays engine events; what each step writes and in what order, resuming
 * after a failed update, `--due`, and the usage errors. Signals mid-update, the guard's expected
 * deletions and the cluster credential's revocations run against a stand-in `Stack`
 * (test/controlStack.ts) in this process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import type { ConfigMap, Deployment, EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { isScalar, parse, parseDocument, visit } from "yaml";
import { runCli } from "../automation/commandLine";
import { rotateCommand, type OpenRotationStack } from "../automation/control/rotate";
import { EXIT } from "../model/controlPlane";
import { partOfGeneration, secretGeneration, secretInState } from "../model/rotationPlan";
import { configProblems, resultProblems } from "../testbed/contract";
import { EVENTS_DIR, FakeStack, events, type Answer } from "./controlStack";
import { ROOT, copyRepo } from "./harness";

const STANDIN = join(ROOT, "testbed", "pulumi");
const NOW = new Date("2026-12-07T10:00:00Z");
const SINCE = "2026-12-07T10:00:00Z";
const DATA = "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer";
const redisPassword = (g: number) =>
  `${DATA}$enclii:data:Redis$random:index/randomPassword:RandomPassword::enclii-data-redis-password${g ? `-g${g}` : ""}`;
const PASSWORD = "random:index/randomPassword:RandomPassword";
const OK = { events: join(EVENTS_DIR, "image-only.up.jsonl") };
const FAILS = { events: join(EVENTS_DIR, "image-rollout-timeout.up.jsonl"), exitCode: 255, stderr: "error: update failed" };

const tmp = mkdtempSync(join(tmpdir(), "enclii-rotate-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let state: string;
let n = 0;

beforeEach(() => {
  root = join(tmp, `repo-${n}`);
  state = join(tmp, `standin-${n++}`);
  copyRepo(root);
});

const stackFile = () => join(root, "Pulumi.staging.yaml");
/** `enclii:rotations` as the stack file holds it. */
const rotations = () => parse(readFileSync(stackFile(), "utf8")).config["enclii:rotations"];
/** Sets config keys in the stack file, as an operator's earlier commits would have. */
function withConfig(values: Record<string, unknown>): void {
  const doc = parseDocument(readFileSync(stackFile(), "utf8"));
  for (const [k, v] of Object.entries(values)) {
    const node = doc.createNode(v);
    // Quoted, as the CLI writes a time: unquoted, Pulumi's YAML would read a date.
    visit(node, { Scalar: (_, s) => void (isScalar(s) && typeof s.value === "string" && (s.type = "QUOTE_DOUBLE")) });
    doc.setIn(["config", k], node);
  }
  writeFileSync(stackFile(), doc.toString());
}

interface Scenario {
  up?: object[];
  exports?: { urn: string; type: string; created?: string }[];
}

/** Runs the command line in this process against the stand-in CLI; `scenario` says what its engine answers. */
async function rotate(argv: string[], scenario: Scenario = {}) {
  const file = join(tmp, `scenario-${n++}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      version: "3.270.0",
      preview: [{ events: join(EVENTS_DIR, "image-only.preview.jsonl") }],
      up: scenario.up ?? [OK],
      exports: { staging: { version: 3, deployment: { resources: scenario.exports ?? [] } } },
    }),
  );
  const saved = { ...process.env };
  Object.assign(process.env, {
    PATH: [STANDIN, dirname(process.execPath), saved.PATH ?? ""].join(delimiter),
    ENCLII_STANDIN_SCENARIO: file,
    ENCLII_STANDIN_DIR: state,
  });
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, { root, now: () => NOW });
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.env = saved;
  }
}

/** The stand-in's calls that change something, in order: each `config set-all` with its pairs, then preview and up. */
function changing(): string[] {
  return readFileSync(join(state, "calls.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).args as string[])
    .filter((a) => ["preview", "up"].includes(a[0]) || (a[0] === "config" && a[1] === "set-all"))
    .map((a) => (a[0] === "config" ? `set ${a.filter((_, i) => a[i - 1] === "--plaintext").join(" ")}` : a[0]));
}
const set = (secret: string, generation: number, phase: string, since = SINCE) =>
  `set enclii:rotations["${secret}"].generation=${generation} enclii:rotations["${secret}"].since=${since} enclii:rotations["${secret}"].phase=${phase}`;

describe("rotate <secret>: the steps, each one's config written before its update", () => {
  it("redis: overlap, then settled, each with its own update; the stack file holds the last", async () => {
    const res = await rotate(["rotate", "redis", "--env", "staging"]);
    expect(res.code, res.stderr).toBe(EXIT.ok);
    expect(changing()).toEqual([set("redis", 1, "overlap"), "preview", "up", set("redis", 1, "settled"), "preview", "up"]);
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "settled" } });
    expect(configProblems({ "enclii:rotations": rotations() })).toEqual([]);
    expect(res.stdout).toContain("redis: step 1 of 2: generation 1 beside generation 0 (overlap: both work)\n");
    expect(res.stdout).toContain("redis: step 2 of 2: generation 1 only (settled: generation 0 stops working)\n");
    expect(res.stdout).toContain(
      `redis: rotated in staging: generation 1, settled (since ${SINCE})\nedited Pulumi.staging.yaml (commit it: the stack file is the record)\n`,
    );
  });

  it("a one-step secret: generation+1 settled and one update; the updates say what they are in the history", async () => {
    withConfig({ "enclii:rotations": { "janua-hs256": { generation: 2, since: "2026-01-01T00:00:00Z", phase: "settled" } } });
    const res = await rotate(["rotate", "janua-hs256", "--env", "staging", "--json"]);
    expect(res.code, res.stderr).toBe(EXIT.ok);
    expect(changing()).toEqual([set("janua-hs256", 3, "settled"), "preview", "up"]);
    const out = JSON.parse(res.stdout);
    expect(resultProblems(res.stdout)).toEqual([]);
    expect(out).toMatchObject({
      operation: "rotate",
      status: "ok",
      changedFiles: ["Pulumi.staging.yaml"],
      rotations: [{ secret: "janua-hs256", status: "ok", generation: 3, phase: "settled" }],
    });
    const up = readFileSync(join(state, "calls.jsonl"), "utf8")
      .split("\n")
      .find((l) => l.includes('"up"'))!;
    expect(JSON.parse(up).args).toEqual(expect.arrayContaining(["--message", "enclii rotate janua-hs256 step 1/1: generation 3, settled"]));
  });

  it("a failed update in step 1: exit 1 naming the step and the command that resumes; running it again reruns step 1, then step 2", async () => {
    const failed = await rotate(["rotate", "redis", "--env", "staging"], { up: [FAILS] });
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.stderr).toContain(
      "redis: step 1 of 2 (generation 1 beside generation 0 (overlap: both work)) did not finish: staging: rotate failed\n" +
        "Pulumi.staging.yaml holds generation 1, overlap: the old credential keeps working in overlap, beside the new one; " +
        "resume with: npx enclii-infra rotate redis --env staging\n",
    );
    expect(failed.stderr).toContain("timed out waiting to be Ready");
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "overlap" } });
    const before = changing().length;

    const resumed = await rotate(["rotate", "redis", "--env", "staging"], { exports: [{ urn: redisPassword(0), type: PASSWORD }] });
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(resumed.stdout).toContain("redis: the stack config holds generation 1, overlap: resuming at step 1 of 2\n");
    // Step 1's entry is already written: its update runs again as it is, then step 2 is written and run.
    expect(changing().slice(before)).toEqual(["preview", "up", set("redis", 1, "settled"), "preview", "up"]);
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "settled" } });
  });

  it("a failed update in step 2: its entry stays written; running it again reruns only step 2's update, no new generation", async () => {
    const failed = await rotate(["rotate", "redis", "--env", "staging", "--json"], { up: [OK, FAILS] });
    expect(failed.code).toBe(EXIT.failed);
    const out = JSON.parse(failed.stdout);
    expect(resultProblems(failed.stdout)).toEqual([]);
    expect(out.rotations).toEqual([
      {
        secret: "redis",
        status: "failed",
        exitCode: 1,
        generation: 1,
        phase: "settled",
        message: out.message,
        failedStep: { step: 2, of: 2, does: "generation 1 only (settled: generation 0 stops working)" },
        resume: "npx enclii-infra rotate redis --env staging",
        engineMessage: out.engineMessage,
      },
    ]);
    expect(out.message).toContain(
      "Pulumi.staging.yaml holds generation 1, settled: the update to it did not finish, and rerunning it finishes it; resume with: npx enclii-infra rotate redis --env staging",
    );
    const before = changing().length;
    // The state still holds generation 0 beside 1: step 2's update did not finish.
    const held = [redisPassword(0), redisPassword(1)].map((urn) => ({ urn, type: PASSWORD }));
    const resumed = await rotate(["rotate", "redis", "--env", "staging"], { exports: held });
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(resumed.stdout).toContain(
      "redis: the stack config holds generation 1, settled but the state still holds generation 0: the last update did not finish; resuming at step 2 of 2\n",
    );
    expect(changing().slice(before)).toEqual(["preview", "up"]);
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "settled" } });
  });

  it("once finished, the next run is a new rotation", async () => {
    withConfig({ "enclii:rotations": { redis: { generation: 1, since: "2026-01-01T00:00:00Z", phase: "settled" } } });
    const res = await rotate(["rotate", "redis", "--env", "staging"], { exports: [{ urn: redisPassword(1), type: PASSWORD }] });
    expect(res.code, res.stderr).toBe(EXIT.ok);
    expect(changing()).toEqual([set("redis", 2, "overlap"), "preview", "up", set("redis", 2, "settled"), "preview", "up"]);
  });

  it("refuses when the state is ahead of the stack file (a rotation's commit lost), writing nothing", async () => {
    const res = await rotate(["rotate", "redis", "--env", "staging"], { exports: [{ urn: redisPassword(2), type: PASSWORD }] });
    expect(res.code).toBe(EXIT.usage);
    expect(res.stderr).toBe(
      "staging (stack staging): redis: the state holds generation 2 of redis, but the stack config says generation 0 (no entry): " +
        "the stack file is behind the stack (was a rotation's commit lost?); put enclii:rotations.redis back to what the last rotation wrote before rotating; nothing was changed\n",
    );
    expect(changing()).toEqual([]);
  });

  it("refuses postgres when the database is external: its owner rotates those passwords", async () => {
    withConfig({ "enclii:postgres": { mode: "external", host: "db.example.net", port: 5432, sslmode: "verify-full" } });
    const res = await rotate(["rotate", "postgres", "--env", "staging", "--json"]);
    expect(res.code).toBe(EXIT.usage);
    expect(JSON.parse(res.stdout)).toMatchObject({
      status: "usage",
      message:
        "staging (stack staging): postgres: enclii:postgres.mode is external: the database's owner rotates its passwords (enclii:externalDatabaseUrls); nothing was changed",
    });
    expect(changing()).toEqual([]);
  });
});

describe("rotate --due: every secret older than its period, one result each", () => {
  const created = (urn: string, type: string, at?: string) => ({ urn, type, ...(at && { created: at }) });
  const STATE = [
    created(`${DATA}$enclii:data:Postgres$${PASSWORD}::enclii-data-postgres-enclii-password`, PASSWORD, "2026-01-01T00:00:00Z"),
    created(
      "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:edge:R2Storage$cloudflare:index/accountToken:AccountToken::enclii-r2-assets-token",
      "cloudflare:index/accountToken:AccountToken",
      "2026-11-20T00:00:00Z",
    ),
    created(
      "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:observability:Metrics$random:index/randomPassword:RandomPassword::enclii-metrics-grafana-password",
      PASSWORD,
    ),
    created(
      "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:k3s:K3sCluster$command:remote:Command::enclii-k3s-accounts",
      "command:remote:Command",
      "2026-11-30T00:00:00Z",
    ),
  ];
  const ENTRIES = {
    redis: { generation: 1, since: "2026-06-01T00:00:00Z", phase: "settled" },
    "janua-hs256": { generation: 4, since: "2026-11-01T00:00:00Z", phase: "settled" },
  };

  it("picks only what is older (or undated), rotates each; one failure does not stop the others but sets the exit", async () => {
    withConfig({ "enclii:rotations": ENTRIES });
    // postgres's two updates (the second fails), redis's two, grafana-admin's one.
    const res = await rotate(["rotate", "--due", "--env", "staging", "--json"], { up: [OK, FAILS, OK], exports: STATE });
    expect(res.code).toBe(EXIT.failed);
    expect(resultProblems(res.stdout)).toEqual([]);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ operation: "rotate", status: "failed", changedFiles: ["Pulumi.staging.yaml"] });
    expect(out.rotations.map((r: { secret: string; status: string; due: boolean }) => [r.secret, r.status, r.due])).toEqual([
      ["postgres", "failed", true],
      ["redis", "ok", true],
      ["r2-tokens", "skipped", false],
      ["janua-hs256", "skipped", false],
      ["janua-session", "skipped", false],
      ["grafana-admin", "ok", true],
      ["cluster-credential", "skipped", false],
    ]);
    expect(out.message.split("\n").filter((l: string) => !l.startsWith("postgres") && !l.startsWith("Pulumi"))).toEqual([
      "redis: rotated in staging: generation 2, settled (since 2026-12-07T10:00:00Z)",
      "r2-tokens: not due: generation 0 (created 2026-11-20T00:00:00Z) is 17 days old, under the period of 90",
      "janua-hs256: not due: generation 4 (since 2026-11-01T00:00:00Z) is 36 days old, under the period of 90",
      "janua-session: not due: the stack's state holds none of its resources: nothing here uses it",
      "grafana-admin: rotated in staging: generation 1, settled (since 2026-12-07T10:00:00Z)",
      "cluster-credential: not due: generation 0 (created 2026-11-30T00:00:00Z) is 7 days old, under the period of 90",
    ]);
    expect(out.rotations[0].resume).toBe("npx enclii-infra rotate postgres --env staging");
    expect(res.stderr).toContain("postgres: due: generation 0 (created 2026-01-01T00:00:00Z) is 340 days old, at least the period of 90\n");
    expect(res.stderr).toContain("grafana-admin: due: its resource has no creation time in the state (made before Pulumi recorded them)\n");
    expect(rotations()).toEqual({
      ...ENTRIES,
      postgres: { generation: 1, since: SINCE, phase: "settled" },
      redis: { generation: 2, since: SINCE, phase: "settled" },
      "grafana-admin": { generation: 1, since: SINCE, phase: "settled" },
    });
  });

  it("--older-than-days sets the period; --dry-run says what is due and writes nothing", async () => {
    withConfig({ "enclii:rotations": ENTRIES });
    const res = await rotate(["rotate", "--due", "--env", "staging", "--older-than-days", "200", "--dry-run"], { exports: STATE });
    expect(res.code, res.stderr).toBe(EXIT.ok);
    expect(res.stdout.split("\n").slice(0, 3)).toEqual([
      "postgres: due: generation 0 (created 2026-01-01T00:00:00Z) is 340 days old, at least the period of 200 (--dry-run: not rotated)",
      "redis: not due: generation 1 (since 2026-06-01T00:00:00Z) is 189 days old, under the period of 200",
      "r2-tokens: not due: generation 0 (created 2026-11-20T00:00:00Z) is 17 days old, under the period of 200",
    ]);
    expect(changing()).toEqual([]);
  });

  it("a rotation left in overlap is due whatever its age: it is resumed", async () => {
    withConfig({ "enclii:rotations": { redis: { generation: 3, since: SINCE, phase: "overlap" } } });
    const res = await rotate(["rotate", "--due", "--env", "staging", "--dry-run"], {
      exports: [redisPassword(2), redisPassword(3)].map((urn) => ({ urn, type: PASSWORD, created: SINCE })),
    });
    expect(res.stdout).toContain("redis: due: left in overlap at generation 3: resuming (--dry-run: not rotated)\n");
  });

  it("skips postgres when the database is external", async () => {
    withConfig({ "enclii:postgres": { mode: "external", host: "db.example.net", port: 5432, sslmode: "verify-full" } });
    const res = await rotate(["rotate", "--due", "--env", "staging", "--dry-run"]);
    expect(res.stdout).toContain(
      "postgres: not rotated here: enclii:postgres.mode is external, and the database's owner rotates its passwords\n",
    );
  });
});

describe("rotate's usage errors: exit 2, nothing started", () => {
  const SECRETS = "postgres, redis, r2-tokens, janua-hs256, janua-session, grafana-admin, cluster-credential";
  it.each([
    [
      ["rotate", "nosuch", "--env", "staging"],
      `error: command-argument value 'nosuch' is invalid for argument 'secret'. one of ${SECRETS}`,
    ],
    [
      ["rotate", "redis", "--env", "nosuch"],
      "error: option '--env <environment>' argument 'nosuch' is invalid. no stack file Pulumi.nosuch.yaml in ROOT (its environments: staging)",
    ],
    [["rotate", "--env", "staging"], `staging (stack staging): rotate: name a secret (${SECRETS}) or pass --due`],
    [["rotate", "redis", "--due", "--env", "staging"], "staging (stack staging): rotate: name a secret or pass --due, not both"],
    [["rotate", "redis", "--env", "staging", "--older-than-days", "30"], "staging (stack staging): --older-than-days: only with --due"],
    [["rotate", "redis", "--env", "staging", "--dry-run"], "staging (stack staging): --dry-run: only with --due"],
    [
      ["rotate", "--due", "--env", "staging", "--older-than-days", "0"],
      "error: option '--older-than-days <n>' argument '0' is invalid. a whole number of days from 1 to 3650",
    ],
  ])("%j", async (argv, message) => {
    const res = await rotate(argv);
    expect(res.code).toBe(EXIT.usage);
    expect(res.stderr.split("\n")[0]).toBe(message.replace("ROOT", root));
    const json = await rotate([...argv, "--json"]);
    expect(json.code).toBe(EXIT.usage);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "usage", exitCode: EXIT.usage });
    expect(resultProblems(json.stdout)).toEqual([]);
  });
});

/**
 * The Automation API's Stack as rotate uses it, in this process: FakeStack's engine, `setAllConfig`
 * editing the stack file as the CLI does (one write, numbers as numbers), the state from `resources`.
 */
class RotationFake extends FakeStack {
  resources: { urn: string; type: string; created?: string }[] = [];
  constructor(answers: { preview?: Answer[]; up?: Answer[] }) {
    super("staging", answers);
  }
  async setAllConfig(config: ConfigMap, path?: boolean): Promise<void> {
    this.calls.push({ method: "setAllConfig", args: [Object.entries(config).map(([k, v]) => `${k}=${v.value}`), path] });
    const doc = parseDocument(readFileSync(stackFile(), "utf8"));
    for (const [key, { value }] of Object.entries(config)) {
      const [, head, secret, field] = /^(enclii:rotations)\["([^"]+)"\]\.(\w+)$/.exec(key)!;
      const node = doc.createNode(/^\d+$/.test(value) ? Number(value) : value);
      if (isScalar(node) && typeof node.value === "string") node.type = "QUOTE_DOUBLE";
      doc.setIn(["config", head, secret, field], node);
    }
    writeFileSync(stackFile(), doc.toString());
  }
  async exportStack(): Promise<Deployment> {
    return { version: 3, deployment: { resources: this.resources } };
  }
}

/** rotate on `stack`, the clock at NOW and the SSH mint `mint`; the lines it printed. */
async function rotateOn(stack: RotationFake, argv: { secret?: "redis" | "cluster-credential"; json?: boolean }, mint?: Mint["run"]) {
  const lines: string[] = [];
  const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t) };
  const open: OpenRotationStack = async () => stack;
  const code = await rotateCommand({ env: "staging", ...argv }, io, { root, open, now: () => NOW, sleep: async () => undefined, mint });
  return { code, out: lines.join("") };
}

const methods = (stack: FakeStack) => stack.calls.map((c) => c.method).filter((m) => m !== "outputs" && m !== "getConfig");
const deleting = (urn: string, type = PASSWORD): EngineEvent =>
  ({
    sequence: 0,
    timestamp: 0,
    resourcePreEvent: { metadata: { op: "delete", urn, type, provider: "", old: { parent: DATA } } },
  }) as unknown as EngineEvent;

describe("a rotation stopped by a signal", () => {
  it("mid-update in step 1: cancelled (exit 11), overlap kept, the message naming the step and the resume", async () => {
    const stack = new RotationFake({
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-only.up.jsonl", during: () => process.emit("SIGTERM") }],
    });
    const { code, out } = await rotateOn(stack, { secret: "redis" });
    expect(code).toBe(EXIT.cancelled);
    expect(out).toContain(
      "redis: step 1 of 2 (generation 1 beside generation 0 (overlap: both work)) did not finish: staging: stopped by SIGTERM: the engine cancelled the update, " +
        "let the steps in flight end, wrote the checkpoint and unlocked the stack; 1 change(s) were made before it stopped; run the command again to finish\n" +
        "Pulumi.staging.yaml holds generation 1, overlap: the old credential keeps working in overlap, beside the new one; resume with: npx enclii-infra rotate redis --env staging\n",
    );
    expect(methods(stack)).toEqual(["setAllConfig", "preview", "up"]);
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "overlap" } });
  });

  it("between the steps: nothing more is written or run", async () => {
    const stack = new RotationFake({ preview: [{ events: "image-only.preview.jsonl" }], up: [{ events: "image-only.up.jsonl" }] });
    const lines: string[] = [];
    const io = {
      stdout: (t: string) => {
        lines.push(t);
        if (t.startsWith("redis: step 2 of 2")) process.emit("SIGINT");
      },
      stderr: (t: string) => void lines.push(t),
    };
    const code = await rotateCommand({ env: "staging", secret: "redis" }, io, { root, open: async () => stack, now: () => NOW });
    expect(code).toBe(EXIT.cancelled);
    expect(lines.join("")).toContain(
      "did not finish: staging: stopped by SIGINT before the next engine command; nothing more was changed; run the command again to finish\n" +
        "Pulumi.staging.yaml holds generation 1, overlap: the old credential keeps working in overlap, beside the new one; resume with: npx enclii-infra rotate redis --env staging\n",
    );
    expect(methods(stack)).toEqual(["setAllConfig", "preview", "up"]);
    expect(rotations()).toEqual({ redis: { generation: 1, since: SINCE, phase: "overlap" } });
  });
});

describe("the guard during a rotation", () => {
  const settling = () => {
    withConfig({ "enclii:rotations": { redis: { generation: 1, since: SINCE, phase: "overlap" } } });
    return [...events("image-only.preview.jsonl")];
  };

  it("lets step 2 delete the generation it retires, and nothing else", async () => {
    const preview = [...settling(), deleting(redisPassword(0))];
    const stack = new RotationFake({
      preview: [{ events: events("image-only.preview.jsonl") }, { events: preview }],
      up: [{ events: "image-only.up.jsonl" }],
    });
    stack.resources = [redisPassword(0), redisPassword(1)].map((urn) => ({ urn, type: PASSWORD }));
    const { code, out } = await rotateOn(stack, { secret: "redis" });
    expect(code, out).toBe(EXIT.ok);
    expect(methods(stack)).toEqual(["preview", "up", "setAllConfig", "preview", "up"]);
  });

  it("refuses another credential's deletion: exit 4, the step and the resume named", async () => {
    const session = `urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:auth:Janua$${PASSWORD}::enclii-auth-janua-session`;
    const stack = new RotationFake({
      preview: [{ events: settling() }, { events: [...events("image-only.preview.jsonl"), deleting(redisPassword(0)), deleting(session)] }],
      up: [{ events: "image-only.up.jsonl" }],
    });
    stack.resources = [redisPassword(0), redisPassword(1)].map((urn) => ({ urn, type: PASSWORD }));
    const { code, out } = await rotateOn(stack, { secret: "redis", json: true });
    expect(code).toBe(EXIT.refused);
    const res = JSON.parse(out.slice(out.indexOf("{")));
    expect(res.violations.map((v: { urn: string }) => v.urn)).toEqual([session]);
    expect(res.message).toMatch(
      /^redis: step 2 of 2 \(generation 1 only \(settled: generation 0 stops working\)\) did not finish: refused: 1 resource/,
    );
    expect(res.rotations[0]).toMatchObject({
      status: "refused",
      failedStep: { step: 2, of: 2 },
      resume: "npx enclii-infra rotate redis --env staging",
    });
    expect(methods(stack)).toEqual(["preview", "up", "setAllConfig", "preview"]);
  });
});

interface Mint {
  run: (key: string, env: Record<string, string>) => Promise<string>;
}

describe("rotate cluster-credential", () => {
  const kubeApi = {
    value: { tokenMint: { host: "203.0.113.5", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3Nza" } },
    secret: false,
  };
  const platform = () => {
    const stack = new RotationFake({});
    stack.outputMap = { kubeApi };
    stack.config.set("enclii:sshPrivateKey", "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n");
    return stack;
  };

  it("revokes the tenants' account, then the platform's, then records the generation; no update", async () => {
    const remote: string[] = [];
    const stack = platform();
    const { code, out } = await rotateOn(stack, { secret: "cluster-credential" }, async (_key, env) => {
      remote.push(env.ENCLII_SSH_REMOTE);
      return "";
    });
    expect(code, out).toBe(EXIT.ok);
    expect(remote).toEqual([
      "k3s kubectl delete -n kube-system serviceaccount enclii-tenants && k3s kubectl create -n kube-system serviceaccount enclii-tenants",
      "k3s kubectl delete -n kube-system serviceaccount enclii-pulumi && k3s kubectl create -n kube-system serviceaccount enclii-pulumi",
    ]);
    expect(methods(stack)).toEqual(["setAllConfig"]);
    expect(rotations()).toEqual({ "cluster-credential": { generation: 1, since: SINCE, phase: "settled" } });
    expect(out).toContain("cluster-credential: step 3 of 3: record generation 1 (since 2026-12-07T10:00:00Z)\n");
  });

  it("a failed revocation stops it, records nothing, and says running it again is harmless", async () => {
    const stack = platform();
    let n = 0;
    const { code, out } = await rotateOn(stack, { secret: "cluster-credential" }, async () => {
      if (++n === 2) throw new Error("ssh to 203.0.113.5 failed (255): Connection refused");
      return "";
    });
    expect(code).toBe(EXIT.failed);
    expect(out).toContain(
      "cluster-credential: step 2 of 3 (revoke every token of the platform's account) did not finish: staging: rotate failed\n" +
        "Pulumi.staging.yaml holds no entry for it (generation 0); revoking again is harmless; resume with: npx enclii-infra rotate cluster-credential --env staging\n" +
        "engine:\nssh to 203.0.113.5 failed (255): Connection refused\n",
    );
    expect(methods(stack)).toEqual([]);
    expect(rotations()).toBeUndefined();
  });
});

describe("a secret's resources in the state (model/rotationPlan.ts)", () => {
  const POSTGRES = `${DATA}$enclii:data:Postgres`;
  const JANUA = "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:auth:Janua";

  it("a credential's generation comes from its name; other resources of the component are not the credential", () => {
    expect(secretGeneration("postgres", `${POSTGRES}$${PASSWORD}::enclii-data-postgres-janua-password-g2`, PASSWORD)).toBe(2);
    expect(secretGeneration("postgres", `${POSTGRES}$${PASSWORD}::enclii-data-postgres-janua-password`, PASSWORD)).toBe(0);
    expect(secretGeneration("redis", redisPassword(7), PASSWORD)).toBe(7);
    // Janua's session Secret is named like its password, but is not one.
    expect(
      secretGeneration("janua-session", `${JANUA}$kubernetes:core/v1:Secret::enclii-auth-janua-session`, "kubernetes:core/v1:Secret"),
    ).toBeUndefined();
    expect(secretGeneration("janua-hs256", `${JANUA}$${PASSWORD}::enclii-auth-janua-session`, PASSWORD)).toBeUndefined();
    expect(secretGeneration("redis", `${POSTGRES}$${PASSWORD}::enclii-data-postgres-janua-password`, PASSWORD)).toBeUndefined();
  });

  it("what retiring a generation deletes: its credential and what goes with it, of that generation only", () => {
    const role = (g: string) => `${POSTGRES}$kubernetes:core/v1:Secret::enclii-data-postgres-enclii-role${g}`;
    expect(partOfGeneration("postgres", role(""), 0)).toBe(true);
    expect(partOfGeneration("postgres", role("-g1"), 0)).toBe(false);
    expect(partOfGeneration("postgres", role("-g1"), 1)).toBe(true);
    expect(partOfGeneration("redis", role(""), 0)).toBe(false);
    expect(partOfGeneration("redis", `${DATA}$enclii:data:Redis$kubernetes:core/v1:Secret::enclii-data-redis-config`, 0)).toBe(false);
  });

  it("the oldest creation time, and whether one is missing", () => {
    const held = secretInState("postgres", [
      { urn: `${POSTGRES}$${PASSWORD}::enclii-data-postgres-enclii-password`, type: PASSWORD, created: "2026-03-01T00:00:00Z" },
      { urn: `${POSTGRES}$${PASSWORD}::enclii-data-postgres-janua-password`, type: PASSWORD, created: "2026-02-01T00:00:00Z" },
      { urn: redisPassword(0), type: PASSWORD },
    ]);
    expect(held).toEqual({ generations: [0], resources: 2, undated: false, oldest: "2026-02-01T00:00:00Z" });
  });
});
