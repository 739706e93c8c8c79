/**
 * The PostgreSQL rotation's phases as the program registers them (production's stack file through
 * the offline planner, `enclii:rotations.postgres` set as `enclii-infra rotate` sets it): the
 * passwords and role Secrets per generation, the Cluster's managed roles, the login the apps'
 * DATABASE_URL carries, and the check Job the overlap's new login waits for. The real servers'
 * side is test/postgres-rotation.real.test.ts.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource } from "../automation/plan";
import { secretPlaceholder } from "../automation/placeholders";
import { loadStackConfig } from "../automation/stackFile";
import { checkObject } from "../policy/rules";
import { IMAGES } from "../model/pins";
import type { RotationState } from "../model/rotation";
import { ROOT, resolve, shellcheck, validateObject } from "./harness";
import { renderLoginCheck } from "../components/data/postgresRoles";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const SECRET = "kubernetes:core/v1:Secret";
const CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const JOB = "kubernetes:batch/v1:Job";
const P = "enclii-data-postgres";
const SINCE = "2026-12-07T03:00:00Z";

interface Phase {
  resources: PlanResource[];
  /** Every registered resource's inputs as the program passed them, secrets included, by name. */
  inputs: Map<string, any>;
  byName(type: string, name: string): PlanResource;
  names(type: string): string[];
}

async function plan(state?: Omit<RotationState, "since">, file = "Pulumi.production.yaml", stack = "production"): Promise<Phase> {
  const cfg = loadStackConfig(join(ROOT, file));
  for (const key of cfg.secretKeys) cfg.config[key] = secretPlaceholder(key, cfg.config);
  if (state) cfg.config["enclii:rotations"] = JSON.stringify({ postgres: { ...state, since: SINCE } });
  const props = new Map<string, pulumi.Inputs>();
  const result = await runPlan(stack, cfg, async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      if (args.name.startsWith(P)) props.set(args.name, args.props);
      return undefined;
    });
    return (await import("../stacks/program")).program();
  });
  const inputs = new Map<string, any>();
  for (const [name, p] of props) inputs.set(name, await resolve(p));
  const ofType = (type: string) => result.resources.filter((r) => r.type === type && r.name.startsWith(P));
  return {
    resources: result.resources,
    inputs,
    names: (type) => ofType(type).map((r) => r.name.slice(P.length + 1)),
    byName(type, name) {
      const found = ofType(type).filter((r) => r.name === `${P}-${name}`);
      if (found.length !== 1) throw new Error(`expected one ${type} ${P}-${name}, found ${found.length}`);
      return found[0];
    },
  };
}

const phases: Record<string, Phase> = {};
const STATES: Record<string, Omit<RotationState, "since"> | undefined> = {
  g0: undefined,
  "g1 overlap": { generation: 1, phase: "overlap" },
  "g1 settled": { generation: 1, phase: "settled" },
  "g2 overlap": { generation: 2, phase: "overlap" },
  "g2 settled": { generation: 2, phase: "settled" },
};

beforeAll(async () => {
  for (const [name, state] of Object.entries(STATES)) phases[name] = await plan(state);
}, 120_000);

const roles = (p: Phase) => (p.byName(CLUSTER, "enclii-pg").inputs.spec as any).managed.roles;
const databaseUrl = (p: Phase, db: string) => p.inputs.get(`${P}-${db}-url`).stringData.DATABASE_URL as string;
const passwordOf = (p: Phase, name: string) => p.inputs.get(`${P}-${name}`).stringData.password as string;
const deps = (p: Phase, type: string, name: string) =>
  p
    .byName(type, name)
    .dependencies.map((u) => u.slice(u.lastIndexOf("::") + 2))
    .sort();

describe("generation 0: what stacks had before rotation", () => {
  it("registers one password and role Secret per database under the old names, and no check", () => {
    const p = phases.g0;
    expect(p.names(PASSWORD)).toEqual(["enclii-password", "janua-password"]);
    expect(p.names(SECRET).sort()).toEqual(["enclii-role", "enclii-url", "janua-role", "janua-url"]);
    expect(p.names(JOB)).toEqual([]);
    expect(roles(p)).toEqual([
      { name: "enclii", ensure: "present", login: true, inherit: true, passwordSecret: { name: "pg-role-enclii" } },
      { name: "janua", ensure: "present", login: true, inherit: true, passwordSecret: { name: "pg-role-janua" } },
    ]);
    expect(deps(p, SECRET, "enclii-url")).toEqual(["enclii-apps-namespace", `${P}-enclii-password`, `${P}-pooler`]);
    expect(databaseUrl(p, "enclii")).toMatch(
      /^postgres:\/\/enclii:[^@]+@postgres\.enclii-data\.svc\.cluster\.local:5432\/enclii\?sslmode=require$/,
    );
  });
});

