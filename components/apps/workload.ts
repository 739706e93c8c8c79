/**
 * A service's Deployments as plain data: the workload baseline (components/workload.ts), three
 * probes, requests and a memory limit, writable paths on emptyDir volumes; the stable one, and a
 * canary's with its own image and replicas (docs/services.md#canary).
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { workloadSpec } from "../workload";
import { PART_OF, TRACK_LABEL, TRACKS, selectorLabels } from "../../model/names";
import type { AppService } from "../../model/config/services";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type DeploymentSpec = k8s.types.input.apps.v1.DeploymentSpec;

const PORT_NAME = "http";
/** The container port a service's PodMonitor scrapes (its app port when metrics share it). */
export const METRICS_PORT_NAME = "metrics";
export const metricsPortName = (svc: AppService) => (svc.metrics && svc.metrics.port !== svc.port ? METRICS_PORT_NAME : PORT_NAME);
const STARTUP_PERIOD_SECONDS = 5;
const READINESS_PERIOD_SECONDS = 10;
/** Slower than readiness: a pod that is merely busy drops out of the Service long before it is killed. */
const LIVENESS_PERIOD_SECONDS = 20;
const PROBE_TIMEOUT_SECONDS = 2;
const FAILURES_BEFORE_ACTION = 3;
/** Source annotations let `kubectl describe` answer "what is this and where does it come from". */
const SOURCE_ANNOTATIONS = {
  repository: "enclii.dev/source-repository",
  branch: "enclii.dev/source-branch",
  path: "enclii.dev/source-path",
} as const;

function probe(path: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
  return { httpGet: { path, port: PORT_NAME }, periodSeconds, timeoutSeconds: PROBE_TIMEOUT_SECONDS, failureThreshold };
}

/**
 * The stable Deployment's spec, or with `canary` the canary's. Both sets of pods carry the
 * service's name (the Service and the NetworkPolicies select by it alone) and their track.
 */
export function deploymentSpec(
  svc: AppService,
  env: EnvVar[],
  podAnnotations: Record<string, pulumi.Input<string>> = {},
  canary?: AppService["canary"],
): DeploymentSpec {
  const volumes = svc.writablePaths.map((mountPath, i) => ({ name: `writable-${i}`, mountPath }));
  const track = { [TRACK_LABEL]: canary ? TRACKS.canary : TRACKS.stable };
  return workloadSpec({
    // The stable selector stays the name alone (a selector is immutable: a new one would replace the
    // Deployment); the canary's adds its track, so it never claims the stable pods.
    labels: canary ? { ...selectorLabels(svc.name), ...track } : selectorLabels(svc.name),
    podLabels: { ...PART_OF, ...track },
    podAnnotations,
    // With autoscaling the HPA owns the stable count; a canary's is its own.
    replicas: canary ? canary.replicas : svc.autoscaling ? undefined : svc.replicas,
    uid: svc.runAsUser,
    serviceAccountName: svc.name,
    container: {
      name: svc.name,
      image: canary ? canary.image : svc.image,
      ports: [
        { name: PORT_NAME, containerPort: svc.port, protocol: "TCP" },
        // The PodMonitor scrapes this port by name; on the app's own port there is nothing to add.
        ...(svc.metrics && svc.metrics.port !== svc.port
          ? [{ name: METRICS_PORT_NAME, containerPort: svc.metrics.port, protocol: "TCP" }]
          : []),
      ],
      env,
      resources: svc.resources,
      startupProbe: probe(
        svc.healthCheck.path,
        STARTUP_PERIOD_SECONDS,
        Math.ceil(svc.healthCheck.startupTimeoutSeconds / STARTUP_PERIOD_SECONDS),
      ),
      readinessProbe: probe(svc.healthCheck.path, READINESS_PERIOD_SECONDS, FAILURES_BEFORE_ACTION),
      livenessProbe: probe(svc.healthCheck.livenessPath, LIVENESS_PERIOD_SECONDS, FAILURES_BEFORE_ACTION),
      volumeMounts: volumes.map(({ name, mountPath }) => ({ name, mountPath })),
    },
    volumes: volumes.map(({ name }) => ({ name, emptyDir: {} })),
  });
}

export function sourceAnnotations(svc: AppService): Record<string, string> {
  return {
    [SOURCE_ANNOTATIONS.repository]: svc.source.repository,
    [SOURCE_ANNOTATIONS.branch]: svc.source.branch,
    [SOURCE_ANNOTATIONS.path]: svc.source.path,
  };
}
