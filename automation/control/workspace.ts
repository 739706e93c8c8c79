/**
 * Opening stacks through Pulumi's Automation API: a LocalWorkspace on this repository (the
 * platform project at its root, the tenant shards in tenants/), the Pulumi CLI found on PATH and
 * checked once. The library sees stacks only through `ControlStack`, the part of the Automation
 * API's `Stack` it uses, so its decisions are tested against a stand-in that replays events.
 */
import { join } from "node:path";
import {
  LocalWorkspace,
  PulumiCommand,
  type ConfigValue,
  type OutputMap,
  type PreviewOptions,
  type PreviewResult,
  type RefreshOptions,
  type RefreshResult,
  type UpdateSummary,
  type UpOptions,
  type UpResult,
} from "@pulumi/pulumi/automation";
import { lt } from "semver";
import { PULUMI_CLI_MIN_VERSION } from "../../model/controlPlane";
import { TENANTS_ACCOUNT } from "../../components/k3s/credential";
import { SHARD_TOKEN_ENV, TENANTS_DIR, parseShardStack } from "../../model/config/tenants";
import { mintToken } from "./kubeToken";
import { NoCliError, StackMissingError } from "./errors";

export interface ControlStack {
  readonly name: string;
  getConfig(key: string, path?: boolean): Promise<ConfigValue>;
  setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
  removeConfig(key: string, path?: boolean): Promise<void>;
  preview(opts?: PreviewOptions): Promise<PreviewResult>;
  up(opts?: UpOptions): Promise<UpResult>;
  refresh(opts?: RefreshOptions): Promise<RefreshResult>;
  previewRefresh(opts?: RefreshOptions): Promise<PreviewResult>;
  outputs(): Promise<OutputMap>;
  history(pageSize?: number, page?: number, showSecrets?: boolean): Promise<UpdateSummary[]>;
}

export interface StackRef {
  project: "platform" | "tenants";
  stack: string;
  /** Create the stack in the backend when it does not exist (a new tenant shard). */
  create?: boolean;
}

export type OpenStack = (ref: StackRef) => Promise<ControlStack>;

/** Why the CLI cannot be used, from what the Automation API threw while looking for it. */
export function cliProblem(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/ENOENT/.test(text)) return "no pulumi executable on PATH";
  return `pulumi version failed: ${text.split("\n").find((l) => l.trim()) ?? text}`;
}

/** Where the CLI comes from and what it runs with, when not the `pulumi` on PATH in this process's environment. */
export interface CliOptions {
  /**
   * A Pulumi installation: `<pulumiRoot>/bin/pulumi`, whose directory the Automation API puts first
   * on the CLI's PATH (cmd.ts `PulumiCommand.run`), so the language host and provider plugins
   * installed beside it are the ones the engine finds.
   */
  pulumiRoot?: string;
  /**
   * Environment for every CLI call, over this process's own (`LocalWorkspace`'s `envVars`): the
   * backend's PULUMI_HOME, the passphrase. Values go through the environment, never the arguments.
   */
  envVars?: Record<string, string>;
}

/** Opens stacks of the repository at `root` with the Pulumi CLI (on PATH unless `cli` says where); the CLI is checked on first use. */
export function localStacks(root: string, cli: CliOptions = {}, mint: typeof mintToken = mintToken): OpenStack {
  let command: Promise<PulumiCommand> | undefined;
  return async (ref) => {
    command ??= PulumiCommand.get(cli.pulumiRoot ? { root: cli.pulumiRoot } : undefined).then(
      (found) => {
        const version = found.version?.toString();
        if (version && lt(version, PULUMI_CLI_MIN_VERSION))
          throw new NoCliError(`pulumi ${version} is older than ${PULUMI_CLI_MIN_VERSION}, the oldest this repository is driven with`);
        return found;
      },
      (err: unknown) => {
        throw new NoCliError(cliProblem(err));
      },
    );
    const pulumiCommand = await command;
    // A shard runs with a token of its own account minted for this run, from its platform stack,
    // unless the caller brings one (a runner with its own way to mint, an operator's kube-token).
    const shard = ref.project === "tenants" ? parseShardStack(ref.stack) : undefined;
    const brought = cli.envVars?.[SHARD_TOKEN_ENV] ?? process.env[SHARD_TOKEN_ENV];
    const platform = (environment: string) =>
      LocalWorkspace.selectStack({ stackName: environment, workDir: root }, { pulumiCommand, envVars: cli.envVars });
    const token = shard && (brought || (await mint(await platform(shard.environment), TENANTS_ACCOUNT)));
    const opts = { pulumiCommand, envVars: { ...cli.envVars, ...(token && { [SHARD_TOKEN_ENV]: token }) } };
    const args = { stackName: ref.stack, workDir: ref.project === "platform" ? root : join(root, TENANTS_DIR) };
    try {
      return ref.create ? await LocalWorkspace.createOrSelectStack(args, opts) : await LocalWorkspace.selectStack(args, opts);
    } catch (err) {
      // By name: the class may come from another copy of the SDK.
      if (err instanceof Error && err.name === "StackNotFoundError") throw new StackMissingError(ref.stack, ref.project);
      throw err;
    }
  };
}
