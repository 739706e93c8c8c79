/** Tenant shards' config checked, loading no Pulumi SDK: the shard program and the planner's early check share it. */
import { checkShards, parseShard, shardFile, type Shard, type ShardName } from "../model/config/tenants";
import { renderProblem, type Problem } from "../model/problem";
import { ConfigError } from "./config";

export interface ShardSource {
  stack: string;
  /** Where problems point: the shard's stack file. */
  file: string;
  raw: Record<string, string>;
}

/** A shard's problem as text naming its file; one at the shard's stack itself needs no more than the file's name. */
function inFile(file: string, stack: string, problem: Problem): string {
  return `${file}: ${problem.where === stack ? problem.message : renderProblem(problem)}`;
}

/**
 * Shards checked alone and together: each one's own rules, with the platform's `domain` the zone
 * rule, and across them names and hostnames unique. Every problem at once, each naming its file.
 */
export function checkShardSources(sources: readonly ShardSource[], domain?: string): (Shard & ShardName)[] {
  const problems: string[] = [];
  const shards: (Shard & ShardName)[] = [];
  const fileOf = new Map(sources.map((s) => [s.stack, s.file]));
  for (const { stack, file, raw } of sources) {
    const parsed = parseShard(stack, raw);
    // A shard that parsed has only its duplicates as problems, which checkShards below reports anyway.
    if (parsed.shard) shards.push(parsed.shard);
    else problems.push(...parsed.problems.map((p) => inFile(file, stack, p)));
  }
  const across = checkShards(shards, domain);
  problems.push(...across.map((p) => inFile(fileOf.get(p.where) ?? p.where, p.where, p)));
  if (problems.length > 0) throw new ConfigError(problems);
  return shards;
}

/** The zone rule for a parsed shard, once the platform's domain is known; problems name the shard's file. */
export function zoneProblems(shard: Shard, domain: string, file = shardFile(shard.stack)): string[] {
  return checkShards([shard], domain).map((p) => inFile(file, shard.stack, p));
}

/** One shard's config checked (see checkShardSources). */
export function parseShardConfig(stack: string, raw: Record<string, string>, domain?: string, file = shardFile(stack)): Shard & ShardName {
  return checkShardSources([{ stack, file, raw }], domain)[0];
}
