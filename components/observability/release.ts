import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Observability } from "../../model/observability/config";
import type { Chart } from "../../model/pins";

/** What a component that installs one of the sized charts onto Longhorn needs. */
export interface ChartComponentArgs {
  observability: Observability;
  storageClass: pulumi.Input<string>;
  provider: k8s.Provider;
  /** The namespaces and Longhorn. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Charts that roll back on a failed install or upgrade, within this long. */
const RELEASE_TIMEOUT_SECONDS = 900;

/** A pinned chart as a Helm release in its namespace; `atomic` so a failed upgrade leaves the previous one running. */
export function pinnedRelease(
  name: string,
  chart: Chart,
  values: pulumi.Input<Record<string, unknown>>,
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      name: chart.chart,
      chart: chart.chart,
      version: chart.version,
      repositoryOpts: { repo: chart.repo },
      namespace: chart.namespace,
      values,
      atomic: true,
      timeout: RELEASE_TIMEOUT_SECONDS,
    },
    opts,
  );
}
