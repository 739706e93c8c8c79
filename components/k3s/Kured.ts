import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MaintenanceWindow } from "../../model/config/maintenance";
import { PART_OF } from "../../model/names";
import { MONITORING_API, MONITORING_NAMESPACE } from "../../model/observability/config";
import { rebootRuleGroups } from "../../model/observability/rebootRules";
import { CHARTS } from "../../model/pins";
import { KURED, kuredValues, prometheusKuredPolicy } from "./kuredValues";

/** The DaemonSet's rollout: one small pod per node. */
const RELEASE_TIMEOUT_S = 300;
/** The PrometheusRule holding the reboot alert, beside enclii-platform and enclii-slo. */
export const REBOOT_RULES = "enclii-reboots";

export interface KuredArgs {
  window: MaintenanceWindow;
  nodeCount: number;
  /**
   * Observability is on: reboots wait while alerts are active, Prometheus scrapes kured, and a
   * node waiting too long for its reboot raises an alert. Needs the monitoring CRDs and namespace.
   */
  monitoring: boolean;
  provider: k8s.Provider;
  /** The cluster, and with monitoring on, observability (its CRDs and namespace). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * Reboots nodes after OS security updates (the bootstrap's unattended-upgrades leaves the
 * sentinel), inside the maintenance window, one node at a time: cordon, drain respecting
 * PodDisruptionBudgets, reboot, uncordon (docs/runbooks/os-patches.md). kured's DaemonSet is
 * privileged with the host's PID namespace (it runs `systemctl reboot` in the host's mount
 * namespace), so it goes in kube-system: Pod Security admits it there (the namespace carries no
 * pod-security label, and with no admission configuration, which renderK3sConfig sets none of,
 * the API server's default level is privileged), and the baseline's admission policies and policy
 * pack exempt that namespace for k3s's own components already. No namespace is made privileged and
 * no policy is widened for it.
 */
export class Kured extends pulumi.ComponentResource {
  constructor(name: string, args: KuredArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:k3s:Kured", name, {}, opts);
    const child = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: KURED.name,
        chart: CHARTS.kured.chart,
        version: CHARTS.kured.version,
        repositoryOpts: { repo: CHARTS.kured.repo },
        namespace: KURED.namespace,
        values: kuredValues({ window: args.window, nodeCount: args.nodeCount, prometheus: args.monitoring }),
        atomic: true,
        timeout: RELEASE_TIMEOUT_S,
      },
      child,
    );
    if (args.monitoring) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-prometheus-policy`,
        { metadata: { name: "prometheus-kured", namespace: MONITORING_NAMESPACE }, spec: prometheusKuredPolicy() },
        child,
      );
      new k8s.apiextensions.CustomResource(
        `${name}-rules`,
        {
          apiVersion: MONITORING_API,
          kind: "PrometheusRule",
          metadata: { name: REBOOT_RULES, namespace: MONITORING_NAMESPACE, labels: { ...PART_OF } },
          spec: { groups: rebootRuleGroups(args.window) },
        },
        child,
      );
    }
    this.registerOutputs({});
  }
}
