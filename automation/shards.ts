/** An environment's tenant shard stack files, read and checked alone and together (the planner and `domains` share it). */
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import type { Environment } from "../model/config/schema";
import { parseShardStack, type Shard, type ShardName } from "../model/config/tenants";
import { ConfigError } from "../stacks/config";
import { checkShardSources } from "../stacks/shardConfig";
import { loadStackConfig, type StackConfig } from "./stackFile";

export interface ShardPlan {
  shard: Shard & ShardName;
  cfg: StackConfig;
}

/** The environment's shard stack files in `dir`, in stack order. */
export function shardFiles(dir: string, environment: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => parseShardStack(f.replace(/^Pulumi\.|\.yaml$/g, ""))?.environment === environment && /^Pulumi\..+\.yaml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every shard's config checked, alone and together (names and hostnames unique across shards). */
export function checkAllShards(files: string[], env: Environment): ShardPlan[] {
  const sources = files.map((file) => {
    const cfg = loadStackConfig(file, () => []);
    return { stack: basename(file).replace(/^Pulumi\.|\.yaml$/g, ""), file, raw: cfg.config, cfg };
  });
  const problems: string[] = [];
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
  return shards.map((shard, i) => ({ shard, cfg: sources[i].cfg }));
}
