/**
 * The whole-stack baseline check: every Kubernetes object the real program registers for each
 * environment goes through the rules the policy pack enforces (policy/rules.ts), built from the
 * plan's inputs the way the pack builds them from the engine's. New workloads are covered as
 * soon as the program registers them; a failure lists every offender.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { kubernetesObject } from "../policy/policies";
import { checkObjects, hasPods, objectRef, type KubeObject } from "../policy/rules";
import { ROOT } from "./harness";
import { FAKE_RUN_TOKEN } from "../automation/mocks";

const STACKS = [
  { stack: "production", file: "Pulumi.production.yaml" },
  { stack: "staging", file: "Pulumi.staging.yaml" },
  { stack: "ha", file: "examples/Pulumi.ha.yaml" },
  // The only stack with our own PgBouncer Deployment.
  { stack: "external", file: "examples/Pulumi.external.yaml" },
];
/** Workloads every stack runs: the check must have reached their pod templates. */
const MUST_COVER = ["Deployment cloudflared/cloudflared", "StatefulSet enclii-data/redis"];

describe.each(STACKS)("$stack meets the workload baseline", ({ stack, file }) => {
  let objects: KubeObject[] = [];

  beforeAll(async () => {
    // loadStackConfig fills every secret with secretPlaceholder, as the offline plan does.
    const { resources } = await runPlan(stack, loadStackConfig(join(ROOT, file)));
    objects = resources.flatMap((r) => kubernetesObject(r.type, r.inputs) ?? []);
  });

  it("has no offenders", () => {
    const offenders = checkObjects(objects).map((v) => `${v.rule}: ${v.object}: ${v.message}`);
    expect(offenders).toEqual([]);
  });

  it("checked the pod templates of its workloads", () => {
    expect(objects.filter(hasPods).map(objectRef)).toEqual(expect.arrayContaining(MUST_COVER));
  });
});

describe("a staging tenant shard meets the workload baseline", () => {
  let objects: KubeObject[] = [];

  beforeAll(async () => {
    const { parseShardConfig } = await import("../stacks/shardConfig");
    const { tenantsProgram } = await import("../stacks/tenants");
    const platform = await runPlan("staging", loadStackConfig(join(ROOT, "Pulumi.staging.yaml")));
    const tenants = [
      { name: "acme", hostnames: ["shop.acme.com"], service: { name: "web", port: 8080 } },
      { name: "globex", hostnames: ["globex.example", "www.globex.example"], service: { name: "site", port: 3000 } },
    ];
    const raw = { "enclii-tenants:tenants": JSON.stringify(tenants) };
    const shard = parseShardConfig("staging-000", raw, "enclii.dev");
    const { resources } = await runPlan("staging-000", { config: raw, secretKeys: [] }, () => tenantsProgram(shard, FAKE_RUN_TOKEN), {
      project: "enclii-tenants",
      stackOutputs: { "organization/enclii-infra/staging": platform.outputs },
    });
    objects = resources.flatMap((r) => kubernetesObject(r.type, r.inputs) ?? []);
  });

  it("has no offenders, with every tenant namespace's one policy taken as its default-deny", () => {
    expect(objects.filter((o) => o.kind === "Namespace")).toHaveLength(2);
    expect(checkObjects(objects).map((v) => `${v.rule}: ${v.object}: ${v.message}`)).toEqual([]);
  });
});
