/**
 * Renders the per-node bootstrap: a bash script run over SSH that converges a fresh Ubuntu host
 * to a k3s node. Idempotent (re-running with the same inputs changes nothing; a new version or
 * config reinstalls in place). Holds no secret: the join token arrives on standard input.
 */
import { stringify } from "yaml";
import { ADMIN_PORTS, K3S_CIDRS, PORTS } from "../../model/names";
import { OBS_PORTS } from "../../model/observability/config";
import { K3S_INSTALL_SCRIPT } from "../../model/pins";
import { renderOsPatchesSection } from "./osPatches";

/** Hetzner's recursive resolvers; private-only servers get no DNS from DHCP. */
const HETZNER_RESOLVERS = ["185.12.64.1", "185.12.64.2"] as const;
const READY_TIMEOUT_S = 300;
/** How long the first boot may hold dpkg's lock (unattended-upgrades, cloud-init's package step). */
const DPKG_LOCK_TIMEOUT_S = 600;
/** How long to wait for the clock to synchronise: tokens are checked against it. */
const TIME_SYNC_TIMEOUT_S = 120;
/** Downloads retried, with curl's backoff, before the bootstrap gives up. */
const DOWNLOAD_RETRIES = 5;
/** The API server's audit log and its policy, on the server's own disk, rotated by the API server. */
export const AUDIT = {
  policyFile: "/etc/rancher/k3s/audit-policy.yaml",
  logFile: "/var/lib/rancher/k3s/server/logs/audit.log",
  maxAgeDays: 30,
  maxBackups: 10,
  maxSizeMb: 100,
} as const;

/**
 * Who did what, never with what: metadata only, so Secret values never reach the log; no
 * health probes, leases or events (they would drown the rest).
 */
export function renderAuditPolicy(): string {
  return stringify({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"] },
      {
        level: "None",
        resources: [
          { group: "coordination.k8s.io", resources: ["leases"] },
          { group: "", resources: ["events"] },
        ],
      },
      { level: "Metadata" },
    ],
  });
}
/** The k3s CIS hardening guide's kernel settings, required by `protect-kernel-defaults`. */
const KUBELET_SYSCTLS: Record<string, string> = {
  "vm.panic_on_oom": "0",
  "vm.overcommit_memory": "1",
  "kernel.panic": "10",
  "kernel.panic_on_oops": "1",
};
/** Longhorn's (open-iscsi, nfs-common), the host firewall's and NAT's (nftables), and the OS security updates' (osPatches.ts). */
export const PACKAGES = ["curl", "open-iscsi", "nfs-common", "nftables", "unattended-upgrades"];
const TOKEN_FILE = "/etc/rancher/k3s/enclii-token";
const STATE_DIR = "/var/lib/enclii";
const K3S_INSTALL_URL = `https://raw.githubusercontent.com/k3s-io/k3s/${K3S_INSTALL_SCRIPT.commit}/install.sh`;

export interface BootstrapOptions {
  nodeName: string;
  role: "server" | "agent";
  k3sVersion: string;
  nodeIp: string;
  /** First server of the cluster: starts embedded etcd (`cluster-init`). */
  clusterInit: boolean;
  /** Join URL for every node but the first. */
  serverUrl?: string;
  /** Extra API certificate names (the public address operators use). */
  tlsSans: string[];
  /** Bind flannel to the interface holding `nodeIp` (the private network). */
  privateNetwork: boolean;
  /** Nodes talking over the internet encrypt pod traffic with WireGuard. */
  encryptPodTraffic: boolean;
  hostFirewall?: { adminCidrs: string[]; peerIps: string[] };
  /** Name of the kube-system Secret holding the S3 settings for etcd snapshots (k3s reads it at snapshot time). */
  etcdS3ConfigSecret?: string;
  egressGateway?: string;
  natFor?: string;
}

