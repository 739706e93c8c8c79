/**
 * Names the apps layer shares with the rest of the program: where Enclii's own services run,
 * how their pods are labelled, and the Secrets bindings are read from.
 */

/** Where Enclii's own services run. */
export const APPS_NAMESPACE = "enclii-platform";
/** Pods, Services and NetworkPolicies find a service by this label (selectors are immutable, so nothing else). */
export const NAME_LABEL = "app.kubernetes.io/name";
export const PART_OF = { "app.kubernetes.io/part-of": "enclii" } as const;

/** The only R2 bucket apps may bind: backups are reachable by the data layer alone. */
export const R2_APP_BUCKETS = ["assets"] as const;
export const R2_APP_SECRET = "r2-assets";

/** Janua's in-cluster and public endpoints (OIDC discovery and JWKS paths are fixed by the spec). */
export const JWKS_PATH = "/.well-known/jwks.json";
export const OIDC_CALLBACK_PATH = "/callback";
export const LOCALHOST_REDIRECT = "http://localhost:3000/callback";

export const JANUA_SECRETS = {
  signingKeys: "janua-signing-keys",
  internal: "janua-internal",
  session: "janua-session",
  clients: "janua-clients",
} as const;
export const oidcClientSecretName = (clientId: string) => `oidc-client-${clientId}`;

export function selectorLabels(service: string): Record<string, string> {
  return { [NAME_LABEL]: service };
}
