import * as cloudflare from "@pulumi/cloudflare";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { Platform } from "../components/platform/Platform";
import { estimateCost } from "../model/cost/bill";
import { EXTERNAL_URLS_KEY, SIGNING_KEYS_KEY, SMTP_PASSWORD_KEY, type Environment } from "../model/config/schema";
import { PAGING_KEY } from "../model/observability/config";
import type { PlatformOutputs } from "../model/platformOutputs";
import { adoption } from "./adopt";
import { ConfigError, parseEnvironment } from "./config";
import { DOGFOODING_DIR, readSpecFiles } from "./specs";

/**
 * Which config keys were set as secrets. The SDK answers this (`isConfigSecret`, the same check
 * `Config.getSecret` relies on) but leaves it out of its typings.
 */
function secretConfigKeys(config: Record<string, string>): Set<string> {
  const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
  return new Set(Object.keys(config).filter((k) => runtime.isConfigSecret(k)));
}

/** A value as the program may hand it to Pulumi: itself, or a promise or Output of it, at any depth. */
type Exported<T> = pulumi.Input<T extends object ? { [K in keyof T]: Exported<T[K]> } : T>;
/** The stack's outputs as the program returns them: PlatformOutputs, before Pulumi resolves them. */
type Exports = { [K in keyof PlatformOutputs]: Exported<PlatformOutputs[K]> };

/**
 * The stack program: config is parsed and validated before any resource is registered. The
 * offline planner, which has already parsed this stack's config to check it, passes it in.
 */
export async function program(parsed?: Environment): Promise<Exports> {
  const config = pulumi.runtime.allConfig();
  const env = parsed ?? parseEnvironment(pulumi.getStack(), config, secretConfigKeys(config), readSpecFiles(DOGFOODING_DIR));
  for (const warning of env.warnings) void pulumi.log.warn(warning);
  const adopted = adoption(env.adopt, env);
  if (Object.keys(env.adopt).length > 0) pulumi.runtime.registerStackTransformation(adopted.transformation);
  const sshPrivateKey = pulumi.secret(config["enclii:sshPrivateKey"]);
  const hcloudProvider = env.nodes.some((n) => n.kind === "cloud")
    ? new hcloud.Provider("hcloud", { token: pulumi.secret(config["hcloud:token"]) })
    : undefined;

  const cloudflareProvider = new cloudflare.Provider("cloudflare", { apiToken: pulumi.secret(config["cloudflare:apiToken"]) });
  const externalDatabaseUrls =
    env.postgres.mode === "external" ? pulumi.secret(JSON.parse(config[EXTERNAL_URLS_KEY]) as Record<string, string>) : undefined;

  const platform = new Platform("enclii", {
    env,
    sshPrivateKey,
    hcloudProvider,
    cloudflareProvider,
    externalDatabaseUrls,
    januaSigningKeys: pulumi.secret(config[SIGNING_KEYS_KEY]),
    smtpPassword: env.smtp ? pulumi.secret(config[SMTP_PASSWORD_KEY]) : undefined,
    paging: config[PAGING_KEY] !== undefined ? pulumi.secret(config[PAGING_KEY]) : undefined,
  });
  // Every resource is registered by now (none is created inside an apply).
  const adoptProblems = adopted.problems();
  if (adoptProblems.length > 0) throw new ConfigError(adoptProblems);
  const cost = estimateCost(env);
  return {
    nodes: platform.nodes,
    apiEndpoint: platform.apiEndpoint,
    kubeApi: platform.kubeApi,
    storageClass: platform.storageClass,
    tunnelId: platform.tunnelId,
    buckets: platform.buckets,
    // What the tenant shards read through their stack reference (stacks/tenants.ts).
    domain: env.domain,
    zoneId: env.cloudflare.zoneId,
    // Only with custom hostnames on: Pulumi warns about undefined outputs.
    ...(platform.customHostnames &&
      ({ customHostnames: platform.customHostnames, tenantApiToken: platform.tenantApiToken } satisfies Partial<Exports>)),
    databaseSecrets: platform.databaseSecrets,
    services: platform.services,
    oidcIssuer: platform.oidc.issuer,
    jwksUri: platform.oidc.jwksUri,
    jwks: platform.oidc.jwks,
    k3sVersion: env.k3s.version,
    // Only with observability on: Pulumi warns about undefined outputs.
    ...(platform.observability &&
      ({
        grafanaUrl: platform.observability.grafanaUrl ?? "not exposed (enclii:observability.grafana unset)",
        grafanaAdminPassword: platform.observability.grafanaAdminPassword,
      } satisfies Partial<Exports>)),
    monthlyCostUsd: cost.monthlyUsd,
  };
}
