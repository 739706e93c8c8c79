/**
 * The workload baseline (docs/security.md) as values and small builders, so every component applies
 * the same rules and the policy pack and tests can read them.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { NOT_INTERNET } from "../model/baseline";
import { CLOUDFLARED, KUBE_SYSTEM_NAMESPACE, PORTS } from "../model/names";
import { MONITORING_NAMESPACE, POD_LABELS } from "../model/observability/config";

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

/**
 * A Job that runs one restricted container once and is done: a check Pulumi waits for (a failed
 * one fails the update; no retry by the Job itself, the script retries within its deadline).
 */
export function oneShotJobSpec(uid: number, deadlineS: number, container: Core.Container): k8s.types.input.batch.v1.JobSpec {
  return {
    backoffLimit: 0,
    activeDeadlineSeconds: deadlineS,
    template: {
      spec: {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: restrictedPod(uid),
        containers: [{ ...container, securityContext: RESTRICTED_CONTAINER }],
      },
    },
  };
}

/** Pods in the cluster DNS service, for NetworkPolicy egress rules. */
export const DNS_EGRESS: Input.NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": KUBE_SYSTEM_NAMESPACE } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: [
    { protocol: "UDP", port: PORTS.dns },
    { protocol: "TCP", port: PORTS.dns },
  ],
};

export const tcp = (port: number): Input.NetworkPolicyPort => ({ protocol: "TCP", port });

/** Egress to public addresses only (never into the cluster or the private network), on these ports. */
export function internetEgress(ports: Input.NetworkPolicyPort[]): Input.NetworkPolicyEgressRule {
  return { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }], ports };
}

export function inNamespace(namespace: pulumi.Input<string>): Input.NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } };
}

/** Pods with these labels in that namespace. */
export function podsIn(namespace: string, labels: Record<string, string>): Input.NetworkPolicyPeer {
  return { ...inNamespace(namespace), podSelector: { matchLabels: labels } };
}

/** Prometheus's pods: what every scraped workload admits on its metrics port, and nothing more. */
export const FROM_PROMETHEUS: Input.NetworkPolicyPeer = podsIn(MONITORING_NAMESPACE, POD_LABELS.prometheus);

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

/** Nothing in or out for any pod in the namespace: what every explicit allow sits on (the policy pack checks it). */
export function defaultDeny(name: string, args: NamespaceBaselineArgs): k8s.networking.v1.NetworkPolicy {
  return new k8s.networking.v1.NetworkPolicy(
    `${name}-default-deny`,
    { metadata: { name: "default-deny", namespace: args.namespace }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    { parent: args.parent, provider: args.provider },
  );
}

/** Default-deny for every pod in the namespace, plus DNS egress to kube-system. */
export function denyAllButDns(name: string, args: NamespaceBaselineArgs): k8s.networking.v1.NetworkPolicy[] {
  const opts = { parent: args.parent, provider: args.provider };
  return [
    defaultDeny(name, args),
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

export interface DisruptionBudgetArgs {
  /** The PodDisruptionBudget's own name, namespace and labels. */
  metadata: k8s.types.input.meta.v1.ObjectMeta;
  /** The pods' selector labels. */
  labels: Record<string, string>;
  /** The most replicas the workload may run (an autoscaler's maximum counts). */
  replicas: number;
  provider: k8s.Provider;
  parent: pulumi.Resource;
}

/** Drains take one replica at a time; none for a single replica, where a PDB would only block drains. */
export function oneAtATime(name: string, args: DisruptionBudgetArgs): k8s.policy.v1.PodDisruptionBudget | undefined {
  if (args.replicas <= 1) return undefined;
  return new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pdb`,
    { metadata: args.metadata, spec: { maxUnavailable: 1, selector: { matchLabels: args.labels } } },
    { parent: args.parent, provider: args.provider },
  );
}
