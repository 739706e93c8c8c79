/**
 * The two steps around each node's bootstrap that make a k3s upgrade roll through the cluster one
 * node at a time (docs/runbooks/upgrades.md#upgrading-k3s): bash scripts run over SSH on the first
 * server, which has `k3s kubectl` with the admin kubeconfig. Before the bootstrap, "drain" cordons
 * the node and evicts its pods through the eviction API (PodDisruptionBudgets hold it); after it,
 * "uncordon" waits for the node to be Ready on the new version and makes it schedulable again.
 * Both do nothing on a first install and on a node that already runs the wanted version, so they
 * are safe to run again after an interruption. Pure: no Pulumi here.
 */
import { minutesOf, type MaintenanceWindow } from "../../model/config/maintenance";

/** How long one node's drain may take: evictions a PodDisruptionBudget refuses are retried by kubectl until then. */
export const DRAIN_TIMEOUT_S = 600;
/** How long an upgraded node has to come back Ready on the new version (the bootstrap waits 300 s for its own part). */
export const UPGRADED_READY_TIMEOUT_S = 300;
/** Between two looks at the node while it comes back. */
const POLL_INTERVAL_S = 5;
/** Set on a node we cordoned, to the version it was drained for: only such a node is uncordoned afterwards. */
export const DRAINED_FOR_ANNOTATION = "enclii.io/drained-for";
export const DRAIN_SUFFIX = "-drain";
export const UNCORDON_SUFFIX = "-uncordon";

