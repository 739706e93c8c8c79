import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { defaultDeny, DNS_EGRESS, FROM_PROMETHEUS, inNamespace, internetEgress, oneAtATime, tcp } from "../baseline";
import { workloadSpec } from "../workload";
import { RESTRICTED_NAMESPACE_LABELS } from "../../model/baseline";
import { CLOUDFLARED, PORTS, UIDS } from "../../model/names";
import { IMAGES } from "../../model/pins";
import { renderProblem } from "../../model/problem";
import { validateRoutes, type Route } from "../../model/routes";
import { tunnelIngress } from "./ingress";

const METRICS_PORT = CLOUDFLARED.metricsPort;
export const TUNNEL_CNAME_SUFFIX = "cfargotunnel.com";
/** Cloudflare requires at least 32 bytes for a tunnel secret. */
const SECRET_BYTES = 32;
const TOKEN_KEY = "token";
const AUTOMATIC_TTL = 1;
/** cloudflared reaches Cloudflare's edge on 7844 (QUIC over UDP, HTTP/2 over TCP) and its API on 443. */
const EDGE_PORTS = [{ protocol: "UDP", port: 7844 }, tcp(7844), tcp(PORTS.https)];
const RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } };

/** A hostname behind Cloudflare Access: cloudflared itself refuses its requests without a valid token of the application. */
export interface AccessGuard {
  hostname: string;
  /** The Zero Trust team (`<team>.cloudflareaccess.com`) whose keys sign the tokens. */
  teamName: string;
  /** The Access application's audience tag. */
  audience: pulumi.Input<string>;
}

export interface TunnelArgs {
  stack: string;
  accountId: string;
  zoneId: string;
  /** Our zone: every route's hostname is it or under it. */
  domain: string;
  routes: Route[];
  /**
   * Where hostnames without a rule go (the tenant router, with custom hostnames on): customers'
   * hostnames reach it through the SaaS fallback origin, so the tunnel config never lists them.
   * Without it, such requests get a 404 from cloudflared.
   */
  fallback?: Route["service"];
  replicas: number;
  /** With observability on: Prometheus may scrape cloudflared's metrics port (2000), nothing else. */
  scraped?: boolean;
  /**
   * The tunnel's ingress rules and DNS records wait for these: a route behind Cloudflare Access
   * (Grafana) must not be served before its Access application exists.
   */
  routesAfter?: pulumi.Resource[];
  /**
   * Routes whose rule requires Access (Grafana): if a request reached the tunnel around Access,
   * cloudflared would still check its `Cf-Access-Jwt-Assertion` against the application.
   */
  accessRequired?: AccessGuard[];
  cloudflareProvider: cloudflare.Provider;
  k8sProvider: k8s.Provider;
}

/**
 * One egress rule per routed namespace, limited to its routed ports. NetworkPolicy applies after
 * the Service's DNAT, so these ports must be the pods' ports: routed Services keep port = targetPort.
 */
export function routeEgress(routes: Route[]): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
  const ports = new Map<string, Set<number>>();
  for (const r of routes) ports.set(r.service.namespace, (ports.get(r.service.namespace) ?? new Set()).add(r.service.port));
  return [...ports.keys()].sort().map((ns) => ({
    to: [inNamespace(ns)],
    ports: [...ports.get(ns)!].sort((a, b) => a - b).map(tcp),
  }));
}

/**
 * A remotely-managed Cloudflare Tunnel and the cloudflared Deployment that runs it: the only
 * way public traffic reaches the cluster. Ingress rules come from the routes; each hostname in
 * our zone gets a proxied CNAME to the tunnel.
 */
export class Tunnel extends pulumi.ComponentResource {
  public readonly tunnelId: pulumi.Output<string>;
  /** `<tunnel-id>.cfargotunnel.com`: what public hostnames (and the SaaS fallback origin) CNAME to. */
  public readonly cnameTarget: pulumi.Output<string>;
  /** Hostnames in our zone that got a DNS record, sorted. */
  public readonly hostnames: string[];
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: TunnelArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems = validateRoutes(args.routes, args.domain);
    if (problems.length > 0) throw new Error(`${name}: invalid routes:\n${problems.map((p) => `  - ${renderProblem(p)}`).join("\n")}`);
    super("enclii:edge:Tunnel", name, {}, opts);
    const cf = { parent: this, provider: args.cloudflareProvider };
    const kube = { parent: this, provider: args.k8sProvider };
    // The fallback takes part in egress like any route; its rule is the catch-all, not a hostname.
    const egressTargets = [...args.routes, ...(args.fallback ? [{ hostname: "", service: args.fallback }] : [])];

