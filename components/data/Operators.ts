import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { CHARTS, type Chart } from "../../model/pins";

/**
 * Every pod these charts run meets Pod Security "restricted" with their default values, so the
 * namespaces enforce it (docs/data.md#the-operators-namespaces). At the pinned versions:
 * cert-manager v1.19.6 (deploy/charts/cert-manager/values.yaml `securityContext`,
 * `containerSecurityContext`, and the same under `webhook`, `cainjector`, `startupapicheck`):
 * runAsNonRoot, RuntimeDefault seccomp, no privilege escalation, ALL capabilities dropped, no host
 * namespaces (`webhook.hostNetwork: false`); cloudnative-pg 0.29.0 and plugin-barman-cloud 0.7.0
 * (charts/<chart>/values.yaml `podSecurityContext`, `containerSecurityContext`, `hostNetwork: false`):
 * the same, as uid 10001, with emptyDir and Secret volumes only.
 */
const OPERATOR_NAMESPACE_LABELS = RESTRICTED_NAMESPACE_LABELS;

export interface OperatorsArgs {
  provider: k8s.Provider;
}

/**
 * What in-cluster PostgreSQL needs before any custom resource: cert-manager (the barman-cloud
 * plugin's certificates), the CloudNativePG operator, and the barman-cloud plugin that archives
 * WAL and base backups to R2. Installed in that order.
 */
export class Operators extends pulumi.ComponentResource {
  /** Depend on this before creating CloudNativePG custom resources. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: OperatorsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:data:Operators", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const namespaces = new Map<string, k8s.core.v1.Namespace>();
    const namespace = (ns: string) => {
      if (!namespaces.has(ns)) {
        namespaces.set(
          ns,
          new k8s.core.v1.Namespace(`${name}-${ns}`, { metadata: { name: ns, labels: OPERATOR_NAMESPACE_LABELS } }, child),
        );
      }
      return namespaces.get(ns)!;
    };
    const release = (role: string, c: Chart, values: Record<string, unknown>, dependsOn: pulumi.Resource[]) =>
      new k8s.helm.v3.Release(
        `${name}-${role}`,
        {
          name: c.chart,
          chart: c.chart,
          version: c.version,
          repositoryOpts: { repo: c.repo },
          namespace: namespace(c.namespace).metadata.name,
          values,
          atomic: true,
          timeout: 600,
        },
        { ...child, dependsOn },
      );

    const certManager = release("cert-manager", CHARTS.certManager, { crds: { enabled: true } }, []);
    const cnpg = release("cnpg", CHARTS.cnpg, { crds: { create: true } }, []);
    const barman = release("barman-cloud", CHARTS.barmanCloud, { crds: { create: true } }, [certManager, cnpg]);
    this.ready = [certManager, cnpg, barman];
    this.registerOutputs({});
  }
}