export interface UpgradeStepOptions {
  nodeName: string;
  k3sVersion: string;
  /** Overrides for the tests against a real API server, which cannot wait ten minutes. */
  drainTimeoutS?: number;
  readyTimeoutS?: number;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * One line per node: `<Ready status>;<kubelet version>;<unschedulable>;<our annotation>`, or
 * nothing when the Node does not exist (`--ignore-not-found`); any other error fails the script.
 * k3s reports its own version as the kubelet's (`v1.35.8+k3s1`), the form `enclii:k3s.version` has.
 */
const NODE_STATE_JSONPATH = `{.status.conditions[?(@.type=="Ready")].status};{.status.nodeInfo.kubeletVersion};{.spec.unschedulable};{.metadata.annotations.${DRAINED_FOR_ANNOTATION.replace(".", "\\.")}}`;
const READY_NODES_JSONPATH = `{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`;

function preamble(step: string, o: UpgradeStepOptions): string {
  return `#!/usr/bin/env bash
# Enclii k3s upgrade, ${step} of node ${o.nodeName}: rendered by components/k3s/upgrade.ts, run on the first server.
set -euo pipefail

NODE_NAME=${q(o.nodeName)}
K3S_VERSION=${q(o.k3sVersion)}
ANNOTATION=${q(DRAINED_FOR_ANNOTATION)}

log() { printf '[enclii %s] %s\\n' "$NODE_NAME" "$*" >&2; }
node_state() { k3s kubectl get node "$NODE_NAME" --ignore-not-found -o jsonpath=${q(NODE_STATE_JSONPATH)}; }

`;
}

/** The window as people read it: `sat, sun 03:00-05:00 Europe/Berlin`. */
export function describeWindow(w: MaintenanceWindow): string {
  return `${w.days.join(", ")} ${w.start}-${w.end} ${w.timeZone}`;
}

/**
 * Run before the node's bootstrap. With another Ready node to take the pods: annotate, then
 * `kubectl drain` (cordon, then evictions, which PodDisruptionBudgets may refuse; kubectl retries
 * them until the timeout). A drain that cannot finish is undone (uncordoned, annotation removed)
 * and stops the update before the bootstrap. With no other Ready node there is nowhere to move
 * pods: no drain, and the upgrade goes on only inside the maintenance window.
 */
export function renderDrainScript(o: UpgradeStepOptions & { maintenance: MaintenanceWindow }): string {
  const w = o.maintenance;
  const timeoutS = o.drainTimeoutS ?? DRAIN_TIMEOUT_S;
  const window = describeWindow(w);
  return `${preamble("drain", o)}DRAIN_TIMEOUT_S=${timeoutS}
WINDOW=${q(window)}
WINDOW_DAYS=${q(` ${w.days.join(" ")} `)}

if ! command -v k3s >/dev/null 2>&1; then
  log "k3s is not installed on the first server yet (a new cluster): nothing to drain"
  exit 0
fi
state=$(node_state)
if [ -z "$state" ]; then
  log "node $NODE_NAME is not in the cluster yet: nothing to drain"
  exit 0
fi
IFS=';' read -r _ kubelet unschedulable drained_for <<< "$state"
if [ "$kubelet" = "$K3S_VERSION" ]; then
  log "node $NODE_NAME already runs k3s $K3S_VERSION: nothing to drain"
  exit 0
fi

others=$(k3s kubectl get nodes -o jsonpath=${q(READY_NODES_JSONPATH)} | awk -v self="$NODE_NAME" '$1 != self && $2 == "True"' | wc -l)
if [ "$others" -eq 0 ]; then
  log "node $NODE_NAME is the only Ready node: its pods have nowhere to go, so it is not drained. Upgrading k3s $kubelet -> $K3S_VERSION stops the Kubernetes API while k3s restarts; containers keep running through the restart, but may restart once for the new kubelet"
  now=$(TZ=${q(w.timeZone)} LC_ALL=C date +'%a %H:%M')
  day=\${now%% *}
  hhmm=\${now#* }
  minute=$(( 10#\${hhmm%:*} * 60 + 10#\${hhmm#*:} ))
  case "$WINDOW_DAYS" in
    *" \${day,,} "*) in_days=yes ;;
    *) in_days=no ;;
  esac
  if [ "$in_days" = yes ] && [ "$minute" -ge ${minutesOf(w.start)} ] && [ "$minute" -lt ${minutesOf(w.end)} ]; then
    log "inside the maintenance window ($WINDOW; it is $now there): upgrading"
    exit 0
  fi
  log "not upgrading node $NODE_NAME outside the maintenance window ($WINDOW; it is $now there): nothing was changed. Run pulumi up inside the window, or, in an emergency, widen enclii:maintenance for this run (docs/runbooks/upgrades.md#the-maintenance-window)"
  exit 1
fi

# Ours only if we cordon it: a node a person cordoned stays cordoned after the upgrade.
if [ "$unschedulable" = true ] && [ -z "$drained_for" ]; then
  log "node $NODE_NAME was cordoned before this run, not by enclii: it is drained and stays cordoned after the upgrade"
  ours=no
else
  k3s kubectl annotate --overwrite node "$NODE_NAME" "$ANNOTATION=$K3S_VERSION" >/dev/null
  ours=yes
fi
log "draining node $NODE_NAME for k3s $kubelet -> $K3S_VERSION (evictions respect PodDisruptionBudgets; at most \${DRAIN_TIMEOUT_S}s)"
if ! k3s kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="\${DRAIN_TIMEOUT_S}s"; then
  if [ "$ours" = yes ]; then
    k3s kubectl uncordon "$NODE_NAME" >/dev/null
    k3s kubectl annotate node "$NODE_NAME" "$ANNOTATION-" >/dev/null
    now_state="it is schedulable again"
  else
    now_state="it stays cordoned, as it was before this run"
  fi
  log "pods still on node $NODE_NAME (DaemonSets' pods stay by design):"
  k3s kubectl get pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" \\
    -o custom-columns='NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind,PHASE:.status.phase' \\
    | awk '$3 != "DaemonSet"' >&2 || true
  log "node $NODE_NAME could not be drained within \${DRAIN_TIMEOUT_S}s (kubectl's reason is above): $now_state and nothing was upgraded. Free the pods listed above (a PodDisruptionBudget that allows no disruption, a pod without a controller), then run pulumi up again (docs/runbooks/upgrades.md#when-a-drain-stops)"
  exit 1
fi
log "node $NODE_NAME is drained"
`;
}

/**
 * Run after the node's bootstrap: waits until the node is Ready and reports the wanted version,
 * then uncordons it if we cordoned it (our annotation), removing the annotation last so an
 * interrupted run uncordons on the next one.
 */
export function renderUncordonScript(o: UpgradeStepOptions): string {
  const timeoutS = o.readyTimeoutS ?? UPGRADED_READY_TIMEOUT_S;
  return `${preamble("uncordon", o)}READY_TIMEOUT_S=${timeoutS}

deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
while :; do
  # The API may be away for a moment: this runs right after the node's k3s restarted.
  state=$(node_state 2>/dev/null || true)
  IFS=';' read -r ready kubelet unschedulable drained_for <<< "$state"
  if [ "$ready" = True ] && [ "$kubelet" = "$K3S_VERSION" ]; then break; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "node $NODE_NAME is not Ready on k3s $K3S_VERSION after \${READY_TIMEOUT_S}s (Ready: \${ready:-unknown}, version: \${kubelet:-unknown}): left as it is. Look at k3s on that node (journalctl -u k3s, or -u k3s-agent on an agent), then run pulumi up again"
    exit 1
  fi
  sleep ${POLL_INTERVAL_S}
done
if [ -n "$drained_for" ]; then
  k3s kubectl uncordon "$NODE_NAME" >/dev/null
  k3s kubectl annotate node "$NODE_NAME" "$ANNOTATION-" >/dev/null
  log "node $NODE_NAME is Ready on k3s $K3S_VERSION: uncordoned"
elif [ "$unschedulable" = true ]; then
  log "node $NODE_NAME is Ready on k3s $K3S_VERSION; it was cordoned, not by enclii, and stays so"
else
  log "node $NODE_NAME is Ready on k3s $K3S_VERSION"
fi
`;
}
