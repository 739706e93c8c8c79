import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TENANT_ROUTER } from "../../model/names";
import { MONITORING_API, MONITORING_NAMESPACE } from "../../model/observability/config";
import type { Tenant } from "../../model/routes";
import { TENANTS_PER_SHARD } from "../../model/config/tenants";
import { hostnameResourceName, probeResourceName, tenantObjectName, type TenantObject } from "../../model/tenantResources";
import {
  CONTAINER_DEFAULTS,
  DEFAULT_TENANT_QUOTA,
  TENANT_OBJECT,
  tenantIngressSpec,
  tenantRouteMetadata,
  tenantRouteServiceSpec,
  tenantNamespaceSpec,
  tenantPolicySpec,
  shardProbeSpec,
} from "./tenantObjects";

export const MIN_TLS_VERSION = "1.2";
/** The list lookup's page budget: comfortably above every hostname a zone could hold. */
const MAX_LISTED_HOSTNAMES = 100_000;
/** Tenant pods admit the tenant router only. */
const FROM_ROUTER = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": TENANT_ROUTER.namespace } },
  podSelector: { matchLabels: { ...TENANT_ROUTER.labels } },
};

export interface DnsRecordToAdd {
  type: string;
  name: string;
  value: string;
}

/** What a customer (and the operator) needs to know about one custom hostname. */
export interface HostnameStatus {
  tenant: string;
  /** Activation status; "active" once ownership is verified. */
  status: string;
  sslStatus: string;
  /** The customer points their hostname here (CNAME). */
  cnameTarget: string;
  ownershipVerification: DnsRecordToAdd;
  /** DCV TXT records for the certificate; empty once issued. */
  sslValidation: DnsRecordToAdd[];
}

export interface TenantShardArgs {
  tenants: Tenant[];
  zoneId: pulumi.Input<string>;
  /** The platform's `proxy.<domain>`, which customers CNAME their hostnames to. */
  fallbackOrigin: pulumi.Input<string>;
  /** The platform's blackbox exporter, when it runs observability: the shard's hostnames get a TLS probe (a stuck certificate alerts). */
  prober?: string;
  /** The shard's stack (`production-003`): names its probe in the monitoring namespace. */
  shard: string;
  cloudflareProvider: cloudflare.Provider;
  k8sProvider: k8s.Provider;
}

export function validateTenantShardArgs(args: TenantShardArgs): string[] {
  return args.tenants.length > TENANTS_PER_SHARD ? [`${args.tenants.length} tenants: a shard holds at most ${TENANTS_PER_SHARD}`] : [];
}

/**
 * Up to TENANTS_PER_SHARD tenants: per tenant a namespace (restricted Pod Security, quota,
 * default limits, one NetworkPolicy), a route in the tenant router's namespace (an Ingress and
 * an ExternalName Service into the tenant's namespace), and a Cloudflare custom hostname (DV
 * certificate by TXT) per hostname. Six objects plus the hostnames per tenant, registered straight
 * under the shard: a component per tenant would add a resource each. Every name comes from
 * model/tenantResources.ts, from which `domains` targets one tenant's resources.
 */
export class TenantShard extends pulumi.ComponentResource {
  /** Per hostname, sorted: status and the DNS records the customer must add. */
  public readonly hostnames: pulumi.Output<Record<string, HostnameStatus>>;

  constructor(name: string, args: TenantShardArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = validateTenantShardArgs(args);
    if (problems.length > 0) throw new Error(`${name}: ${problems.join("; ")}`);
    super("enclii:tenants:TenantShard", name, {}, opts);
    const kube = { parent: this, provider: args.k8sProvider };
    const cf = { parent: this, provider: args.cloudflareProvider };
    const tenants = [...args.tenants].sort((a, b) => (a.name < b.name ? -1 : 1));

    for (const tenant of tenants) {
      const id = (object: TenantObject) => tenantObjectName(name, tenant.name, object);
      const ns = new k8s.core.v1.Namespace(id("namespace"), tenantNamespaceSpec(tenant), kube);
      const namespace = ns.metadata.name;
      const meta = { name: TENANT_OBJECT, namespace };
      new k8s.core.v1.ResourceQuota(id("quota"), { metadata: meta, spec: { hard: DEFAULT_TENANT_QUOTA } }, kube);
      new k8s.core.v1.LimitRange(id("limits"), { metadata: meta, spec: { limits: [{ type: "Container", ...CONTAINER_DEFAULTS }] } }, kube);
      new k8s.networking.v1.NetworkPolicy(id("policy"), { metadata: meta, spec: tenantPolicySpec(tenant, FROM_ROUTER) }, kube);
      const route = tenantRouteMetadata(tenant);
      const target = new k8s.core.v1.Service(id("route-service"), { metadata: route, spec: tenantRouteServiceSpec(tenant) }, kube);
      new k8s.networking.v1.Ingress(id("ingress"), { metadata: route, spec: tenantIngressSpec(tenant) }, { ...kube, dependsOn: [target] });
    }
    if (args.prober && tenants.length > 0)
      new k8s.apiextensions.CustomResource(
        probeResourceName(name),
        {
          apiVersion: MONITORING_API,
          kind: "Probe",
          metadata: { name: `custom-hostnames-${args.shard}`, namespace: MONITORING_NAMESPACE },
          spec: shardProbeSpec(tenants, args.prober, args.shard),
        },
        kube,
      );

    const entries = tenants
      .flatMap((t) => t.hostnames.map((hostname) => ({ tenant: t.name, hostname })))
      .sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
    const created = entries.map(
      ({ hostname }) =>
        new cloudflare.CustomHostname(
          hostnameResourceName(name, hostname),
          {
            zoneId: args.zoneId,
            hostname,
            ssl: { method: "txt", type: "dv", settings: { minTlsVersion: MIN_TLS_VERSION, tls13: "on" } },
          },
          cf,
        ),
    );
    if (created.length === 0) {
      this.hostnames = pulumi.output<Record<string, HostnameStatus>>({});
      this.registerOutputs({ hostnames: this.hostnames });
      return;
    }
    // The resource does not expose the certificate's DCV records; one list call (paginated) per
    // shard does, where one lookup per hostname would cost an API call each on every preview.
    const listed = cloudflare.getCustomHostnamesOutput(
      { zoneId: args.zoneId, maxItems: MAX_LISTED_HOSTNAMES },
      { ...cf, dependsOn: created },
    );
    this.hostnames = pulumi
      .all([listed.results, args.fallbackOrigin, pulumi.all(created.map((c) => pulumi.all([c.status, c.ownershipVerification])))])
      .apply(([results, fallbackOrigin, states]) => {
        const byHostname = new Map(results.map((r) => [r.hostname, r]));
        const out: Record<string, HostnameStatus> = {};
        entries.forEach(({ tenant, hostname }, i) => {
          const [status, ov] = states[i];
          const ssl = byHostname.get(hostname)?.ssl;
          out[hostname] = {
            tenant,
            status,
            sslStatus: ssl?.status ?? "unknown",
            cnameTarget: fallbackOrigin,
            ownershipVerification: { type: ov.type.toUpperCase(), name: ov.name, value: ov.value },
            sslValidation: (ssl?.validationRecords ?? [])
              .filter((v) => v.txtName)
              .map((v) => ({ type: "TXT", name: v.txtName, value: v.txtValue })),
          };
        });
        return out;
      });
    this.registerOutputs({ hostnames: this.hostnames });
  }
}
