/**
 * The Kubernetes accounts of the observability charts that talk to the API, and the least each may
 * do. The charts' own RBAC is off (Grafana's grants ConfigMaps and Secrets, in every namespace with
 * kube-prometheus-stack's `searchNamespace: ALL`; Alloy's, Secrets, ConfigMaps and more,
 * cluster-wide): we render these instead, so the RBAC matrix judges them
 * (model/leastPrivilege.ts, docs/observability.md#who-can-read-what).
 */
import { CHARTS } from "../pins";
import { MONITORING_NAMESPACE } from "./config";

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const READ = ["get", "list", "watch"];

export interface ChartAccount {
  /** The ServiceAccount, named in the chart's `serviceAccount.name`. */
  name: string;
  namespace: string;
  /**
   * `namespace`: a Role and RoleBinding in the account's namespace only; `cluster`: a ClusterRole
   * and ClusterRoleBinding (named `enclii-<name>`, apart from anything a chart left behind).
   */
  scope: "namespace" | "cluster";
  /** The Role or ClusterRole's name. */
  role: string;
  rules: PolicyRule[];
}

/** Grafana's dashboards sidecar lists and watches the dashboard ConfigMaps of `monitoring`, nothing else. */
export const GRAFANA_ACCOUNT: ChartAccount = {
  name: "grafana",
  namespace: MONITORING_NAMESPACE,
  scope: "namespace",
  role: "grafana-dashboards",
  rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: READ }],
};

/**
 * Alloy finds the pods on its node and tails their logs through the API server (`pods/log`), in
 * every namespace: no Secrets, no host paths, nothing it could change.
 */
export const ALLOY_ACCOUNT: ChartAccount = {
  name: "alloy",
  namespace: CHARTS.alloy.namespace,
  scope: "cluster",
  role: "enclii-alloy",
  rules: [{ apiGroups: [""], resources: ["pods", "pods/log", "namespaces"], verbs: READ }],
};
