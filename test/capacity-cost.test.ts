import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { planCapacity, plannedWorkloads } from "../automation/capacity";
import { runPlan } from "../automation/plan";
import { planCommand } from "../automation/planCommand";
import { loadStackConfig } from "../automation/stackFile";
import { checkCapacity, describeCapacity, RESERVED, requested, sumResources, type PodGroup } from "../model/cost/capacity";
import { budgetProblem, estimateCost, r2MonthlyUsd, serversBudgetProblem } from "../model/cost/bill";
import { CLOUDFLARE_PRICES_AS_OF, PRICES_AS_OF } from "../model/cost/catalog";
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

/** A cloud node of the given type; a server unless said otherwise. */
const cloud = (name: string, serverType: string, extra: Partial<NodeSpec> = {}): NodeSpec =>
  ({ ...cx33, name, serverType, ...extra }) as NodeSpec;
const ax41: NodeSpec = {
  kind: "dedicated",
  name: "metal",
  role: "agent",
  host: "203.0.113.9",
  user: "root",
  model: "AX41-NVMe",
  hostKey: "ssh-ed25519 AAAA",
};
const pods = (workload: string, cpuMilli: number, memoryMi: number, count: PodGroup["count"], surge = 0): PodGroup => ({
  workload,
  requests: { cpuMilli, memoryMi },
  count,
  surge,
});
// A cx33 server allocates (4000 − 100 k3s − 100 system) m less Longhorn's 12%, and
// 8192 − 1606 k3s − 512 system − 100 eviction MiB; an agent reserves 50m and 275 MiB for k3s instead.
const SERVER_CPU = Math.round(3800 * 0.88);
const SERVER_MI = 8192 - 1606 - 512 - 100;
const AGENT_CPU = Math.round(3850 * 0.88);
const AGENT_MI = 8192 - 275 - 512 - 100;
// CoreDNS and metrics-server: 100m and 70 MiB each.
const SYSTEM = { cpuMilli: 200, memoryMi: 140 };

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

