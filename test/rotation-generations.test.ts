/**
 * Rotation by generation for the R2 tokens, Janua's HS256 and session secrets and Grafana's admin
 * password, on the real program through the plan runner: generation 0 registers exactly the names
 * stacks had before rotation existed; a later generation registers new secrets under new names,
 * rewrites the Secrets that carry them, and rolls the pods that read them from their env.
 */
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { generationAnnotations } from "../components/rotation";
import { secretsReadByEnv } from "../components/apps/rotation";
import { grafanaValues } from "../components/observability/grafanaValues";
import { runPlan, type PlanResource, type PlanResult } from "../automation/plan";
import { secretPlaceholder } from "../automation/placeholders";
import { loadStackConfig } from "../automation/stackFile";
import { observabilitySchema, resolveObservability, type Observability } from "../model/observability/config";
import { ROOT } from "./harness";

const TOKEN = "cloudflare:index/accountToken:AccountToken";
const SECRET = "kubernetes:core/v1:Secret";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SINCE = "2026-12-07T03:00:00Z";
/** One generation per secret, different from each other so a mix-up shows. */
const ROTATED = {
  "r2-tokens": { generation: 2, since: SINCE },
  "janua-hs256": { generation: 2, since: SINCE },
  "janua-session": { generation: 1, since: SINCE },
  "grafana-admin": { generation: 3, since: SINCE },
};
const R2_ROLES = ["assets", "backups-etcd", "backups-longhorn", "backups-postgres"];
/** The R2 tokens (the tenant shards' Cloudflare token, with custom hostnames on, is not one). */
const r2Tokens = (p: Planned) => p.names(TOKEN).filter((n) => n.startsWith("enclii-r2-"));

interface Planned {
  result: PlanResult;
  /** Every resource's options as the program passed them, by name (a stack transformation sees them). */
  options: Map<string, pulumi.CustomResourceOptions>;
  byName(type: string, name: string): PlanResource;
  names(type: string): string[];
}

