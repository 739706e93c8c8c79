import * as pulumi from "@pulumi/pulumi";
import { CHARTS } from "../../model/pins";
import { tempoValues } from "./chartValues";
import { pinnedRelease, type ChartComponentArgs } from "./release";

export type TracesArgs = ChartComponentArgs;

/** Tempo as one pod: the apps' OpenTelemetry SDKs send OTLP to it, Grafana reads it. */
export class Traces extends pulumi.ComponentResource {
  constructor(name: string, args: TracesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:Traces", name, {}, opts);
    pinnedRelease(
      `${name}-tempo`,
      CHARTS.tempo,
      pulumi.output(args.storageClass).apply((sc) => tempoValues(args.observability, sc)),
      { parent: this, provider: args.provider, dependsOn: args.dependsOn },
    );
    this.registerOutputs({});
  }
}
