import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResult } from "../automation/plan";
import { planCommand } from "../automation/planCommand";
import { changedPaths, diffPlans, renderDiff } from "../automation/planDiff";
import { loadStackConfig } from "../automation/stackFile";
import { replacementsFor } from "../model/replacements";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-diff-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Staging's plan with one config value changed, as a branch would change its stack file. */
async function stagingWith(edit: (config: Record<string, string>) => void): Promise<PlanResult> {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.staging.yaml"));
  edit(cfg.config);
  return runPlan("staging", cfg);
}
const editJson = (config: Record<string, string>, key: string, f: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(config[key]) as Record<string, unknown>;
  f(v);
  config[key] = JSON.stringify(v);
};

let base: PlanResult;
beforeAll(async () => {
  base = await stagingWith(() => undefined);
});

describe("changedPaths", () => {
  it("names leaf paths, list elements by index, sorted", () => {
    expect(changedPaths({ spec: { replicas: 1, a: [1, { b: 2 }] } }, { spec: { replicas: 2, a: [1, { b: 3 }, 4] } })).toEqual([
      "spec.a[1].b",
      "spec.a[2]",
      "spec.replicas",
    ]);
    expect(changedPaths({ x: "[secret]" }, { x: "[secret]" })).toEqual([]);
  });
});

describe("ignoreChanges", () => {
  const server = (userData: string, ignoreChanges?: string[]) => ({
    resources: [
      {
        urn: "u",
        type: "hcloud:index/server:Server",
        name: "s",
        inputs: { userData, location: "fsn1" },
        ...(ignoreChanges && { ignoreChanges }),
      },
    ],
    outputs: {},
  });
  it("drops a change to an input the resource ignores, as the engine does, and keeps the rest", () => {
    const kept = diffPlans(server("a") as never, server("b") as never).changes;
    expect(kept.map((c) => c.paths)).toEqual([["userData"]]);
    expect(diffPlans(server("a", ["userData"]) as never, server("b", ["userData"]) as never).changes).toEqual([]);
  });
});

describe("the replacement table", () => {
  const replaces = (type: string, path: string) => replacementsFor(type, [path]).map((t) => t.rule.effect);
  it("flags what forces a replacement, and only that", () => {
    expect(replaces("kubernetes:apps/v1:StatefulSet", "spec.volumeClaimTemplates[0].spec.resources.requests.storage")).toEqual(["replace"]);
    expect(replaces("kubernetes:apps/v1:StatefulSet", "spec.replicas")).toEqual([]);
    expect(replaces("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app")).toEqual(["replace"]);
    expect(replaces("kubernetes:apps/v1:Deployment", "spec.template.spec.containers[0].image")).toEqual([]);
    expect(replaces("kubernetes:core/v1:Service", "spec.clusterIP")).toEqual(["replace"]);
    expect(replaces("kubernetes:batch/v1:Job", "spec.template.spec.containers[0].image")).toEqual(["replace"]);
    expect(replaces("kubernetes:core/v1:ConfigMap", "metadata.name")).toEqual(["replace"]);
    expect(replaces("hcloud:index/server:Server", "location")).toEqual(["replace"]);
    expect(replaces("hcloud:index/server:Server", "image")).toEqual(["replace"]);
    expect(replaces("hcloud:index/server:Server", "serverType")).toEqual([]);
    expect(replaces("hcloud:index/server:Server", "placementGroupId")).toEqual(["disrupt"]);
    expect(replaces("kubernetes:postgresql.cnpg.io/v1:Cluster", "spec.bootstrap.recovery.source")).toEqual(["disrupt"]);
    expect(replaces("cloudflare:index/r2Bucket:R2Bucket", "name")).toEqual(["replace"]);
    expect(replaces("cloudflare:index/r2Bucket:R2Bucket", "jurisdiction")).toEqual(["replace"]);
    expect(replaces("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", "accountId")).toEqual(["replace"]);
    expect(replaces("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", "name")).toEqual([]);
    expect(replaces("random:index/randomPassword:RandomPassword", "length")).toEqual(["replace"]);
    for (const t of replacementsFor("hcloud:index/server:Server", ["location"])) expect(t.rule.source).toMatch(/terraform-provider-hcloud/);
  });
});

