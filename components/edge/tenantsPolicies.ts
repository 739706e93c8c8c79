/**
 * The tenant shards' account as plain data: its RBAC rules and the admission policies that pin it
 * to tenant namespaces (docs/tenants.md#the-shards-account). RBAC cannot say "namespaces named
 * tenant-*" (resourceNames does not apply to create, and a ClusterRoleBinding covers every
 * namespace), so the account's writes are granted cluster-wide and a ValidatingAdmissionPolicy
 * refuses every one outside tenant namespaces; reads are harmless kinds only (no Secrets, no Pods).
 * Pure, so the tests apply the same objects to a real API server.
 */
import type * as k8s from "@pulumi/kubernetes";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { KUBE_SYSTEM_NAMESPACE, TENANT_LABEL, TENANT_ROUTER, tenantNamespace } from "../../model/names";
import { MONITORING_NAMESPACE } from "../../model/observability/config";
import { TENANTS_ACCOUNT } from "../k3s/credential";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;
type Policy = k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicy;
type Binding = k8s.types.input.admissionregistration.v1.ValidatingAdmissionPolicyBinding;

const WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"];
const TENANT_PREFIX = tenantNamespace("");
const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const TENANTS_USERNAME = `system:serviceaccount:${KUBE_SYSTEM_NAMESPACE}:${TENANTS_ACCOUNT}`;

/** Cluster-wide by RBAC, tenant namespaces only by TENANTS_SCOPE_POLICY: what TenantShard registers in a tenant's namespace. */
export const TENANTS_CLUSTER_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces", "resourcequotas", "limitranges"], verbs: WRITE },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: WRITE },
];
/**
 * In the router's namespace: the tenants' routes (an Ingress and an ExternalName Service each);
 * Endpoints and EndpointSlices are read by Pulumi's wait for an Ingress.
 */
export const TENANTS_ROUTE_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["services"], verbs: WRITE },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: WRITE },
  { apiGroups: [""], resources: ["endpoints"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
];
/** In monitoring: each shard's TLS probe of its hostnames. */
export const TENANTS_PROBE_RULES: PolicyRule[] = [{ apiGroups: ["monitoring.coreos.com"], resources: ["probes"], verbs: WRITE }];

export const TENANTS_SCOPE_POLICY = "enclii-tenants-scope";
export const ROUTER_NO_SECRETS_POLICY = "enclii-tenant-router-no-secrets";

const str = (s: string) => `'${s}'`;
/** A refusal answers 403 like RBAC's (the default, Invalid, would answer 422 as for a malformed object). */
const FORBIDDEN = "Forbidden";
const the = `(request.operation == 'DELETE' ? oldObject : object)`;
const writes = (o: string) => `request.operation == 'DELETE' || ${o}`;

/** Each check with the message the API server returns, which names the policy. */
export const TENANTS_SCOPE_VALIDATIONS = [
  {
    expression: `request.resource.resource == 'namespaces' ? ${the}.metadata.name.startsWith(${str(TENANT_PREFIX)}) : (request.namespace.startsWith(${str(TENANT_PREFIX)}) || (request.namespace == ${str(TENANT_ROUTER.namespace)} && request.resource.resource in ['ingresses', 'services'] && request.name.startsWith(${str(TENANT_PREFIX)})) || (request.namespace == ${str(MONITORING_NAMESPACE)} && request.resource.resource == 'probes'))`,
    message: `${TENANTS_SCOPE_POLICY}: the tenant shards' account writes only in ${TENANT_PREFIX}* namespaces, their routes (named ${TENANT_PREFIX}*) in ${TENANT_ROUTER.namespace} and their probes in ${MONITORING_NAMESPACE}`,
  },
  {
    expression: `request.resource.resource != 'namespaces' || ${writes(`(has(object.metadata.labels) && ${str(ENFORCE_LABEL)} in object.metadata.labels && object.metadata.labels[${str(ENFORCE_LABEL)}] == ${str(RESTRICTED_NAMESPACE_LABELS[ENFORCE_LABEL])} && ${str(TENANT_LABEL)} in object.metadata.labels)`)}`,
    message: `${TENANTS_SCOPE_POLICY}: a tenant namespace keeps Pod Security "restricted" enforced and its ${TENANT_LABEL} label`,
  },
  {
    expression: `request.namespace != ${str(TENANT_ROUTER.namespace)} || request.resource.resource != 'services' || ${writes(`(object.spec.type == 'ExternalName' && object.spec.externalName.endsWith('.' + object.metadata.name + '.svc.cluster.local'))`)}`,
    message: `${TENANTS_SCOPE_POLICY}: a Service in ${TENANT_ROUTER.namespace} is an ExternalName into the tenant namespace of its own name`,
  },
  {
    expression: `request.namespace != ${str(TENANT_ROUTER.namespace)} || request.resource.resource != 'ingresses' || ${writes(`(!has(object.spec.ingressClassName) && !(has(object.metadata.annotations) && ${str(INGRESS_CLASS_ANNOTATION)} in object.metadata.annotations) && !has(object.spec.tls) && object.spec.rules.all(r, !has(r.http) || r.http.paths.all(p, p.backend.service.name == object.metadata.name)))`)}`,
    message: `${TENANTS_SCOPE_POLICY}: an Ingress in ${TENANT_ROUTER.namespace} names no class (the router takes every Ingress there), has no TLS section and routes only to the Service of its own name`,
  },
];

export function tenantsScopePolicy(): Policy {
  return {
    metadata: { name: TENANTS_SCOPE_POLICY },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], resources: ["*"], operations: ["CREATE", "UPDATE", "DELETE"] }],
      },
      matchConditions: [{ name: "tenants-account", expression: `request.userInfo.username == ${str(TENANTS_USERNAME)}` }],
      validations: TENANTS_SCOPE_VALIDATIONS.map((v) => ({ ...v, reason: FORBIDDEN })),
    },
  };
}

/** The router reads its namespace's Secrets (Traefik insists): so none may exist there, whoever asks. */
export function routerNoSecretsPolicy(): Policy {
  return {
    metadata: { name: ROUTER_NO_SECRETS_POLICY },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["secrets"], operations: ["CREATE", "UPDATE"] }],
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": TENANT_ROUTER.namespace } },
      },
      validations: [
        {
          expression: "false",
          reason: FORBIDDEN,
          message: `${ROUTER_NO_SECRETS_POLICY}: no Secret in ${TENANT_ROUTER.namespace}, whose Secrets the internet-facing router can read`,
        },
      ],
    },
  };
}

export function bindingFor(policy: string): Binding {
  return { metadata: { name: policy }, spec: { policyName: policy, validationActions: ["Deny"] } };
}
