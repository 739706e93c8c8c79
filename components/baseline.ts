/**
 * The workload baseline (DESIGN §6) as values and small builders, so every component applies
 * the same rules and the policy pack and tests can read them.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CLOUDFLARED } from "./edge/routes";

import Core = k8s.types.input.core.v1;
import Input = k8s.types.input.networking.v1;

export const RESTRICTED_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
} as const;

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Why an image reference is not pinned (no tag, `latest`, a bad tag), or undefined when it is: a version tag or a sha256 digest. */
export function imageProblem(image: string): string | undefined {
  if (DIGEST.test(image)) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  if (colon < 0) return `"${image}" has no tag; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  const tag = last.slice(colon + 1);
  if (tag === "latest") return `"${image}" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)`;
  if (!TAG.test(tag)) return `"${image}" has an invalid tag "${tag}"`;
  return undefined;
}
/** A pod that really needs the Kubernetes API says why in this annotation (non-empty); the policy pack checks it. */
export const NEEDS_TOKEN_ANNOTATION = "enclii.dev/needs-service-account-token";

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

/** Private and link-local ranges: 10/8 covers the Hetzner network and k3s's 10.42/16 and 10.43/16. */
export const NOT_INTERNET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];

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
