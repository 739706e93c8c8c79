/**
 * `enclii-infra`'s option values checked as commander parses them (automation/cliArgs.ts): a bad
 * value is exit 2 naming the option and the value, before any stack is opened or file read.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../automation/commandLine";
import { EXIT } from "../model/controlPlane";
import { opener } from "./controlStack";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-cli-args-"));
const root = join(tmp, "repo");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => {
  mkdirSync(root);
  for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"]) cpSync(join(ROOT, f), join(root, f));
});

async function cli(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const open = opener([]);
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }, { root, open });
  return { code, stdout, stderr, opened: open.opened };
}

const DEPLOY = ["deploy", "--env", "staging", "--service", "switchyard-api", "--image", "ghcr.io/madfam-io/switchyard-api:1.4.3"];

describe("--env", () => {
  it("must name a platform stack whose stack file is here, for every command that takes it", async () => {
    const envs = `(its environments: production, staging)`;
    for (const argv of [
      ["preview", "--env", "prod"],
      ["history", "--env", "prod", "--limit", "5"],
      ["domains", "add", "--env", "prod", "--tenant", "acme", "--hostname", "shop.acme.example"],
      ["kube-token", "--env", "prod"],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(EXIT.usage);
      expect(r.stderr).toContain(
        `error: option '--env <environment>' argument 'prod' is invalid. no stack file Pulumi.prod.yaml in ${root} ${envs}`,
      );
      expect(r.opened).toEqual([]);
    }
    // Never a path out of the repository, nor a shard stack (those are in tenants/).
    for (const env of ["../staging", "staging/../staging", "staging-000", ""]) {
      const r = await cli("outputs", "--env", env);
      expect(r.stderr, env).toContain(`argument '${env}' is invalid. no stack file Pulumi.${env}.yaml in ${root} ${envs}`);
    }
  });

  it("answers as a JSON result with --json", async () => {
    const r = await cli("drift", "--env", "prod", "--json");
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "usage", exitCode: EXIT.usage, operation: "drift" });
  });

  it("pr-comment's --stacks: each a platform stack here", async () => {
    const r = await cli("pr-comment", "--base", "main", "--stacks", "staging,prod");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain("error: option '--stacks <list>' argument 'staging,prod' is invalid. no stack file Pulumi.prod.yaml in");
  });
});

describe("--allow", () => {
  it("must be a URN as the engine parses one, with a type and a name", async () => {
    const good = "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$kubernetes:core/v1:Namespace::tenants-acme::namespace";
    for (const urn of [
      "tenants-acme-namespace",
      "urn:pulumi:staging::enclii-infra::kubernetes:core/v1:Namespace",
      "urn:pulumi:staging::enclii-infra::::name",
      "urn:pulumi:stag ing::enclii-infra::t::n",
      "urn:pulumi:staging::::t::n",
      "urn:pulumi:staging::enclii-infra::t::",
    ]) {
      const r = await cli("up", "--env", "staging", "--allow", good, "--allow", urn);
      expect(r.code, urn).toBe(EXIT.usage);
      expect(r.stderr).toContain(
        `error: option '--allow <urn>' argument '${urn}' is invalid. a resource URN: urn:pulumi:<stack>::<project>::<type>::<name>, as the guard's message prints it`,
      );
      expect(r.opened).toEqual([]);
    }
  });
});

describe("deploy --changed and --force", () => {
  it("--changed must be a path as git names it", async () => {
    const r = await cli(...DEPLOY, "--changed", "apps/switchyard-api/main.go", "--changed", "/etc/passwd");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain(
      "error: option '--changed <path>' argument '/etc/passwd' is invalid. an absolute path; give it relative to the repository, as git prints it (apps/api/main.go)",
    );
  });

  it("are deploy's alone: rollback takes neither", async () => {
    const r = await cli("rollback", "--env", "staging", "--service", "switchyard-api", "--force");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain("error: unknown option '--force'");
  });
});

describe("drill --config", () => {
  it("must be a file that is there, named with the path it was looked for at", async () => {
    const r = await cli("drill", "staging", "--config", "examples/Pulumi.nosuch.yaml");
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain(
      `error: option '--config <file>' argument 'examples/Pulumi.nosuch.yaml' is invalid. no stack file ${join(root, "examples", "Pulumi.nosuch.yaml")}`,
    );
  });
});
