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
