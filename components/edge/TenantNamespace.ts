import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { defaultDeny, DNS_EGRESS, FROM_CLOUDFLARED } from "../baseline";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { tenantNamespace } from "../../model/names";
import type { Tenant } from "../../model/routes";

/** ResourceQuota `hard` for one tenant; no LoadBalancers or NodePorts: traffic arrives through the tunnel. */
export const DEFAULT_TENANT_QUOTA: Record<string, string> = {
  "requests.cpu": "2",
  "requests.memory": "4Gi",
  "limits.memory": "8Gi",
  "requests.storage": "20Gi",
  persistentvolumeclaims: "5",
  pods: "20",
  services: "10",
  "services.loadbalancers": "0",
  "services.nodeports": "0",
};
/** Filled in for containers that omit them, so the quota (which needs requests and memory limits) admits them. */
const CONTAINER_DEFAULTS = {
  defaultRequest: { cpu: "100m", memory: "128Mi" },
  default: { memory: "256Mi" },
  max: { memory: "2Gi" },
};

export interface TenantNamespaceArgs {
  tenant: Tenant;
  provider: k8s.Provider;
}

/**
 * Where one tenant's workloads run: restricted Pod Security, a quota and default limits, and
 * default-deny with two exceptions: cloudflared to the tenant's service port, and DNS.
 * Five objects per tenant, since a stack may carry a thousand tenants.
 */
export class TenantNamespace extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:edge:TenantNamespace", name, {}, opts);
    const kube = { parent: this, provider: args.provider };
    const { tenant } = args;

    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: tenantNamespace(tenant.name), labels: { ...RESTRICTED_NAMESPACE_LABELS, "enclii.io/tenant": tenant.name } } },
      kube,
    );
    const namespace = ns.metadata.name;
    new k8s.core.v1.ResourceQuota(`${name}-quota`, { metadata: { name: "tenant", namespace }, spec: { hard: DEFAULT_TENANT_QUOTA } }, kube);
    new k8s.core.v1.LimitRange(
      `${name}-limits`,
      { metadata: { name: "tenant", namespace }, spec: { limits: [{ type: "Container", ...CONTAINER_DEFAULTS }] } },
      kube,
    );
    defaultDeny(name, { namespace, provider: args.provider, parent: this });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow`,
      {
        metadata: { name: "allow-cloudflared-and-dns", namespace },
        spec: {
          podSelector: {},
          policyTypes: ["Ingress", "Egress"],
          ingress: [
            {
              from: [FROM_CLOUDFLARED],
              ports: [{ protocol: "TCP", port: tenant.service.port }],
            },
          ],
          egress: [DNS_EGRESS],
        },
      },
      kube,
    );

    this.namespace = namespace;
    this.registerOutputs({ namespace: this.namespace });
  }
}