describe("capacity across nodes", () => {
  it("refuses a node short only of CPU, naming only the CPU it lacks even with its memory used to the last MiB", () => {
    // 3200m on top of the system pods' 200m is 56m past the server's 3344m; memory fills exactly.
    const report = checkCapacity([cx33], [pods("apps/cruncher", 3200, SERVER_MI - SYSTEM.memoryMi, 1)], []);
    expect(report.problems).toEqual([
      "capacity: node n1 (cx33) is short by 0.06 vCPU: its 3 pods request 3.40 vCPU and 5.83 GiB of the 3.34 vCPU and 5.83 GiB it can allocate",
    ]);
  });

  it("refuses a node short only of memory, naming only the memory it lacks even with its CPU used to the last millicore", () => {
    // 512 MiB past the server's 5974 MiB; the CPU fills exactly.
    const report = checkCapacity([cx33], [pods("apps/hog", SERVER_CPU - SYSTEM.cpuMilli, SERVER_MI - SYSTEM.memoryMi + 512, 1)], []);
    expect(report.problems).toEqual([
      "capacity: node n1 (cx33) is short by 0.50 GiB: its 3 pods request 3.34 vCPU and 6.33 GiB of the 3.34 vCPU and 5.83 GiB it can allocate",
    ]);
  });

  it("names both shortfalls when a node lacks CPU and memory", () => {
    // 56m past the CPU as above, and 512 MiB past the memory.
    const report = checkCapacity([cx33], [pods("apps/hog", 3200, SERVER_MI - SYSTEM.memoryMi + 512, 1)], []);
    expect(report.problems).toEqual([
      "capacity: node n1 (cx33) is short by 0.06 vCPU and 0.50 GiB: its 3 pods request 3.40 vCPU and 6.33 GiB of the 3.34 vCPU and 5.83 GiB it can allocate",
    ]);
  });

  it("a node filled exactly to what it can allocate fits", () => {
    const report = checkCapacity([cx33], [pods("apps/exact", SERVER_CPU - SYSTEM.cpuMilli, SERVER_MI - SYSTEM.memoryMi, 1)], []);
    expect(report.problems).toEqual([]);
    expect(report.nodes[0].requested).toEqual(report.nodes[0].allocatable);
  });

  it("places the largest workloads first, each replica on the emptiest node, ties going to the first name; DaemonSets on every node", () => {
    const nodes = [cx33, cloud("n3", "cx33", { role: "agent" }), cloud("n2", "cx33", { role: "agent" })];
    const report = checkCapacity(
      nodes,
      [pods("apps/web", 100, 1000, 3), pods("agents/exporter", 10, 20, "every-node"), pods("data/db", 500, 2000, 1)],
      [],
    );
    // Free memory after the exporter: n1 5954, n2 and n3 7285 MiB. db (the largest) goes to n2 (the
    // tie's first name); web to n3, n3 again, then n1; CoreDNS to n2 and metrics-server to n3 (tied
    // again at 5285 MiB, then n3 is the emptier).
    expect(report.nodes.map((f) => [f.node, f.allocatable, f.pods, f.requested])).toEqual([
      ["n1", { cpuMilli: SERVER_CPU, memoryMi: SERVER_MI }, 2, { cpuMilli: 10 + 100, memoryMi: 20 + 1000 }],
      ["n3", { cpuMilli: AGENT_CPU, memoryMi: AGENT_MI }, 4, { cpuMilli: 10 + 2 * 100 + 100, memoryMi: 20 + 2 * 1000 + 70 }],
      ["n2", { cpuMilli: AGENT_CPU, memoryMi: AGENT_MI }, 3, { cpuMilli: 10 + 500 + 100, memoryMi: 20 + 2000 + 70 }],
    ]);
    expect(report.problems).toEqual([]);
  });

  it("orders workloads of equal memory by name, whatever order they come in, so the first named takes the emptiest node", () => {
    const a = pods("apps/a", 300, 3000, 1);
    const b = pods("apps/b", 100, 3000, 1);
    // Both servers are equally empty: apps/a takes n1, apps/b then n2; the system pods follow (n1, then n2).
    for (const groups of [
      [b, a],
      [a, b],
    ])
      expect(checkCapacity([cx33, cloud("n2", "cx33")], groups, []).nodes.map((f) => [f.node, f.requested.cpuMilli])).toEqual([
        ["n1", 300 + 100],
        ["n2", 100 + 100],
      ]);
  });

  it("a machine the catalog cannot size allocates nothing, so its pods are refused", () => {
    const report = checkCapacity([cloud("odd", "cx99")], [], []);
    // −200m reserved less 12% is −176m, and −(1606 + 512 + 100) MiB; the system pods ask 200m and 140 MiB on top.
    expect(report.nodes[0].allocatable).toEqual({ cpuMilli: -176, memoryMi: -2218 });
    expect(report.problems).toEqual([
      "capacity: node odd (cx99) is short by 0.38 vCPU and 2.30 GiB: its 2 pods request 0.20 vCPU and 0.14 GiB of the -0.18 vCPU and -2.17 GiB it can allocate",
    ]);
  });
});

