/**
 * Alertmanager's configuration from `enclii:paging`: critical alerts page, warnings open a
 * low-urgency incident (same service, lower priority), the Watchdog pings the dead man's switch,
 * and everything else is kept in Alertmanager only. Pure; `amtool check-config` reads the result.
 */
import { WATCHDOG_ALERT } from "./platformRules";
import type { Paging } from "./config";

const NULL_RECEIVER = "null";
const PAGE = "page";
const TICKET = "ticket";
const HEARTBEAT = "heartbeat";
/** The Watchdog is re-sent this often; the heartbeat service should expect a ping at least every few minutes. */
const HEARTBEAT_REPEAT = "1m";

type Receiver = Record<string, unknown> & { name: string };

function receivers(p: Paging | undefined, stack: string): Receiver[] {
  const out: Receiver[] = [{ name: NULL_RECEIVER }];
  if (p?.pagerduty) {
    const base = { routing_key: p.pagerduty.routingKey, send_resolved: true, client: `enclii-${stack}` };
    out.push({ name: PAGE, pagerduty_configs: [{ ...base, severity: "critical" }] });
    out.push({ name: TICKET, pagerduty_configs: [{ ...base, severity: "warning" }] });
  }
  if (p?.opsgenie) {
    const base = { api_key: p.opsgenie.apiKey, api_url: p.opsgenie.apiUrl, send_resolved: true, tags: `enclii,${stack}` };
    out.push({ name: PAGE, opsgenie_configs: [{ ...base, priority: "P1" }] });
    out.push({ name: TICKET, opsgenie_configs: [{ ...base, priority: "P3" }] });
  }
  if (p?.deadMansSwitch) out.push({ name: HEARTBEAT, webhook_configs: [{ url: p.deadMansSwitch.url, send_resolved: false }] });
  return out;
}

/** The whole alertmanager.yaml as data. */
export function alertmanagerConfig(p: Paging | undefined, stack: string): Record<string, unknown> {
  const paging = Boolean(p?.pagerduty || p?.opsgenie);
  const routes: Record<string, unknown>[] = [
    {
      receiver: p?.deadMansSwitch ? HEARTBEAT : NULL_RECEIVER,
      matchers: [`alertname = "${WATCHDOG_ALERT}"`],
      group_wait: "0s",
      group_interval: HEARTBEAT_REPEAT,
      repeat_interval: HEARTBEAT_REPEAT,
    },
    ...(paging
      ? [
          { receiver: PAGE, matchers: ['severity = "critical"'], repeat_interval: "1h" },
          { receiver: TICKET, matchers: ['severity = "warning"'], repeat_interval: "12h" },
        ]
      : []),
  ];
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: NULL_RECEIVER,
      group_by: ["alertname", "namespace", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "12h",
      routes,
    },
    // A page already says it: the slow-burn ticket of an SLO that is burning fast stays quiet.
    inhibit_rules: [
      {
        source_matchers: ['severity = "critical"', 'slo =~ ".+"'],
        target_matchers: ['severity = "warning"', 'slo =~ ".+"'],
        equal: ["slo", "service"],
      },
    ],
    receivers: receivers(p, stack),
  };
}
