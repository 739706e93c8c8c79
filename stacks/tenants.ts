import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TenantShard } from "../components/tenants/TenantShard";
import { renderKubeconfig, TENANTS_ACCOUNT } from "../components/k3s/credential";
import { SHARD_TOKEN_ENV, platformStackName, shardStack, type Shard, type ShardName } from "../model/config/tenants";
import { KUBE_SYSTEM_NAMESPACE } from "../model/names";
import type { PlatformOutputs, ShardRead } from "../model/platformOutputs";
import { ConfigError } from "./config";
import { parseShardConfig, zoneProblems } from "./shardConfig";

/**
 * The platform stack's outputs through its stack reference, typed as stacks/program.ts exports them;
 * only those in SHARD_READS, which decide when a platform change plans the shards again.
 */
function platformOutputs(platform: pulumi.StackReference) {
  return {
    /** Resolved now; undefined when the platform stack does not export it. */
    value: async <K extends ShardRead>(key: K) => (await platform.getOutputValue(key)) as PlatformOutputs[K] | undefined,
    /** As an Output (secret when the output is); the update fails when the platform stack does not export it. */
    require: <K extends ShardRead>(key: K) => platform.requireOutput(key) as pulumi.Output<NonNullable<PlatformOutputs[K]>>,
  };
}

/**
 * A tenant shard stack (`enclii-tenants` project, stack `<environment>-NNN`): its tenants from
 * its own config, everything else (the API server, zone, fallback origin, Cloudflare token) from the
 * environment's platform stack through a stack reference, and its Kubernetes token, minted for
 * this run, from whoever runs it (`token`, by default the environment's SHARD_TOKEN_ENV).
 */
export async function tenantsProgram(
  checked?: Shard & ShardName,
  token: string | undefined = process.env[SHARD_TOKEN_ENV],
): Promise<Record<string, unknown>> {
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

  if (!token)
    throw new ConfigError([
      `${SHARD_TOKEN_ENV} is not set: a shard runs with a short-lived token of ${KUBE_SYSTEM_NAMESPACE}/${TENANTS_ACCOUNT}; mint one with \`npx enclii-infra kube-token --env ${shard.environment}\` (docs/tenants.md#the-shards-account)`,
    ]);
  const kubeconfig = platform
    .require("kubeApi")
    .apply((api) => renderKubeconfig({ server: api.server, caData: api.certificateAuthorityData, account: TENANTS_ACCOUNT, token }));
  // The platform stack names the cluster: a new API address (a rebuilt first server) updates the
  // provider instead of replacing it and every object it made (pulumi-kubernetes provider.go DiffConfig).
  const k8sProvider = new k8s.Provider("k8s", { kubeconfig: pulumi.secret(kubeconfig), clusterIdentifier: platformName });
  const cloudflareProvider = new cloudflare.Provider("cloudflare", { apiToken: platform.require("tenantApiToken") });
  const shardResource = new TenantShard("tenants", {
    tenants,
    zoneId: platform.require("zoneId"),
    fallbackOrigin: saas.fallbackOrigin,
    prober: saas.prober,
    shard: shardStack(shard.environment, shard.index),
    cloudflareProvider,
    k8sProvider,
  });
  return { platform: platformName, tenants: tenants.length, hostnames: shardResource.hostnames };
}
