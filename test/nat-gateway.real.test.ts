/**
 * The HA layout's NAT gateway alerts (model/observability/natGateway.ts): rendered, with the egress
 * Probe, only where the layout has a NAT gateway, and driven through the real promtool: they fire on
 * the gateway down and on the private nodes' egress failing, and stay silent otherwise.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { NAT_EGRESS_JOB, NAT_GATEWAY_ALERTS, natGatewayOf } from "../model/observability/natGateway";
import type { RuleGroup } from "../model/observability/slo";
import { promtool } from "../testbed/promtool";
import { ROOT, requireTool } from "./harness";

const STACKS = { ha: "examples/Pulumi.ha.yaml", production: "Pulumi.production.yaml", staging: "Pulumi.staging.yaml" };
const planned: Record<string, PlanResource[]> = {};

beforeAll(async () => {
  for (const [stack, file] of Object.entries(STACKS)) planned[stack] = (await runPlan(stack, loadStackConfig(join(ROOT, file)))).resources;
});

const platformGroups = (stack: string): RuleGroup[] =>
  (
    planned[stack].find(
      (r) =>
        r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule" &&
        (r.inputs.metadata as { name: string }).name === "enclii-platform",
    )!.inputs.spec as { groups: RuleGroup[] }
  ).groups;
const probes = (stack: string) =>
  planned[stack].filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:Probe").map((r) => r.inputs.spec as Record<string, unknown>);
const natAlerts = Object.values(NAT_GATEWAY_ALERTS) as string[];

describe("where the NAT gateway alerts are rendered", () => {
  it("in the HA layout: both alerts, naming the gateway and its private nodes, and a TLS probe of R2's endpoint", () => {
    const group = platformGroups("ha").find((g) => g.name === "platform-nat-gateway")!;
    expect(group.rules.map((r) => r.alert)).toEqual(["NatGatewayDown", "PrivateNodesEgressFailing"]);
    expect(group.rules[0].expr).toContain('node="gateway"');
    expect(group.rules[0].expr).toContain('instance="10.0.1.10:9100"');
    expect(group.rules[1].expr).toContain('node=~"node-1|node-2"');
    const egress = probes("ha").filter((p) => p.jobName === NAT_EGRESS_JOB);
    expect(egress).toEqual([
      {
        jobName: NAT_EGRESS_JOB,
        interval: "30s",
        module: "tls_connect",
        prober: { url: "prometheus-blackbox-exporter.monitoring.svc:9115" },
        targets: { staticConfig: { static: ["0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com:443"] } },
      },
    ]);
  });

  it("nowhere else: not on the single dedicated node, nor on staging's one public cloud server", () => {
    for (const stack of ["production", "staging"]) {
      const alerts = platformGroups(stack).flatMap((g) => g.rules.map((r) => r.alert));
      expect(alerts.length, stack).toBeGreaterThan(0);
      expect(
        alerts.filter((a) => natAlerts.includes(a!)),
        stack,
      ).toEqual([]);
      expect(
        platformGroups(stack).map((g) => g.name),
        stack,
      ).not.toContain("platform-nat-gateway");
      expect(
        probes(stack).filter((p) => p.jobName === NAT_EGRESS_JOB),
        stack,
      ).toEqual([]);
    }
  });

  it("follows CloudPool's rule: a gateway only when some cloud node has no public IPv4", () => {
    const cloud = (name: string, publicIpv4: boolean, privateIp: string) => ({
      kind: "cloud" as const,
      name,
      pool: name,
      role: "server" as const,
      serverType: "cpx32",
      location: "nbg1",
      fallbacks: [],
      image: "ubuntu-24.04",
      publicIpv4,
      privateIp,
    });
    expect(natGatewayOf([cloud("a", true, "10.0.1.10"), cloud("b", true, "10.0.1.11")])).toBeUndefined();
    expect(natGatewayOf([cloud("a", true, "10.0.1.10"), cloud("b", false, "10.0.1.11")])).toEqual({
      node: "a",
      address: "10.0.1.10",
      privateNodes: ["b"],
    });
  });
});

interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels: Record<string, string> }[];
}

/** promtool test rules over the HA layout's platform rules (annotations are templates `check rules` checks). */
function unitTest(series: { series: string; values: string }[], cases: AlertCase[]) {
  const groups = platformGroups("ha").map((g) => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) }));
  return promtool(
    { "platform.yaml": groups },
    {
      evaluation_interval: "1m",
      tests: [{ interval: "1m", input_series: series, alert_rule_test: cases.map((c) => ({ exp_alerts: [], ...c })) }],
    },
  );
}

const critical = [{ exp_labels: { severity: "critical" } }];
const ready = (node: string, values: string) => ({
  series: `kube_node_status_condition{condition="Ready",status="true",node="${node}"}`,
  values,
});
const exporterUp = (address: string, values: string) => ({ series: `up{job="node-exporter",instance="${address}:9100"}`, values });
const egress = (values: string) => ({ series: `probe_success{job="${NAT_EGRESS_JOB}",instance="r2:443"}`, values });
const prober = (node: string) => ({
  series: `kube_pod_info{namespace="monitoring",pod="prometheus-blackbox-exporter-7d9f8-x2x4q",node="${node}"}`,
  values: "1x30",
});

describe("NatGatewayDown (promtool)", () => {
  it("fires two minutes after the gateway's Node stops being Ready, not one minute in", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [ready("gateway", "1x4 0x20"), exporterUp("10.0.1.10", "1x4 0x20"), ready("node-1", "1x25")],
      [
        { eval_time: "4m", alertname: "NatGatewayDown" },
        { eval_time: "6m", alertname: "NatGatewayDown" },
        { eval_time: "8m", alertname: "NatGatewayDown", exp_alerts: critical },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("fires on node-exporter alone not answering, while kube-state-metrics still says Ready", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [ready("gateway", "1x20"), exporterUp("10.0.1.10", "1x4 0x15")],
      [{ eval_time: "10m", alertname: "NatGatewayDown", exp_alerts: critical }],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("stays silent while the gateway is up, and when another node is down", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [ready("gateway", "1x30"), exporterUp("10.0.1.10", "1x30"), ready("node-1", "0x30"), exporterUp("10.0.1.11", "0x30")],
      ["5m", "20m"].map((t) => ({ eval_time: t, alertname: "NatGatewayDown" })),
    );
    expect(r.ok, r.output).toBe(true);
  });
});

describe("PrivateNodesEgressFailing (promtool)", () => {
  it("fires after five minutes of failed probes from a private node, not three", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [egress("1x4 0x25"), prober("node-1")],
      [
        { eval_time: "8m", alertname: "PrivateNodesEgressFailing" },
        { eval_time: "12m", alertname: "PrivateNodesEgressFailing", exp_alerts: critical },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("stays silent while the probes succeed, and when the prober runs on the gateway itself", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const fine = unitTest([egress("1x30"), prober("node-2")], [{ eval_time: "20m", alertname: "PrivateNodesEgressFailing" }]);
    expect(fine.ok, fine.output).toBe(true);
    const onGateway = unitTest([egress("0x30"), prober("gateway")], [{ eval_time: "20m", alertname: "PrivateNodesEgressFailing" }]);
    expect(onGateway.ok, onGateway.output).toBe(true);
  });
});

describe("the rule file (promtool check rules)", () => {
  it("passes, annotations included", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = promtool({ "platform.yaml": platformGroups("ha") });
    expect(r.ok, r.output).toBe(true);
  });
});