/** `/etc/rancher/k3s/config.yaml`: every k3s flag in one reviewable file. */
export function renderK3sConfig(o: BootstrapOptions): string {
  const config: Record<string, unknown> = {
    "node-name": o.nodeName,
    "node-ip": o.nodeIp,
    "token-file": TOKEN_FILE,
    "protect-kernel-defaults": true,
  };
  if (o.serverUrl) config.server = o.serverUrl;
  if (o.role === "server") {
    Object.assign(config, {
      "advertise-address": o.nodeIp,
      "cluster-cidr": K3S_CIDRS.pod,
      "service-cidr": K3S_CIDRS.service,
      disable: ["traefik", "servicelb", "local-storage"],
      "secrets-encryption": true,
      // etcd's metrics on the node address too (2381, plain HTTP, no data): Prometheus scrapes
      // them there; the host firewall and the Hetzner firewall keep the port off the internet.
      "etcd-expose-metrics": true,
      "write-kubeconfig-mode": "0600",
      "tls-san": [...new Set([o.nodeIp, ...o.tlsSans])],
      "kube-apiserver-arg": [
        `audit-policy-file=${AUDIT.policyFile}`,
        `audit-log-path=${AUDIT.logFile}`,
        `audit-log-maxage=${AUDIT.maxAgeDays}`,
        `audit-log-maxbackup=${AUDIT.maxBackups}`,
        `audit-log-maxsize=${AUDIT.maxSizeMb}`,
      ],
    });
    if (o.clusterInit) config["cluster-init"] = true;
    if (o.etcdS3ConfigSecret) Object.assign(config, { "etcd-s3": true, "etcd-s3-config-secret": o.etcdS3ConfigSecret });
    if (o.encryptPodTraffic) config["flannel-backend"] = "wireguard-native";
  }
  return stringify(config, { sortMapEntries: true });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where pod traffic enters the host: the CNI bridge and flannel's VXLAN or WireGuard device. */
export const POD_INTERFACES = ["cni0", "flannel.1", "flannel-wg"];
/**
 * What pods reach on the host itself: the API server (the `kubernetes` Service's endpoints), the
 * kubelet (metrics-server, Prometheus) and what Prometheus scrapes at node addresses
 * (components/observability/network.ts): node-exporter on the host network and embedded etcd's
 * metrics. Not sshd, not etcd's client and peer ports (2379, 2380), and no DNS: CoreDNS is a pod
 * and forwards to the resolvers in systemd-resolved's upstream list, never to the host.
 */
const POD_TO_HOST_PORTS = [OBS_PORTS.etcdMetrics, PORTS.kubernetesApi, OBS_PORTS.nodeExporter, OBS_PORTS.kubelet];
export const FIREWALL_FILE = "/etc/enclii/firewall.nft";
/** Where the NAT gateway's script lives; its boot unit runs it. */
export const NAT_SCRIPT = "/usr/local/sbin/enclii-nat";
/** The egress nodes' resolver drop-in (systemd-resolved reads `*.conf` here, so a staged `.new` is ignored). */
const RESOLVED_DROP_IN_DIR = "/etc/systemd/resolved.conf.d";
export const RESOLVED_DROP_IN = `${RESOLVED_DROP_IN_DIR}/enclii.conf`;

/**
 * The host's own table. Pod traffic is admitted by the interface it arrives on, never by its
 * source address alone: an address can be forged by anyone who can send to the public
 * interface. Pod and Service addresses arriving anywhere else are dropped before routing
 * (prerouting), so a forged one is neither delivered to the host nor forwarded into the pod network.
 */
export function nftRules(fw: NonNullable<BootstrapOptions["hostFirewall"]>): string {
  const peers = fw.peerIps.length > 0 ? `    ip saddr { ${fw.peerIps.join(", ")} } accept comment "cluster peers"\n` : "";
  const podInterfaces = POD_INTERFACES.map((i) => `"${i}"`).join(", ");
  return `table inet enclii_host
delete table inet enclii_host
table inet enclii_host {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    ip saddr { ${K3S_CIDRS.pod}, ${K3S_CIDRS.service} } iifname != { "lo", ${podInterfaces} } counter drop comment "pod and service addresses only from pod interfaces"
  }
  chain input {
    type filter hook input priority filter + 10; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "lo" accept
    iifname { ${podInterfaces} } tcp dport { ${POD_TO_HOST_PORTS.join(", ")} } accept comment "pods to the API server, kubelet and metrics"
    meta l4proto { icmp, ipv6-icmp } accept
    tcp dport { ${Object.values(ADMIN_PORTS).join(", ")} } ip saddr { ${fw.adminCidrs.join(", ")} } accept comment "admin CIDRs"
${peers}  }
}
`;
}

/**
 * The NAT gateway's own table: the private network's traffic leaving by the public interface
 * (`iface`) is masqueraded. nftables rather than iptables: the bootstrap installs nftables (a
 * Debian cloud image does not ship iptables), and the host firewall is nftables too. Replacing
 * the table whole makes a re-run (or a changed interface) leave one rule, never a second.
 */
export function natRules(natFor: string, iface: string): string {
  return `table ip enclii_nat
delete table ip enclii_nat
table ip enclii_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${natFor} oifname "${iface}" masquerade
  }
}
`;
}

function section(title: string, body: string): string {
  return `\n# --- ${title}\n${body.trim()}\n`;
}

function persistentUnit(unit: string, description: string, execStart: string): string {
  return `cat > /etc/systemd/system/${unit}.service <<'UNIT'
[Unit]
Description=${description}
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${execStart}

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable ${unit}.service
systemctl restart ${unit}.service`;
}

/**
 * k3s upgrades one minor at a time and never downgrades (k3s docs, Upgrades; Kubernetes' version
 * skew policy): the running version, if any, against $K3S_VERSION, before anything is installed.
 * Sets $running for the adoption check after it.
 */
export const K3S_VERSION_GUARD = `running=$(k3s --version 2>/dev/null | awk 'NR == 1 {print $3}' || true)
if [ -n "$running" ]; then
  have=\${running#v1.}
  have=\${have%%.*}
  want=\${K3S_VERSION#v1.}
  want=\${want%%.*}
  if [ "$want" -gt $((have + 1)) ]; then
    log "k3s $running -> $K3S_VERSION skips a minor: upgrade one minor at a time (set enclii:k3s.version to a v1.$((have + 1)) release, pulumi up, then the next)"
    exit 1
  fi
  if [ "$want" -lt "$have" ]; then
    log "k3s $running -> $K3S_VERSION is a downgrade, which k3s does not support"
    exit 1
  fi
fi`;

/**
 * The downloaded install script ($K3S_INSTALL_SCRIPT) runs as root only if it is byte for byte the
 * pinned one ($K3S_INSTALL_SHA256, model/pins.ts): a changed file at the URL, or anything between
 * here and GitHub, stops the bootstrap before it runs.
 */
export const K3S_INSTALL_CHECK = `if ! printf '%s  %s\\n' "$K3S_INSTALL_SHA256" "$K3S_INSTALL_SCRIPT" | sha256sum -c --status; then
  log "refusing to run the k3s install script: $K3S_INSTALL_URL has sha256 $(sha256sum < "$K3S_INSTALL_SCRIPT" | cut -d' ' -f1), not the pinned $K3S_INSTALL_SHA256 (K3S_INSTALL_SCRIPT in model/pins.ts)"
  rm -f "$K3S_INSTALL_SCRIPT"
  exit 1
fi`;

export function renderBootstrapScript(o: BootstrapOptions): string {
  const parts: string[] = [];
  parts.push(`#!/usr/bin/env bash
# Enclii k3s bootstrap for node ${o.nodeName} (${o.role}), rendered by components/k3s/bootstrap.ts.
# Idempotent; reads the cluster join token on standard input.
set -euo pipefail

NODE_NAME=${q(o.nodeName)}
NODE_IP=${q(o.nodeIp)}
K3S_VERSION=${q(o.k3sVersion)}
K3S_INSTALL_URL=${q(K3S_INSTALL_URL)}
K3S_INSTALL_SHA256=${q(K3S_INSTALL_SCRIPT.sha256)}
K3S_INSTALL_SCRIPT=${STATE_DIR}/k3s-install.sh
export DEBIAN_FRONTEND=noninteractive

log() { printf '[enclii %s] %s\\n' "$NODE_NAME" "$*" >&2; }

IFS= read -r K3S_TOKEN || true
if [ -z "$K3S_TOKEN" ]; then
  log "no join token on standard input"
  exit 1
fi
mkdir -p /etc/rancher/k3s ${STATE_DIR}
`);

  if (o.egressGateway) {
    const resolved = `[Resolve]\nDNS=${HETZNER_RESOLVERS.join(" ")}\n`;
    parts.push(
      section(
        "egress through the NAT gateway (this node has no public IPv4)",
        `mkdir -p ${RESOLVED_DROP_IN_DIR}
# Restarted only when the drop-in changes: a restart drops resolved's cache and, for a moment,
# every lookup on the node.
printf '%s' ${q(resolved)} > ${RESOLVED_DROP_IN}.new
if cmp -s ${RESOLVED_DROP_IN}.new ${RESOLVED_DROP_IN}; then
  rm ${RESOLVED_DROP_IN}.new
else
  mv ${RESOLVED_DROP_IN}.new ${RESOLVED_DROP_IN}
  systemctl restart systemd-resolved
fi
${persistentUnit("enclii-default-route", "Default route through the Enclii NAT gateway", `/usr/sbin/ip route replace default via ${o.egressGateway}`)}`,
      ),
    );
  }
  const sysctls = Object.entries(KUBELET_SYSCTLS)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
  parts.push(
    section(
      "first boot: let cloud-init finish, and a synchronised clock",
      `if command -v cloud-init >/dev/null 2>&1; then
  cloud-init status --wait >/dev/null || log "cloud-init reported errors; going on"
fi
timedatectl set-ntp true || log "could not enable NTP"
deadline=$(( $(date +%s) + ${TIME_SYNC_TIMEOUT_S} ))
until [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = "yes" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "the clock is not synchronised after ${TIME_SYNC_TIMEOUT_S}s; tokens would be judged against a wrong time"
    exit 1
  fi
  sleep 2
done`,
    ),
  );
  parts.push(
    section(
      "prerequisites: packages, kernel settings for protect-kernel-defaults",
      `missing=()
for pkg in ${PACKAGES.join(" ")}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "\${#missing[@]}" -gt 0 ]; then
  log "installing \${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S} update -q
  apt-get -o DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S} install -y -q "\${missing[@]}"
fi
systemctl enable --now iscsid
echo iscsi_tcp > /etc/modules-load.d/enclii-longhorn.conf
modprobe iscsi_tcp
cat > /etc/sysctl.d/90-enclii-kubelet.conf <<'SYSCTL'
${sysctls}
SYSCTL
sysctl -q -p /etc/sysctl.d/90-enclii-kubelet.conf`,
    ),
  );
  parts.push(
    section(
      "OS security updates: the security suite daily, never a reboot (kured reboots, in the maintenance window)",
      renderOsPatchesSection(),
    ),
  );

  if (o.natFor) {
    parts.push(
      section(
        `NAT gateway for ${o.natFor} (after the packages: nft comes with nftables, installed above)`,
        `cat > ${NAT_SCRIPT} <<'NAT'
#!/bin/sh
set -eu
sysctl -q -w net.ipv4.ip_forward=1
iface=$(ip -o -4 route show to default | awk '{print $5; exit}')
nft -f - <<RULES
${natRules(o.natFor, "$iface").trimEnd()}
RULES
NAT
chmod 0755 ${NAT_SCRIPT}
${persistentUnit("enclii-nat", "Masquerade the Enclii private network", NAT_SCRIPT)}`,
      ),
    );
  }

  if (o.hostFirewall) {
    parts.push(
      section(
        "host firewall: inbound SSH and 6443 from admin CIDRs only (Hetzner Cloud firewalls do not cover this host)",
        `mkdir -p /etc/enclii
# Staged beside the live file: only a ruleset that parses and passes the lockout guard replaces it,
# so a refused run leaves the previous one for the next boot.
cat > ${FIREWALL_FILE}.new <<'NFT'
${nftRules(o.hostFirewall).trimEnd()}
NFT
nft -c -f ${FIREWALL_FILE}.new
ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<< "$1"
  echo $(( (a << 24) | (b << 16) | (c << 8) | d ))
}
admin_cidrs=(${o.hostFirewall.adminCidrs.join(" ")})
from_admin_cidr() {
  local ip cidr bits mask
  ip=$(ip_to_int "$1")
  for cidr in "\${admin_cidrs[@]}"; do
    bits=\${cidr#*/}
    mask=$(( bits == 0 ? 0 : (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF ))
    if (( (ip & mask) == ($(ip_to_int "\${cidr%/*}") & mask) )); then return 0; fi
  done
  return 1
}
ssh_from=\${SSH_CLIENT:-}
ssh_from=\${ssh_from%% *}
if [ -n "$ssh_from" ] && { [[ $ssh_from == *:* ]] || ! from_admin_cidr "$ssh_from"; }; then
  log "this SSH session comes from $ssh_from, outside enclii:adminCidrs (IPv4); the firewall would lock it out"
  exit 1
fi
mv ${FIREWALL_FILE}.new ${FIREWALL_FILE}
${persistentUnit("enclii-firewall", "Enclii host firewall", `/usr/sbin/nft -f ${FIREWALL_FILE}`)}`,
      ),
    );
  }

  const installExec = o.role === "server" ? "server" : "agent";
  const service = o.role === "server" ? "k3s" : "k3s-agent";
  const flannel = o.privateNetwork
    ? `iface=$(ip -o -4 addr show | awk -v ip="$NODE_IP" '{split($4, a, "/")} a[1] == ip {print $2; exit}')
if [ -z "$iface" ]; then
  log "no interface holds $NODE_IP"
  exit 1
fi
printf 'flannel-iface: %s\\n' "$iface" >> /etc/rancher/k3s/config.yaml.new`
    : "";
  const wait =
    o.role === "server"
      ? `until k3s kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; do`
      : `until systemctl is-active --quiet ${service}; do`;
  parts.push(
    section(
      `k3s ${o.k3sVersion} (${o.role})`,
      `(umask 077 && printf '%s\\n' "$K3S_TOKEN" > ${TOKEN_FILE})
${
  o.role === "server"
    ? `cat > ${AUDIT.policyFile} <<'AUDIT'
${renderAuditPolicy().trimEnd()}
AUDIT
`
    : ""
}cat > /etc/rancher/k3s/config.yaml.new <<'K3S'
${renderK3sConfig(o).trimEnd()}
K3S
${flannel}
# A running node whose config changes is restarted below: say what changes first.
same_config=no
if [ -f /etc/rancher/k3s/config.yaml ]; then
  if cmp -s /etc/rancher/k3s/config.yaml /etc/rancher/k3s/config.yaml.new; then
    same_config=yes
  else
    log "k3s config changes (k3s restarts to apply it):"
    diff -u /etc/rancher/k3s/config.yaml /etc/rancher/k3s/config.yaml.new >&2 || true
  fi
fi
${K3S_VERSION_GUARD}
mv /etc/rancher/k3s/config.yaml.new /etc/rancher/k3s/config.yaml
wanted="$K3S_VERSION $(sha256sum /etc/rancher/k3s/config.yaml | cut -d' ' -f1)"
# Installed before this program (adoption): the same version with the same config is left running.
if [ ! -f ${STATE_DIR}/k3s-installed ] && [ "$running" = "$K3S_VERSION" ] && [ "$same_config" = yes ]; then
  log "k3s $K3S_VERSION already runs with this config: taken over as it is"
  echo "$wanted" > ${STATE_DIR}/k3s-installed
fi
if [ "$(cat ${STATE_DIR}/k3s-installed 2>/dev/null || true)" != "$wanted" ]; then
  log "installing k3s $K3S_VERSION"
  curl -sfL --retry ${DOWNLOAD_RETRIES} --retry-all-errors "$K3S_INSTALL_URL" -o "$K3S_INSTALL_SCRIPT"
${K3S_INSTALL_CHECK.replace(/^/gm, "  ")}
  INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC=${installExec} sh "$K3S_INSTALL_SCRIPT"
  echo "$wanted" > ${STATE_DIR}/k3s-installed
fi
deadline=$(( $(date +%s) + ${READY_TIMEOUT_S} ))
${wait}
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "k3s not ready after ${READY_TIMEOUT_S}s"
    exit 1
  fi
  sleep 5
done
log "ready: k3s $K3S_VERSION on $NODE_IP"`,
    ),
  );
  return parts.join("");
}
