/**
 * The HA layout's one NAT gateway watched (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost):
 * the first cloud server masquerades the private network when any cloud node has no public IPv4
 * (components/hetzner/CloudPool.ts), and losing it cuts the others' egress (image pulls, R2 backups
 * and WAL archiving, Cloudflare's edge). Only a layout with such a gateway gets these alerts.
 */
import type { NodeSpec } from "../config/schema";
import { PORTS } from "../names";
import { MONITORING_NAMESPACE, OBS_PORTS, SERVICES } from "./config";
import type { Rule } from "./slo";

export const NAT_GATEWAY_ALERTS = { down: "NatGatewayDown", egress: "PrivateNodesEgressFailing" } as const;
/** The Probe's job: a TLS handshake with R2's endpoint, the egress WAL archiving and backups need. */
export const NAT_EGRESS_JOB = "nat-egress";
/** A restart of the gateway takes about a minute; two without it is an outage. */
const GATEWAY_DOWN_FOR = "2m";
/** Ten failed probes in a row (every 30 s), not one lost packet. */
const EGRESS_FAILING_FOR = "5m";

export interface NatGateway {
  /** The gateway's node name. */
  node: string;
  /** Its node address, where node-exporter answers. */
  address: string;
  /** The nodes without public IPv4, whose egress goes through it. */
  privateNodes: string[];
}

/** The gateway as CloudPool makes it: the first node, when some cloud node has no public IPv4; none otherwise. */
export function natGatewayOf(nodes: readonly NodeSpec[]): NatGateway | undefined {
  const cloud = nodes.filter((n) => n.kind === "cloud");
  const privateNodes = cloud.filter((n) => !n.publicIpv4).map((n) => n.name);
  const first = nodes[0];
  if (privateNodes.length === 0 || first?.kind !== "cloud") return undefined;
  return { node: first.name, address: first.privateIp, privateNodes };
}

/** The gateway, with where its private nodes' egress is probed: R2's endpoint (https://…) as host:443. */
export function natGatewayWatch(nodes: readonly NodeSpec[], r2Endpoint: string): (NatGateway & { egressTarget: string }) | undefined {
  const gateway = natGatewayOf(nodes);
  return gateway && { ...gateway, egressTarget: `${new URL(r2Endpoint).hostname}:${PORTS.https}` };
}

/**
 * Two alerts. The gateway down: its Node not Ready (kube-state-metrics) or its node-exporter not
 * answering (`up`), each aggregated so one outage is one alert. The private nodes' egress: the
 * blackbox exporter's TLS handshake with R2 failing while the exporter runs on a private node
 * (`kube_pod_info`'s `node`). It is one pod, scheduled anywhere: on the gateway itself it measures
 * the gateway's own egress, not the NAT, and this alert stays silent; the availability SLO's probes
 * still fail there if the gateway's egress does.
 */
export function natGatewayRules(g: NatGateway): Rule[] {
  const prober = `kube_pod_info{namespace="${MONITORING_NAMESPACE}",pod=~"${SERVICES.blackbox}-.*",node=~"${g.privateNodes.join("|")}"}`;
  return [
    {
      alert: NAT_GATEWAY_ALERTS.down,
      expr:
        `(max(kube_node_status_condition{condition="Ready",status="true",node="${g.node}"}) == 0)` +
        ` or (max(up{job="node-exporter",instance="${g.address}:${OBS_PORTS.nodeExporter}"}) == 0)`,
      for: GATEWAY_DOWN_FOR,
      labels: { severity: "critical" },
      annotations: {
        summary: `The NAT gateway ${g.node} is down: ${g.privateNodes.join(", ")} have no egress, and the API endpoint and SSH jump host are gone`,
        description:
          "Restart it if it can be (hcloud server reboot); lost for good, `enclii-infra rebuild-first-server --env <env>` (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost).",
      },
    },
    {
      alert: NAT_GATEWAY_ALERTS.egress,
      expr: `(max(probe_success{job="${NAT_EGRESS_JOB}"}) == 0) and on() (count(${prober}) > 0)`,
      for: EGRESS_FAILING_FOR,
      labels: { severity: "critical" },
      annotations: {
        summary: `A node behind the NAT gateway ${g.node} cannot reach R2 over HTTPS: backups, WAL archiving and image pulls fail there`,
        description: `Measured from the blackbox exporter while it runs on ${g.privateNodes.join(" or ")}. Check the gateway's masquerading (nft list table ip enclii_nat, sysctl net.ipv4.ip_forward) and the network's 0.0.0.0/0 route.`,
      },
    },
  ];
}
