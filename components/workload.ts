/**
 * A Deployment's spec as plain data with the workload baseline (docs/security.md) applied once, for
 * every layer's own workloads: the restricted security context on the pod and its container,
 * replicas spread over nodes, rolling updates that never drop below the desired count, no service
 * links, and no API token unless the pods say why they need one.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { NEEDS_TOKEN_ANNOTATION } from "../model/baseline";
import { RESTRICTED_CONTAINER, restrictedPod, spreadAcrossNodes } from "./baseline";

type Container = k8s.types.input.core.v1.Container;

const REVISIONS_KEPT = 5;

export interface WorkloadArgs {
  /** The selector's labels: the pods carry them, and the spread (and a PodDisruptionBudget) select by them. */
  labels: Record<string, string>;
  /** More labels on the pods, beside the selector's. */
  podLabels?: Record<string, string>;
  /** Changing one rolls the pods, e.g. when a Secret or config they read at start-up changes. */
  podAnnotations?: Record<string, pulumi.Input<string>>;
  /** Left out when an autoscaler owns the count: a fixed value here would fight it on every update. */
  replicas?: number;
  /** The numeric user and group the pod runs as (runAsNonRoot needs a number). */
  uid: number;
  serviceAccountName?: pulumi.Input<string>;
  /** Why the pods call the API server: only then is the token mounted, and the reason goes on the pods for the policy pack. */
  apiToken?: string;
  /** The one container; its security context is the restricted one. */
  container: Omit<Container, "securityContext">;
  volumes?: k8s.types.input.core.v1.Volume[];
}

export function workloadSpec(a: WorkloadArgs): k8s.types.input.apps.v1.DeploymentSpec {
  const annotations = { ...(a.apiToken !== undefined && { [NEEDS_TOKEN_ANNOTATION]: a.apiToken }), ...a.podAnnotations };
  return {
    ...(a.replicas !== undefined && { replicas: a.replicas }),
    revisionHistoryLimit: REVISIONS_KEPT,
    selector: { matchLabels: a.labels },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: {
      metadata: { labels: { ...a.labels, ...a.podLabels }, ...(Object.keys(annotations).length > 0 && { annotations }) },
      spec: {
        ...(a.serviceAccountName !== undefined && { serviceAccountName: a.serviceAccountName }),
        automountServiceAccountToken: a.apiToken !== undefined,
        // Service links would inject every Service's address into the env: noise, and a leak of the namespace's layout.
        enableServiceLinks: false,
        securityContext: restrictedPod(a.uid),
        topologySpreadConstraints: spreadAcrossNodes(a.labels),
        containers: [{ ...a.container, securityContext: RESTRICTED_CONTAINER }],
        ...(a.volumes && { volumes: a.volumes }),
      },
    },
  };
}
