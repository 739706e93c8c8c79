/**
 * Public routes as plain data: the apps layer and the tenants produce them, the edge consumes
 * them (tunnel ingress, DNS, NetworkPolicies). Pure, so the rules are tested without mocks.
 */
import { dnsNameProblem } from "./dnsName";
import { FALLBACK_ORIGIN_LABEL, tenantNamespace } from "./names";
import type { Problem } from "./problem";

export interface Route {
  hostname: string;
  service: { namespace: string; name: string; port: number };
}

export interface Tenant {
  name: string;
  hostnames: string[];
  service: { name: string; port: number };
}

const MAX_PORT = 65535;

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Kubernetes validates Service names as DNS-1035 labels: unlike namespaces they must start with a letter.
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function tenantRoutes(tenants: Tenant[]): Route[] {
  return tenants.flatMap((t) =>
    t.hostnames.map((hostname) => ({ hostname, service: { namespace: tenantNamespace(t.name), ...t.service } })),
  );
}

function inZone(hostname: string, zone: string): boolean {
  return hostname === zone || hostname.endsWith(`.${zone}`);
}

export type RouteProblem = Problem<
  | "duplicate-hostname"
  | "invalid-hostname"
  | "outside-zone"
  | "inside-zone"
  | "reserved-hostname"
  | "invalid-namespace"
  | "invalid-service-name"
  | "invalid-port"
>;

function serviceProblems(r: Route): RouteProblem[] {
  const { namespace, name, port } = r.service;
  const problems: RouteProblem[] = [];
  const add = (code: RouteProblem["code"], message: string) => problems.push({ where: r.hostname, code, message });
  if (!DNS_1123_LABEL.test(namespace)) add("invalid-namespace", `service namespace "${namespace}" must be a DNS-1123 label`);
  if (!DNS_1035_LABEL.test(name)) add("invalid-service-name", `service name "${name}" must be a DNS-1035 label`);
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT)
    add("invalid-port", `service port ${port} must be an integer from 1 to ${MAX_PORT}`);
  return problems;
}

/**
 * Every problem, each at its hostname. `routes` are ours and must be the zone or under it;
 * `tenant` routes are customers' custom hostnames and must be outside it.
 */
export function validateRoutes(routes: Route[], zone: string, tenant: Route[] = []): RouteProblem[] {
  const problems: RouteProblem[] = [];
  const seen = new Set<string>();
  const reported = new Set<string>();
  const fallback = `${FALLBACK_ORIGIN_LABEL}.${zone}`;
  const check = (r: Route, ours: boolean) => {
    const h = r.hostname;
    const add = (code: RouteProblem["code"], message: string) => problems.push({ where: h, code, message });
    if (seen.has(h) && !reported.has(h)) {
      add("duplicate-hostname", "hostname is used by more than one route");
      reported.add(h);
    }
    seen.add(h);
    const invalid = dnsNameProblem(h);
    if (invalid) add("invalid-hostname", `hostname ${invalid}`);
    else if (ours && !inZone(h, zone)) add("outside-zone", `hostname must be ${zone} or under it`);
    else if (!ours && inZone(h, zone)) add("inside-zone", `tenant hostname must not be under our zone ${zone}`);
    else if (h === fallback) add("reserved-hostname", "hostname is reserved for the Cloudflare for SaaS fallback origin");
    problems.push(...serviceProblems(r));
  };
  for (const r of routes) check(r, true);
  for (const r of tenant) check(r, false);
  return problems;
}

export function serviceUrl(s: Route["service"]): string {
  return `http://${s.name}.${s.namespace}.svc.cluster.local:${s.port}`;
}
