/**
 * Whole-stack checks every environment must pass, run on the real program through the plan
 * runner. Secrets are set to canary strings that must never surface in anything the plan writes.
 */
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { planFiles } from "../automation/files";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { FAKE_RUN_TOKEN } from "../automation/mocks";
import { secretPlaceholder } from "../automation/placeholders";
import { SIGNING_KEYS_KEY } from "../model/config/schema";
import type { SigningKeySet } from "../model/config/signingKeys";
import { ROOT, requireTool, shellcheck, validateObject } from "./harness";

export interface StackPlan {
  result: PlanResult;
  files: Map<string, string>;
  byName(type: string, name: string): PlanResource;
  ofType(type: string): PlanResource[];
  /** Names of the resources registered with `protect`, sorted. */
  protectedNames(): string[];
}

export function stackSuite(stack: string, file: string): () => StackPlan {
  let plan: StackPlan | undefined;
  const canaries: string[] = [];

  beforeAll(async () => {
    const cfg = loadStackConfig(join(ROOT, file));
    for (const key of cfg.secretKeys) {
      // Word characters only, so a leak is found verbatim even inside a URL.
      const canary = `CANARY_${key.replace(/\W/g, "_")}_d41d8cd98f00b204`;
      cfg.config[key] = secretPlaceholder(key, cfg.config, canary);
      // The signing-key placeholder is a real key set, not a fill-in: its private exponents are the canaries.
      if (key === SIGNING_KEYS_KEY) canaries.push(...(JSON.parse(cfg.config[key]) as SigningKeySet).keys.map((k) => k.privateJwk.d));
      else canaries.push(canary);
    }
    const result = await runPlan(stack, cfg);
    const ofType = (type: string) => result.resources.filter((r) => r.type === type);
    plan = {
      result,
      files: planFiles(result),
      ofType,
      protectedNames: () =>
        result.resources
          .filter((r) => r.protect)
          .map((r) => r.name)
          .sort(),
      byName(type, name) {
        const found = ofType(type).filter((r) => r.name === name);
        if (found.length !== 1) throw new Error(`expected one ${type} ${name}, found ${found.length}`);
        return found[0];
      },
    };
  });
  const get = () => plan!;

  it("validates every Kubernetes object against the Kubernetes schema or its upstream CRD", async () => {
    const objects = [...get().files].filter(([path]) => path.startsWith("manifests/"));
    expect(objects.length).toBeGreaterThan(0);
    for (const [path] of objects) {
      const r = get().result.resources.find(
        (x) => x.type.startsWith("kubernetes:") && path.endsWith(`-${(x.inputs.metadata as { name?: string })?.name}.yaml`),
      );
      await expect(validateObject(r!.inputs as { apiVersion: string; kind: string }), path).resolves.toBeUndefined();
    }
  });

  it("renders a shellcheck-clean bootstrap script per node", () => {
    const scripts = [...get().files].filter(([path]) => path.startsWith("bootstrap/"));
    expect(scripts.length).toBe(get().result.resources.filter((r) => r.name.endsWith("-bootstrap")).length);
    if (!requireTool("shellcheck")) return;
    for (const [path, text] of scripts) expect(shellcheck(text), path).toBe("");
  });

  it("never writes a secret: not in resources.json, manifests, bootstrap scripts or outputs", () => {
    const written = [...get().files.values()].join("\n") + JSON.stringify(get().result.outputs);
    for (const canary of canaries) expect(written).not.toContain(canary);
    const token = get()
      .ofType("command:remote:Command")
      .find((c) => c.name.endsWith("-bootstrap"))!.inputs.stdin;
    expect(token).toBe("[secret]");
    expect(written).not.toContain(FAKE_RUN_TOKEN);
    // No cluster credential leaves the run: the shards mint their own (docs/security.md#how-a-run-gets-its-credential).
    expect(get().result.outputs.kubeconfig).toBeUndefined();
  });

  it("keeps no long-lived token: no ServiceAccount token Secret in any manifest or script, and a per-run mint instead", () => {
    const written = [...get().files.values()].join("\n");
    expect(written).not.toContain("kubernetes.io/service-account-token");
    const secrets = get().ofType("kubernetes:core/v1:Secret");
    expect(secrets.filter((s) => s.inputs.type === "kubernetes.io/service-account-token").map((s) => s.name)).toEqual([]);
    // The accounts script revokes the everlasting token earlier versions kept.
    const accounts = get()
      .ofType("command:remote:Command")
      .filter((c) => c.name.endsWith("-accounts"));
    expect(accounts.length).toBe(1);
    expect(String(accounts[0].inputs.create)).toContain("delete secret enclii-pulumi-token --ignore-not-found");
  });

  it("bootstraps nodes one after another, so joins never race and upgrades roll one node at a time", () => {
    const cmds = get().ofType("command:remote:Command");
    const boots = cmds.filter((c) => c.name.endsWith("-bootstrap"));
    const step = (boot: PlanResource, suffix: string) => get().byName("command:remote:Command", boot.name.replace(/-bootstrap$/, suffix));
    // drain(i) -> bootstrap(i) -> uncordon(i) -> drain(i+1) (test/k3s-upgrade.test.ts runs the chain).
    for (const b of boots) {
      expect(b.dependencies, b.name).toContain(step(b, "-drain").urn);
      expect(step(b, "-uncordon").dependencies, b.name).toContain(b.urn);
    }
    const uncordons = boots.map((b) => step(b, "-uncordon").urn);
    const chained = boots.filter((b) => step(b, "-drain").dependencies.some((d) => uncordons.includes(d)));
    expect(chained.length).toBe(boots.length - 1);
    for (const b of boots) expect(String(b.inputs.create)).toContain("K3S_VERSION='v1.35.8+k3s1'");
  });

  it("snapshots etcd to R2 on every server through the kube-system Secret", () => {
    const secret = get().files.get("manifests/kube-system/secret-k3s-etcd-snapshot-s3-config.yaml");
    expect(secret).toContain("etcd-s3-secret-key");
    const servers = get()
      .ofType("command:remote:Command")
      .filter((c) => c.name.endsWith("-bootstrap") && String(c.inputs.create).includes("INSTALL_K3S_EXEC=server"));
    expect(servers.length).toBeGreaterThan(0);
    for (const s of servers) expect(String(s.inputs.create)).toContain("etcd-s3-config-secret: k3s-etcd-snapshot-s3-config");
  });

  it("protects exactly what it retains on delete: one recipe for everything that holds data", () => {
    for (const r of get().result.resources) expect(r.retainOnDelete, r.urn).toBe(r.protect);
  });

  it("points the Kubernetes provider at the cluster's kubeconfig and every object at that provider", () => {
    const [provider] = get().ofType("pulumi:providers:kubernetes");
    expect(provider.inputs.kubeconfig).toBe("[secret]");
    for (const r of get().result.resources.filter((x) => x.type.startsWith("kubernetes:") && !x.type.startsWith("pulumi:"))) {
      expect(r.provider, r.urn).toBe(provider.urn);
    }
  });

  return get;
}
