import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { APPS_NAMESPACE, PART_OF, TRACK_LABEL, TRACKS, canaryName, selectorLabels } from "../../model/names";
import type { Route } from "../../model/routes";
import type { AppService } from "../../model/config/services";
import { oneAtATime } from "../baseline";
import { deploymentSpec, sourceAnnotations } from "./workload";

export interface ServiceArgs {
  service: AppService;
  /** Binding env then the spec's own env (see `serviceEnv`). */
  env: k8s.types.input.core.v1.EnvVar[];
  networkPolicy: k8s.types.input.networking.v1.NetworkPolicySpec;
  /** Changing one rolls the pods, e.g. when a Secret they read at start-up changes. */
  podAnnotations?: Record<string, pulumi.Input<string>>;
  provider: k8s.Provider;
}

/**
 * One `dogfooding/` spec running in the apps namespace, with its routes handed to the edge; and,
 * while a deploy watches one, its canary beside it behind the same Service (docs/services.md#canary).
 */
export class Service extends pulumi.ComponentResource {
  public readonly routes: Route[];
  public readonly replicas: number;
  public readonly hostnames: string[];

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:apps:Service", name, {}, opts);
    const svc = args.service;
    const child = { parent: this, provider: args.provider };
    const labels = { ...selectorLabels(svc.name), ...PART_OF };
    const metadata = { name: svc.name, namespace: APPS_NAMESPACE, labels };

    new k8s.core.v1.ServiceAccount(`${name}-service-account`, { metadata, automountServiceAccountToken: false }, child);
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      { metadata: { ...metadata, annotations: sourceAnnotations(svc) }, spec: deploymentSpec(svc, args.env, args.podAnnotations) },
      child,
    );
    if (svc.canary) {
      new k8s.apps.v1.Deployment(
        `${name}-canary`,
        {
          metadata: {
            name: canaryName(svc.name),
            namespace: APPS_NAMESPACE,
            labels: { ...labels, [TRACK_LABEL]: TRACKS.canary },
            annotations: sourceAnnotations(svc),
          },
          spec: deploymentSpec(svc, args.env, args.podAnnotations, svc.canary),
        },
        child,
      );
    }
    // The name alone: both tracks' pods carry it, so connections reach the canary in proportion to its replicas.
    // port = targetPort: NetworkPolicies (cloudflared's egress included) see the pod's port after DNAT.
    new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata,
        spec: {
          type: "ClusterIP",
          selector: selectorLabels(svc.name),
          ports: [{ name: "http", port: svc.port, targetPort: svc.port, protocol: "TCP" }],
        },
      },
      child,
    );
    // The budget selects both tracks' pods; a canary of several replicas needs one even beside a single stable pod.
    oneAtATime(name, {
      metadata,
      labels: selectorLabels(svc.name),
      replicas: Math.max(svc.replicas, svc.autoscaling?.maxReplicas ?? 1, svc.canary?.replicas ?? 0),
      provider: args.provider,
      parent: this,
    });
    if (svc.autoscaling) {
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-hpa`,
        {
          metadata,
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: svc.name },
            minReplicas: svc.replicas,
            maxReplicas: svc.autoscaling.maxReplicas,
            metrics: [
              {
                type: "Resource",
                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: svc.autoscaling.targetCpuPercent } },
              },
            ],
          },
        },
        { ...child, dependsOn: [deployment] },
      );
    }
    new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, { metadata, spec: args.networkPolicy }, child);

    this.routes = svc.hostnames.map((hostname) => ({ hostname, service: { namespace: APPS_NAMESPACE, name: svc.name, port: svc.port } }));
    this.replicas = svc.replicas;
    this.hostnames = svc.hostnames;
    this.registerOutputs({ routes: this.routes, replicas: this.replicas, hostnames: this.hostnames });
  }
}
