import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { planCommand } from "../automation/planCommand";
import { changedPaths, describeCost, diffPlans, emptyPlan, flagLines, renderDiff, type PlanFile } from "../automation/planDiff";
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

/** A resource as a plan file records it, under a URN that sorts by type, then name. */
const resource = (type: string, name: string, inputs: Record<string, unknown> = {}): PlanResource => ({
  urn: `urn:pulumi:staging::enclii::${type}::${name}`,
  type,
  name,
  inputs,
  dependencies: [],
  protect: false,
  retainOnDelete: false,
});
const planOf = (resources: PlanResource[], outputs: Record<string, unknown> = {}): PlanFile => ({ stack: "staging", resources, outputs });
/** The rule the replacement table holds for a change of `path` on a `type`. */
const ruleFor = (type: string, path: string) => replacementsFor(type, [path])[0].rule;

const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const NETWORK = "hcloud:index/network:Network";
const HOSTNAME = "cloudflare:index/customHostname:CustomHostname";
const SERVER = "hcloud:index/server:Server";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";

describe("changedPaths, on what inputs hold", () => {
  it("calls a change of a whole value (value) and a change of a top-level key by its name", () => {
    expect(changedPaths(1, 2)).toEqual(["(value)"]);
    expect(changedPaths("a", "a")).toEqual([]);
    expect(changedPaths({ b: 1, a: 1 }, { a: 2, b: 2 })).toEqual(["a", "b"]);
  });

  it("names a key only one side has once, and a key both sides share once", () => {
    expect(changedPaths({ kept: 1, gone: 1 }, { kept: 2, added: 1 })).toEqual(["added", "gone", "kept"]);
  });

  it("compares a string as one value, not character by character", () => {
    expect(changedPaths({ image: "nginx:1" }, { image: "nginx:2" })).toEqual(["image"]);
  });

  it("calls a list replaced by a map, or a map by null, a change of the value itself", () => {
    expect(changedPaths({ ports: [80] }, { ports: { 0: 80 } })).toEqual(["ports"]);
    expect(changedPaths({ spec: { selector: null } }, { spec: { selector: { app: "x" } } })).toEqual(["spec.selector"]);
    expect(changedPaths({ spec: { selector: { app: "x" } } }, { spec: { selector: null } })).toEqual(["spec.selector"]);
  });

  it("names list elements inside lists and maps inside them, and a shortened list by its lost elements", () => {
    expect(changedPaths({ m: [[1, 2]] }, { m: [[1, 3]] })).toEqual(["m[0][1]"]);
    expect(changedPaths({ m: [{ a: 1 }, 2, 3] }, { m: [{ a: 2 }] })).toEqual(["m[0].a", "m[1]", "m[2]"]);
    expect(changedPaths([1, 2], [1, 2])).toEqual([]);
  });
});

describe("ignoreChanges, by path", () => {
  const server = (inputs: Record<string, unknown>, ignoreChanges: string[]) =>
    planOf([{ ...resource(SERVER, "s", inputs), ignoreChanges }]);
  const paths = (ignore: string[], before: Record<string, unknown>, after: Record<string, unknown>) =>
    diffPlans(server(before, ignore), server(after, ignore)).changes.flatMap((c) => c.paths);

  it("drops what lies under an ignored map or list, and keeps an input whose name only begins like it", () => {
    expect(paths(["labels"], { labels: { a: "1" } }, { labels: { a: "2" } })).toEqual([]);
    expect(paths(["sshKeys"], { sshKeys: ["a"] }, { sshKeys: ["b", "c"] })).toEqual([]);
    expect(paths(["user"], { userData: "a" }, { userData: "b" })).toEqual(["userData"]);
    expect(paths(["labels.a"], { labels: { a: "1", ab: "1" } }, { labels: { a: "2", ab: "2" } })).toEqual(["labels.ab"]);
  });
});

