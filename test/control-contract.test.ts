/** The control-plane contract (model/controlPlane.ts) against the program, the SDK and docs/control-plane.md. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../automation/commandLine";
import { runPlan, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { EXIT, GUARDED_TYPES, PULUMI_CLI_MIN_VERSION, READ_OUTPUTS, STATUS_EXIT, WRITABLE_CONFIG } from "../model/controlPlane";
import { ROOT } from "./harness";

const STACKS = [
  { stack: "production", file: "Pulumi.production.yaml" },
  { stack: "staging", file: "Pulumi.staging.yaml" },
  { stack: "ha", file: "examples/Pulumi.ha.yaml" },
  { stack: "external", file: "examples/Pulumi.external.yaml" },
];
/** The contract in prose: its page of the docs. */
const contract = readFileSync(join(ROOT, "docs", "control-plane.md"), "utf8");

let plans: PlanResult[] = [];
beforeAll(async () => {
  plans = [];
  for (const { stack, file } of STACKS) plans.push(await runPlan(stack, loadStackConfig(join(ROOT, file))));
});

describe("the control plane's contract", () => {
  it("drives a Pulumi CLI at least as new as the SDK the repository pins", () => {
    const sdk = JSON.parse(readFileSync(join(ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")).version;
    expect(PULUMI_CLI_MIN_VERSION).toBe(sdk);
  });

  it("guards every type the program protects in any stack", () => {
    const protectedTypes = new Set(plans.flatMap((p) => p.resources.filter((r) => r.protect).map((r) => r.type)));
    expect(protectedTypes.size).toBeGreaterThan(0);
    expect([...protectedTypes].filter((t) => !(t in GUARDED_TYPES))).toEqual([]);
  });

  it("guards real type tokens: each registered by a stack or a resource class of a provider SDK", async () => {
    const registered = new Set(plans.flatMap((p) => p.resources.map((r) => r.type)));
    const sdkTypes = new Set<string>();
    const collect = (mod: Record<string, unknown>, depth = 0) => {
      for (const value of Object.values(mod)) {
        if (typeof value === "function" && typeof (value as { __pulumiType?: unknown }).__pulumiType === "string")
          sdkTypes.add((value as unknown as { __pulumiType: string }).__pulumiType);
        else if (value && typeof value === "object" && depth < 3) collect(value as Record<string, unknown>, depth + 1);
      }
    };
    for (const sdk of ["@pulumi/hcloud", "@pulumi/cloudflare", "@pulumi/random"]) collect(await import(sdk));
    const k8s = await import("@pulumi/kubernetes");
    collect({ core: k8s.core.v1, apps: k8s.apps.v1 });
    expect(Object.keys(GUARDED_TYPES).filter((t) => !registered.has(t) && !sdkTypes.has(t))).toEqual([]);
  });

  it("names only outputs the platform stacks export (hostnames: the shards')", () => {
    const exported = new Set(Object.keys(plans[0].outputs));
    expect(Object.keys(READ_OUTPUTS).filter((k) => k !== "hostnames" && !exported.has(k))).toEqual([]);
  });

  it("is in docs/control-plane.md: every exit status, command, writable key, output and guarded type", () => {
    expect(contract.length).toBeGreaterThan(0);
    // One row per exit status, its statuses exactly those model/contract.ts STATUS_EXIT gives it.
    for (const [name, code] of Object.entries(EXIT)) {
      const row = new RegExp(`^\\| ${code} \\| \`${name}\` \\| (.*?) \\|`, "m").exec(contract);
      const statuses = Object.keys(STATUS_EXIT).filter((s) => STATUS_EXIT[s as keyof typeof STATUS_EXIT] === name);
      expect(row?.[1].split(", "), name).toEqual(statuses.map((s) => `\`${s}\``));
    }
    const program = buildCli({ stdout: () => undefined, stderr: () => undefined }, { root: ROOT }, () => undefined);
    const commands = program.commands.flatMap((c) =>
      c.commands.length > 0 ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()],
    );
    expect(commands.length).toBe(18);
    for (const command of commands) expect(contract, command).toContain(`enclii-infra ${command}`);
    for (const { key } of WRITABLE_CONFIG) expect(contract, key).toContain(`\`${key}\``);
    for (const key of Object.keys(READ_OUTPUTS)) expect(contract, key).toContain(`\`${key}\``);
    for (const type of Object.keys(GUARDED_TYPES)) expect(contract, type).toContain(`\`${type}\``);
  });
});
