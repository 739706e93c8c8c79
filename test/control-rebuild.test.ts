/**
 * `enclii-infra rebuild-first-server` as an operator runs it: the bundled CLI, the real Automation API
 * and the stand-in `pulumi` (testbed/pulumi), which records its arguments, edits the stack file as
 * the real CLI does and replays the engine's events. The HA example is the stack (Pulumi.ha.yaml).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvironment } from "../automation/control/environment";
import { replacedUrns, unprotectHint } from "../automation/control/rebuild";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { EXIT } from "../model/controlPlane";
import { ROOT, copyRepo } from "./harness";

const STANDIN = join(ROOT, "testbed", "pulumi");
const SERVER =
  "urn:pulumi:ha::enclii-infra::enclii:platform:Platform$enclii:hetzner:CloudPool$hcloud:index/server:Server::enclii-cloud-gateway";
const BOOTSTRAP =
  "urn:pulumi:ha::enclii-infra::enclii:platform:Platform$enclii:k3s:K3sCluster$command:remote:Command::enclii-k3s-gateway-bootstrap";
const PVC =
  "urn:pulumi:ha::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Redis$kubernetes:core/v1:PersistentVolumeClaim::enclii-data-redis-data";
const AFTERWARDS =
  "then check the Longhorn volumes' replicas and PostgreSQL's WAL archiving (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost), and commit the stack file";

const tmp = mkdtempSync(join(tmpdir(), "enclii-rebuild-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let state: string;
let n = 0;

beforeEach(() => {
  root = join(tmp, `repo-${n}`);
  state = join(tmp, `standin-${n++}`);
  copyRepo(root);
  cpSync(join(ROOT, "examples", "Pulumi.ha.yaml"), join(root, "Pulumi.ha.yaml"));
});

function cli(args: string[], scenario = "rebuild.json") {
  const env = {
    ...process.env,
    PATH: [STANDIN, dirname(process.execPath), ...(process.env.PATH ?? "").split(delimiter)].join(delimiter),
    ENCLII_STANDIN_SCENARIO: join(STANDIN, "scenarios", scenario),
    ENCLII_STANDIN_DIR: state,
  };
  return spawnSync(process.execPath, [join(ROOT, "automation", "launch.cjs"), "rebuild-first-server", ...args], {
    cwd: root,
    env,
    encoding: "utf8",
  });
}

/** What the stand-in was asked, one argument list per invocation (none when the CLI never ran). */
const calls = (): string[][] =>
  existsSync(join(state, "calls.jsonl"))
    ? readFileSync(join(state, "calls.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).args)
    : [];
const joinVia = (): unknown => parse(readFileSync(join(root, "Pulumi.ha.yaml"), "utf8")).config["enclii:k3s"].joinVia;
const replaced = (args: string[]) => args.flatMap((a, i) => (args[i - 1] === "--replace" ? [a] : []));

describe("rebuild-first-server", () => {
  it("sets joinVia to the second server, then previews and updates replacing the first server and its bootstrap, saying each step first", () => {
    const res = cli(["--env", "ha"]);
    expect(res.status, res.stderr).toBe(0);
    expect(joinVia()).toBe("node-1");
    const lines = res.stdout.split("\n");
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines[0]).toBe("ha: rebuilding the first server gateway, joining it to the cluster through node-1");
    expect(lines[1]).toBe("1. set enclii:k3s.joinVia = node-1 in Pulumi.ha.yaml: gateway joins instead of starting etcd anew, from now on");
    expect(lines.slice(2, 5)).toEqual([
      "2. preview, replacing (and allowing the guard to replace) exactly:",
      `     ${SERVER}`,
      `     ${BOOTSTRAP}`,
    ]);
    expect(lines[5]).toMatch(/^3\. update: the new gateway; on node-1, enclii-k3s-gateway-forget deletes the lost Node/);
    expect(at("ha: 4 resource(s) to change")).toBeGreaterThan(5);
    expect(res.stdout).toContain(`ha: gateway rebuilt and joined through node-1; ${AFTERWARDS}`);
    expect(res.stdout).toContain("edited Pulumi.ha.yaml (commit it: the stack file is the record)");

    const made = calls();
    const set = made.findIndex((a) => a[0] === "config" && a[1] === "set");
    const preview = made.findIndex((a) => a[0] === "preview");
    const up = made.findIndex((a) => a[0] === "up");
    expect(made[set]).toEqual(expect.arrayContaining(["--path", "enclii:k3s.joinVia", "node-1"]));
    expect(set).toBeLessThan(preview);
    expect(preview).toBeLessThan(up);
    expect(replaced(made[preview])).toEqual([SERVER, BOOTSTRAP]);
    expect(replaced(made[up])).toEqual([SERVER, BOOTSTRAP]);
    expect(made[up]).toEqual(expect.arrayContaining(["--message", "rebuild-first-server via node-1"]));
  });

  it("joins through --via, and answers as one JSON result", () => {
    const res = cli(["--env", "ha", "--via", "node-2", "--json"]);
    expect(res.status, res.stderr).toBe(0);
    expect(joinVia()).toBe("node-2");
    expect(JSON.parse(res.stdout)).toMatchObject({
      operation: "rebuild-first-server",
      status: "ok",
      message: `ha: gateway rebuilt and joined through node-2; ${AFTERWARDS}`,
      changedFiles: ["Pulumi.ha.yaml"],
    });
    // Progress goes to stderr with --json.
    expect(res.stderr).toContain("2. preview, replacing (and allowing the guard to replace) exactly:");
  });

  it("refuses a --via that is not a surviving server, listing them, before the Pulumi CLI runs", () => {
    for (const [via, why] of [
      ["gateway", "is the first server, the one that joins"],
      ["ghost", "is not a server of this stack"],
    ]) {
      const res = cli(["--env", "ha", "--via", via]);
      expect(res.status, via).toBe(EXIT.usage);
      expect(res.stderr).toBe(`ha (stack ha): --via: "${via}" ${why}; name a surviving server: node-1, node-2\n`);
    }
    expect(calls()).toEqual([]);
    expect(joinVia()).toBeUndefined();
  });

  it("refuses a stack with one server, pointing to the single node's runbook", () => {
    const res = cli(["--env", "staging", "--json"]);
    expect(res.status).toBe(EXIT.usage);
    expect(JSON.parse(res.stdout).message).toBe(
      "staging (stack staging): staging has one server: a cluster with one server has no surviving etcd member to join; rebuild it as in docs/runbooks/lost-node.md#rebuilding-a-lost-single-node",
    );
    expect(calls()).toEqual([]);
  });

  it("is refused by the guard when anything else holding data would be replaced, and puts the stack file back", () => {
    const before = readFileSync(join(root, "Pulumi.ha.yaml"), "utf8");
    const res = cli(["--env", "ha", "--json"], "rebuild-refused.json");
    expect(res.status).toBe(EXIT.refused);
    const out = JSON.parse(res.stdout);
    expect(out.violations.map((v: { urn: string }) => v.urn)).toEqual([PVC]);
    expect(out.message).toMatch(/\nPulumi\.ha\.yaml is back as it was \(enclii:k3s\.joinVia unset\)$/);
    expect(parse(readFileSync(join(root, "Pulumi.ha.yaml"), "utf8"))).toEqual(parse(before));
    expect(calls().some((a) => a[0] === "up")).toBe(false);
  });

  it("says how to unprotect a protected first server, changing nothing", () => {
    const res = cli(["--env", "ha", "--json"], "rebuild-protected.json");
    expect(res.status).toBe(EXIT.refused);
    const out = JSON.parse(res.stdout);
    expect(out.violations.map((v: { urn: string }) => v.urn)).toEqual([SERVER]);
    expect(out.message).toContain(`${SERVER} (forced by a requested replacement (--replace)): loses a node`);
    expect(out.message).toContain(
      `\nthe first server is protected: pulumi state unprotect --stack ha '${SERVER}', then run rebuild-first-server again (the new server is protected again)\n`,
    );
    expect(unprotectHint("ha", SERVER)).toContain("pulumi state unprotect --stack ha");
    expect(joinVia()).toBeUndefined();
    expect(calls().some((a) => a[0] === "up")).toBe(false);
  });

  it("keeps joinVia when the update fails after it began, and says what finishes it", () => {
    const res = cli(["--env", "ha", "--json"], "rebuild-update-fails.json");
    expect(res.status).toBe(EXIT.failed);
    const out = JSON.parse(res.stdout);
    expect(out.message).toBe(
      "ha: rebuild-first-server failed\nenclii:k3s.joinVia stays node-1; once the new gateway exists, enclii-infra up --env ha finishes the rest (before that, rebuild-first-server again)",
    );
    expect(out.engineMessage).toContain("[enclii forget gateway] gateway has been NotReady for only 40s");
    expect(out.changedFiles).toEqual(["Pulumi.ha.yaml"]);
    expect(joinVia()).toBe("node-1");
  });
});

describe("the URNs it replaces", () => {
  let planned: Record<string, string[]>;
  beforeAll(async () => {
    planned = {};
    for (const [stack, file] of [
      ["ha", "examples/Pulumi.ha.yaml"],
      ["production", "Pulumi.production.yaml"],
    ])
      planned[stack] = (await runPlan(stack, loadStackConfig(join(ROOT, file)))).resources.map((r) => r.urn);
  });

  it("are the program's own: the HA example's first server and its bootstrap", () => {
    const env = loadEnvironment(ROOT, "ha", join(ROOT, "examples", "Pulumi.ha.yaml"));
    expect(replacedUrns("ha", env.nodes[0])).toEqual([SERVER, BOOTSTRAP]);
    for (const urn of replacedUrns("ha", env.nodes[0])) expect(planned.ha).toContain(urn);
  });

  it("are the bootstrap alone for a dedicated first node, which is reinstalled by hand", () => {
    const env = loadEnvironment(ROOT, "production");
    const urns = replacedUrns("production", env.nodes[0]);
    expect(urns).toEqual([
      "urn:pulumi:production::enclii-infra::enclii:platform:Platform$enclii:k3s:K3sCluster$command:remote:Command::enclii-k3s-ax41-1-bootstrap",
    ]);
    expect(planned.production).toContain(urns[0]);
  });
});