describe("plan diff, as a reviewer sees two branches", () => {
  it("a branch raising a service's replicas changes exactly that (and adds the PDB more replicas get)", async () => {
    const head = await stagingWith((c) =>
      editJson(c, "enclii:services", (s) => ((s["switchyard-ui"] as { replicas: number }).replicas = 2)),
    );
    const diff = diffPlans(base, head);
    expect(diff.verdict).toBe("changes");
    expect(diff.changes.map((c) => [c.kind, c.name, c.paths])).toEqual([
      ["changed", "enclii-apps-switchyard-ui-deployment", ["spec.replicas"]],
      ["added", "enclii-apps-switchyard-ui-pdb", []],
      // The `services` output the control plane reads says the new count too.
      ["changed", "enclii-infra-staging", ["outputs.services[5].replicas"]],
    ]);
  });

  it("a branch growing the database's storage changes exactly the Cluster's size, replacing nothing", async () => {
    const head = await stagingWith((c) => editJson(c, "enclii:postgres", (p) => (p.storageGi = 30)));
    const diff = diffPlans(base, head);
    expect(diff.changes.map((c) => [c.kind, c.name, c.paths, c.losesData])).toEqual([
      ["changed", "enclii-data-postgres-enclii-pg", ["spec.storage.size"], false],
    ]);
    expect(diff.verdict).toBe("changes");
  });

  it("a branch reordering a pool's locations after Hetzner refused one moves no server that exists", async () => {
    const edit = (c: Record<string, string>) => {
      const nodes = JSON.parse(c["enclii:nodes"]) as { locations: string[] }[];
      nodes[0].locations = ["hel1", "nbg1", "fsn1"];
      c["enclii:nodes"] = JSON.stringify(nodes);
    };
    const head = await stagingWith(edit);
    // The new first location is what a server still to be created gets…
    expect(head.resources.find((r) => r.type === "hcloud:index/server:Server")?.inputs.location).toBe("hel1");
    // …and the engine ignores it for the one that exists: no change, no replacement.
    expect(diffPlans(base, head).changes).toEqual([]);
    expect(diffPlans(base, head).verdict).toBe("no-change");
  });

  it("renaming the CloudNativePG cluster is flagged as losing the database", async () => {
    const head = await stagingWith((c) => editJson(c, "enclii:postgres", (p) => (p.clusterName = "enclii-pg2")));
    const diff = diffPlans(base, head);
    expect(diff.verdict).toBe("replaces-stateful");
    const lost = diff.changes.filter((c) => c.losesData);
    expect(lost.map((c) => [c.kind, c.type, c.name])).toEqual([
      ["removed", "kubernetes:postgresql.cnpg.io/v1:Cluster", "enclii-data-postgres-enclii-pg"],
    ]);
    expect(renderDiff(diff, "main")).toContain(
      "- kubernetes:postgresql.cnpg.io/v1:Cluster enclii-data-postgres-enclii-pg\n    ! DELETES (holds data): it is no longer in the program\n",
    );
  });

  it("renders deterministically and the CLI's exit status tells no change, changes and losing data apart", async () => {
    const out = (name: string) => join(tmp, name);
    const io = { stdout: () => undefined, stderr: () => undefined };
    expect(await planCommand(["staging", "--out", out("base")], io)).toBe(0);
    expect(await planCommand(["staging", "--out", out("same"), "--against", out("base")], io)).toBe(0);
    let text = "";
    const capture = { stdout: (t: string) => void (text += t), stderr: () => undefined };
    const diff = diffPlans(base, await stagingWith((c) => editJson(c, "enclii:postgres", (p) => (p.clusterName = "enclii-pg2"))));
    expect(renderDiff(diff, "x")).toBe(renderDiff(diff, "x"));
    // A stack file in a branch: the CLI sees it through --config.
    const { writeFileSync, readFileSync } = await import("node:fs");
    const file = out("renamed.yaml");
    writeFileSync(
      file,
      readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace(
        "    backupRetentionDays: 3\n",
        "    backupRetentionDays: 3\n    clusterName: enclii-pg2\n",
      ),
    );
    expect(await planCommand(["staging", "--config", file, "--out", out("renamed"), "--against", out("base")], capture)).toBe(4);
    expect(text).toContain("REPLACES OR DELETES SOMETHING THAT HOLDS DATA");
    const replicas = out("replicas.yaml");
    writeFileSync(
      replicas,
      readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("switchyard-ui: { replicas: 1 }", "switchyard-ui: { replicas: 2 }"),
    );
    expect(await planCommand(["staging", "--config", replicas, "--out", out("replicas"), "--against", out("base")], io)).toBe(3);
  });
});