describe("each phase", () => {
  it.each([
    ["g1 overlap", ["enclii-password", "enclii-password-g1"], "enclii_b", "enclii-password-g1"],
    ["g1 settled", ["enclii-password-g1"], "enclii_b", "enclii-password-g1"],
    ["g2 overlap", ["enclii-password-g1", "enclii-password-g2"], "enclii", "enclii-password-g2"],
    ["g2 settled", ["enclii-password-g2"], "enclii", "enclii-password-g2"],
  ])("%s: passwords %j, the apps log in as %s with %s", (phase, passwords, user, password) => {
    const p = phases[phase];
    expect(p.names(PASSWORD).filter((n) => n.startsWith("enclii-"))).toEqual(passwords);
    const current = p.inputs.get(`${P}-${password}`);
    expect(current).toEqual({ length: 32, special: false });
    const g = password.replace("enclii-password", "");
    expect(p.inputs.get(`${P}-enclii-role${g}`).stringData.username).toBe(user);
    const secretPassword = passwordOf(p, `enclii-role${g}`);
    expect(databaseUrl(p, "enclii")).toBe(
      `postgres://${user}:${secretPassword}@postgres.enclii-data.svc.cluster.local:5432/enclii?sslmode=require`,
    );
  });

  it("gives the Cluster both slots in the overlap, and only the current one a login once settled", () => {
    const slotB = (over: object) => ({ name: "enclii_b", ensure: "present", inherit: true, inRoles: ["enclii"], ...over });
    const owner = (over: object) => ({ name: "enclii", ensure: "present", inherit: true, ...over });
    const off = { login: false, disablePassword: true };
    const on = (secret: string) => ({ login: true, passwordSecret: { name: secret } });
    const enclii = (p: string) => roles(phases[p]).filter((r: { name: string }) => r.name.startsWith("enclii"));
    expect(enclii("g1 overlap")).toEqual([owner(on("pg-role-enclii")), slotB(on("pg-role-enclii-g1"))]);
    expect(enclii("g1 settled")).toEqual([owner(off), slotB(on("pg-role-enclii-g1"))]);
    expect(enclii("g2 overlap")).toEqual([owner(on("pg-role-enclii-g2")), slotB(on("pg-role-enclii-g1"))]);
    expect(enclii("g2 settled")).toEqual([owner(on("pg-role-enclii-g2")), slotB(off)]);
    // The Cluster waits for every role Secret it names; the Database objects keep <db> as owner.
    expect(deps(phases["g2 overlap"], CLUSTER, "enclii-pg")).toEqual(
      expect.arrayContaining([`${P}-enclii-role-g1`, `${P}-enclii-role-g2`]),
    );
    expect((phases["g1 settled"].byName("kubernetes:postgresql.cnpg.io/v1:Database", "db-enclii").inputs.spec as any).owner).toBe("enclii");
  });

  it("renders a Cluster the CRD accepts in every phase, never with a password both given and disabled", async () => {
    for (const [name, p] of Object.entries(phases)) {
      await validateObject(p.byName(CLUSTER, "enclii-pg").inputs as any);
      // CloudNativePG refuses that combination (internal/management/controller/roles/contract.go `ApplyPassword`: "password both provided and disabled").
      expect(
        roles(p).filter((r: { passwordSecret?: unknown; disablePassword?: boolean }) => r.passwordSecret && r.disablePassword),
        name,
      ).toEqual([]);
    }
  });

  it("keeps each Secret's object in the cluster: a new generation's role Secret is a new object, the apps' Secret the same one", () => {
    const name = (p: string, n: string) => (phases[p].byName(SECRET, n).inputs.metadata as any).name;
    expect(name("g1 overlap", "enclii-role-g1")).toBe("pg-role-enclii-g1");
    expect(name("g1 overlap", "enclii-url")).toBe("database-enclii");
    expect(phases["g1 overlap"].byName(SECRET, "enclii-url").urn).toBe(phases.g0.byName(SECRET, "enclii-url").urn);
  });
});

