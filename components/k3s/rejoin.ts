/**
 * Rejoining a rebuilt first server (`enclii:k3s.joinVia`, docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost):
 * before the new first server joins through a surviving one, the lost server's etcd member is
 * removed there. k3s refuses a second member at the same peer address: a joining server adds
 * itself with `MemberAddAsLearner` at `https://<node-ip>:2380` unless a member of its own name
 * already holds that address (k3s pkg/etcd/etcd.go `join`), and etcd refuses a peer URL it has.
 */
/** The Command on the surviving server: `${cluster}-${first}-forget`. */
export const FORGET_SUFFIX = "-forget";
/** Bounds the wait for k3s to remove the member after the Node is deleted; it takes seconds. */
export const FORGET_TIMEOUT_S = 180;
/** How often etcd's member list is read while waiting. */
const POLL_S = 2;
/**
 * A server NotReady for less than this is not deleted: a reboot takes about a minute, and the
 * command runs again whenever its connection changes (an SSH key rotation), not only after a loss.
 */
export const LOST_AFTER_S = 300;
/** etcd's peer port, the address a member is known by, and its client port. */
export const ETCD_PORTS = { client: 2379, peer: 2380 } as const;

/**
 * k3s's embedded etcd as a server's root reaches it: the client URL on loopback and the client
 * certificate k3s itself uses (pkg/daemons/control/deps/deps.go: `ClientETCDCert` is
 * `<data-dir>/tls/etcd/client.crt`, signed by `tls/etcd/server-ca.crt`, `ETCDServerCA`).
 */
export const K3S_ETCD = { endpoint: `https://127.0.0.1:${ETCD_PORTS.client}`, tlsDir: "/var/lib/rancher/k3s/server/tls/etcd" } as const;

export interface ForgetOptions {
  /** The lost server's node name (its Node object's name). */
  lostNode: string;
  /** Its node address: its etcd member's peer URL is https://<lostIp>:2380. */
  lostIp: string;
  /** Where etcd answers; k3s's unless a test stands in. */
  etcd?: { endpoint: string; tlsDir: string };
  timeoutS?: number;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run on the surviving server, as root, before the first server joins through it. A Ready Node is
 * never deleted (whatever answers is not lost); one NotReady for LOST_AFTER_S or longer is deleted,
 * and k3s removes its etcd member (pkg/etcd/member_controller.go `onRemove`: the Node's
 * `etcd.k3s.cattle.io/node-name` and `node-address` annotations name the member, `RemovePeer`
 * removes it). Then it waits, bounded, until etcd's member list (the v3 gRPC gateway's
 * `POST /v3/cluster/member/list`, which k3s's embedded etcd serves: embed.NewConfig enables the
 * gateway and k3s starts etcd from embed.ConfigFromFile) holds no member at that peer URL.
 */
export function renderForgetScript(o: ForgetOptions): string {
  const etcd = o.etcd ?? K3S_ETCD;
  const timeoutS = o.timeoutS ?? FORGET_TIMEOUT_S;
  return `#!/usr/bin/env bash
# Forget the lost first server's etcd member before it joins again; rendered by components/k3s/rejoin.ts.
set -euo pipefail

LOST=${q(o.lostNode)}
PEER_URL=${q(`https://${o.lostIp}:${ETCD_PORTS.peer}`)}
ETCD=${q(etcd.endpoint)}
TLS=${q(etcd.tlsDir)}

log() { printf '[enclii forget %s] %s\\n' "$LOST" "$*" >&2; }

members() {
  curl -sS --fail --max-time 10 --cacert "$TLS/server-ca.crt" --cert "$TLS/client.crt" --key "$TLS/client.key" \\
    -X POST "$ETCD/v3/cluster/member/list" -d '{}'
}

# "<status> <lastTransitionTime>" of the Node's Ready condition; nothing when there is no such Node.
ready=$(k3s kubectl get node "$LOST" --ignore-not-found -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastTransitionTime}{end}')
status=\${ready%% *}
since=\${ready#* }
if [ "$status" = True ]; then
  log "$LOST is Ready: a server that answers is not forgotten"
  exit 0
fi
if [ -n "$ready" ]; then
  down_s=$(( $(date +%s) - $(date -d "$since" +%s) ))
  if [ "$down_s" -lt ${LOST_AFTER_S} ]; then
    log "$LOST has been NotReady for only \${down_s}s (a reboot?): not deleted before ${LOST_AFTER_S}s; run again once it is back or down that long"
    exit 1
  fi
  log "deleting Node $LOST (NotReady for \${down_s}s): k3s removes its etcd member"
  k3s kubectl delete node "$LOST" --wait=false >&2
fi

deadline=$(( $(date +%s) + ${timeoutS} ))
while :; do
  if list=$(members 2>&1); then
    if ! grep -qF "\\"$PEER_URL\\"" <<<"$list"; then
      log "etcd holds no member at $PEER_URL: $LOST may join again"
      exit 0
    fi
    last="etcd still lists a member at $PEER_URL"
  else
    last="cannot read etcd's member list: $list"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "$last after ${timeoutS}s; remove the member by hand (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost), then run again"
    exit 1
  fi
  sleep ${POLL_S}
done
`;
}
