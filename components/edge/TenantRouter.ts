import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DNS_EGRESS, FROM_CLOUDFLARED, oneAtATime, tcp } from "../baseline";
import { workloadSpec } from "../workload";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { PORTS, TENANT_LABEL, TENANT_ROUTER, UIDS } from "../../model/names";
import { IMAGES } from "../../model/pins";

const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } };
/**
 * What Traefik's Kubernetes Ingress provider reads, in the router's own namespace only: the
 * tenant shards put their Ingresses and ExternalName Services there. The provider starts a
 * Secrets informer per watched namespace and will not start without it (for Ingress TLS, which no
 * tenant uses: TLS ends at Cloudflare); no Secret can exist in this namespace
 * (components/edge/tenantsPolicies.ts), so the grant reads nothing.
 */
const RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["services", "secrets"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
];

/**
 * Traefik's static configuration as flags: one entry point, the Ingress provider on the router's
 * namespace alone, no cluster-scoped lookups (IngressClasses, Nodes), so a Role is all it needs
 * (docs/tenants.md#how-a-hostname-reaches-its-tenant). Without the IngressClass lookup an
 * Ingress naming a class is never taken, and with no ingressClass set one naming none is
 * (Traefik v3.6 pkg/provider/kubernetes/ingress/kubernetes.go, shouldProcessIngress): the
 * shards' Ingresses name none, and the admission policy refuses one that does. ExternalName
 * Services are how a route in this namespace reaches a tenant's Service; the admission policy
 * pins them to tenant namespaces.
 */
export function routerArgs(fallbackOrigin: string): string[] {
  return [
    `--entryPoints.web.address=:${TENANT_ROUTER.port}`,
    `--entryPoints.traefik.address=:${TENANT_ROUTER.pingPort}`,
    "--ping=true",
    "--providers.kubernetesIngress=true",
    `--providers.kubernetesIngress.namespaces=${TENANT_ROUTER.namespace}`,
    "--providers.kubernetesIngress.disableClusterScopeResources=true",
    "--providers.kubernetesIngress.allowExternalNameServices=true",
    // The Ingresses' status names where customers point their hostnames, which is what tells
    // Pulumi a shard's route was taken up.
    `--providers.kubernetesIngress.ingressEndpoint.hostname=${fallbackOrigin}`,
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
  ];
}

export interface TenantRouterArgs {
  replicas: number;
  /** `proxy.<domain>`, written into each Ingress's status. */
  fallbackOrigin: string;
  /** The nodes' addresses: the API server the router watches is there (6443), nowhere else. */
  nodeIps: pulumi.Input<string>[];
  provider: k8s.Provider;
}

/**
 * The custom-hostname router: cloudflared's catch-all goes to it, and it routes by Host header to
 * tenant Services through standard Ingress objects of class `enclii-tenants`, which each tenant
 * shard adds to the router's namespace (with an ExternalName Service into the tenant's namespace).
 * The platform's own resources here never change with tenants. It may reach tenant namespaces
 * only, on any port (tenants choose their ports), and the API server; it reads no Secret.
 */
export class TenantRouter extends pulumi.ComponentResource {
  public readonly service: { namespace: string; name: string; port: number };
  /** The namespace, once it exists: the shards' Role there waits for it. */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: TenantRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:edge:TenantRouter", name, {}, opts);
    const kube = { parent: this, provider: args.provider };
    const labels = { ...TENANT_ROUTER.labels };
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: TENANT_ROUTER.namespace, labels: RESTRICTED_NAMESPACE_LABELS } },
      kube,
    );
    const namespace = ns.metadata.name;
    this.namespace = namespace;
    const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: { name: TENANT_ROUTER.name, namespace } }, kube);
    const role = new k8s.rbac.v1.Role(`${name}-role`, { metadata: { name: TENANT_ROUTER.name, namespace }, rules: RULES }, kube);
    new k8s.rbac.v1.RoleBinding(
      `${name}-binding`,
      {
        metadata: { name: TENANT_ROUTER.name, namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace }],
      },
      kube,
    );

    const ping = { httpGet: { path: "/ping", port: TENANT_ROUTER.pingPort }, periodSeconds: 10, failureThreshold: 3 };
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: TENANT_ROUTER.name, namespace, labels },
        spec: workloadSpec({
          labels,
          replicas: args.replicas,
          uid: UIDS.nonroot,
          serviceAccountName: account.metadata.name,
          apiToken: "watches Ingresses, Services and EndpointSlices",
          container: {
            name: "traefik",
            image: IMAGES.traefik,
            args: routerArgs(args.fallbackOrigin),
            ports: [
              { name: "web", containerPort: TENANT_ROUTER.port },
              { name: "ping", containerPort: TENANT_ROUTER.pingPort },
            ],
            livenessProbe: { ...ping, initialDelaySeconds: 10 },
            readinessProbe: ping,
            resources: RESOURCES,
          },
        }),
      },
      kube,
    );
    oneAtATime(name, {
      metadata: { name: TENANT_ROUTER.name, namespace },
      labels,
      replicas: args.replicas,
      provider: args.provider,
      parent: this,
    });
    // port = targetPort: cloudflared's egress policy is checked against the pod's port.
    new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: TENANT_ROUTER.name, namespace, labels },
        spec: { selector: labels, ports: [{ name: "web", port: TENANT_ROUTER.port, targetPort: TENANT_ROUTER.port }] },
      },
      kube,
    );
    // One policy: deny by default, admit cloudflared, reach DNS, the API server (at the nodes: a
    // Service address is rewritten to the node's before the policy sees it) and tenant namespaces.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-policy`,
      {
        metadata: { name: "tenant-router", namespace },
        spec: {
          podSelector: {},
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [FROM_CLOUDFLARED], ports: [tcp(TENANT_ROUTER.port)] }],
          egress: [
            DNS_EGRESS,
            { to: args.nodeIps.map((ip) => ({ ipBlock: { cidr: pulumi.interpolate`${ip}/32` } })), ports: [tcp(PORTS.kubernetesApi)] },
            { to: [{ namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] } }] },
          ],
        },
      },
      kube,
    );
    this.service = { namespace: TENANT_ROUTER.namespace, name: TENANT_ROUTER.name, port: TENANT_ROUTER.port };
    this.registerOutputs({ service: this.service, namespace: this.namespace });
  }
}
