import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dashboards, type DashboardArgs } from "../../model/observability/dashboards";
import { PART_OF } from "../../model/names";
import { DASHBOARD_LABEL, MONITORING_NAMESPACE } from "../../model/observability/config";

export interface DashboardsArgs extends DashboardArgs {
  provider: k8s.Provider;
  /** The monitoring namespace. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Each dashboard as a ConfigMap Grafana's sidecar loads (label grafana_dashboard=1); read-only in Grafana. */
export class Dashboards extends pulumi.ComponentResource {
  public readonly files: string[];

  constructor(name: string, args: DashboardsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Dashboards", name, {}, opts);
    const all = dashboards(args);
    this.files = Object.keys(all).sort();
    for (const file of this.files) {
      const id = file.replace(/\.json$/, "");
      new k8s.core.v1.ConfigMap(
        `${name}-${id}`,
        {
          metadata: { name: `dashboard-${id}`, namespace: MONITORING_NAMESPACE, labels: { ...DASHBOARD_LABEL, ...PART_OF } },
          data: { [file]: JSON.stringify(all[file], null, 2) },
        },
        { parent: this, provider: args.provider, dependsOn: args.dependsOn },
      );
    }
    this.registerOutputs({ files: this.files });
  }
}