async function plan(stack: string, file: string, rotations?: object): Promise<Planned> {
  const cfg = loadStackConfig(join(ROOT, file));
  for (const key of cfg.secretKeys) cfg.config[key] = secretPlaceholder(key, cfg.config);
  if (rotations) cfg.config["enclii:rotations"] = JSON.stringify(rotations);
  const options = new Map<string, pulumi.CustomResourceOptions>();
  const result = await runPlan(stack, cfg, async () => {
    const { runtime } = await import("@pulumi/pulumi");
    runtime.registerStackTransformation((args) => {
      options.set(args.name, args.opts);
      return undefined;
    });
    return (await import("../stacks/program")).program();
  });
  const ofType = (type: string) => result.resources.filter((r) => r.type === type);
  return {
    result,
    options,
    names: (type) =>
      ofType(type)
        .map((r) => r.name)
        .sort(),
    byName(type, name) {
      const found = ofType(type).filter((r) => r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type} ${name}, found ${found.length}`);
      return found[0];
    },
  };
}

const podAnnotations = (p: Planned, name: string) =>
  ((p.byName(DEPLOYMENT, name).inputs.spec as any).template.metadata.annotations ?? {}) as Record<string, string>;
const grafanaChartValues = (p: Planned) => (p.byName(RELEASE, "enclii-observability-metrics-release").inputs.values as any).grafana;

describe("generation 0: the names every stack had before rotation", () => {
  let production: Planned;
  let staging: Planned;
  beforeAll(async () => {
    production = await plan("production", "Pulumi.production.yaml");
    staging = await plan("staging", "Pulumi.staging.yaml");
  });

  it("keeps the R2 tokens', Janua's and Grafana's resource names, as the offline plan listed them before rotation", () => {
    for (const p of [production, staging]) {
      expect(r2Tokens(p)).toEqual(R2_ROLES.map((role) => `enclii-r2-${role}-token`));
      expect(p.names("random:index/randomBytes:RandomBytes")).toContain("enclii-apps-janua-hs256");
      expect(p.names("random:index/randomPassword:RandomPassword")).toContain("enclii-apps-janua-session");
    }
    expect(production.byName(TOKEN, "enclii-r2-assets-token").inputs.name).toBe("enclii-production-r2-assets");
    expect(staging.names("random:index/randomPassword:RandomPassword")).toContain("enclii-observability-metrics-grafana-password");
  });

  it("adds no generation annotation, so no pod rolls on upgrade", () => {
    for (const p of [production, staging]) expect(JSON.stringify(p.result.resources)).not.toContain("enclii.dev/generation-");
    expect(grafanaChartValues(staging)).not.toHaveProperty("podAnnotations");
  });
});

describe("a later generation", () => {
  let before: Planned;
  let after: Planned;
  beforeAll(async () => {
    before = await plan("staging", "Pulumi.staging.yaml");
    after = await plan("staging", "Pulumi.staging.yaml", ROTATED);
  });

  it("makes new R2 tokens beside nothing of the old generation, labelled with it in Cloudflare", () => {
    expect(r2Tokens(after)).toEqual(R2_ROLES.map((role) => `enclii-r2-${role}-token-g2`));
    expect(after.byName(TOKEN, "enclii-r2-backups-etcd-token-g2").inputs.name).toBe("enclii-staging-r2-backups-etcd-g2");
  });

  it("points every consumer's Secret at its new token: CloudNativePG, Longhorn, k3s's etcd snapshots, the apps", () => {
    const token = (role: string, g: string) => before.byName(TOKEN, `enclii-r2-${role}-token`).urn.replace(/-token$/, `-token${g}`);
    const consumers = {
      "enclii-data-r2-credentials": "backups-postgres",
      "enclii-longhorn-backup-credentials": "backups-longhorn",
      "enclii-k3s-etcd-s3": "backups-etcd",
      "enclii-apps-r2-assets": "assets",
    };
    for (const [secret, role] of Object.entries(consumers)) {
      const deps = after.byName(SECRET, secret).dependencies;
      expect(deps, secret).toContain(token(role, "-g2"));
      expect(
        deps.filter((d) => d.includes(":AccountToken::")),
        secret,
      ).toEqual([token(role, "-g2")]);
      // The same object in the cluster, updated in place: only the token is new.
      expect(after.byName(SECRET, secret).urn).toBe(before.byName(SECRET, secret).urn);
    }
  });

  it("never deletes an old secret before its successor exists: no deleteBeforeReplace on the new secrets or their consumers", () => {
    const names = [
      ...r2Tokens(after),
      "enclii-apps-janua-hs256-g2",
      "enclii-apps-janua-session-g1",
      "enclii-observability-metrics-grafana-password-g3",
      "enclii-data-r2-credentials",
      "enclii-longhorn-backup-credentials",
      "enclii-k3s-etcd-s3",
      "enclii-apps-r2-assets",
    ];
    for (const name of names) {
      expect(after.options.has(name), name).toBe(true);
      expect(after.options.get(name)!.deleteBeforeReplace, name).toBeUndefined();
    }
  });

  it("gives Janua new HS256 and session secrets under new names, in the Secrets it already reads", () => {
    expect(after.names("random:index/randomBytes:RandomBytes")).toContain("enclii-apps-janua-hs256-g2");
    expect(after.names("random:index/randomBytes:RandomBytes")).not.toContain("enclii-apps-janua-hs256");
    expect(after.names("random:index/randomPassword:RandomPassword")).toContain("enclii-apps-janua-session-g1");
    expect(after.names("random:index/randomPassword:RandomPassword")).not.toContain("enclii-apps-janua-session");
    const internal = after.byName(SECRET, "enclii-apps-janua-internal");
    expect(internal.dependencies.some((d) => d.endsWith("::enclii-apps-janua-hs256-g2"))).toBe(true);
    expect((internal.inputs.metadata as any).name).toBe("janua-internal");
  });

  it("rolls exactly the pods that read a rotated secret from their env", () => {
    expect(podAnnotations(after, "enclii-apps-janua-deployment")).toMatchObject({
      "enclii.dev/generation-janua-hs256": "2",
      "enclii.dev/generation-janua-session": "1",
    });
    // switchyard-api validates HS256 tokens and holds the assets token.
    const api = podAnnotations(after, "enclii-apps-switchyard-api-deployment");
    expect(Object.entries(api).filter(([k]) => k.startsWith("enclii.dev/generation-"))).toEqual([
      ["enclii.dev/generation-janua-hs256", "2"],
      ["enclii.dev/generation-r2-tokens", "2"],
    ]);
    expect(podAnnotations(after, "enclii-apps-docs-site-deployment")).toEqual({});
  });

  it("starts switchyard-api's pods only after the assets Secret holds the new token", () => {
    const secret = after.byName(SECRET, "enclii-apps-r2-assets").urn;
    expect(after.byName("enclii:apps:Service", "enclii-apps-switchyard-api").dependencies).toContain(secret);
    expect(after.byName("enclii:apps:Service", "enclii-apps-docs-site").dependencies).not.toContain(secret);
  });

  it("resets Grafana's admin password: a new password, and a new pod that creates its database afresh", () => {
    expect(after.names("random:index/randomPassword:RandomPassword")).toContain("enclii-observability-metrics-grafana-password-g3");
    const admin = after.byName(SECRET, "enclii-observability-metrics-grafana-admin");
    expect(admin.dependencies.some((d) => d.endsWith("::enclii-observability-metrics-grafana-password-g3"))).toBe(true);
    const grafana = grafanaChartValues(after);
    expect(grafana.podAnnotations).toEqual({ "enclii.dev/generation-grafana-admin": "3" });
    // The database is on an emptyDir: only a fresh one takes the admin password (grafanaValues.ts).
    expect(grafana.persistence).toEqual({ enabled: false });
    expect(grafana.admin.existingSecret).toBe("grafana-admin");
    expect(after.byName(RELEASE, "enclii-observability-metrics-release").dependencies).toContain(admin.urn);
  });
});

describe("the pieces", () => {
  it("annotates only secrets past generation 0", () => {
    expect(generationAnnotations({}, ["r2-tokens"])).toEqual({});
    expect(generationAnnotations({ "r2-tokens": { generation: 0, since: SINCE, phase: "settled" } }, ["r2-tokens"])).toEqual({});
    expect(generationAnnotations({ "r2-tokens": { generation: 4, since: SINCE, phase: "settled" } }, ["r2-tokens", "janua-hs256"])).toEqual(
      { "enclii.dev/generation-r2-tokens": "4" },
    );
  });

  it("knows which rotated secrets each binding hands a service by env", () => {
    expect(secretsReadByEnv({ oidc: { role: "provider" } } as any)).toEqual(["janua-hs256", "janua-session"]);
    expect(secretsReadByEnv({ r2: { bucket: "assets" }, oidc: { role: "resource-server", clientId: "x" } } as any)).toEqual([
      "r2-tokens",
      "janua-hs256",
    ]);
    expect(secretsReadByEnv({ oidc: { role: "client", clientId: "x" } } as any)).toEqual([]);
  });

  it("puts the annotations on Grafana's pod only when there are some", () => {
    const o: Observability = resolveObservability(observabilitySchema.parse({}), 64, "enclii.io")!;
    expect(grafanaValues({ o, grafanaSecret: "grafana-admin", podAnnotations: { a: "1" } }).podAnnotations).toEqual({ a: "1" });
    expect(grafanaValues({ o, grafanaSecret: "grafana-admin", podAnnotations: {} })).not.toHaveProperty("podAnnotations");
  });
});
