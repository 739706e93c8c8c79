/**
 * `enclii:k3s.joinVia`: the first server joins the cluster through a surviving server instead of
 * starting etcd anew (docs/runbooks/lost-node.md#the-ha-layouts-gateway-is-lost). Only a server
 * holds an etcd member to join through, and only one other than the first survives its loss.
 */
import { NAMESPACE } from "../config/schema";

export const JOIN_VIA_KEY = `${NAMESPACE}:k3s.joinVia`;
/** Where a cluster with no second server is rebuilt instead. */
export const SINGLE_NODE_RUNBOOK = "docs/runbooks/lost-node.md#rebuilding-a-lost-single-node";

interface Named {
  name: string;
  role: "server" | "agent";
}

/** The servers the first one may join through: every server but the first, in config order. */
export function survivingServers(nodes: readonly Named[]): string[] {
  return nodes
    .filter((n) => n.role === "server")
    .slice(1)
    .map((n) => n.name);
}

/** Why a cluster cannot rejoin its first server, or undefined when it can: it needs a second server. */
export function noSurvivor(nodes: readonly Named[]): string | undefined {
  return survivingServers(nodes).length === 0
    ? `a cluster with one server has no surviving etcd member to join; rebuild it as in ${SINGLE_NODE_RUNBOOK}`
    : undefined;
}

/** What is wrong with `via` as the server to join through, or undefined. */
export function joinViaProblem(via: string, nodes: readonly Named[]): string | undefined {
  const lonely = noSurvivor(nodes);
  if (lonely) return lonely;
  const survivors = survivingServers(nodes);
  if (survivors.includes(via)) return undefined;
  const why = via === nodes[0]?.name ? "is the first server, the one that joins" : "is not a server of this stack";
  return `"${via}" ${why}; name a surviving server: ${survivors.join(", ")}`;
}

/** The config rule: reported with every other problem before anything is registered. */
export function checkJoinVia(via: string | undefined, nodes: readonly Named[]): string[] {
  const problem = via === undefined || nodes.length === 0 ? undefined : joinViaProblem(via, nodes);
  return problem ? [`${JOIN_VIA_KEY}: ${problem}`] : [];
}
