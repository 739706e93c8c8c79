/**
 * What a tenant shard's plan is made of, as one digest per shard, so a plan `--against` another
 * plans only the shards whose digests differ (docs/plan.md#which-shards-are-planned-again). A
 * shard's plan is a function of three things and nothing else:
 *
 * - its stack file, byte for byte (its tenants, and which platform stack it reads);
 * - the platform's outputs it reads (model/platformOutputs.ts SHARD_READS: stacks/tenants.ts can
 *   read no other), as the platform's plan has them;
 * - the code its plan runs: every source file the tenants program and the planner are built from
 *   (found by esbuild, as the bundle is, leaving out the platform's program, which a shard sees
 *   only through those outputs), and package-lock.json (the providers' versions).
 *
 * So a change to any of them plans the shard again, and one to the platform's outputs it reads or
 * to the code plans every shard again: that is the rule for a platform change.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Esbuild from "esbuild";
import { SHARD_READS } from "../model/platformOutputs";

/** In a platform plan's directory: each shard's digest, and whether its plan is in the directory too. */
export const SHARD_INPUTS_FILE = "tenants/inputs.json";
/** The modules a shard's plan runs, relative to the repository: the tenants program and the planner's. */
const SHARD_PLAN_ENTRIES = [
  "stacks/tenants.ts",
  // How a stack file becomes the shard and the config a plan is given.
  "automation/stackFile.ts",
  "automation/shards.ts",
  "automation/plan.ts",
  "automation/mocks.ts",
  "automation/files.ts",
  "automation/shardPlans.ts",
];
/** The platform's program, reached from automation/plan.ts only when it plans a platform stack. */
const PLATFORM_PROGRAM = /[\\/]stacks[\\/]program$/;
const LOCKFILE = "package-lock.json";

export interface ShardInputs {
  /** The digest of everything the shard's plan is made of. */
  inputs: string;
  /** Its plan is in this directory (tenants/<stack>/), written with these inputs. */
  planned: boolean;
}

export type ShardInputsFile = Record<string, ShardInputs>;

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The source files the shards' plans are built from, relative to `root`, sorted. */
export async function shardPlanSources(root: string): Promise<string[]> {
  // Loaded when needed, as the launcher loads it to build the bundle, which cannot hold it (a native
  // tool); by require, since the bundle runs in a vm.Script, which has no dynamic import.
  const esbuild = createRequire(__filename)("esbuild") as typeof Esbuild;
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: SHARD_PLAN_ENTRIES,
    bundle: true,
    packages: "external",
    metafile: true,
    write: false,
    platform: "node",
    outdir: "out",
    logLevel: "silent",
    plugins: [
      {
        name: "without-platform-program",
        setup: (build) => build.onResolve({ filter: PLATFORM_PROGRAM }, (args) => ({ path: args.path, external: true })),
      },
    ],
  });
  return [...Object.keys(result.metafile.inputs), LOCKFILE].sort();
}

/** The digest of the code a shard's plan runs: each source file's path and bytes. */
export async function codeDigest(root: string): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await shardPlanSources(root)) hash.update(`${file}\0${sha256(readFileSync(join(root, file)))}\n`);
  return hash.digest("hex");
}

/** One shard's digest: the code's, its stack file's bytes, and the platform outputs it reads. */
export function shardDigest(code: string, stackFileText: string, platformOutputs: Record<string, unknown>): string {
  const reads = Object.fromEntries(SHARD_READS.map((key) => [key, platformOutputs[key] ?? null]));
  return sha256(JSON.stringify({ code, stackFile: sha256(stackFileText), platform: reads }));
}

/** A plan directory's shard digests; none when it has none (an older plan, or one that stopped half-way). */
export function readShardInputs(planDir: string): ShardInputsFile | undefined {
  const file = join(planDir, SHARD_INPUTS_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as ShardInputsFile;
}

/**
 * Removed before a plan writes any shard's files, written once they are all written: a plan that
 * stops half-way leaves no digests, so the next one trusts none of its shard plans.
 */
export function forgetShardInputs(planDir: string): void {
  rmSync(join(planDir, SHARD_INPUTS_FILE), { force: true });
}

/** Nothing for an environment without shards: its plan has no tenants/ at all. */
export function writeShardInputs(planDir: string, inputs: ShardInputsFile): void {
  if (Object.keys(inputs).length === 0) return;
  mkdirSync(dirname(join(planDir, SHARD_INPUTS_FILE)), { recursive: true });
  const sorted = Object.fromEntries(
    Object.keys(inputs)
      .sort()
      .map((k) => [k, inputs[k]]),
  );
  writeFileSync(join(planDir, SHARD_INPUTS_FILE), `${JSON.stringify(sorted, null, 2)}\n`);
}
