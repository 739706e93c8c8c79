/**
 * Each service's NetworkPolicy, derived from the specs: ingress only from cloudflared (when it
 * has routes) and from the services that call it; egress only to what it binds and calls. The
 * apps namespace's default-deny and DNS allow (components/baseline.ts) sit underneath.
 */
import type * as k8s from "@pulumi/kubernetes";
import { FROM_CLOUDFLARED, FROM_PROMETHEUS, inNamespace, internetEgress, podsIn, tcp } from "../baseline";
import { MONITORING_NAMESPACE, OBS_PORTS, POD_LABELS } from "../../model/observability/config";
import { DATA_NAMESPACE, PORTS, selectorLabels } from "../../model/names";
import type { AppService } from "../../model/config/services";

type Spec = k8s.types.input.networking.v1.NetworkPolicySpec;
type Ingress = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type Egress = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

export interface PolicyContext {
  redisMode: "standalone" | "sentinel";
  /** Janua sends mail through this port (587 for submission); no SMTP settings, no egress. */
  smtpPort?: number;
  /** With observability on: Prometheus scrapes, traces go to Tempo, availability is read through the read-only proxy. */
  observability?: { traces: boolean };
}

const pods = (service: string) => ({ podSelector: { matchLabels: selectorLabels(service) } });

/** Who calls `target` directly: its declared callers, and every OIDC consumer when it is the provider. */
function callersOf(target: AppService, all: AppService[]): string[] {
  const callers = new Set(target.callers);
  if (target.bindings.oidc?.role === "provider") {
    for (const s of all) if (s.bindings.oidc && s.bindings.oidc.role !== "provider") callers.add(s.name);
  }
  return [...callers].sort();
}

export function servicePolicy(svc: AppService, all: AppService[], ctx: PolicyContext): Spec {
  const ingress: Ingress[] = [];
  if (svc.hostnames.length > 0) {
    ingress.push({ from: [FROM_CLOUDFLARED], ports: [tcp(svc.port)] });
  }
  const obs = ctx.observability;
  if (obs && svc.metrics) ingress.push({ from: [FROM_PROMETHEUS], ports: [tcp(svc.metrics.port)] });
  const callers = callersOf(svc, all);
  if (callers.length > 0) ingress.push({ from: callers.map(pods), ports: [tcp(svc.port)] });

  const egress: Egress[] = [];
  const b = svc.bindings;
  if (b.postgres) egress.push({ to: [inNamespace(DATA_NAMESPACE)], ports: [tcp(PORTS.postgres)] });
  if (b.redis)
    egress.push({
      to: [inNamespace(DATA_NAMESPACE)],
      ports: (ctx.redisMode === "sentinel" ? [PORTS.redis, PORTS.sentinel] : [PORTS.redis]).map(tcp),
    });
  const internet = [...(b.r2 ? [PORTS.https] : []), ...(b.oidc?.role === "provider" && ctx.smtpPort !== undefined ? [ctx.smtpPort] : [])];
  if (internet.length > 0) egress.push(internetEgress([...new Set(internet)].sort((x, y) => x - y).map(tcp)));
  if (obs?.traces && b.tracing) egress.push({ to: [podsIn(MONITORING_NAMESPACE, POD_LABELS.tempo)], ports: [tcp(OBS_PORTS.otlpHttp)] });
  if (obs && b.availability) egress.push({ to: [podsIn(MONITORING_NAMESPACE, POD_LABELS.readonly)], ports: [tcp(OBS_PORTS.readonly)] });
  for (const callee of all) {
    if (callee.name !== svc.name && callersOf(callee, all).includes(svc.name))
      egress.push({ to: [pods(callee.name)], ports: [tcp(callee.port)] });
  }

  return { podSelector: { matchLabels: selectorLabels(svc.name) }, policyTypes: ["Ingress", "Egress"], ingress, egress };
}
