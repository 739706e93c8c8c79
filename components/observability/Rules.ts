import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PART_OF } from "../../model/names";
import { MONITORING_API, MONITORING_NAMESPACE } from "../../model/observability/config";
import { platformRuleGroups, type PlatformRuleArgs } from "../../model/observability/platformRules";
import { sloRuleGroups, type RuleGroup, type SloTargets } from "../../model/observability/slo";

export interface RulesArgs {
  slo: SloTargets;
  platform: PlatformRuleArgs;
  provider: k8s.Provider;
  /** The PrometheusRule CRD: the kube-prometheus-stack release. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The SLOs' recording and burn-rate rules and the platform's health alerts, one PrometheusRule each. */
export class Rules extends pulumi.ComponentResource {
  public readonly groups: Record<string, RuleGroup[]>;

  constructor(name: string, args: RulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Rules", name, {}, opts);
    this.groups = { "enclii-slo": sloRuleGroups(args.slo), "enclii-platform": platformRuleGroups(args.platform) };
    for (const [rule, groups] of Object.entries(this.groups)) {
      new k8s.apiextensions.CustomResource(
        `${name}-${rule}`,
        {
          apiVersion: MONITORING_API,
          kind: "PrometheusRule",
          metadata: { name: rule, namespace: MONITORING_NAMESPACE, labels: { ...PART_OF } },
          spec: { groups },
        },
        { parent: this, provider: args.provider, dependsOn: args.dependsOn },
      );
    }
    this.registerOutputs({ groups: this.groups });
  }
}
