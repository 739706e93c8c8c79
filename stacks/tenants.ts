import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TenantShard } from "../components/tenants/TenantShard";
import { platformStackName, shardStack, type Shard, type ShardName } from "../model/config/tenants";
import { ConfigError } from "./config";
import { parseShardConfig, zoneProblems } from "./shardConfig";

/** The platform outputs a shard reads; stacks/program.ts exports them. */
interface PlatformCustomHostnames {
  fallbackOrigin: string;
  ingressClass: string;
  /** The blackbox exporter, when the platform runs observability. */
  prober?: string;
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
  const platform = new pulumi.StackReference("platform", { name: platformName });
  const domain = (await platform.getOutputValue("domain")) as string | undefined;
  const saas = (await platform.getOutputValue("customHostnames")) as PlatformCustomHostnames | undefined;
  if (!domain || !saas)
    throw new ConfigError([
      `${platformName}: has no ${domain ? "customHostnames" : "domain"} output; set enclii:customHostnames: true on the platform stack and pulumi up it first`,
    ]);
  const problems = zoneProblems(shard, domain);
  if (problems.length > 0) throw new ConfigError(problems);
  const { tenants } = shard;

  const k8sProvider = new k8s.Provider("k8s", { kubeconfig: platform.requireOutput("kubeconfig") as pulumi.Output<string> });
  const cloudflareProvider = new cloudflare.Provider("cloudflare", {
    apiToken: platform.requireOutput("tenantApiToken") as pulumi.Output<string>,
  });
  const shardResource = new TenantShard("tenants", {
    tenants,
    zoneId: platform.requireOutput("zoneId") as pulumi.Output<string>,
    fallbackOrigin: saas.fallbackOrigin,
    ingressClass: saas.ingressClass,
    prober: saas.prober,
    shard: shardStack(shard.environment, shard.index),
    cloudflareProvider,
    k8sProvider,
  });
  return { platform: platformName, tenants: tenants.length, hostnames: shardResource.hostnames };
}
