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