describe("plan diff: an in-place change that forces a replacement", () => {
  const changed = (type: string, before: Record<string, unknown>, after: Record<string, unknown>) =>
    diffPlans(planOf([resource(type, "r", before)]), planOf([resource(type, "r", after)]));

  it("a PersistentVolumeClaim whose storage class changes is replaced and loses its volume's data", () => {
    const diff = changed(
      PVC,
      { spec: { storageClassName: "longhorn", resources: { requests: { storage: "1Gi" } } } },
      {
        spec: { storageClassName: "hcloud-volumes", resources: { requests: { storage: "1Gi" } } },
      },
    );
    const rule = ruleFor(PVC, "spec.storageClassName");
    expect(rule.effect).toBe("replace");
    expect(diff.changes).toEqual([
      {
        kind: "changed",
        urn: `urn:pulumi:staging::enclii::${PVC}::r`,
        type: PVC,
        name: "r",
        paths: ["spec.storageClassName"],
        replacements: [{ effect: "replace", paths: ["spec.storageClassName"], source: rule.source }],
        stateful: true,
        losesData: true,
      },
    ]);
    expect(diff.verdict).toBe("replaces-stateful");
  });

  it("a network whose ipRange changes is replaced, and the diff says so with the provider source", () => {
    const diff = changed(NETWORK, { ipRange: "10.0.0.0/16", name: "n" }, { ipRange: "10.1.0.0/16", name: "n" });
    expect(diff.changes.map((c) => [c.paths, c.replacements, c.losesData])).toEqual([
      [["ipRange"], [{ effect: "replace", paths: ["ipRange"], source: ruleFor(NETWORK, "ipRange").source }], true],
    ]);
    expect(diff.verdict).toBe("replaces-stateful");
  });

  it("a custom hostname whose hostname changes is replaced, naming only the paths that force it", () => {
    const diff = changed(
      HOSTNAME,
      { hostname: "a.example.com", ssl: { method: "http" } },
      { hostname: "b.example.com", ssl: { method: "txt" } },
    );
    const [c] = diff.changes;
    expect(c.paths).toEqual(["hostname", "ssl.method"]);
    expect(c.replacements.map((r) => [r.effect, r.paths])).toEqual([["replace", ["hostname"]]]);
    expect(c.losesData).toBe(true);
    expect(diff.verdict).toBe("replaces-stateful");
  });

  it("a change of a stateful resource that replaces nothing loses nothing", () => {
    const diff = changed(
      PVC,
      { spec: { resources: { requests: { storage: "1Gi" } } } },
      { spec: { resources: { requests: { storage: "2Gi" } } } },
    );
    expect(diff.changes.map((c) => [c.replacements, c.stateful, c.losesData])).toEqual([[[], true, false]]);
    expect(diff.verdict).toBe("changes");
  });

  it("a disruption of a stateful resource is flagged with its note but loses nothing", () => {
    const diff = changed(SERVER, { placementGroupId: 1 }, { placementGroupId: 2 });
    const rule = ruleFor(SERVER, "placementGroupId");
    expect(diff.changes.map((c) => [c.replacements, c.losesData])).toEqual([
      [[{ effect: "disrupt", paths: ["placementGroupId"], source: rule.source, note: rule.note }], false],
    ]);
    expect(diff.verdict).toBe("changes");
  });

  it("replacing a resource that holds no data is flagged but is not losing data", () => {
    const diff = changed(DEPLOYMENT, { spec: { selector: { app: "a" } } }, { spec: { selector: { app: "b" } } });
    expect(diff.changes.map((c) => [c.replacements.map((r) => r.effect), c.stateful, c.losesData])).toEqual([[["replace"], false, false]]);
    expect(diff.verdict).toBe("changes");
  });
});

