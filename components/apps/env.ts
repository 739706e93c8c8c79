/**
 * Environment variables a service gets from the bindings it declares. Values that are secrets
 * come only by reference to a Kubernetes Secret; plain values are public facts (URLs, ids).
 */
import type * as k8s from "@pulumi/kubernetes";
import { REDIS_SECRET, databaseSecretName } from "../data/contract";
import type { AppService, Bindings } from "../../stacks/services";
import { serviceUrl } from "../edge/routes";
import { APPS_NAMESPACE, JANUA_SECRETS, JWKS_PATH, OIDC_CALLBACK_PATH, R2_APP_SECRET, oidcClientSecretName } from "./contract";

type EnvVar = k8s.types.input.core.v1.EnvVar & { name: string };

export interface SmtpSettings {
  host: string;
  port: number;
  username: string;
  from: string;
}

export interface BindingContext {
  /** The service with `bindings.oidc.role: provider` (Janua): its name, port and public hostname. */
  provider?: { name: string; port: number; hostname: string };
  smtp?: SmtpSettings;
}

/** Keys of the Secrets the apps layer writes; `env.ts` and the components that fill them agree on these. */
export const SECRET_KEYS = {
  databaseUrl: "DATABASE_URL",
  redisUrl: "REDIS_URL",
  signingKeys: "signing-keys.json",
  hs256: "HS256_SECRET",
  session: "SESSION_SECRET",
  smtpPassword: "SMTP_PASSWORD",
  clients: "clients.json",
  clientSecret: "CLIENT_SECRET",
  r2: { endpoint: "R2_ENDPOINT", bucket: "R2_BUCKET", accessKeyId: "R2_ACCESS_KEY_ID", secretAccessKey: "R2_SECRET_ACCESS_KEY" },
} as const;

const fromSecret = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const plain = (name: string, value: string): EnvVar => ({ name, value });

export const issuerUrl = (hostname: string) => `https://${hostname}`;

function oidcEnv(svc: Pick<AppService, "hostnames">, oidc: NonNullable<Bindings["oidc"]>, ctx: BindingContext): EnvVar[] {
  // The spec rules guarantee a provider whenever a service binds oidc.
  const provider = ctx.provider;
  if (!provider) throw new Error("an oidc binding needs a service with bindings.oidc.role provider");
  const issuer = issuerUrl(provider.hostname);
  const hs256 = fromSecret("JANUA_HS256_SECRET", JANUA_SECRETS.internal, SECRET_KEYS.hs256);
  switch (oidc.role) {
    case "provider":
      return [
        plain("JANUA_ISSUER", issuer),
        fromSecret("JANUA_SIGNING_KEYS", JANUA_SECRETS.signingKeys, SECRET_KEYS.signingKeys),
        hs256,
        fromSecret("JANUA_SESSION_SECRET", JANUA_SECRETS.session, SECRET_KEYS.session),
        fromSecret("JANUA_CLIENTS", JANUA_SECRETS.clients, SECRET_KEYS.clients),
        ...(ctx.smtp
          ? [
              plain("SMTP_HOST", ctx.smtp.host),
              plain("SMTP_PORT", String(ctx.smtp.port)),
              plain("SMTP_USERNAME", ctx.smtp.username),
              plain("SMTP_FROM", ctx.smtp.from),
              fromSecret("SMTP_PASSWORD", JANUA_SECRETS.session, SECRET_KEYS.smtpPassword),
            ]
          : []),
      ];
    case "client":
      return [
        plain("OIDC_AUTHORITY", issuer),
        plain("OIDC_CLIENT_ID", oidc.clientId),
        plain("OIDC_REDIRECT_URI", `https://${svc.hostnames[0]}${OIDC_CALLBACK_PATH}`),
        plain("OIDC_SCOPE", oidc.scope),
      ];
    case "resource-server":
      return [
        plain("JANUA_ISSUER", issuer),
        plain("JANUA_JWKS_URL", `${serviceUrl({ namespace: APPS_NAMESPACE, name: provider.name, port: provider.port })}${JWKS_PATH}`),
        plain("JANUA_AUDIENCE", oidc.clientId),
        hs256,
        plain("OIDC_CLIENT_ID", oidc.clientId),
        fromSecret("OIDC_CLIENT_SECRET", oidcClientSecretName(oidc.clientId), SECRET_KEYS.clientSecret),
      ];
  }
}

/** The env a service's bindings give it, in a stable order. */
export function bindingEnv(svc: Pick<AppService, "bindings" | "hostnames">, ctx: BindingContext): EnvVar[] {
  const b = svc.bindings;
  const r2 = SECRET_KEYS.r2;
  return [
    ...(b.postgres ? [fromSecret("DATABASE_URL", databaseSecretName(b.postgres.database), SECRET_KEYS.databaseUrl)] : []),
    ...(b.redis ? [fromSecret("REDIS_URL", REDIS_SECRET, SECRET_KEYS.redisUrl)] : []),
    ...(b.r2 ? Object.values(r2).map((key) => fromSecret(key, R2_APP_SECRET, key)) : []),
    ...(b.oidc ? oidcEnv(svc, b.oidc, ctx) : []),
  ];
}

/** Names the bindings set (with every optional part on), for the spec check that env does not shadow them. */
export function bindingEnvNames(bindings: Bindings): string[] {
  const names: BindingContext = {
    provider: { name: "provider", port: 1, hostname: "example.invalid" },
    smtp: { host: "", port: 0, username: "", from: "" },
  };
  return bindingEnv({ bindings, hostnames: ["example.invalid"] }, names).map((e) => e.name);
}

/** Bindings first, then the spec's own env, each sorted: the pod spec does not change with declaration order. */
export function serviceEnv(svc: AppService, ctx: BindingContext): EnvVar[] {
  const own = Object.keys(svc.env)
    .sort()
    .map((name) => plain(name, svc.env[name]));
  return [...bindingEnv(svc, ctx), ...own];
}
