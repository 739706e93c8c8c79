/**
 * Janua's OIDC client registry, derived from the specs: a service with an oidc `client` binding
 * becomes a public browser client redirected to its own routes; a `resource-server` binding
 * becomes a confidential client for client credentials. Janua loads the registry at start-up,
 * so clients are provisioned by `pulumi up` rather than by hand-made API calls.
 */
import { LOCALHOST_REDIRECT, OIDC_CALLBACK_PATH } from "../../model/names";
import type { AppService } from "../../model/config/services";

export interface OidcClient {
  client_id: string;
  client_name: string;
  grant_types: string[];
  scope: string;
  token_endpoint_auth_method: "none" | "client_secret_basic";
  application_type: "web" | "service";
  redirect_uris?: string[];
  response_types?: string[];
}

/** Public metadata only; confidential clients' secrets are added by the Janua component. */
export function oidcClients(services: AppService[], localhostRedirects: boolean): OidcClient[] {
  const clients: OidcClient[] = [];
  for (const s of services) {
    const oidc = s.bindings.oidc;
    const name = s.description ?? s.name;
    if (oidc?.role === "client") {
      clients.push({
        client_id: oidc.clientId,
        client_name: name,
        redirect_uris: [
          ...s.hostnames.map((h) => `https://${h}${OIDC_CALLBACK_PATH}`),
          ...(localhostRedirects ? [LOCALHOST_REDIRECT] : []),
        ],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        scope: oidc.scope,
        token_endpoint_auth_method: "none",
        application_type: "web",
      });
    } else if (oidc?.role === "resource-server") {
      clients.push({
        client_id: oidc.clientId,
        client_name: name,
        grant_types: ["client_credentials"],
        scope: oidc.scope,
        token_endpoint_auth_method: "client_secret_basic",
        application_type: "service",
      });
    }
  }
  return clients.sort((a, b) => (a.client_id < b.client_id ? -1 : 1));
}