describe("plan diff: added, removed, ordering and the stack's outputs", () => {
  it("adding a stateful resource loses nothing; removing one loses its data; removing a stateless one does not", () => {
    const before = planOf([resource(CONFIGMAP, "old"), resource(PVC, "data")]);
    const after = planOf([resource(NETWORK, "net")]);
    const added = diffPlans(planOf([]), after);
    expect(added.changes.map((c) => [c.kind, c.name, c.paths, c.replacements, c.stateful, c.losesData])).toEqual([
      ["added", "net", [], [], true, false],
    ]);
    expect(added.verdict).toBe("changes");
    const diff = diffPlans(before, after);
    expect(diff.changes.map((c) => [c.kind, c.name, c.stateful, c.losesData])).toEqual([
      ["added", "net", true, false],
      ["removed", "old", false, false],
      ["removed", "data", true, true],
    ]);
    expect(diff.verdict).toBe("replaces-stateful");
    expect(diffPlans(planOf([resource(CONFIGMAP, "old")]), planOf([])).verdict).toBe("changes");
  });

  it("lists the changes by URN whatever order the plans hold them in, and leaves out what did not change", () => {
    const before = planOf([resource(SERVER, "b", { image: "x" }), resource(CONFIGMAP, "same", { data: 1 }), resource(CONFIGMAP, "z")]);
    const after = planOf([
      resource(SERVER, "c"),
      resource(CONFIGMAP, "same", { data: 1 }),
      resource(SERVER, "b", { image: "y" }),
      resource(CONFIGMAP, "a"),
    ]);
    const urns = diffPlans(before, after).changes.map((c) => c.urn);
    expect(urns).toEqual([...urns].sort());
    expect(diffPlans(before, after).changes.map((c) => [c.kind, c.type, c.name])).toEqual([
      ["changed", SERVER, "b"],
      ["added", SERVER, "c"],
      ["added", CONFIGMAP, "a"],
      ["removed", CONFIGMAP, "z"],
    ]);
    expect(diffPlans(after, before).changes.map((c) => [c.kind, c.name])).toEqual([
      ["changed", "b"],
      ["removed", "c"],
      ["removed", "a"],
      ["added", "z"],
    ]);
  });

  it("a changed output is an update of the Stack resource, not of any other; without a Stack resource it is not listed", () => {
    const stack = resource("pulumi:pulumi:Stack", "enclii-staging");
    const others = [resource(CONFIGMAP, "a"), stack];
    const diff = diffPlans(planOf(others, { url: "a", same: 1 }), planOf(others, { url: "b", same: 1 }));
    expect(diff.changes.map((c) => [c.kind, c.type, c.paths, c.losesData])).toEqual([
      ["changed", "pulumi:pulumi:Stack", ["outputs.url"], false],
    ]);
    expect(diffPlans(planOf(others, { url: "a" }), planOf(others, { url: "a" })).changes).toEqual([]);
    expect(diffPlans(planOf([resource(CONFIGMAP, "a")], { url: "a" }), planOf([resource(CONFIGMAP, "a")], { url: "b" })).changes).toEqual(
      [],
    );
  });

  it("a stack that is gone, compared with an empty plan of it, deletes everything it had", () => {
    const diff = diffPlans(planOf([resource(PVC, "data"), resource(CONFIGMAP, "c")], { monthlyCostUsd: 40 }), emptyPlan("staging-002"));
    expect(diff).toEqual({
      stack: "staging-002",
      changes: [
        expect.objectContaining({ kind: "removed", name: "c", losesData: false }),
        expect.objectContaining({ kind: "removed", name: "data", losesData: true }),
      ],
      costUsd: { before: 40, after: undefined },
      verdict: "replaces-stateful",
    });
    expect(diffPlans(emptyPlan("staging-002"), emptyPlan("staging-002"))).toEqual({
      stack: "staging-002",
      changes: [],
      costUsd: { before: undefined, after: undefined },
      verdict: "no-change",
    });
  });

  it("a new stack, compared with an empty plan, adds its Stack resource and shows its outputs as a change of it", () => {
    // The outputs are what a reviewer of a new shard wants to see; the Stack's addition alone names none.
    const stack = resource("pulumi:pulumi:Stack", "enclii-staging-003");
    const diff = diffPlans(emptyPlan("staging-003"), planOf([stack, resource(CONFIGMAP, "c")], { url: "a" }));
    expect(diff.changes.map((c) => [c.kind, c.type, c.paths])).toEqual([
      ["added", CONFIGMAP, []],
      ["added", "pulumi:pulumi:Stack", []],
      ["changed", "pulumi:pulumi:Stack", ["outputs.url"]],
    ]);
    expect(renderDiff(diff, "main")).toMatch(/^Plan diff for staging against main: 2 added, 1 changed, 0 removed — changes\n/);
  });

  it("tells the new plan's stack and both plans' monthly cost, when the plan file holds a number", () => {
    const diff = diffPlans({ ...planOf([], { monthlyCostUsd: 40 }), stack: "main" }, planOf([], { monthlyCostUsd: 52.5 }));
    expect(diff.stack).toBe("staging");
    expect(diff.costUsd).toEqual({ before: 40, after: 52.5 });
    expect(diff.verdict).toBe("no-change");
    expect(diffPlans(planOf([], { monthlyCostUsd: "40" }), emptyPlan("staging")).costUsd).toEqual({ before: undefined, after: undefined });
  });
});

