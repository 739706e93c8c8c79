/**
 * kured's chart values and the one NetworkPolicy it needs, as data (docs/runbooks/os-patches.md).
 * Value names are the pinned chart's (kubereboot/charts charts/kured/values.yaml at kured-6.1.0,
 * each rendered into a flag by templates/daemonset.yaml); the flags' meaning is kured 1.23.0's
 * (cmd/kured/main.go).
 */
import type * as k8s from "@pulumi/kubernetes";
import type { MaintenanceWindow } from "../../model/config/maintenance";
import { MONITORING_NAMESPACE, OBS_PORTS, POD_LABELS, PROMETHEUS_URL } from "../../model/observability/config";
import { WATCHDOG_ALERT } from "../../model/observability/platformRules";
import { REBOOT_PENDING_ALERT } from "../../model/observability/rebootRules";
import { CHARTS, IMAGES } from "../../model/pins";
import { podsIn, tcp } from "../baseline";
import { DRAIN_TIMEOUT_S } from "./upgrade";

export const KURED = {
  /** The release's name, so the chart's fullname (its DaemonSet, the lock's holder) is `kured`. */
  name: "kured",
  namespace: CHARTS.kured.namespace,
  /** What the chart puts on its pods (templates/_helpers.tpl, kured.labels). */
  podLabels: { "app.kubernetes.io/name": "kured" },
  /** Set on the DaemonSet by the node that holds the reboot lock; kured's own default name. */
  lockAnnotation: "weave.works/kured-node-lock",
  metricsPort: 8080,
} as const;

/** Written by a kernel or libc package's postinst (unattended-upgrades' kernel hook, update-notifier on Ubuntu). */
export const REBOOT_SENTINEL = "/var/run/reboot-required";
/** How often each node checks for a reboot (kured's default is an hour): several nodes fit in one window, one at a time. */
export const CHECK_PERIOD_M = 10;
/** Longhorn's instance-manager pods (longhorn-manager types/types.go, GetInstanceManagerLabels). */
export const LONGHORN_INSTANCE_MANAGER_SELECTOR = "longhorn.io/component=instance-manager";
/**
 * Alerts that never hold a reboot: Watchdog always fires (platformRules.ts), and kured's own is
 * pending for days while the reboot waits. InfoInhibitor is not here because it is not rendered
 * (kube-prometheus-stack's `general` rules are off, metricsValues.ts); were it on, it would fire
 * only beside an info alert, which holds reboots by itself.
 */
export const ALERTS_NOT_HOLDING_REBOOTS = [WATCHDOG_ALERT, REBOOT_PENDING_ALERT] as const;
/** kured ignores the alerts whose name this matches (--alert-filter-regexp; pkg/blockers/prometheus.go, matchesRegex). */
export const ALERT_FILTER = `^(${ALERTS_NOT_HOLDING_REBOOTS.join("|")})$`;

export interface KuredValuesArgs {
  window: MaintenanceWindow;
  nodeCount: number;
  /** Observability is on: reboots wait for Prometheus's alerts, and Prometheus scrapes kured. */
  prometheus: boolean;
}

const [repository, tag] = IMAGES.kured.split(/:(?=[^:]+$)/);

export function kuredValues(a: KuredValuesArgs): Record<string, unknown> {
  return {
    image: { repository, tag },
    configuration: {
      rebootDays: [...a.window.days],
      startTime: a.window.start,
      endTime: a.window.end,
      timeZone: a.window.timeZone,
      period: `${CHECK_PERIOD_M}m`,
      // One node holds the lock at a time; a drain that cannot finish releases it and reboots nothing.
      concurrency: 1,
      lockAnnotation: KURED.lockAnnotation,
      // A k3s upgrade's drain gives up after as long; this one then uncordons and reboots nothing.
      drainTimeout: `${DRAIN_TIMEOUT_S}s`,
      forceReboot: false,
      rebootSentinel: REBOOT_SENTINEL,
      metricsPort: KURED.metricsPort,
      // One node holds the only replica of every Longhorn volume, so its instance manager's
      // PodDisruptionBudget would stop the drain after everything else had been evicted, at every
      // check in every window: the reboot is held before the drain instead, for a person.
      ...(a.nodeCount === 1 && { blockingPodSelector: [LONGHORN_INSTANCE_MANAGER_SELECTOR] }),
      // Every alert, pending or firing, holds reboots (kured's query errors hold them too).
      ...(a.prometheus && { prometheusUrl: PROMETHEUS_URL, alertFilterRegexp: ALERT_FILTER }),
    },
    // The chart's ServiceMonitor, in the monitoring namespace beside the others.
    metrics: a.prometheus ? { create: true, namespace: MONITORING_NAMESPACE } : { create: false },
  };
}

/**
 * Added to the monitoring namespace's own policies (NetworkPolicies add up): Prometheus admits
 * kured's alert queries and reaches kured's metrics, and nothing else changes.
 */
export function prometheusKuredPolicy(): k8s.types.input.networking.v1.NetworkPolicySpec {
  const kured = podsIn(KURED.namespace, KURED.podLabels);
  return {
    podSelector: { matchLabels: POD_LABELS.prometheus },
    policyTypes: ["Ingress", "Egress"],
    ingress: [{ from: [kured], ports: [tcp(OBS_PORTS.prometheus)] }],
    egress: [{ to: [kured], ports: [tcp(KURED.metricsPort)] }],
  };
}
