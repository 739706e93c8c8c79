/**
 * The alert for a node that has waited too long for its reboot after a security update. kured
 * (components/k3s/Kured.ts) exports `kured_reboot_required`, 1 while the node's reboot sentinel
 * exists, labelled with the node's name and refreshed every minute (kubereboot/kured
 * cmd/kured/main.go, maintainRebootRequiredMetric), whether or not the window is open.
 */
import { WEEKDAYS, type MaintenanceWindow, type Weekday } from "../config/maintenance";
import type { RuleGroup } from "./slo";

export const REBOOT_PENDING_ALERT = "NodeRebootPending";
export const REBOOT_REQUIRED_METRIC = "kured_reboot_required";
const DAYS_PER_WEEK = WEEKDAYS.length;

/** The longest wait, in days, from one window day to the next: 7 with one day a week, 1 with every day. */
export function longestGapDays(days: readonly Weekday[]): number {
  const open = [...new Set(days.map((d) => WEEKDAYS.indexOf(d)))].sort((a, b) => a - b);
  return Math.max(...open.map((day, i) => ((open[(i + 1) % open.length] - day + DAYS_PER_WEEK - 1) % DAYS_PER_WEEK) + 1));
}

/**
 * A node that needs a reboot reaches a window within the longest gap between window days; a day
 * more is its grace (a window spent waiting for an alert to clear) before a person is told.
 */
export function rebootPendingDays(window: MaintenanceWindow): number {
  return longestGapDays(window.days) + 1;
}

/**
 * Per node, across kured's pod restarts (the pod's labels differ, the node's does not). Pending
 * for days, so kured's own alert filter must leave it out, or it would hold every reboot it waits for.
 */
export function rebootRuleGroups(window: MaintenanceWindow): RuleGroup[] {
  const days = rebootPendingDays(window);
  return [
    {
      name: "node-reboots",
      rules: [
        {
          alert: REBOOT_PENDING_ALERT,
          expr: `max by (node) (${REBOOT_REQUIRED_METRIC}) == 1`,
          for: `${days}d`,
          labels: { severity: "warning" },
          annotations: {
            summary: `Node {{ $labels.node }} has needed a reboot for ${days} days: kured has not rebooted it`,
            description:
              "A security update (a kernel, libc) waits for a reboot. kured reboots one node at a time inside enclii:maintenance, and waits while an alert is active or a drain cannot finish; a single-node cluster always waits for a person (docs/runbooks/os-patches.md).",
          },
        },
      ],
    },
  ];
}