describe("what a pull request is told of each change", () => {
  const one = (before: PlanResource[], after: PlanResource[]) => {
    const [c] = diffPlans(planOf(before), planOf(after)).changes;
    return flagLines(c);
  };

  it("a replaced resource that holds data, one that does not, and a disruption with its note", () => {
    const pvc = ruleFor(PVC, "spec.storageClassName");
    expect(
      one(
        [resource(PVC, "d", { spec: { storageClassName: "a", accessModes: ["RWO"] } })],
        [resource(PVC, "d", { spec: { storageClassName: "b", accessModes: ["RWX"] } })],
      ),
    ).toEqual([`REPLACES (holds data): spec.accessModes[0], spec.storageClassName [${pvc.source}]`]);
    expect(one([resource(DEPLOYMENT, "w", { spec: { selector: 1 } })], [resource(DEPLOYMENT, "w", { spec: { selector: 2 } })])).toEqual([
      `replaces: spec.selector [${ruleFor(DEPLOYMENT, "spec.selector").source}]`,
    ]);
    const group = ruleFor(SERVER, "placementGroupId");
    expect(one([resource(SERVER, "s", { placementGroupId: 1 })], [resource(SERVER, "s", { placementGroupId: 2 })])).toEqual([
      `disrupts: placementGroupId — ${group.note} [${group.source}]`,
    ]);
  });

  it("a deleted resource that holds data is flagged; a deleted stateless one, an added one and a plain update are not", () => {
    expect(one([resource(PVC, "d")], [])).toEqual(["DELETES (holds data): it is no longer in the program"]);
    expect(one([resource(CONFIGMAP, "c")], [])).toEqual([]);
    expect(one([], [resource(PVC, "d")])).toEqual([]);
    expect(one([resource(PVC, "d", { spec: { resources: 1 } })], [resource(PVC, "d", { spec: { resources: 2 } })])).toEqual([]);
  });

  it("the monthly cost: both figures and the difference, or what is known", () => {
    expect(describeCost({ before: 40, after: 52.5 })).toBe("cost per month: $40.00 → $52.50 (+$12.50)");
    expect(describeCost({ before: 52.5, after: 40 })).toBe("cost per month: $52.50 → $40.00 (−$12.50)");
    expect(describeCost({ before: 40, after: 40 })).toBe("cost per month: $40.00 → $40.00 (no change)");
    expect(describeCost({ before: undefined, after: 40 })).toBe("cost per month: $40.00");
    expect(describeCost({ before: 40, after: undefined })).toBe("cost per month: unknown");
    expect(describeCost({ before: undefined, after: undefined })).toBe("cost per month: unknown");
  });

  it("the rendered diff: counts and verdict, then each resource with its mark, paths and flags", () => {
    const before = planOf([resource(PVC, "data", { spec: { storageClassName: "a" } }), resource(CONFIGMAP, "gone")], {
      monthlyCostUsd: 10,
    });
    const after = planOf([resource(PVC, "data", { spec: { storageClassName: "b" } }), resource(SERVER, "new")], { monthlyCostUsd: 12 });
    const pvc = ruleFor(PVC, "spec.storageClassName");
    expect(renderDiff(diffPlans(before, after), "main")).toBe(
      [
        "Plan diff for staging against main: 1 added, 1 changed, 1 removed — REPLACES OR DELETES SOMETHING THAT HOLDS DATA",
        "cost per month: $10.00 → $12.00 (+$2.00)",
        `+ ${SERVER} new`,
        `- ${CONFIGMAP} gone`,
        `~ ${PVC} data`,
        "    spec.storageClassName",
        `    ! REPLACES (holds data): spec.storageClassName [${pvc.source}]`,
        "",
      ].join("\n"),
    );
    expect(renderDiff(diffPlans(planOf([]), planOf([resource(CONFIGMAP, "c")])), "main")).toBe(
      `Plan diff for staging against main: 1 added, 0 changed, 0 removed — changes\ncost per month: unknown\n+ ${CONFIGMAP} c\n`,
    );
    expect(renderDiff(diffPlans(planOf([]), planOf([])), "main")).toBe(
      "Plan diff for staging against main: 0 added, 0 changed, 0 removed — no change\ncost per month: unknown\n",
    );
  });
});

describe("plan diff, as a reviewer sees two branches", () => {
  let base: PlanResult;
  beforeAll(async () => {
    base = await stagingWith(() => undefined);
  });

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
