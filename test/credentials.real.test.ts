/**
 * How a run gets its Kubernetes credential, for real (docs/security.md#how-a-run-gets-its-credential):
 * the token mint (components/k3s/credential.ts) through a real OpenSSH server to a real
 * kube-apiserver, and the tenant shards' account (components/edge/TenantsAccess.ts) using such a
 * token: it applies a shard's objects, and the admission policy refuses it everything outside
 * tenant namespaces. Skipped locally until `npm run toolchain` has built etcd, kube-apiserver and
 * kubectl (and without sshd: apt-get install openssh-server); in CI either fails.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MINT_TOKEN_SCRIPT,
  PULUMI_ACCOUNT,
  RUN_TOKEN_TTL_S,
  TENANTS_ACCOUNT,
  mintEnvironment,
  parseMinted,
  remoteRevokeCommand,
  remoteTokenCommand,
} from "../components/k3s/credential";
import { runMint } from "../automation/control/kubeToken";
import { ROUTER_NO_SECRETS_POLICY, TENANTS_SCOPE_POLICY, TENANTS_USERNAME } from "../components/edge/tenantsPolicies";
import { RESTRICTED_NAMESPACE_LABELS } from "../model/baseline";
import { TENANT_ROUTER } from "../model/names";
import { Resources, applyOne, applyStack, installCrds } from "../testbed/clusterApply";
import { KUBE_TOOLS } from "../testbed/clusterCheck";
import { renderStacks, type StackObjects } from "../testbed/clusterObjects";
import { startKube, type Kube } from "../testbed/kube";
import { Servers, waitFor } from "../testbed/servers";
import { SSHD, startSshd, type Sshd } from "../testbed/sshd";
import { toolPath } from "../testbed/toolchain";
import { requireBuilt, requireTool } from "./harness";

const built = KUBE_TOOLS.map((b) => requireBuilt(b)).every((p) => p !== undefined);
const ssh = requireTool(SSHD, "openssh-server") && requireTool("ssh", "openssh-client");
const SHORT_TTL_S = 600;

const claims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<string, unknown>;

describe.skipIf(!built || !ssh)("a token minted over SSH, and the tenant shards' account, on a real API server", () => {
  const servers = new Servers();
  const stop = () => servers.killAllNow();
  let kube: Kube;
  let sshd: Sshd;
  let stacks: StackObjects[];
  let caFile: string;
  let tmp: string;

  /** MINT_TOKEN_SCRIPT as a run executes it: the private key on stdin, the rest in the environment. */
  const mint = (remote: string, hostKey = sshd.hostKey) =>
    spawnSync("sh", ["-c", MINT_TOKEN_SCRIPT], {
      input: sshd.clientKey,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: tmp,
        TMPDIR: tmp,
        ...mintEnvironment({ host: "127.0.0.1", port: sshd.port, user: userInfo().username, hostKey, remote }),
      },
    });
  const tokenFor = (account: string, ttlS = SHORT_TTL_S) => {
    const r = mint(remoteTokenCommand(account, ttlS, caFile));
    if (r.status !== 0) throw new Error(`mint failed: ${r.stderr}`);
    return parseMinted(r.stdout);
  };
  const whoami = async (token: string) =>
    kube.apiAs(token)("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
    });

  beforeAll(async () => {
    process.once("exit", stop);
    const [started, rendered] = await Promise.all([startKube(servers), renderStacks()]);
    if (!started) throw new Error("startKube found no binaries, though requireBuilt did");
    [kube, stacks] = [started, rendered];
    tmp = servers.tempDir("mint");
    caFile = join(servers.tempDir("ca"), "server-ca.crt");
    writeFileSync(caFile, Buffer.from(kube.kubeconfigText.match(/certificate-authority-data: (\S+)/)![1], "base64"));
    const resources = new Resources(kube);
    await installCrds(kube);
    // The platform that makes both accounts, their RBAC and the admission policies.
    const applied = await applyStack(
      kube,
      resources,
      stacks.find((s) => s.stack === "staging")!,
    );
    expect(applied.filter((a) => a.refused).map((a) => `${a.ref}: ${a.refused}`)).toEqual([]);
    sshd = await startSshd(servers, toolPath("kubectl")!, kube.kubeconfig);
  });
  afterAll(async () => {
    process.off("exit", stop);
    await servers.stopAll();
  });

  it("mints a token of the account asked for, lasting what was asked, with the cluster's CA", async () => {
    const { token, caData } = tokenFor(TENANTS_ACCOUNT);
    const c = claims(token);
    expect(c.sub).toBe(TENANTS_USERNAME);
    expect(Number(c.exp) - Number(c.iat)).toBe(SHORT_TTL_S);
    expect(Buffer.from(caData, "base64").toString()).toContain("BEGIN CERTIFICATE");
    const me = await whoami(token);
    expect(me.status).toBe(201);
    expect(me.body.status.userInfo.username).toBe(TENANTS_USERNAME);
  });

  it("gives a platform run a token of the platform's account that lives RUN_TOKEN_TTL_S", () => {
    const c = claims(tokenFor(PULUMI_ACCOUNT, RUN_TOKEN_TTL_S).token);
    expect(c.sub).toBe(`system:serviceaccount:kube-system:${PULUMI_ACCOUNT}`);
    expect(Number(c.exp) - Number(c.iat)).toBe(RUN_TOKEN_TTL_S);
  });

  it("refuses a server whose host key is not the pinned one, printing nothing, and leaves no key file behind", () => {
    const r = mint(remoteTokenCommand(TENANTS_ACCOUNT, SHORT_TTL_S, caFile), sshd.otherHostKey);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Host key verification failed/);
    expect(r.stdout).toBe("");
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("mints the same way from enclii-infra (runMint, the control plane's path), naming ssh's refusal", async () => {
    const env = (hostKey: string) =>
      mintEnvironment({
        host: "127.0.0.1",
        port: sshd.port,
        user: userInfo().username,
        hostKey,
        remote: remoteTokenCommand(TENANTS_ACCOUNT, SHORT_TTL_S, caFile),
      });
    const { token } = parseMinted(await runMint(sshd.clientKey, env(sshd.hostKey)));
    expect(claims(token).sub).toBe(TENANTS_USERNAME);
    await expect(runMint(sshd.clientKey, env(sshd.otherHostKey))).rejects.toThrow(
      /^ssh to 127\.0\.0\.1 failed \(255\): .*Host key verification failed/s,
    );
  });

  it("revokes every token of an account at once: the account made again, old tokens refused, new ones work", async () => {
    const { token: old } = tokenFor(TENANTS_ACCOUNT);
    expect((await whoami(old)).status).toBe(201);
    const r = mint(remoteRevokeCommand(TENANTS_ACCOUNT));
    expect(r.status, r.stderr).toBe(0);
    // The API server caches a good token's answer for a few seconds: refused once that lapses.
    await waitFor("the old token refused", async () => ((await whoami(old)).status === 401 ? true : undefined));
    expect((await whoami(tokenFor(TENANTS_ACCOUNT).token)).status).toBe(201);
  });

  describe("the tenant shards' account", () => {
    let as: Kube["api"];
    beforeAll(() => {
      as = kube.apiAs(tokenFor(TENANTS_ACCOUNT).token);
    });
    const create = (path: string, object: object) => as("POST", path, object);
    const refusal = (r: { status: number; body: { message?: string } }) => `${r.status} ${r.body.message ?? ""}`;

    it("applies every object a shard registers, with its own token and nothing more", async () => {
      const shard = stacks.find((s) => s.platform === "staging")!;
      const resources = new Resources({ ...kube, api: as });
      const namespaces = shard.objects.filter((r) => r.object.kind === "Namespace");
      const rest = shard.objects.filter((r) => r.object.kind !== "Namespace");
      const applied = [];
      for (const r of [...namespaces, ...rest]) applied.push(await applyOne({ ...kube, api: as }, resources, r.source, r.object));
      expect(applied.length).toBeGreaterThan(10);
      expect(applied.filter((a) => a.refused).map((a) => `${a.ref}: ${a.refused}`)).toEqual([]);
    });

    it("is refused, by the admission policy, everything outside tenant namespaces", async () => {
      const quota = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "q" }, spec: { hard: { pods: "1" } } };
      const outside = await create("/api/v1/namespaces/default/resourcequotas", quota);
      expect(refusal(outside)).toMatch(
        new RegExp(`^403 .*${TENANTS_SCOPE_POLICY}: the tenant shards' account writes only in tenant-\\* namespaces`),
      );
      expect((await create("/api/v1/namespaces", { metadata: { name: "evil", labels: RESTRICTED_NAMESPACE_LABELS } })).status).toBe(403);
      // Restricted but not a tenant's: the platform's own namespace policy admits it, this one does not.
      const untenanted = await create("/api/v1/namespaces", { metadata: { name: "tenant-evil", labels: RESTRICTED_NAMESPACE_LABELS } });
      expect(refusal(untenanted)).toMatch(/^403 .*keeps Pod Security "restricted" enforced and its enclii.io\/tenant label/);
      // Privileged: refused (by this policy or the platform's namespace policy, whichever the server asks first).
      const labels = { ...RESTRICTED_NAMESPACE_LABELS, "pod-security.kubernetes.io/enforce": "privileged", "enclii.io/tenant": "evil" };
      const privileged = await create("/api/v1/namespaces", { metadata: { name: "tenant-evil", labels } });
      expect(privileged.status).toBeGreaterThanOrEqual(403);
      expect(refusal(privileged)).toMatch(/restricted/);
    });

    it("routes only into the tenant namespace of the route's own name, without TLS, in the router's namespace", async () => {
      const services = `/api/v1/namespaces/${TENANT_ROUTER.namespace}/services`;
      const service = (spec: object, name = "tenant-acme") => create(services, { metadata: { name }, spec });
      expect(refusal(await service({ type: "ExternalName", externalName: "kubernetes.default.svc.cluster.local" }))).toMatch(
        /ExternalName into the tenant namespace of its own name/,
      );
      expect(refusal(await service({ ports: [{ port: 80 }] }))).toMatch(/ExternalName into the tenant namespace/);
      expect(refusal(await service({ type: "ExternalName", externalName: "web.tenant-acme.svc.cluster.local" }, "janua"))).toMatch(
        /routes \(named tenant-\*\)/,
      );
      const ingress = (spec: object) =>
        create(`/apis/networking.k8s.io/v1/namespaces/${TENANT_ROUTER.namespace}/ingresses`, {
          metadata: { name: "tenant-acme" },
          spec,
        });
      const backend = (name: string) => ({ service: { name, port: { number: 80 } } });
      const rule = (name: string) => [{ host: "a.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: backend(name) }] } }];
      expect(refusal(await ingress({ rules: rule("tenant-other") }))).toMatch(/routes only to the Service of its own name/);
      expect(refusal(await ingress({ rules: rule("tenant-acme"), tls: [{ hosts: ["a.example"], secretName: "x" }] }))).toMatch(
        /has no TLS section/,
      );
      expect(refusal(await ingress({ rules: rule("tenant-acme"), ingressClassName: "other" }))).toMatch(/names no class/);
    });

    it("may not read Secrets, create pods or grant itself anything (RBAC)", async () => {
      const tenantNs = stacks.find((s) => s.platform === "staging")!.objects.find((r) => r.object.kind === "Namespace")!.object.metadata
        .name;
      expect((await as("GET", `/api/v1/namespaces/${tenantNs}/secrets`)).status).toBe(403);
      expect((await as("GET", "/api/v1/secrets")).status).toBe(403);
      const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox:1.37" }] } };
      expect((await create(`/api/v1/namespaces/${tenantNs}/pods`, pod)).status).toBe(403);
      const role = { metadata: { name: "more" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] };
      expect((await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${tenantNs}/roles`, role)).status).toBe(403);
      expect((await create("/apis/rbac.authorization.k8s.io/v1/clusterroles", role)).status).toBe(403);
    });
  });

  it("keeps Secrets out of the router's namespace, whoever asks: the router could read them", async () => {
    const secret = (await kube.api("POST", `/api/v1/namespaces/${TENANT_ROUTER.namespace}/secrets`, {
      metadata: { name: "x" },
      stringData: { a: "b" },
    })) as { status: number; body: { message: string } };
    expect(secret.status).toBe(403);
    expect(secret.body.message).toContain(`${ROUTER_NO_SECRETS_POLICY}: no Secret in ${TENANT_ROUTER.namespace}`);
  });
});