describe("room for a rolling update", () => {
  it("is checked for the largest surging workload by memory, then CPU, on the first node with room", () => {
    const report = checkCapacity(
      [cx33, cloud("n2", "cx33")],
      [
        pods("apps/small", 100, 100, 1, 1),
        pods("apps/big", 100, 400, 1, 1),
        pods("apps/busy", 300, 400, 1, 1),
        pods("apps/fixed", 10, 2000, 1, 0),
      ],
      [],
    );
    expect(report.surge).toEqual({ workload: "apps/busy", requests: { cpuMilli: 300, memoryMi: 400 }, fitsOn: "n1" });
    expect(report.problems).toEqual([]);
  });

  it("fits when a node's free room is exactly one more pod", () => {
    // After the system pods n1 has 3144m and 5834 MiB free; one pod of half that leaves the other half.
    const half = pods("apps/web", (SERVER_CPU - SYSTEM.cpuMilli) / 2, (SERVER_MI - SYSTEM.memoryMi) / 2, 1, 1);
    const report = checkCapacity([cx33], [half], []);
    expect(report.surge).toEqual({ workload: "apps/web", requests: half.requests, fitsOn: "n1" });
    expect(report.problems).toEqual([]);
  });

  it("fails when no node has the CPU for one more pod, giving each node's free room", () => {
    // The cache takes n2 (an agent: 3388m, 7305 MiB), leaving it 240 MiB; apps/web and the system
    // pods go to n1, leaving 3344 − 1573 − 200 = 1571m and 5974 − 1024 − 140 = 4810 MiB.
    const report = checkCapacity(
      [cx33, cloud("n2", "cx33", { role: "agent" })],
      [pods("apps/web", 1573, 1024, 1, 1), pods("apps/cache", 0, 7305 - 240, 1)],
      [],
    );
    expect(report.surge).toEqual({ workload: "apps/web", requests: { cpuMilli: 1573, memoryMi: 1024 }, fitsOn: undefined });
    expect(report.problems).toEqual([
      "capacity: no node has room for a rolling update of apps/web (one more pod: 1.57 vCPU, 1.00 GiB); the most free is n1 1.57 vCPU, 4.70 GiB; n2 3.39 vCPU, 0.23 GiB",
    ]);
  });

  it("fails when no node has the memory for one more pod", () => {
    // 2918 MiB placed leaves 5834 − 2918 = 2916 MiB on n1, two short of another; and 3144 − 100 = 3044m.
    const report = checkCapacity([cx33], [pods("apps/web", 100, 2918, 1, 1)], []);
    expect(report.surge?.fitsOn).toBeUndefined();
    expect(report.problems).toEqual([
      "capacity: no node has room for a rolling update of apps/web (one more pod: 0.10 vCPU, 2.85 GiB); the most free is n1 3.04 vCPU, 2.85 GiB",
    ]);
  });

  it("is not looked at when the pods already do not fit, nor when nothing surges", () => {
    const short = checkCapacity([cx33], [pods("apps/web", 4000, 100, 1, 1)], []);
    expect(short.surge).toBeUndefined();
    expect(short.problems).toHaveLength(1);
    expect(short.problems[0]).toMatch(/^capacity: node n1 \(cx33\) is short by/);
    expect(checkCapacity([cx33], [pods("apps/web", 100, 100, 2)], []).surge).toBeUndefined();
  });
});

describe("disk across nodes", () => {
  it("keeps each volume on three nodes' disks at most, against three quarters of all the disks", () => {
    const three = [cx33, cloud("n2", "cx33"), cloud("n3", "cx33")];
    // 3 × 80 GiB × 0.75 = 180 GiB usable; (40 + 20) GiB kept 3× is 180 GiB: it fits, exactly.
    const fits = checkCapacity(
      three,
      [],
      [
        { name: "a", sizeGi: 40 },
        { name: "b", sizeGi: 20 },
      ],
    );
    expect(fits.disk).toEqual({ neededGi: 180, usableGi: 180, replicas: 3 });
    expect(fits.problems).toEqual([]);
    const over = checkCapacity(
      three,
      [],
      [
        { name: "a", sizeGi: 40 },
        { name: "b", sizeGi: 21 },
      ],
    );
    expect(over.problems).toEqual([
      "capacity: the volumes need 183 GiB of disk (kept 3×: a 40 GiB, b 21 GiB), the nodes have 180 GiB usable",
    ]);
    // A fourth node adds disk, not copies: 4 × 80 × 0.75 = 240.
    expect(checkCapacity([...three, cloud("n4", "cx33")], [], [{ name: "a", sizeGi: 40 }]).disk).toEqual({
      neededGi: 120,
      usableGi: 240,
      replicas: 3,
    });
  });

  it("with two nodes keeps two copies, counting every machine's disk; a machine the catalog cannot size adds none", () => {
    // (80 + 1024) GiB × 0.75 = 828 GiB usable.
    expect(checkCapacity([cx33, ax41], [], [{ name: "a", sizeGi: 100 }]).disk).toEqual({ neededGi: 200, usableGi: 828, replicas: 2 });
    expect(checkCapacity([cx33, cloud("odd", "cx99")], [], [{ name: "a", sizeGi: 10 }]).disk).toEqual({
      neededGi: 20,
      usableGi: 60,
      replicas: 2,
    });
  });
});

