import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ALLOY_ACCOUNT } from "../../model/observability/accounts";
import { CHARTS } from "../../model/pins";
import { chartAccount } from "./account";
import { alloyValues, lokiValues } from "./chartValues";
import { pinnedRelease, type ChartComponentArgs } from "./release";

export type LogsArgs = ChartComponentArgs;

/**
 * Loki (one pod, filesystem on Longhorn, retention by its compactor) and Alloy collecting every
 * pod's logs into it through the API server, as an account that may read pods and their logs only.
 */
export class Logs extends pulumi.ComponentResource {
  public readonly loki: k8s.helm.v3.Release;

  constructor(name: string, args: LogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Logs", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.loki = pinnedRelease(
      `${name}-loki`,
      CHARTS.loki,
      pulumi.output(args.storageClass).apply((sc) => lokiValues(args.observability, sc)),
      { ...child, dependsOn: args.dependsOn },
    );
    const account = chartAccount(`${name}-alloy`, ALLOY_ACCOUNT, { ...child, dependsOn: args.dependsOn });
    pinnedRelease(`${name}-alloy`, CHARTS.alloy, alloyValues(args.observability), {
      ...child,
      dependsOn: [...args.dependsOn, this.loki, ...account],
    });
    this.registerOutputs({});
  }
}
