/**
 * The workload baseline (DESIGN §6) as values and small builders, so every component applies
 * the same rules and the policy pack and tests can read them.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { NOT_INTERNET } from "../model/baseline";
import { CLOUDFLARED } from "../model/names";

import Core = k8s.types.input.core.v1;
import Input = k8s.types.input.networking.v1;

export function restrictedPod(uid: number): Core.PodSecurityContext {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}

export const RESTRICTED_CONTAINER: Core.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Pods in the cluster DNS service, for NetworkPolicy egress rules. */
export const DNS_EGRESS: Input.NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

/** Egress to public addresses only (never into the cluster or the private network), on these TCP ports. */
export function internetEgress(ports: number[]): Input.NetworkPolicyEgressRule {
  return { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }], ports: ports.map((port) => ({ protocol: "TCP", port })) };
}

export function inNamespace(namespace: pulumi.Input<string>): Input.NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } };
}

/** The cloudflared pods: what routed workloads (ours and tenants') admit. */
export const FROM_CLOUDFLARED: Input.NetworkPolicyPeer = {
  ...inNamespace(CLOUDFLARED.namespace),
  podSelector: { matchLabels: { ...CLOUDFLARED.labels } },
};

/** Spread replicas over nodes when there are several; never block scheduling on one node. */
export function spreadAcrossNodes(labels: Record<string, string>): Core.TopologySpreadConstraint[] {
  return [
    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } },
  ];
}

export interface NamespaceBaselineArgs {
  namespace: pulumi.Input<string>;
  provider: k8s.Provider;
  parent: pulumi.Resource;
}

/** Default-deny for every pod in the namespace, plus DNS egress to kube-system. */
export function denyAllButDns(name: string, args: NamespaceBaselineArgs): k8s.networking.v1.NetworkPolicy[] {
  const opts = { parent: args.parent, provider: args.provider };
  return [
    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      { metadata: { name: "default-deny", namespace: args.namespace }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      opts,
    ),
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: { name: "allow-dns", namespace: args.namespace },
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [DNS_EGRESS],
        },
      },
      opts,
    ),
  ];
}