describe("requests as the capacity check counts them", () => {
  it("reads CPU in cores or millicores and memory in binary or decimal units, rounding to whole m and MiB", () => {
    expect(requested({ cpu: "250m", memory: "256Mi" })).toEqual({ cpuMilli: 250, memoryMi: 256 });
    expect(requested({ cpu: "1.5", memory: "1Gi" })).toEqual({ cpuMilli: 1500, memoryMi: 1024 });
    // 0.1234 cores is 123.4m; 512 MB is 488.28 MiB.
    expect(requested({ cpu: "0.1234", memory: "512M" })).toEqual({ cpuMilli: 123, memoryMi: 488 });
  });

  it("what is unset reserves nothing", () => {
    expect(requested(undefined)).toEqual({ cpuMilli: 0, memoryMi: 0 });
    expect(requested({ cpu: "500m" })).toEqual({ cpuMilli: 500, memoryMi: 0 });
    expect(requested({ memory: "64Mi" })).toEqual({ cpuMilli: 0, memoryMi: 64 });
  });

  it("adds up a pod's containers", () => {
    expect(
      sumResources([
        { cpuMilli: 100, memoryMi: 64 },
        { cpuMilli: 50, memoryMi: 32 },
      ]),
    ).toEqual({ cpuMilli: 150, memoryMi: 96 });
    expect(sumResources([])).toEqual({ cpuMilli: 0, memoryMi: 0 });
  });
});

describe("the capacity summary", () => {
  it("shows each node's pods and requests against what it allocates, the rolling update's room and the disk", () => {
    const report = checkCapacity([cx33], [pods("apps/web", 100, 1024, 1, 1)], [{ name: "db", sizeGi: 20 }]);
    expect(describeCapacity(report)).toEqual([
      "  n1           cx33         3 pods: 0.30 vCPU of 3.34 vCPU, 1.14 GiB of 5.83 GiB",
      "  rolling update room: apps/web +1 pod fits on n1",
      "  disk: 20 GiB of volumes (×1) of 60 GiB usable",
    ]);
  });

  it("names a dedicated host by its model", () => {
    // An agent: (12000 − 50 − 100) m less 12% is 10428m; 65536 − 275 − 512 − 100 MiB is 63.13 GiB.
    expect(describeCapacity(checkCapacity([ax41], [], []))[0]).toBe(
      "  metal        AX41-NVMe    2 pods: 0.20 vCPU of 10.43 vCPU, 0.14 GiB of 63.13 GiB",
    );
  });

  it("says when the rolling update fits nowhere, and leaves the line out when nothing surges", () => {
    const nowhere = checkCapacity([cx33], [pods("apps/web", 100, 2918, 1, 1)], []);
    expect(describeCapacity(nowhere)[1]).toBe("  rolling update room: apps/web +1 pod fits nowhere");
    expect(describeCapacity(checkCapacity([cx33], [], []))).toEqual([
      "  n1           cx33         2 pods: 0.20 vCPU of 3.34 vCPU, 0.14 GiB of 5.83 GiB",
      "  disk: 0 GiB of volumes (×1) of 60 GiB usable",
    ]);
  });
});

