import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { FALLBACK_ORIGIN_LABEL } from "../../model/names";
import type { Tenant } from "../../model/routes";

export const MIN_TLS_VERSION = "1.2";
const AUTOMATIC_TTL = 1;
/** The list lookup's page budget: comfortably above every hostname we could create. */
const MAX_LISTED_HOSTNAMES = 100_000;

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

export interface SaasHostnamesArgs {
  zoneId: string;
  domain: string;
  /** The tunnel's `<id>.cfargotunnel.com`: the fallback origin is a proxied CNAME to it. */
  tunnelCname: pulumi.Input<string>;
  tenants: Tenant[];
  provider: cloudflare.Provider;
}

/**
 * Cloudflare for SaaS: customers CNAME their own hostnames to `proxy.<domain>`, the fallback
 * origin, which is the tunnel; each hostname gets a DV certificate validated by TXT record.
 * Nothing is registered without tenant hostnames, so zones without SaaS enabled stay untouched.
 */
export class SaasHostnames extends pulumi.ComponentResource {
  public readonly fallbackOrigin: string;
  /** Per hostname, sorted: status and the DNS records the customer must add. */
  public readonly hostnames: pulumi.Output<Record<string, HostnameStatus>>;

  constructor(name: string, args: SaasHostnamesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:edge:SaasHostnames", name, {}, opts);
    const cf = { parent: this, provider: args.provider };
    this.fallbackOrigin = `${FALLBACK_ORIGIN_LABEL}.${args.domain}`;
    const entries = args.tenants
      .flatMap((t) => t.hostnames.map((hostname) => ({ tenant: t.name, hostname })))
      .sort((a, b) => (a.hostname < b.hostname ? -1 : 1));

    if (entries.length === 0) {
      this.hostnames = pulumi.output<Record<string, HostnameStatus>>({});
      this.registerOutputs({ fallbackOrigin: this.fallbackOrigin, hostnames: this.hostnames });
      return;
    }

    const record = new cloudflare.DnsRecord(
      `${name}-fallback-cname`,
      {
        zoneId: args.zoneId,
        name: this.fallbackOrigin,
        type: "CNAME",
        content: args.tunnelCname,
        proxied: true,
        ttl: AUTOMATIC_TTL,
        comment: "Cloudflare for SaaS fallback origin",
      },
      cf,
    );
    const fallback = new cloudflare.CustomHostnameFallbackOrigin(
      `${name}-fallback`,
      { zoneId: args.zoneId, origin: this.fallbackOrigin },
      { ...cf, dependsOn: [record] },
    );
    const created = entries.map(
      ({ hostname }) =>
        new cloudflare.CustomHostname(
          `${name}-${hostname}`,
          {
            zoneId: args.zoneId,
            hostname,
            ssl: { method: "txt", type: "dv", settings: { minTlsVersion: MIN_TLS_VERSION, tls13: "on" } },
          },
          { ...cf, dependsOn: [fallback] },
        ),
    );
    // The resource does not expose the certificate's DCV records; one list call (paginated) for
    // the whole zone does, where one lookup per hostname would cost an API call each on every preview.
    const listed = cloudflare.getCustomHostnamesOutput(
      { zoneId: args.zoneId, maxItems: MAX_LISTED_HOSTNAMES },
      { ...cf, dependsOn: created },
    );

    this.hostnames = pulumi
      .all([listed.results, pulumi.all(created.map((c) => pulumi.all([c.status, c.ownershipVerification])))])
      .apply(([results, states]) => {
        const byHostname = new Map(results.map((r) => [r.hostname, r]));
        const out: Record<string, HostnameStatus> = {};
        entries.forEach(({ tenant, hostname }, i) => {
          const [status, ov] = states[i];
          const ssl = byHostname.get(hostname)?.ssl;
          out[hostname] = {
            tenant,
            status,
            sslStatus: ssl?.status ?? "unknown",
            cnameTarget: this.fallbackOrigin,
            ownershipVerification: { type: ov.type.toUpperCase(), name: ov.name, value: ov.value },
            sslValidation: (ssl?.validationRecords ?? [])
              .filter((v) => v.txtName)
              .map((v) => ({ type: "TXT", name: v.txtName, value: v.txtValue })),
          };
        });
        return out;
      });
    this.registerOutputs({ fallbackOrigin: this.fallbackOrigin, hostnames: this.hostnames });
  }
}
