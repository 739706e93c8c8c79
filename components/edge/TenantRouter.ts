import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DNS_EGRESS, FROM_CLOUDFLARED, oneAtATime, tcp } from "../baseline";
import { workloadSpec } from "../workload";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { PORTS, TENANT_LABEL, TENANT_ROUTER, UIDS } from "../../model/names";
import { IMAGES } from "../../model/pins";

const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } };
/**
 * What Traefik's Kubernetes Ingress provider watches (Traefik 3.1+ reads EndpointSlices and
 * Nodes). Secrets are for Ingress TLS: the provider will not start without them, though TLS ends
 * at Cloudflare and no tenant Ingress names a certificate.
 */
const RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
  { apiGroups: [""], resources: ["services", "secrets", "nodes"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingressclasses"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
];

/** Traefik's static configuration as flags: one entry point, the Ingress provider limited to our class. */
export function routerArgs(): string[] {
  return [
    `--entryPoints.web.address=:${TENANT_ROUTER.port}`,
    `--entryPoints.traefik.address=:${TENANT_ROUTER.pingPort}`,
    "--ping=true",
    "--providers.kubernetesIngress=true",
    `--providers.kubernetesIngress.ingressClass=${TENANT_ROUTER.ingressClass}`,
    "--providers.kubernetesIngress.allowExternalNameServices=false",
    "--global.checkNewVersion=false",
    "--global.sendAnonymousUsage=false",
    "--log.level=INFO",
  ];
}

export interface TenantRouterArgs {
  replicas: number;
  provider: k8s.Provider;
}

/**
 * The custom-hostname router: cloudflared's catch-all goes to it, and it routes by Host header to
 * tenant Services through standard Ingress objects of class `enclii-tenants`, which each tenant
 * shard adds in its tenants' namespaces. The platform's own resources here never change with
 * tenants. It may reach tenant namespaces only, on any port (tenants choose their ports).
 */
export class TenantRouter extends pulumi.ComponentResource {
  public readonly service: { namespace: string; name: string; port: number };

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
    const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: { name: TENANT_ROUTER.name, namespace } }, kube);
    const role = new k8s.rbac.v1.ClusterRole(`${name}-role`, { metadata: { name: `enclii-${TENANT_ROUTER.name}` }, rules: RULES }, kube);
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-binding`,
      {
        metadata: { name: `enclii-${TENANT_ROUTER.name}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace }],
      },
      kube,
    );
    new k8s.networking.v1.IngressClass(
      `${name}-class`,
      { metadata: { name: TENANT_ROUTER.ingressClass }, spec: { controller: "traefik.io/ingress-controller" } },
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
            args: routerArgs(),
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
    // One policy: deny by default, admit cloudflared, reach DNS, the API server and tenant namespaces.
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
            { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(PORTS.https), tcp(PORTS.kubernetesApi)] },
            { to: [{ namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] } }] },
          ],
        },
      },
      kube,
    );
    this.service = { namespace: TENANT_ROUTER.namespace, name: TENANT_ROUTER.name, port: TENANT_ROUTER.port };
    this.registerOutputs({ service: this.service });
  }
}