describe("the whole bill", () => {
  const HETZNER = `Hetzner price list ${PRICES_AS_OF} (model/cost/catalog.ts), or enclii:prices`;
  const CLOUDFLARE = `Cloudflare pricing ${CLOUDFLARE_PRICES_AS_OF} (model/cost/catalog.ts)`;
  /** The external example (one cx33, a $45 database) with the given changes. */
  const external = (changes: Partial<Environment> = {}): Environment => ({
    ...environment("examples/Pulumi.external.yaml", "external").env,
    ...changes,
  });

  it("prices each server type as its count × the monthly EUR price at the stated rate, and each public IPv4 likewise", () => {
    const cost = estimateCost(
      external({
        nodes: [cloud("a", "cx33"), cloud("b", "cx33"), cloud("c", "cpx22", { publicIpv4: false }), ax41],
        prices: { monthlyEur: { cx33: 3.79, cpx22: 7.5, "AX41-NVMe": 46 }, primaryIpv4Eur: 0.5, eurToUsd: 1.1 },
      }),
    );
    expect(cost.lines.slice(0, 4)).toEqual([
      { item: "cx33", count: 2, monthlyUsd: 8.34, source: HETZNER }, // 2 × 3.79 € × 1.1 = 8.338
      { item: "cpx22", count: 1, monthlyUsd: 8.25, source: HETZNER }, // 7.50 € × 1.1
      { item: "AX41-NVMe", count: 1, monthlyUsd: 50.6, source: HETZNER }, // 46 € × 1.1
      { item: "primary IPv4", count: 2, monthlyUsd: 1.1, source: HETZNER }, // a and b: 2 × 0.50 € × 1.1
    ]);
    // The machines' sum: 2 × cx33 (4 vCPU, 8 GiB, 80 GiB) + cpx22 (2, 4, 80) + AX41-NVMe (12, 64, 1024).
    expect(cost.capacity).toEqual({ vcpu: 2 * 4 + 2 + 12, memoryGi: 2 * 8 + 4 + 64, diskGi: 2 * 80 + 80 + 1024 });
    // 8.34 + 8.25 + 50.60 + 1.10 + $45 for the database.
    expect(cost.monthlyUsd).toBe(113.29);
  });

  it("a server type without a price is shown unpriced at nothing, and no IPv4 line appears when no node has one", () => {
    const cost = estimateCost(external({ nodes: [cloud("big", "cx43", { publicIpv4: false })] }));
    expect(cost.lines[0]).toEqual({
      item: "cx43",
      count: 1,
      monthlyUsd: 0,
      source: "unpriced: set enclii:prices.monthlyEur",
      unpriced: true,
    });
    expect(cost.lines.map((l) => l.item)).not.toContain("primary IPv4");
  });

  it("bills custom hostnames only past the free 100, at $0.10 each", () => {
    const line = (n?: number) => estimateCost(external(), n).lines.find((l) => l.item === "custom hostnames past the free 100");
    expect(line()).toEqual({
      item: "custom hostnames past the free 100",
      count: 0,
      monthlyUsd: 0,
      source: `${CLOUDFLARE}; 0 in the tenant shards`,
    });
    expect(line(100)).toMatchObject({ count: 0, monthlyUsd: 0 });
    expect(line(101)).toMatchObject({ count: 1, monthlyUsd: 0.1 });
    // 33 × $0.10, to the cent.
    expect(line(133)).toEqual({
      item: "custom hostnames past the free 100",
      count: 33,
      monthlyUsd: 3.3,
      source: `${CLOUDFLARE}; 133 in the tenant shards`,
    });
  });

  it("shows R2's stated usage and its price on its line", () => {
    const cost = estimateCost(external({ usage: { r2StorageGb: 200, r2ClassAMillions: 1.5, r2ClassBMillions: 12 } }));
    expect(cost.lines.find((l) => l.item.startsWith("R2"))).toEqual({
      item: "R2: 200 GB, 1.5 M class A, 12 M class B",
      count: 1,
      monthlyUsd: 5.82,
      source: `${CLOUDFLARE}; usage from enclii:usage`,
    });
  });

  it("prices each kind of R2 use on its own, and use under the free tier is no credit", () => {
    // 100 GB × $0.015; 2 M × $4.50; 10 M × $0.36.
    expect(r2MonthlyUsd({ r2StorageGb: 110, r2ClassAMillions: 1, r2ClassBMillions: 10 })).toBe(1.5);
    expect(r2MonthlyUsd({ r2StorageGb: 10, r2ClassAMillions: 3, r2ClassBMillions: 10 })).toBe(9);
    expect(r2MonthlyUsd({ r2StorageGb: 10, r2ClassAMillions: 1, r2ClassBMillions: 20 })).toBe(3.6);
    expect(r2MonthlyUsd({ r2StorageGb: 0, r2ClassAMillions: 0, r2ClassBMillions: 0 })).toBe(0);
  });

  it("an external database without a stated price is shown unpriced; an in-cluster one has no line of its own", () => {
    const env = external();
    const unpriced = estimateCost({ ...env, postgres: { ...env.postgres, monthlyUsd: undefined } as Environment["postgres"] });
    expect(unpriced.lines.find((l) => l.item === "external PostgreSQL")).toEqual({
      item: "external PostgreSQL",
      count: 1,
      monthlyUsd: 0,
      source: "unpriced: set enclii:postgres.monthlyUsd",
      unpriced: true,
    });
    expect(estimateCost(external()).lines.find((l) => l.item === "external PostgreSQL")?.source).toBe("enclii:postgres.monthlyUsd");
    const { env: staging } = environment("Pulumi.staging.yaml", "staging");
    expect(estimateCost(staging).lines.map((l) => l.item)).not.toContain("external PostgreSQL");
  });

  it("adds what config states the model does not price, named on one line", () => {
    const cost = estimateCost(
      external({
        otherCosts: [
          { item: "Sentry", monthlyUsd: 10.1 },
          { item: "status page", monthlyUsd: 20.2 },
        ],
      }),
    );
    expect(cost.lines.at(-1)).toEqual({
      item: "not modelled: Sentry, status page",
      count: 2,
      monthlyUsd: 30.3,
      source: "enclii:otherCosts",
    });
    // 9.78 (cx33) + 0.54 (IPv4) + 45 (database) + 30.30.
    expect(cost.monthlyUsd).toBe(85.62);
  });

  it("a bill exactly at the budget is within it; a cent more is over, by that cent", () => {
    // One cx33 (8.99 € × 1.088 = $9.78), its IPv4 ($0.54), 150 hostnames ($15) and the $45 database: $70.32.
    const at = estimateCost(external({ budget: { monthlyUsd: 70.32 } }), 250);
    expect([at.monthlyUsd, at.budgetUsd, at.overBudget, budgetProblem(at)]).toEqual([70.32, 70.32, false, undefined]);
    const over = estimateCost(external({ budget: { monthlyUsd: 70.31 } }), 250);
    expect(over.overBudget).toBe(true);
    expect(budgetProblem(over)).toBe("enclii:budget.monthlyUsd: the bill is $70.32 a month, over the budget of $70.31 by $0.01");
    const unbounded = estimateCost(external({ budget: undefined }), 250);
    expect([unbounded.budgetUsd, unbounded.overBudget, budgetProblem(unbounded)]).toEqual([undefined, false, undefined]);
  });

  it("refuses a budget the servers alone exceed, before anything else is priced", () => {
    const servers = (budget: number | undefined, nodes = [cloud("a", "cx33"), cloud("b", "cx33")]) =>
      serversBudgetProblem(
        external({
          nodes,
          budget: budget === undefined ? undefined : { monthlyUsd: budget },
          prices: { monthlyEur: { cx33: 3.79, cpx22: 2.02 }, primaryIpv4Eur: 0.5, eurToUsd: 1.1 },
        }),
      );
    // 2 × 3.79 € × 1.1 = $8.34: over $8 by $0.34.
    expect(servers(8)).toBe("enclii:budget.monthlyUsd: the servers alone cost $8.34 a month, over the budget of $8.00 by $0.34");
    // The database ($45) and the IPv4 addresses do not count here; an unpriced server counts as nothing.
    expect(servers(8.34)).toBeUndefined();
    expect(servers(8.34, [cloud("a", "cx33"), cloud("b", "cx33"), cloud("c", "cx43")])).toBeUndefined();
    expect(servers(undefined)).toBeUndefined();
    // 3.79 € × 1.1 = $4.17 and 2.02 € × 1.1 = $2.22: $6.39 to the cent, within a budget of $6.39.
    expect(servers(6.39, [cloud("a", "cx33"), cloud("c", "cpx22")])).toBeUndefined();
  });

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