    const secret = new random.RandomBytes(`${name}-secret`, { length: SECRET_BYTES }, { parent: this });
    const tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
      `${name}-tunnel`,
      { accountId: args.accountId, name: `enclii-${args.stack}`, configSrc: "cloudflare", tunnelSecret: secret.base64 },
      cf,
    );
    new cloudflare.ZeroTrustTunnelCloudflaredConfig(
      `${name}-config`,
      {
        accountId: args.accountId,
        tunnelId: tunnel.id,
        source: "cloudflare",
        config: {
          ingresses: tunnelIngress(args.routes, args.fallback).map((rule) => {
            const guard = args.accessRequired?.find((g) => g.hostname === rule.hostname);
            return guard
              ? { ...rule, originRequest: { access: { required: true, teamName: guard.teamName, audTags: [guard.audience] } } }
              : rule;
          }),
        },
      },
      { ...cf, dependsOn: args.routesAfter },
    );
    this.tunnelId = tunnel.id;
    this.cnameTarget = pulumi.interpolate`${tunnel.id}.${TUNNEL_CNAME_SUFFIX}`;
    this.hostnames = args.routes.map((r) => r.hostname).sort();
    for (const hostname of this.hostnames) {
      new cloudflare.DnsRecord(
        `${name}-${hostname}`,
        {
          zoneId: args.zoneId,
          name: hostname,
          type: "CNAME",
          content: this.cnameTarget,
          proxied: true,
          ttl: AUTOMATIC_TTL,
          comment: `enclii-${args.stack} tunnel`,
        },
        { ...cf, dependsOn: args.routesAfter },
      );
    }

    const token = cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId: args.accountId, tunnelId: tunnel.id }, cf);
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: CLOUDFLARED.namespace, labels: RESTRICTED_NAMESPACE_LABELS } },
      kube,
    );
    const namespace = ns.metadata.name;
    const tokenSecret = new k8s.core.v1.Secret(
      `${name}-token`,
      { metadata: { name: "cloudflared-token", namespace }, type: "Opaque", stringData: { [TOKEN_KEY]: pulumi.secret(token.token) } },
      kube,
    );

    const labels = { ...CLOUDFLARED.labels };
    const probe = { httpGet: { path: "/ready", port: METRICS_PORT }, periodSeconds: 10, failureThreshold: 3 };
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: "cloudflared", namespace, labels },
        spec: workloadSpec({
          labels,
          replicas: args.replicas,
          // A new tunnel means a new token in the same Secret: roll the pods onto it.
          podAnnotations: { "enclii.io/tunnel-id": tunnel.id },
          uid: UIDS.nonroot,
          container: {
            name: "cloudflared",
            image: IMAGES.cloudflared,
            args: ["tunnel", "--no-autoupdate", "--metrics", `0.0.0.0:${METRICS_PORT}`, "run"],
            env: [{ name: "TUNNEL_TOKEN", valueFrom: { secretKeyRef: { name: tokenSecret.metadata.name, key: TOKEN_KEY } } }],
            ports: [{ name: "metrics", containerPort: METRICS_PORT }],
            livenessProbe: { ...probe, initialDelaySeconds: 10 },
            readinessProbe: probe,
            resources: RESOURCES,
          },
        }),
      },
      kube,
    );
    oneAtATime(name, {
      metadata: { name: "cloudflared", namespace },
      labels,
      replicas: args.replicas,
      provider: args.k8sProvider,
      parent: this,
    });

    defaultDeny(name, { namespace, provider: args.k8sProvider, parent: this });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-egress-edge`,
      {
        metadata: { name: "egress-edge", namespace },
        spec: {
          podSelector: { matchLabels: labels },
          policyTypes: ["Egress"],
          egress: [DNS_EGRESS, internetEgress(EDGE_PORTS)],
        },
      },
      kube,
    );
    if (args.scraped) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-allow-scrape`,
        {
          metadata: { name: "allow-scrape", namespace },
          spec: {
            podSelector: { matchLabels: labels },
            policyTypes: ["Ingress"],
            ingress: [{ from: [FROM_PROMETHEUS], ports: [tcp(METRICS_PORT)] }],
          },
        },
        kube,
      );
    }
    if (egressTargets.length > 0) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-egress-routes`,
        {
          metadata: { name: "egress-routes", namespace },
          spec: { podSelector: { matchLabels: labels }, policyTypes: ["Egress"], egress: routeEgress(egressTargets) },
        },
        kube,
      );
    }

    this.namespace = namespace;
    this.registerOutputs({ tunnelId: this.tunnelId, cnameTarget: this.cnameTarget, hostnames: this.hostnames, namespace: this.namespace });
  }
}
