import * as cloudflare from "@pulumi/cloudflare";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FALLBACK_ORIGIN_LABEL } from "../../model/names";
import type { Route } from "../../model/routes";
import { TenantRouter } from "./TenantRouter";
import { TenantsAccess } from "./TenantsAccess";

const AUTOMATIC_TTL = 1;
/**
 * Cloudflare's global permission-group ids: "SSL and Certificates Write" (custom hostnames and
 * their certificates) and "Zone Read". Fixed ids, as for R2's: the lookup would cost an API call
 * on every preview and a token that may read tokens.
 */
export const SSL_AND_CERTIFICATES_WRITE = "c03055bc037c4ea9afb9a9f104b7b721";
export const ZONE_READ = "c8fed203ed3043cba015a93ad1616f1f";

export interface CustomHostnamesArgs {
  stack: string;
  accountId: string;
  zoneId: string;
  domain: string;
  /** The tunnel's `<id>.cfargotunnel.com`: the fallback origin is a proxied CNAME to it. */
  tunnelCname: pulumi.Input<string>;
  routerReplicas: number;
  /** The nodes' addresses, where the router reaches the API server. */
  nodeIps: pulumi.Input<string>[];
  /** Observability runs: the shards' account may write their probes in monitoring. */
  probes: boolean;
  cloudflareProvider: cloudflare.Provider;
  k8sProvider: k8s.Provider;
}

/**
 * The platform's half of Cloudflare for SaaS, the same whatever the number of tenants: the
 * fallback origin (`proxy.<domain>`, a proxied CNAME to the tunnel) that customers' hostnames
 * CNAME to, the tenant router cloudflared sends them to, an account token limited to this zone's
 * custom hostnames that the tenant shards use (so shard stacks hold no secrets of their own), and
 * the shards' Kubernetes account.
 */
export class CustomHostnames extends pulumi.ComponentResource {
  public readonly fallbackOrigin: string;
  public readonly router: Route["service"];
  /** The shards' Kubernetes account. */
  public readonly access: TenantsAccess;
  /** For the tenant shards' Cloudflare provider. */
  public readonly apiToken: pulumi.Output<string>;

  constructor(name: string, args: CustomHostnamesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:edge:CustomHostnames", name, {}, opts);
    const cf = { parent: this, provider: args.cloudflareProvider };
    this.fallbackOrigin = `${FALLBACK_ORIGIN_LABEL}.${args.domain}`;
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
    new cloudflare.CustomHostnameFallbackOrigin(
      `${name}-fallback`,
      { zoneId: args.zoneId, origin: this.fallbackOrigin },
      { ...cf, dependsOn: [record] },
    );
    // Account-owned, like R2's tokens: it outlives the person who ran `pulumi up`.
    const token = new cloudflare.AccountToken(
      `${name}-token`,
      {
        accountId: args.accountId,
        name: `enclii-${args.stack}-tenants`,
        policies: [
          {
            effect: "allow",
            permissionGroups: [{ id: SSL_AND_CERTIFICATES_WRITE }, { id: ZONE_READ }],
            resources: JSON.stringify({ [`com.cloudflare.api.account.zone.${args.zoneId}`]: "*" }),
          },
        ],
      },
      cf,
    );
    this.apiToken = pulumi.secret(token.value);
    const router = new TenantRouter(
      `${name}-router`,
      { replicas: args.routerReplicas, fallbackOrigin: this.fallbackOrigin, nodeIps: args.nodeIps, provider: args.k8sProvider },
      { parent: this },
    );
    this.router = router.service;
    this.access = new TenantsAccess(
      `${name}-access`,
      { routerNamespace: router.namespace, probes: args.probes, provider: args.k8sProvider },
      { parent: this },
    );
    this.registerOutputs({
      fallbackOrigin: this.fallbackOrigin,
      router: this.router,
      apiToken: this.apiToken,
      access: this.access.account,
    });
  }
}
