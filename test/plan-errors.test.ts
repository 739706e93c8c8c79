import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";

class Thing extends pulumi.CustomResource {
  constructor(name: string, args: pulumi.Inputs) {
    super("test:index:Thing", name, args);
  }
}

describe("runPlan", () => {
  it("fails when a resource's input fails to compute, instead of planning without the resource", async () => {
    const program = async () => {
      const broken = pulumi.output("x").apply((): string => {
        throw new Error("renderer refused its input");
      });
      new Thing("thing", { value: broken });
      return {};
    };
    const quiet = () => undefined;
    // vitest reports unhandled rejections as errors of their own; this one is the point of the test.
    process.on("unhandledRejection", quiet);
    try {
      await expect(runPlan("broken", { config: {}, secretKeys: [] }, program)).rejects.toThrow("renderer refused its input");
    } finally {
      process.off("unhandledRejection", quiet);
    }
  });
});

describe("plans one after another in one process", () => {
  it("keep a failed plan's late rejections to that plan: the next plan succeeds", async () => {
    // As a shard program refuses its config after reading the platform through a stack reference.
    const failing = async () => {
      const platform = new pulumi.StackReference("platform", { name: "organization/enclii-infra/x" });
      await platform.getOutputValue("domain");
      throw new Error("shard refused");
    };
    const quiet = () => undefined;
    process.on("unhandledRejection", quiet);
    try {
      const stackOutputs = { "organization/enclii-infra/x": { domain: "enclii.dev" } };
      await expect(runPlan("first", { config: {}, secretKeys: [] }, failing, { stackOutputs })).rejects.toThrow("shard refused");
    } finally {
      process.off("unhandledRejection", quiet);
    }
    const next = await runPlan("second", { config: {}, secretKeys: [] }, async () => {
      new Thing("after", { value: "y" });
      return {};
    });
    expect(next.resources.map((r) => r.name)).toEqual(["enclii-infra-second", "after"]);
  });
});
