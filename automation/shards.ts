/** An environment's tenant shard stack files, read and checked alone and together (the planner and `domains` share it). */
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Environment } from "../model/config/schema";
import { parseShardStack, plainSecretProblem, shardFileNameProblem, type Shard, type ShardName } from "../model/config/tenants";
import { ConfigError } from "../stacks/config";
import { checkShardSources } from "../stacks/shardConfig";
import { loadStackConfig, type StackConfig } from "./stackFile";

export interface ShardPlan {
  shard: Shard & ShardName;
  cfg: StackConfig;
  /** Its stack file. */
  file: string;
}

/** The environments with a platform stack file `Pulumi.<environment>.yaml` in `root` (`Pulumi.yaml` is the project's file). */
export function platformEnvironments(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
}

/**
 * The environment's shard stack files in `dir`, in stack order. Every stack file there must be a
 * shard of an environment that exists (by default, one with a platform stack file beside `dir`,
 * and `environment` itself): a misnamed file would otherwise be skipped, its tenants never planned.
 */
export function shardFiles(
  dir: string,
  environment: string,
  environments: readonly string[] = [environment, ...platformEnvironments(dirname(dir))],
): string[] {
  if (!existsSync(dir)) return [];
  const stackFiles = readdirSync(dir)
    .filter((f) => /^Pulumi\..+\.ya?ml$/.test(f))
    .sort();
  const problems = stackFiles.flatMap((f) => {
    const problem = shardFileNameProblem(f, [...new Set(environments)]);
    return problem ? [`${join(dir, f)}: ${problem}`] : [];
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return stackFiles.filter((f) => parseShardStack(stackOf(f))?.environment === environment).map((f) => join(dir, f));
}

const stackOf = (file: string) => basename(file).replace(/^Pulumi\.|\.yaml$/g, "");

/** Every shard's config checked, alone and together (names and hostnames unique across shards). */
export function checkAllShards(files: string[], env: Environment): ShardPlan[] {
  const problems: string[] = [];
  const sources = files.map((file) => {
    const cfg = loadStackConfig(file, () => []);
    // Reported here, naming the key only; left out of the checks below, which would name it again.
    const plainSecrets = Object.keys(cfg.config)
      .sort()
      .filter((key) => !cfg.secretKeys.includes(key) && plainSecretProblem(key));
    problems.push(...plainSecrets.map((key) => `${file}: ${plainSecretProblem(key)}`));
    const raw = Object.fromEntries(Object.entries(cfg.config).filter(([key]) => !plainSecrets.includes(key)));
    return { stack: stackOf(file), file, raw, cfg };
  });
  let shards: (Shard & ShardName)[] = [];
  try {
    shards = checkShardSources(sources, env.domain);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (sources.length > 0 && !env.customHostnames)
    problems.push(`enclii:customHostnames: ${env.stack} has tenant shards (${sources.map((s) => s.stack).join(", ")}); set it to true`);
  if (problems.length > 0) throw new ConfigError(problems);
  return shards.map((shard, i) => ({ shard, cfg: sources[i].cfg, file: sources[i].file }));
}
