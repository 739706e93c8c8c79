/**
 * The alerting rules the plans register, through the real promtool: every rule file passes
 * `promtool check rules`, and `promtool test rules` drives the SLO and platform alerts with
 * synthetic series: they fire on the burns and failures they exist for, and stay silent otherwise.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import type { RuleGroup } from "../model/observability/slo";
import { promtool } from "../testbed/promtool";
import { ROOT, requireTool } from "./harness";

const STACKS = { production: "Pulumi.production.yaml", staging: "Pulumi.staging.yaml", ha: "examples/Pulumi.ha.yaml" };
const rules: Record<string, Record<string, RuleGroup[]>> = {};

beforeAll(async () => {
  for (const [stack, file] of Object.entries(STACKS)) {
    const result = await runPlan(stack, loadStackConfig(join(ROOT, file)));
    rules[stack] = Object.fromEntries(
      result.resources
        .filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        .map((r) => [`${(r.inputs.metadata as { name: string }).name}.yaml`, (r.inputs.spec as { groups: RuleGroup[] }).groups]),
    );
  }
});

/** Annotations are templates checked by `check rules`; unit tests compare labels only. */
function bare(files: Record<string, RuleGroup[]>): Record<string, RuleGroup[]> {
  return Object.fromEntries(
    Object.entries(files).map(([f, groups]) => [f, groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) }))]),
  );
}

interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: { exp_labels: Record<string, string> }[];
}

function unitTest(series: { series: string; values: string }[], cases: AlertCase[], interval = "1m") {
  const r = promtool(bare(rules.production), {
    evaluation_interval: "1m",
    tests: [{ interval, input_series: series, alert_rule_test: cases.map((c) => ({ exp_alerts: [], ...c })) }],
  });
  return r;
}

const probe = (service: string, values: string) => ({ series: `probe_success{job="availability",service="${service}"}`, values });
const page = (slo: string, service: string) => ({ exp_labels: { severity: "critical", slo, service } });
const ticket = (slo: string, service: string) => ({ exp_labels: { severity: "warning", slo, service } });

describe("rule files (promtool)", () => {
  it("every PrometheusRule of every environment passes promtool check rules", () => {
    if (!requireTool("promtool", "prometheus")) return;
    for (const [stack, files] of Object.entries(rules)) {
      expect(Object.keys(files).sort(), stack).toEqual(["enclii-platform.yaml", "enclii-reboots.yaml", "enclii-slo.yaml"]);
      const r = promtool(files);
      expect(r.output, stack).toContain("SUCCESS");
      expect(r.ok, `${stack}: ${r.output}`).toBe(true);
    }
  });
});

