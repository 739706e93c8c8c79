/**
 * Environment variables a service gets from the bindings it declares, named by the table in
 * model/config/bindings.ts. Values that are secrets come only by reference to a Kubernetes Secret;
 * plain values are public facts (URLs, ids).
 */
import type * as k8s from "@pulumi/kubernetes";
import { BINDING_ENV } from "../../model/config/bindings";
import {
  APPS_NAMESPACE,
  JANUA_SECRETS,
  JWKS_PATH,
  OIDC_CALLBACK_PATH,
  R2_APP_SECRET,
  REDIS_COMMAND_TIMEOUT_MS,
  REDIS_SECRET,
  SECRET_KEYS,
  databaseSecretName,
  issuerUrl,
  oidcClientSecretName,
} from "../../model/names";
import { OTLP_HTTP_URL, READONLY_PROMETHEUS_URL } from "../../model/observability/config";
import { serviceUrl } from "../../model/routes";
import type { SmtpSettings } from "../../model/config/schema";
import type { AppService, Bindings } from "../../model/config/services";

type EnvVar = k8s.types.input.core.v1.EnvVar & { name: string };

export interface BindingContext {
  /** The service with `bindings.oidc.role: provider` (Janua): its name, port and public hostname. */
  provider?: { name: string; port: number; hostname: string };
  smtp?: SmtpSettings;
  /** The environment (stack) the services run in, as their traces name it. */
  stack: string;
  /** The environment's observability: traces collected (and where), availability readable. Absent: off. */
  observability?: { traces: boolean };
}

const fromSecret = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const plain = (name: string, value: string): EnvVar => ({ name, value });

function oidcEnv(svc: Pick<AppService, "hostnames">, oidc: NonNullable<Bindings["oidc"]>, ctx: BindingContext): EnvVar[] {
  // The spec rules guarantee a provider whenever a service binds oidc.
  const provider = ctx.provider;
  if (!provider) throw new Error("an oidc binding needs a service with bindings.oidc.role provider");
  const issuer = issuerUrl(provider.hostname);
  switch (oidc.role) {
    case "provider": {
      const env = BINDING_ENV.provider;
      const smtp = BINDING_ENV.smtp;
      return [
        plain(env.issuer, issuer),
        fromSecret(env.signingKeys, JANUA_SECRETS.signingKeys, SECRET_KEYS.signingKeys),
        fromSecret(env.hs256, JANUA_SECRETS.internal, SECRET_KEYS.hs256),
        fromSecret(env.session, JANUA_SECRETS.session, SECRET_KEYS.session),
        fromSecret(env.clients, JANUA_SECRETS.clients, SECRET_KEYS.clients),
        ...(ctx.smtp
          ? [
              plain(smtp.host, ctx.smtp.host),
              plain(smtp.port, String(ctx.smtp.port)),
              plain(smtp.username, ctx.smtp.username),
              plain(smtp.from, ctx.smtp.from),
              fromSecret(smtp.password, JANUA_SECRETS.session, SECRET_KEYS.smtpPassword),
            ]
          : []),
      ];
    }
    case "client": {
      const env = BINDING_ENV.client;
      return [
        plain(env.authority, issuer),
        plain(env.clientId, oidc.clientId),
        plain(env.redirectUri, `https://${svc.hostnames[0]}${OIDC_CALLBACK_PATH}`),
        plain(env.scope, oidc.scope),
      ];
    }
    case "resource-server": {
      const env = BINDING_ENV.resourceServer;
      return [
        plain(env.issuer, issuer),
        plain(env.jwksUrl, `${serviceUrl({ namespace: APPS_NAMESPACE, name: provider.name, port: provider.port })}${JWKS_PATH}`),
        plain(env.audience, oidc.clientId),
        fromSecret(env.hs256, JANUA_SECRETS.internal, SECRET_KEYS.hs256),
        plain(env.clientId, oidc.clientId),
        fromSecret(env.clientSecret, oidcClientSecretName(oidc.clientId), SECRET_KEYS.clientSecret),
      ];
    }
  }
}

/** The env a service's bindings give it, in a stable order. */
export function bindingEnv(svc: Pick<AppService, "name" | "bindings" | "hostnames">, ctx: BindingContext): EnvVar[] {
  const b = svc.bindings;
  const r2 = BINDING_ENV.r2;
  return [
    ...(b.postgres ? [fromSecret(BINDING_ENV.postgres.databaseUrl, databaseSecretName(b.postgres.database), SECRET_KEYS.databaseUrl)] : []),
    ...(b.redis
      ? [
          fromSecret(BINDING_ENV.redis.redisUrl, REDIS_SECRET, SECRET_KEYS.redisUrl),
          plain(BINDING_ENV.redis.commandTimeoutMs, String(REDIS_COMMAND_TIMEOUT_MS)),
        ]
      : []),
    ...(b.r2 ? (Object.keys(r2) as (keyof typeof r2)[]).map((k) => fromSecret(r2[k], R2_APP_SECRET, SECRET_KEYS.r2[k])) : []),
    ...(b.oidc ? oidcEnv(svc, b.oidc, ctx) : []),
    ...(b.tracing ? tracingEnv(svc.name, b.tracing.sampleRatio, ctx) : []),
    ...(b.availability ? [plain(BINDING_ENV.availability.url, ctx.observability ? READONLY_PROMETHEUS_URL : "")] : []),
  ];
}

/** The OTEL_* variables every OpenTelemetry SDK reads; with tracing off the SDK is switched off, not left to retry. */
function tracingEnv(service: string, sampleRatio: number, ctx: BindingContext): EnvVar[] {
  const env = BINDING_ENV.tracing;
  const on = ctx.observability?.traces === true;
  return [
    plain(env.endpoint, on ? OTLP_HTTP_URL : ""),
    plain(env.protocol, "http/protobuf"),
    plain(env.serviceName, service),
    plain(env.resourceAttributes, `deployment.environment.name=${ctx.stack},service.namespace=${APPS_NAMESPACE}`),
    plain(env.sampler, "parentbased_traceidratio"),
    plain(env.samplerArg, String(sampleRatio)),
    plain(env.disabled, on ? "false" : "true"),
  ];
}

/** Bindings first, then the spec's own env, each sorted: the pod spec does not change with declaration order. */
export function serviceEnv(svc: AppService, ctx: BindingContext): EnvVar[] {
  const own = Object.keys(svc.env)
    .sort()
    .map((name) => plain(name, svc.env[name]));
  return [...bindingEnv(svc, ctx), ...own];
}
