/**
 * How enclii-infra mints a shard's token (automation/control/kubeToken.ts): what it reads of the
 * platform stack, what reaches the mint, and the `kube-token` command's output and exit status.
 * The mint itself runs for real in test/credentials.real.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { ConfigValue, OutputMap } from "@pulumi/pulumi/automation";
import { kubeTokenCommand, mintToken, type PlatformStack } from "../automation/control/kubeToken";
import { MINT_TOKEN_SCRIPT } from "../components/k3s/credential";
import { EXIT } from "../model/controlPlane";
import type { KubeApi } from "../model/platformOutputs";

const API: KubeApi = {
  server: "https://203.0.113.5:6443",
  certificateAuthorityData: "Q0E=",
  tokenMint: { host: "203.0.113.5", port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9ok" },
};
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----\n";

function platform(kubeApi?: KubeApi): PlatformStack & { asked: string[] } {
  const asked: string[] = [];
  return {
    name: "staging",
    asked,
    outputs: async () => (kubeApi ? { kubeApi: { value: kubeApi, secret: false } } : {}) as OutputMap,
    getConfig: async (key: string): Promise<ConfigValue> => {
      asked.push(key);
      return { value: KEY, secret: true };
    },
  };
}

/** A mint that records what it got and prints a token and a CA, as the server would. */
function recorder(out = "aaa.bbb.ccc\nQ0E=\n") {
  const calls: { key: string; env: Record<string, string> }[] = [];
  const run = async (key: string, env: Record<string, string>) => {
    calls.push({ key, env });
    return out;
  };
  return { calls, run };
}

describe("minting a shard's token", () => {
  it("reads the platform's kubeApi and SSH key, and gives the key to the mint on stdin, the rest in its environment", async () => {
    const p = platform(API);
    const { calls, run } = recorder();
    expect(await mintToken(p, "enclii-tenants", 3600, run)).toBe("aaa.bbb.ccc");
    expect(p.asked).toEqual(["enclii:sshPrivateKey"]);
    expect(calls).toHaveLength(1);
    expect(calls[0].key).toBe(KEY);
    expect(calls[0].env).toMatchObject({
      ENCLII_SSH_HOST: "203.0.113.5",
      ENCLII_SSH_PORT: "22",
      ENCLII_SSH_USER: "root",
      ENCLII_SSH_HOST_KEY: API.tokenMint.hostKey,
    });
    expect(calls[0].env.ENCLII_SSH_REMOTE).toContain("create token enclii-tenants --duration=3600s");
    // The key never goes into the environment or the script.
    expect(JSON.stringify(calls[0].env)).not.toContain("PRIVATE KEY");
    expect(MINT_TOKEN_SCRIPT).not.toContain("PRIVATE KEY");
  });

  it("refuses a platform stack without kubeApi (never updated since) before asking for the key", async () => {
    const p = platform();
    await expect(mintToken(p, "enclii-tenants", 3600, recorder().run)).rejects.toThrow(
      "staging: no kubeApi output with a pinned host key; pulumi up the platform stack first",
    );
    expect(p.asked).toEqual([]);
  });

  it("refuses output that is not a token and a CA, without echoing it", async () => {
    await expect(mintToken(platform(API), "enclii-tenants", 3600, recorder("Welcome to Ubuntu\n").run)).rejects.toThrow(
      "the server did not print a token and its CA (see docs/security.md#how-a-run-gets-its-credential)",
    );
  });
});

describe("enclii-infra kube-token", () => {
  const io = () => {
    const out = { stdout: "", stderr: "" };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
  };

  it("prints the token and nothing else, for $(…)", async () => {
    const { out, io: sink } = io();
    const { calls, run } = recorder();
    const code = await kubeTokenCommand({ env: "staging", account: "tenants", minutes: 30 }, sink, async () => platform(API), run);
    expect(code).toBe(EXIT.ok);
    expect(out.stdout).toBe("aaa.bbb.ccc\n");
    expect(calls[0].env.ENCLII_SSH_REMOTE).toContain("create token enclii-tenants --duration=1800s");
  });

  it("revokes the platform's account on --revoke, saying so on stderr", async () => {
    const { out, io: sink } = io();
    const { calls, run } = recorder("");
    const code = await kubeTokenCommand(
      { env: "staging", account: "platform", minutes: 120, revoke: true },
      sink,
      async () => platform(API),
      run,
    );
    expect(code).toBe(EXIT.ok);
    expect(out.stdout).toBe("");
    expect(out.stderr).toBe("every token of enclii-pulumi in staging is refused from now on\n");
    expect(calls[0].env.ENCLII_SSH_REMOTE).toBe(
      "k3s kubectl delete -n kube-system serviceaccount enclii-pulumi && k3s kubectl create -n kube-system serviceaccount enclii-pulumi",
    );
  });

  it("exits 2 for a platform without kubeApi, 1 when SSH fails, and prints no token", async () => {
    const { out, io: sink } = io();
    expect(await kubeTokenCommand({ env: "staging", account: "tenants", minutes: 30 }, sink, async () => platform(), recorder().run)).toBe(
      EXIT.usage,
    );
    const failing = async () => {
      throw new Error("ssh to 203.0.113.5 failed (255): Host key verification failed.");
    };
    expect(await kubeTokenCommand({ env: "staging", account: "tenants", minutes: 30 }, sink, async () => platform(API), failing)).toBe(
      EXIT.failed,
    );
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("kube-token: ssh to 203.0.113.5 failed (255): Host key verification failed.");
  });
});
