/**
 * Alertmanager's configuration from enclii:paging, through the real amtool: it loads, and each
 * alert goes where docs/observability.md#where-alerts-go says (critical pages, warnings open tickets, the Watchdog pings the
 * dead man's switch, nothing leaves without paging set).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { alertmanagerConfig } from "../model/observability/alertmanager";
import { parsePaging, type Paging } from "../model/observability/config";
import { requireTool } from "./harness";

const dir = mkdtempSync(join(tmpdir(), "enclii-amtool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(p: Paging | undefined, name: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(alertmanagerConfig(p, "production")));
  return file;
}
const amtool = (args: string[]) => spawnSync("amtool", args, { encoding: "utf8" });
/** The receiver amtool's routing tree picks for these labels. */
const route = (file: string, labels: string[]) => amtool(["config", "routes", "test", `--config.file=${file}`, ...labels]).stdout.trim();

const PAGERDUTY: Paging = { pagerduty: { routingKey: "R0UT1NGKEY-abcdef" }, deadMansSwitch: { url: "https://hc-ping.com/0000-1111" } };
const OPSGENIE: Paging = { opsgenie: { apiKey: "0PSGEN1E-KEY-abcdef", apiUrl: "https://api.eu.opsgenie.com/" } };

describe("Alertmanager configuration (amtool)", () => {
  it("loads with PagerDuty, with Opsgenie and with no paging at all", () => {
    if (!requireTool("amtool", "prometheus-alertmanager")) return;
    for (const [name, p] of Object.entries({ pagerduty: PAGERDUTY, opsgenie: OPSGENIE, none: undefined })) {
      const r = amtool(["check-config", write(p, name)]);
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain("SUCCESS");
    }
  });

  it("pages on critical, opens a ticket on warning, and pings the heartbeat with the Watchdog", () => {
    if (!requireTool("amtool", "prometheus-alertmanager")) return;
    const file = write(PAGERDUTY, "routes");
    expect(route(file, ["alertname=SLOAvailabilityBudgetBurnFast", "severity=critical", "service=janua"])).toBe("page");
    expect(route(file, ["alertname=LonghornVolumeDegraded", "severity=warning"])).toBe("ticket");
    expect(route(file, ["alertname=Watchdog", "severity=none"])).toBe("heartbeat");
    expect(route(file, ["alertname=Something", "severity=info"])).toBe("null");
  });

  it("sends nothing anywhere without enclii:paging", () => {
    if (!requireTool("amtool", "prometheus-alertmanager")) return;
    const file = write(undefined, "silent");
    for (const severity of ["critical", "warning", "none"]) expect(route(file, ["alertname=X", `severity=${severity}`])).toBe("null");
  });

  it("gives Opsgenie P1 for pages and P3 for tickets", () => {
    const receivers = alertmanagerConfig(OPSGENIE, "production").receivers as { name: string; opsgenie_configs?: { priority: string }[] }[];
    expect(receivers.map((r) => [r.name, r.opsgenie_configs?.[0].priority])).toEqual([
      ["null", undefined],
      ["page", "P1"],
      ["ticket", "P3"],
    ]);
  });
});

describe("enclii:paging", () => {
  it("names fields, never the secret values, in its problems", () => {
    const secret = "SUPERSECRETKEY123";
    const cases: [string, string[]][] = [
      ["{", ['enclii:paging: must be JSON such as {"pagerduty":{"routingKey":"…"}}']],
      [
        JSON.stringify({ pagerduty: { routingKey: secret }, opsgenie: { apiKey: secret } }),
        ["enclii:paging: set pagerduty or opsgenie, not both"],
      ],
      [JSON.stringify({}), ["enclii:paging: set pagerduty, opsgenie or deadMansSwitch"]],
      [JSON.stringify({ pagerduty: { routingKey: "short" } }), ["enclii:paging.pagerduty.routingKey: must be at least 8 characters long"]],
      [
        JSON.stringify({ deadMansSwitch: { url: `http://${secret}.example` } }),
        ["enclii:paging.deadMansSwitch.url: must be an https:// URL"],
      ],
      [JSON.stringify({ pagerduty: { routingKey: secret, region: "eu" } }), ['enclii:paging.pagerduty: unknown field "region"']],
    ];
    for (const [text, problems] of cases) {
      const r = parsePaging(text);
      expect(r.problems, text).toEqual(problems);
      expect(r.problems.join(" ")).not.toContain(secret);
    }
    expect(parsePaging(JSON.stringify(OPSGENIE)).paging).toEqual(OPSGENIE);
  });
});