describe("the overlap's check", () => {
  const job = (p: string, db: string) => phases[p].byName(JOB, `${db}-login-check-g${p[1]}`);

  it("runs only in the overlap, one per database, and the apps' new login waits for it", () => {
    for (const p of ["g0", "g1 settled", "g2 settled"]) expect(phases[p].names(JOB), p).toEqual([]);
    for (const p of ["g1 overlap", "g2 overlap"]) {
      const g = p[1];
      expect(phases[p].names(JOB), p).toEqual([`enclii-login-check-g${g}`, `janua-login-check-g${g}`]);
      for (const db of ["enclii", "janua"]) {
        expect(deps(phases[p], SECRET, `${db}-url`), p).toContain(`${P}-${db}-login-check-g${g}`);
        expect(deps(phases[p], JOB, `${db}-login-check-g${g}`), p).toEqual(
          expect.arrayContaining([`${P}-enclii-pg`, `${P}-pooler`, `${P}-${db}-role-g${g}`]),
        );
      }
    }
  });

  it("logs in as the new generation, from its role Secret, with nothing secret in its arguments", async () => {
    const j = job("g1 overlap", "enclii").inputs as any;
    expect(j.metadata).toEqual({
      name: "pg-login-check-enclii-g1",
      namespace: "enclii-data",
      annotations: { "pulumi.com/replaceUnready": "true" },
    });
    const c = j.spec.template.spec.containers[0];
    expect(c.image).toBe(IMAGES.postgres);
    expect(c.command).toEqual(["bash", "-c", renderLoginCheck()]);
    expect(c.env).toEqual([
      { name: "PGUSER", valueFrom: { secretKeyRef: { name: "pg-role-enclii-g1", key: "username" } } },
      { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "pg-role-enclii-g1", key: "password" } } },
      { name: "PGDATABASE", value: "enclii" },
      { name: "PGPORT", value: "5432" },
      { name: "OWNER", value: "enclii" },
      { name: "DIRECT_HOST", value: "enclii-pg-rw" },
      { name: "POOLED_HOST", value: "postgres" },
      { name: "ATTEMPTS", value: "60" },
      { name: "INTERVAL_S", value: "5" },
    ]);
    expect(j.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 540 });
    expect(checkObject(j)).toEqual([]);
    await validateObject(j);
    expect(shellcheck(renderLoginCheck())).toBe("");
  });

  it("runs in the data namespace, whose policies let its pods reach the instances and the Pooler", () => {
    const policy = phases["g1 overlap"].resources.find((r) => r.name === "enclii-data-allow-same-namespace")!.inputs as any;
    expect(policy.metadata.namespace).toBe("enclii-data");
    expect(policy.spec).toEqual({
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    });
  });
});

describe("the apps", () => {
  const annotations = (p: string, svc: string) =>
    (phases[p].resources.find((r) => r.name === `enclii-apps-${svc}-deployment`)!.inputs as any).spec.template.metadata.annotations ?? {};

  it("roll the services that read DATABASE_URL when the generation changes, and only those", () => {
    for (const svc of ["janua", "switchyard-api"]) {
      expect(annotations("g0", svc)).not.toHaveProperty("enclii.dev/generation-postgres");
      expect(annotations("g1 overlap", svc)).toMatchObject({ "enclii.dev/generation-postgres": "1" });
      expect(annotations("g1 settled", svc)).toMatchObject({ "enclii.dev/generation-postgres": "1" });
    }
    expect(annotations("g1 overlap", "docs-site")).not.toHaveProperty("enclii.dev/generation-postgres");
  });

  it("roll only after the checks and the new DATABASE_URLs: the apps' component waits for them", () => {
    const apps = phases["g1 overlap"].resources.find((r) => r.type === "enclii:apps:Apps")!;
    const names = apps.dependencies.map((u) => u.slice(u.lastIndexOf("::") + 2));
    for (const db of ["enclii", "janua"]) expect(names).toEqual(expect.arrayContaining([`${P}-${db}-login-check-g1`, `${P}-${db}-url`]));
  });
});

describe("the external mode", () => {
  it("leaves the rotation to the database's owner: the logins stay the ones in enclii:externalDatabaseUrls", async () => {
    const file = "examples/Pulumi.external.yaml";
    const before = await plan(undefined, file, "external");
    const after = await plan({ generation: 1, phase: "overlap" }, file, "external");
    const ours = (p: Phase) =>
      p.resources.filter((r) => r.name.startsWith(P)).map(({ urn, inputs, dependencies }) => ({ urn, inputs, dependencies }));
    expect(ours(after)).toEqual(ours(before));
    expect(after.names(JOB)).toEqual([]);
    expect(databaseUrl(after, "enclii")).toBe(databaseUrl(before, "enclii"));
  });
});