describe("availability SLO (99.95% over 30 days)", () => {
  it("pages after an hour of burning the budget at 14.4× (0.72% of probes failing), not before", () => {
    if (!requireTool("promtool", "prometheus")) return;
    // Three hours of clean probes, then the burn from minute 180: the 1 h window reaches 14.4× only
    // once it holds nothing but the burn (30 minutes in it is at 7.2×, 55 minutes in at 13.2×).
    const r = unitTest(
      [probe("switchyard-api", "1+0x179 0.9928+0x120")],
      [
        { eval_time: "210m", alertname: "SLOAvailabilityBudgetBurnFast" },
        { eval_time: "235m", alertname: "SLOAvailabilityBudgetBurnFast" },
        { eval_time: "245m", alertname: "SLOAvailabilityBudgetBurnFast", exp_alerts: [page("availability", "switchyard-api")] },
        { eval_time: "245m", alertname: "SLOAvailabilityBudgetBurnSlow", exp_alerts: [ticket("availability", "switchyard-api")] },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("stays silent at 1×, the rate that spends exactly the budget over 30 days, for three days", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const times = ["5m", "1h", "6h", "1d", "3d"];
    const r = unitTest(
      [probe("switchyard-api", "0.9995+0x4400")],
      times.flatMap((t) => [
        { eval_time: t, alertname: "SLOAvailabilityBudgetBurnFast" },
        { eval_time: t, alertname: "SLOAvailabilityBudgetBurnSlow" },
      ]),
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("stops paging once the short window has recovered, though the long window still remembers the burn", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [probe("janua", "0.9928+0x60 1+0x60")],
      [
        { eval_time: "75m", alertname: "SLOAvailabilityBudgetBurnFast", exp_alerts: [page("availability", "janua")] },
        { eval_time: "95m", alertname: "SLOAvailabilityBudgetBurnFast" },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });
});

describe("error-ratio and latency SLOs", () => {
  const requests = (code: string, perMinute: number, service = "switchyard-api") => ({
    series: `http_server_request_duration_seconds_count{service="${service}",http_response_status_code="${code}"}`,
    values: `0+${perMinute}x180`,
  });

  it("pages when 1.5% of requests fail (15× the 0.1% budget) and stays silent just under the objective", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const burning = unitTest(
      [requests("200", 985), requests("500", 15)],
      [{ eval_time: "60m", alertname: "SLOErrorsBudgetBurnFast", exp_alerts: [page("errors", "switchyard-api")] }],
    );
    expect(burning.ok, burning.output).toBe(true);
    const fine = unitTest(
      [requests("200", 1000), requests("503", 0.9)],
      ["60m", "3h"].flatMap((t) => [
        { eval_time: t, alertname: "SLOErrorsBudgetBurnFast" },
        { eval_time: t, alertname: "SLOErrorsBudgetBurnSlow" },
      ]),
    );
    expect(fine.ok, fine.output).toBe(true);
  });

  it("pages when half of switchyard-api's requests take longer than 200 ms, and not when 4% do", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const latency = (fast: number) => [
      { series: 'http_server_request_duration_seconds_bucket{service="switchyard-api",le="0.2"}', values: `0+${fast}x180` },
      {
        series: 'http_server_request_duration_seconds_count{service="switchyard-api",http_response_status_code="200"}',
        values: "0+1000x180",
      },
    ];
    const slow = unitTest(latency(500), [
      { eval_time: "60m", alertname: "SLOLatencyBudgetBurnFast", exp_alerts: [page("latency", "switchyard-api")] },
    ]);
    expect(slow.ok, slow.output).toBe(true);
    const fine = unitTest(latency(960), [
      { eval_time: "60m", alertname: "SLOLatencyBudgetBurnFast" },
      { eval_time: "60m", alertname: "SLOLatencyBudgetBurnSlow" },
    ]);
    expect(fine.ok, fine.output).toBe(true);
  });

  it("warns when switchyard-api exports no bucket at its 200 ms threshold", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [{ series: 'http_server_request_duration_seconds_bucket{service="switchyard-api",le="0.25"}', values: "0+10x60" }],
      [
        {
          eval_time: "40m",
          alertname: "SLOLatencyBucketMissing",
          exp_alerts: [{ exp_labels: { severity: "warning", slo: "latency", service: "switchyard-api", le: "0.2" } }],
        },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });
});

describe("platform health rules", () => {
  it("fires on a base backup older than 26 hours, not at 25", () => {
    if (!requireTool("promtool", "prometheus")) return;
    // promtool's clock starts at 0: a backup taken at t=0 is as old as the eval time.
    const r = unitTest(
      [
        {
          series: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{namespace="enclii-data",pod="enclii-pg-1"}',
          values: "0+0x1700",
        },
      ],
      [
        { eval_time: "25h", alertname: "PostgresBackupTooOld" },
        {
          eval_time: "26h20m",
          alertname: "PostgresBackupTooOld",
          exp_alerts: [{ exp_labels: { severity: "critical", namespace: "enclii-data" } }],
        },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("fires when WAL archiving fails after the last success, and on an etcd snapshot older than a day", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [
        { series: 'cnpg_pg_stat_archiver_last_archived_time{pod="enclii-pg-1"}', values: "100+0x30" },
        { series: 'cnpg_pg_stat_archiver_last_failed_time{pod="enclii-pg-1"}', values: "50+0x4 200+0x25" },
        { series: 'k3s_etcdsnapshotfile_creation_timestamp_seconds{name="etcd-snapshot-ax41-1"}', values: "0+0x2000" },
      ],
      [
        { eval_time: "4m", alertname: "PostgresWalArchivingFailing" },
        {
          eval_time: "15m",
          alertname: "PostgresWalArchivingFailing",
          exp_alerts: [{ exp_labels: { severity: "critical", pod: "enclii-pg-1" } }],
        },
        { eval_time: "23h", alertname: "EtcdSnapshotTooOld" },
        { eval_time: "25h", alertname: "EtcdSnapshotTooOld", exp_alerts: [{ exp_labels: { severity: "critical" } }] },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("fires when a cloudflared replica of three loses its edge connections, or Redis stops answering as master", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const tunnel = (pod: string, values: string) => ({ series: `cloudflared_tunnel_ha_connections{pod="${pod}"}`, values });
    const r = unitTest(
      [
        tunnel("cloudflared-a", "4+0x20"),
        tunnel("cloudflared-b", "4+0x20"),
        tunnel("cloudflared-c", "4+0x2 0+0x18"),
        { series: 'redis_up{pod="redis-0"}', values: "1+0x5 0+0x15" },
        { series: 'redis_instance_info{pod="redis-0",role="master"}', values: "1+0x20" },
      ],
      [
        { eval_time: "2m", alertname: "CloudflaredReplicasDisconnected" },
        { eval_time: "10m", alertname: "CloudflaredReplicasDisconnected", exp_alerts: [{ exp_labels: { severity: "critical" } }] },
        { eval_time: "5m", alertname: "RedisMasterLost" },
        { eval_time: "8m", alertname: "RedisMasterLost", exp_alerts: [{ exp_labels: { severity: "critical" } }] },
      ],
    );
    expect(r.ok, r.output).toBe(true);
  });

  it("keeps the Watchdog firing at every moment, so its silence is what pages", () => {
    if (!requireTool("promtool", "prometheus")) return;
    const r = unitTest(
      [],
      ["0m", "1h", "1d"].map((t) => ({ eval_time: t, alertname: "Watchdog", exp_alerts: [{ exp_labels: { severity: "none" } }] })),
    );
    expect(r.ok, r.output).toBe(true);
  });
});
