/** cloudflared's ingress rules from the routes: pure, so the Tunnel and the tests read the same list. */
import { serviceUrl, type Route } from "../../model/routes";

export const CATCH_ALL = { service: "http_status:404" } as const;

/**
 * cloudflared's ingress rules: sorted by hostname so the config (and its diff) does not depend
 * on the order routes were declared, with the mandatory catch-all last: the fallback service when
 * there is one (the tenant router), else a 404.
 */
export function tunnelIngress(routes: Route[], fallback?: Route["service"]): { hostname?: string; service: string }[] {
  const sorted = [...routes].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const last = fallback ? { service: serviceUrl(fallback) } : { ...CATCH_ALL };
  return [...sorted.map((r) => ({ hostname: r.hostname, service: serviceUrl(r.service) })), last];
}
