import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { planCapacity, plannedWorkloads } from "../automation/capacity";
import { runPlan } from "../automation/plan";
import { planCommand } from "../automation/planCommand";
import { loadStackConfig } from "../automation/stackFile";
import { checkCapacity, RESERVED } from "../model/cost/capacity";
import { budgetProblem, estimateCost, r2MonthlyUsd } from "../model/cost/bill";
import type { Environment, NodeSpec } from "../model/config/schema";
import { parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT } from "./harness";

const tmp = mkdtempSync(join(tmpdir(), "enclii-capacity-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function environment(file: string, stack: string, text = readFileSync(join(ROOT, file), "utf8")): { env: Environment; file: string } {
  const path = join(tmp, `${stack}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  const cfg = loadStackConfig(path);
  return { env: parseEnvironment(stack, cfg.config, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR)), file: path };
}

const cx33: NodeSpec = {
  kind: "cloud",
  name: "n1",
  role: "server",
  serverType: "cx33",
  location: "fsn1",
  privateIp: "10.0.1.2",
  publicIpv4: true,
} as NodeSpec;

describe("capacity", () => {
  it("reserves k3s, the system and Longhorn's instance manager before any pod", () => {
    const [node] = checkCapacity([cx33], [], []).nodes;
    // 4 vCPU − 100m k3s − 100m system, less 12% for Longhorn; 8 GiB − 1606 − 512 − 100 MiB.
    expect(node.allocatable).toEqual({ cpuMilli: Math.round(3800 * 0.88), memoryMi: 8192 - RESERVED.k3sServer.memoryMi - 512 - 100 });
    // CoreDNS and metrics-server, as k3s ships them.
    expect(node.requested).toEqual({ cpuMilli: 200, memoryMi: 140 });
  });

  it("counts what the plan registers: autoscaled Deployments at their maximum, the database, the pooler, Redis, monitoring and their volumes", async () => {
    const result = await runPlan("staging", loadStackConfig(join(ROOT, "Pulumi.staging.yaml")));
    const { groups, volumes } = plannedWorkloads(result.resources);
    const api = groups.find((g) => g.workload === "enclii-platform/switchyard-api")!;
    expect(api).toEqual({ workload: "enclii-platform/switchyard-api", requests: { cpuMilli: 250, memoryMi: 256 }, count: 6, surge: 1 });
    expect(groups.find((g) => g.workload === "enclii-data/enclii-pg")).toMatchObject({
      requests: { cpuMilli: 250, memoryMi: 1024 },
      count: 1,
    });
    // The lean monitoring set, read back from the chart's values: Prometheus with its config
    // reloader, Grafana with its two sidecars.
    expect(groups.find((g) => g.workload === "monitoring/prometheus")).toEqual({
      workload: "monitoring/prometheus",
      requests: { cpuMilli: 50 + 5, memoryMi: 512 + 24 },
      count: 1,
      surge: 0,
    });
    expect(groups.find((g) => g.workload === "monitoring/grafana")).toMatchObject({
      requests: { cpuMilli: 10 + 5, memoryMi: 128 + 64 },
    });
    expect(groups.find((g) => g.workload === "monitoring-agents/node-exporter")).toMatchObject({ count: "every-node" });
    expect(volumes.map((v) => [v.name, v.sizeGi])).toEqual([
      ["enclii-data/redis-data-0", 5],
      ["enclii-data/enclii-pg-1", 20],
      ["monitoring/prometheus", 10],
      ["monitoring/alertmanager", 1],
    ]);
  });

  it("staging fits its single server with room for one rolling update", async () => {
    const { env } = environment("Pulumi.staging.yaml", "staging");
    const result = await runPlan("staging", loadStackConfig(join(ROOT, "Pulumi.staging.yaml")));
    const report = planCapacity(result.resources, env);
    expect(report.problems).toEqual([]);
    expect(report.surge).toMatchObject({ workload: "enclii-platform/switchyard-api", fitsOn: "staging" });
  });

  it("raising staging's replicas until it no longer fits fails the plan, naming the node and the shortfall", async () => {
    const text = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace(
      "switchyard-ui: { replicas: 1 }",
      "switchyard-ui: { replicas: 5 }",
    );
    const { file } = environment("Pulumi.staging.yaml", "staging", text);
    let stderr = "";
    const code = await planCommand(["staging", "--config", file, "--out", join(tmp, "full")], {
      stdout: () => undefined,
      stderr: (t) => void (stderr += t),
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      "capacity: node staging (cx33) is short by 0.11 GiB: its 32 pods request 3.33 vCPU and 5.94 GiB of the 3.34 vCPU and 5.83 GiB it can allocate",
    );
  });

  it("with three replicas the pods fit, but not the rolling update", async () => {
    const text = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace(
      "switchyard-ui: { replicas: 1 }",
      "switchyard-ui: { replicas: 3 }",
    );
    const { env, file } = environment("Pulumi.staging.yaml", "staging", text);
    const result = await runPlan("staging", loadStackConfig(file));
    expect(planCapacity(result.resources, env).problems).toEqual([
      "capacity: no node has room for a rolling update of enclii-platform/switchyard-api (one more pod: 0.25 vCPU, 0.25 GiB); the most free is staging 0.22 vCPU, 0.39 GiB",
    ]);
  });

  it("refuses volumes larger than the disks' usable share", () => {
    const report = checkCapacity([cx33], [], [{ name: "db", sizeGi: 61 }]);
    expect(report.problems).toEqual(["capacity: the volumes need 61 GiB of disk (kept 1×: db 61 GiB), the nodes have 60 GiB usable"]);
  });
});

describe("the whole bill", () => {
  it("prices R2 past the free tier from the stated usage", () => {
    expect(r2MonthlyUsd({ r2StorageGb: 10, r2ClassAMillions: 1, r2ClassBMillions: 10 })).toBe(0);
    // 190 GB × 0.015 + 0.5 M × 4.50 + 2 M × 0.36
    expect(r2MonthlyUsd({ r2StorageGb: 200, r2ClassAMillions: 1.5, r2ClassBMillions: 12 })).toBe(5.82);
  });

  it("has a line per item with its source, custom hostnames past 100, the external database and what is not modelled", () => {
    const { env } = environment("examples/Pulumi.external.yaml", "external");
    const cost = estimateCost(env, 250);
    expect(cost.lines.map((l) => [l.item, l.count, l.monthlyUsd])).toEqual([
      ["cx33", 1, 9.78],
      ["primary IPv4", 1, 0.54],
      ["R2: 10 GB, 1 M class A, 10 M class B", 1, 0],
      ["custom hostnames past the free 100", 150, 15],
      ["external PostgreSQL", 1, 45],
      ["not modelled: nothing stated", 0, 0],
    ]);
    for (const l of cost.lines) expect(l.source.length).toBeGreaterThan(0);
    expect(cost.monthlyUsd).toBe(70.32);
  });

  it("fails the plan over budget, saying by how much", async () => {
    const text = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("    monthlyUsd: 50\n", "    monthlyUsd: 10\n");
    const { env, file } = environment("Pulumi.staging.yaml", "staging", text);
    expect(budgetProblem(estimateCost(env))).toBe(
      "enclii:budget.monthlyUsd: the bill is $11.72 a month, over the budget of $10.00 by $1.72",
    );
    let stderr = "";
    expect(
      await planCommand(["staging", "--config", file, "--out", join(tmp, "budget")], {
        stdout: () => undefined,
        stderr: (t) => void (stderr += t),
      }),
    ).toBe(2);
    expect(stderr).toContain("enclii:budget.monthlyUsd: the bill is $11.72 a month");
  });

  it("the docs' cost table is the model's figures for the repository's stacks", () => {
    const readme = readFileSync(join(ROOT, "docs", "capacity-and-cost.md"), "utf8");
    for (const [name, file, stack] of [
      ["production", "Pulumi.production.yaml", "production"],
      ["staging", "Pulumi.staging.yaml", "staging"],
      ["HA", "examples/Pulumi.ha.yaml", "ha"],
    ]) {
      const { env } = environment(file, stack);
      expect(readme, name).toContain(`| Enclii ${name} (\`${file}\`) | $${estimateCost(env).monthlyUsd.toFixed(2)} |`);
    }
  });
});
