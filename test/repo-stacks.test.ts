/** Every stack file in the repository, together: nothing that two of them would both create. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { ROOT } from "./harness";

const STACKS = [
  { stack: "production", file: "Pulumi.production.yaml" },
  { stack: "staging", file: "Pulumi.staging.yaml" },
  { stack: "ha", file: "examples/Pulumi.ha.yaml" },
  { stack: "external", file: "examples/Pulumi.external.yaml" },
];
const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";

describe("the repository's stacks", () => {
  it("each have their own zone: no DNS name is created by two of them", async () => {
    const owners = new Map<string, string[]>();
    for (const { stack, file } of STACKS) {
      const { resources } = await runPlan(stack, loadStackConfig(join(ROOT, file)));
      const zone = new Set(
        resources.filter((r) => r.type === DNS_RECORD).map((r) => `${String(r.inputs.zoneId)} ${String(r.inputs.name)}`),
      );
      expect(zone.size, stack).toBeGreaterThan(0);
      for (const name of zone) owners.set(name, [...(owners.get(name) ?? []), stack]);
    }
    expect([...owners].filter(([, stacks]) => stacks.length > 1)).toEqual([]);
  });
});
