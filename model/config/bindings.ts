/**
 * The environment variables each binding gives a service, as a table: the apps' env is built from
 * these names, and the spec check refuses a spec's own env that would shadow one.
 */

export const BINDING_ENV = {
  postgres: { databaseUrl: "DATABASE_URL" },
  redis: { redisUrl: "REDIS_URL", commandTimeoutMs: "REDIS_COMMAND_TIMEOUT_MS" },
  r2: { endpoint: "R2_ENDPOINT", bucket: "R2_BUCKET", accessKeyId: "R2_ACCESS_KEY_ID", secretAccessKey: "R2_SECRET_ACCESS_KEY" },
  /** The identity provider (Janua). */
  provider: {
    issuer: "JANUA_ISSUER",
    signingKeys: "JANUA_SIGNING_KEYS",
    hs256: "JANUA_HS256_SECRET",
    session: "JANUA_SESSION_SECRET",
    clients: "JANUA_CLIENTS",
  },
  /** The provider's mail settings, when `enclii:smtp` is set. */
  smtp: { host: "SMTP_HOST", port: "SMTP_PORT", username: "SMTP_USERNAME", from: "SMTP_FROM", password: "SMTP_PASSWORD" },
  /** A browser app: a public client. */
  client: { authority: "OIDC_AUTHORITY", clientId: "OIDC_CLIENT_ID", redirectUri: "OIDC_REDIRECT_URI", scope: "OIDC_SCOPE" },
  /** An API: validates tokens and holds a confidential client. */
  resourceServer: {
    issuer: "JANUA_ISSUER",
    jwksUrl: "JANUA_JWKS_URL",
    audience: "JANUA_AUDIENCE",
    hs256: "JANUA_HS256_SECRET",
    clientId: "OIDC_CLIENT_ID",
    clientSecret: "OIDC_CLIENT_SECRET",
  },
  /** OpenTelemetry's standard SDK variables: traces to the environment's collector, or the SDK off. */
  tracing: {
    endpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
    protocol: "OTEL_EXPORTER_OTLP_PROTOCOL",
    serviceName: "OTEL_SERVICE_NAME",
    resourceAttributes: "OTEL_RESOURCE_ATTRIBUTES",
    sampler: "OTEL_TRACES_SAMPLER",
    samplerArg: "OTEL_TRACES_SAMPLER_ARG",
    disabled: "OTEL_SDK_DISABLED",
  },
  /** The read-only Prometheus query path (GET /api/v1/query and query_range only). */
  availability: { url: "AVAILABILITY_PROMETHEUS_URL" },
} as const;

/** The bindings' shape as far as their env names depend on it. */
export interface BindingKinds {
  postgres?: unknown;
  redis?: unknown;
  r2?: unknown;
  oidc?: { role: "provider" | "client" | "resource-server" };
  tracing?: unknown;
  availability?: unknown;
}

const names = (group: Record<string, string>) => Object.values(group);

/** Every name the bindings may set (with SMTP on), in the order the apps' env lists them. */
export function bindingEnvNames(b: BindingKinds): string[] {
  const oidc = b.oidc?.role;
  return [
    ...(b.postgres ? names(BINDING_ENV.postgres) : []),
    ...(b.redis ? names(BINDING_ENV.redis) : []),
    ...(b.r2 ? names(BINDING_ENV.r2) : []),
    ...(oidc === "provider" ? [...names(BINDING_ENV.provider), ...names(BINDING_ENV.smtp)] : []),
    ...(oidc === "client" ? names(BINDING_ENV.client) : []),
    ...(oidc === "resource-server" ? names(BINDING_ENV.resourceServer) : []),
    ...(b.tracing ? names(BINDING_ENV.tracing) : []),
    ...(b.availability ? names(BINDING_ENV.availability) : []),
  ];
}
