import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TenantShard } from "../components/tenants/TenantShard";
import { platformStackName, shardStack, type Shard, type ShardName } from "../model/config/tenants";
import type { PlatformOutputs } from "../model/platformOutputs";
import { ConfigError } from "./config";
import { parseShardConfig, zoneProblems } from "./shardConfig";

/** The platform stack's outputs through its stack reference, typed as stacks/program.ts exports them. */
function platformOutputs(platform: pulumi.StackReference) {
  return {
    /** Resolved now; undefined when the platform stack does not export it. */
    value: async <K extends keyof PlatformOutputs>(key: K) => (await platform.getOutputValue(key)) as PlatformOutputs[K] | undefined,
    /** As an Output (secret when the output is); the update fails when the platform stack does not export it. */
    require: <K extends keyof PlatformOutputs>(key: K) => platform.requireOutput(key) as pulumi.Output<NonNullable<PlatformOutputs[K]>>,
  };
}

/**
 * A tenant shard stack (`enclii-tenants` project, stack `<environment>-NNN`): its tenants from
 * its own config, everything else (kubeconfig, zone, fallback origin, Cloudflare token) from the
 * environment's platform stack through a stack reference.
 */
export async function tenantsProgram(checked?: Shard & ShardName): Promise<Record<string, unknown>> {
  const raw = pulumi.runtime.allConfig();
  const shard = checked ?? parseShardConfig(pulumi.getStack(), raw);

  const platformName = platformStackName(raw, shard.environment, pulumi.getOrganization());
  const platform = platformOutputs(new pulumi.StackReference("platform", { name: platformName }));
  const domain = await platform.value("domain");
  const saas = await platform.value("customHostnames");
  if (!domain || !saas)
    throw new ConfigError([
      `${platformName}: has no ${domain ? "customHostnames" : "domain"} output; set enclii:customHostnames: true on the platform stack and pulumi up it first`,
    ]);
  const problems = zoneProblems(shard, domain);
  if (problems.length > 0) throw new ConfigError(problems);
  const { tenants } = shard;

  const k8sProvider = new k8s.Provider("k8s", { kubeconfig: platform.require("kubeconfig") });
  const cloudflareProvider = new cloudflare.Provider("cloudflare", { apiToken: platform.require("tenantApiToken") });
  const shardResource = new TenantShard("tenants", {
    tenants,
    zoneId: platform.require("zoneId"),
    fallbackOrigin: saas.fallbackOrigin,
    ingressClass: saas.ingressClass,
    prober: saas.prober,
    shard: shardStack(shard.environment, shard.index),
    cloudflareProvider,
    k8sProvider,
  });
  return { platform: platformName, tenants: tenants.length, hostnames: shardResource.hostnames };
}
