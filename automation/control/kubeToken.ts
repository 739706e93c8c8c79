/**
 * Short-lived Kubernetes tokens for whoever drives a stack from outside the platform's own run:
 * the tenant shards (their account, kube-system/enclii-tenants) and an operator at a terminal.
 * Minted over SSH at the address and pinned host key the platform stack exports (`kubeApi`), with
 * the platform's SSH key from its secret config: the key goes to the mint on standard input,
 * never on a command line (docs/tenants.md#the-shards-account).
 */
import { spawn } from "node:child_process";
import {
  MINT_TOKEN_SCRIPT,
  PULUMI_ACCOUNT,
  RUN_TOKEN_TTL_S,
  TENANTS_ACCOUNT,
  mintEnvironment,
  parseMinted,
  remoteRevokeCommand,
  remoteTokenCommand,
} from "../../components/k3s/credential";
import type { ConfigValue, OutputMap } from "@pulumi/pulumi/automation";
import { EXIT } from "../../model/controlPlane";
import type { KubeApi } from "../../model/platformOutputs";
import { UsageError } from "./errors";

/** What minting reads of the platform stack (a ControlStack has it). */
export interface PlatformStack {
  readonly name: string;
  outputs(): Promise<OutputMap>;
  getConfig(key: string): Promise<ConfigValue>;
}

export const SSH_KEY_CONFIG = "enclii:sshPrivateKey";
/** `--account` names: the shards' account, and the platform's own (cluster-admin: for break-glass work only). */
export const ACCOUNTS = { tenants: TENANTS_ACCOUNT, platform: PULUMI_ACCOUNT } as const;
export type AccountName = keyof typeof ACCOUNTS;

/** Runs MINT_TOKEN_SCRIPT with the key on stdin; what the server printed, or the failure with ssh's own words. */
export function runMint(privateKey: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", MINT_TOKEN_SCRIPT], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`ssh to ${env.ENCLII_SSH_HOST} failed (${code}): ${err.trim() || "no message"}`)),
    );
    child.stdin.end(privateKey);
  });
}

async function target(platform: PlatformStack): Promise<{ api: KubeApi; key: string }> {
  const api = (await platform.outputs()).kubeApi?.value as KubeApi | undefined;
  if (!api?.tokenMint?.hostKey)
    throw new UsageError(`${platform.name}: no kubeApi output with a pinned host key; pulumi up the platform stack first`);
  const key = (await platform.getConfig(SSH_KEY_CONFIG)).value;
  return { api, key };
}

/** A token of `account` lasting `ttlS`, minted at the platform's first server. */
export async function mintToken(platform: PlatformStack, account: string, ttlS = RUN_TOKEN_TTL_S, run = runMint): Promise<string> {
  const { api, key } = await target(platform);
  return parseMinted(await run(key, mintEnvironment({ ...api.tokenMint, remote: remoteTokenCommand(account, ttlS) }))).token;
}

/** Every token of `account` refused from now on (docs/runbooks/rotations.md#the-cluster-credentials). */
export async function revokeTokens(platform: PlatformStack, account: string, run = runMint): Promise<void> {
  const { api, key } = await target(platform);
  await run(key, mintEnvironment({ ...api.tokenMint, remote: remoteRevokeCommand(account) }));
}

export interface KubeTokenArgs {
  env: string;
  account: AccountName;
  minutes: number;
  revoke?: boolean;
}

/**
 * `enclii-infra kube-token`: prints a token (and nothing else) on stdout, for
 * `ENCLII_TENANTS_TOKEN=$(npx enclii-infra kube-token --env production) pulumi up` in tenants/;
 * with --revoke, refuses every token of the account instead.
 */
export async function kubeTokenCommand(
  a: KubeTokenArgs,
  io: { stdout(t: string): void; stderr(t: string): void },
  open: (stack: string) => Promise<PlatformStack>,
  run = runMint,
): Promise<number> {
  const account = ACCOUNTS[a.account];
  try {
    const platform = await open(a.env);
    if (a.revoke) {
      await revokeTokens(platform, account, run);
      io.stderr(`every token of ${account} in ${a.env} is refused from now on\n`);
    } else io.stdout(`${await mintToken(platform, account, Math.round(a.minutes * 60), run)}\n`);
    return EXIT.ok;
  } catch (err) {
    io.stderr(`kube-token: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof Error && err.name === "StackMissingError") return EXIT.noStack;
    return err instanceof UsageError ? EXIT.usage : EXIT.failed;
  }
}
