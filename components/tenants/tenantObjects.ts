/**
 * One tenant's Kubernetes objects as plain data: pure, so the shard registers them and the tests
 * compare them (the merged NetworkPolicy against the two it replaced) without mocks.
 */
import type * as k8s from "@pulumi/kubernetes";
import { DNS_EGRESS } from "../baseline";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { TENANT_LABEL, TENANT_ROUTER, tenantNamespace } from "../../model/names";
import { CUSTOM_HOSTNAME_PROBE_INTERVAL, PROBE_MODULES } from "../../model/observability/config";
import { CUSTOM_HOSTNAMES_JOB } from "../../model/observability/platformRules";
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
export const CONTAINER_DEFAULTS = {
  defaultRequest: { cpu: "100m", memory: "128Mi" },
  default: { memory: "256Mi" },
  max: { memory: "2Gi" },
};
/** The objects' own names inside the tenant's namespace. */
export const TENANT_OBJECT = "tenant";

export function tenantNamespaceSpec(tenant: Tenant): k8s.types.input.core.v1.Namespace {
  return { metadata: { name: tenantNamespace(tenant.name), labels: { ...RESTRICTED_NAMESPACE_LABELS, [TENANT_LABEL]: tenant.name } } };
}

/**
 * Default deny and its two exceptions in one policy: `from` (the tenant router) to the service
 * port, and DNS out. A policy that selects every pod for both directions denies whatever its rules
 * do not admit, which is what a separate default-deny added (test/tenants.test.ts shows the two
 * equivalent). One object per tenant instead of two.
 */
export function tenantPolicySpec(
  tenant: Tenant,
  from: k8s.types.input.networking.v1.NetworkPolicyPeer,
): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
    ingress: [{ from: [from], ports: [{ protocol: "TCP", port: tenant.service.port }] }],
    egress: [DNS_EGRESS],
  };
}

/**
 * The tenant's route, in the tenant router's namespace (the only one the router reads): an
 * Ingress without a class (the router takes every Ingress there: components/edge/TenantRouter.ts
 * routerArgs) with each hostname, every path, to an ExternalName Service of the same name that
 * points at the tenant's Service in its own namespace. Both named after the tenant's namespace,
 * as the admission policy requires (components/edge/tenantsPolicies.ts).
 */
export function tenantRouteName(tenant: Tenant): string {
  return tenantNamespace(tenant.name);
}

export function tenantIngressSpec(tenant: Tenant): k8s.types.input.networking.v1.IngressSpec {
  const backend = { service: { name: tenantRouteName(tenant), port: { number: tenant.service.port } } };
  return {
    rules: [...tenant.hostnames].sort().map((host) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } })),
  };
}

export function tenantRouteServiceSpec(tenant: Tenant): k8s.types.input.core.v1.ServiceSpec {
  return {
    type: "ExternalName",
    externalName: `${tenant.service.name}.${tenantNamespace(tenant.name)}.svc.cluster.local`,
    ports: [{ name: "web", port: tenant.service.port }],
  };
}

export function tenantRouteMetadata(tenant: Tenant): k8s.types.input.meta.v1.ObjectMeta {
  return { name: tenantRouteName(tenant), namespace: TENANT_ROUTER.namespace, labels: { [TENANT_LABEL]: tenant.name } };
}

/**
 * A TLS handshake with every hostname of a shard, through Cloudflare, every few minutes: a
 * hostname whose certificate or ownership check is stuck pending (or whose customer never pointed
 * it at us) fails for an hour and alerts (CustomHostnameNotServing). One object per shard, not per
 * tenant: a tenant costs no extra resource.
 */
export function shardProbeSpec(tenants: readonly Tenant[], prober: string, shard: string): Record<string, unknown> {
  return {
    jobName: CUSTOM_HOSTNAMES_JOB,
    interval: CUSTOM_HOSTNAME_PROBE_INTERVAL,
    module: PROBE_MODULES.tls,
    prober: { url: prober },
    targets: {
      staticConfig: {
        static: tenants
          .flatMap((t) => t.hostnames)
          .sort()
          .map((h) => `${h}:443`),
        labels: { shard },
      },
    },
  };
}
