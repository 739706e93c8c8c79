/** Tenant shards: every refusal's exact wording, and the placement rule the control plane will use. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { USAGE, planCommand } from "../automation/planCommand";
import { shardFiles } from "../automation/shards";
import { renderProblem } from "../model/problem";
import type { Tenant } from "../model/routes";
import {
  MAX_SHARDS,
  TENANTS_PER_SHARD,
  checkShards,
  parseShard,
  parseShardStack,
  placeTenant,
  plainSecretProblem,
  shardFileNameProblem,
  shardStack,
  type Shard,
} from "../model/config/tenants";
import { ConfigError } from "../stacks/config";
import { parseShardConfig } from "../stacks/shardConfig";
import { makeTenants, placeAll, writeShardFiles } from "../testbed/tenantShards";

const tenant = (name: string, ...hostnames: string[]): Tenant => ({ name, hostnames, service: { name: "web", port: 8080 } });
const raw = (tenants: unknown) => ({ "enclii-tenants:tenants": JSON.stringify(tenants) });

describe("shard stack names", () => {
  it("are <environment>-NNN, three digits", () => {
    expect(shardStack("production", 3)).toBe("production-003");
    expect(parseShardStack("production-003")).toEqual({ environment: "production", index: 3 });
    expect(parseShardStack("eu-staging-120")).toEqual({ environment: "eu-staging", index: 120 });
    // An environment of one character is a name too.
    expect(parseShardStack("a-001")).toEqual({ environment: "a", index: 1 });
    for (const bad of ["production", "production-3", "production-0003", "-001", "Production-001"])
      expect(parseShardStack(bad), bad).toBeUndefined();
  });
});

describe("placeTenant", () => {
  const full = (stack: string, prefix: string): Shard => ({ stack, tenants: makeTenants(TENANTS_PER_SHARD, prefix) });

  it("keeps a tenant in the shard that holds it, even a full one", () => {
    const shards = [full("staging-000", "a"), { stack: "staging-001", tenants: [] }];
    expect(placeTenant("a0042", "staging", shards)).toBe("staging-000");
  });

  it("puts a new tenant in the lowest-numbered shard with room, else a new shard after the last", () => {
    expect(placeTenant("new", "staging", [])).toBe("staging-000");
    expect(
      placeTenant("new", "staging", [full("staging-000", "a"), { stack: "staging-002", tenants: [tenant("b", "b.example.com")] }]),
    ).toBe("staging-002");
    expect(placeTenant("new", "staging", [full("staging-000", "a"), full("staging-001", "b")])).toBe("staging-002");
    // Other environments' shards are not candidates.
    expect(placeTenant("new", "staging", [{ stack: "production-000", tenants: [] }])).toBe("staging-000");
  });

  it("takes the lowest-numbered shard with room whatever order the shards are listed in, ignoring files that are no shard", () => {
    const open = (stack: string): Shard => ({ stack, tenants: [] });
    expect(placeTenant("new", "staging", [open("staging-002"), full("staging-000", "a"), open("staging-001")])).toBe("staging-001");
    expect(placeTenant("new", "staging", [open("staging-001"), open("staging-002")])).toBe("staging-001");
    expect(placeTenant("new", "staging", [open("staging"), full("staging-000", "a")])).toBe("staging-001");
  });

  it(`refuses a new tenant once all ${MAX_SHARDS} shards are full, and takes the last one while it has room`, () => {
    expect(placeTenant("new", "staging", [full("staging-998", "a")])).toBe("staging-999");
    expect(() => placeTenant("new", "staging", [full("staging-999", "a")])).toThrow(`staging: all ${MAX_SHARDS} tenant shards are full`);
  });

  it("fills shards in order: 250 tenants make two full shards and one of 50", () => {
    const shards = placeAll("staging", makeTenants(250));
    expect(shards.map((s) => [s.stack, s.tenants.length])).toEqual([
      ["staging-000", 100],
      ["staging-001", 100],
      ["staging-002", 50],
    ]);
  });
});

describe("parseShard", () => {
  it("accepts a shard with no tenants key (an empty shard)", () => {
    expect(parseShard("staging-000", {})).toEqual({
      shard: { stack: "staging-000", environment: "staging", index: 0, tenants: [] },
      problems: [],
    });
  });

  it("names every problem by key path, all at once", () => {
    const { shard, problems } = parseShard("staging", {
      ...raw([
        { name: "Acme", hostnames: [], service: { name: "Web", port: 70000 } },
        { name: "ok", hostnames: ["ok.example.com"], service: { name: "web", port: 80 }, colour: "blue" },
      ]),
      "enclii-tenants:tenant": "[]",
    });
    expect(shard).toBeUndefined();
    expect(problems.map(renderProblem)).toEqual([
      "staging: a tenant shard's stack name must be <environment>-NNN, such as production-000",
      "enclii-tenants:tenant: unknown config key; did you mean enclii-tenants:tenants? (a shard reads only enclii-tenants:tenants and enclii-tenants:platformStack)",
      "enclii-tenants:tenants[0].name: must be a DNS label: lowercase letters, digits and '-', at most 52 characters",
      "enclii-tenants:tenants[0].hostnames: needs at least one hostname",
      "enclii-tenants:tenants[0].service.name: must be a Service name: a DNS-1035 label (a letter first)",
      "enclii-tenants:tenants[0].service.port: must be at most 65535",
      'enclii-tenants:tenants[1]: unknown field "colour"',
    ]);
  });

  it("checks the platform stack it names as a stack reference, and takes one", () => {
    expect(parseShard("staging-000", { "enclii-tenants:platformStack": "staging" }).problems.map(renderProblem)).toEqual([
      "enclii-tenants:platformStack: must be a stack reference: <organization>/<project>/<stack>",
    ]);
    expect(parseShard("staging-000", { "enclii-tenants:platformStack": "acme/enclii-infra/staging" }).problems).toEqual([]);
  });

  it("takes only its own environment's enclii-infra stack as its platform, in any organization", () => {
    expect(parseShard("staging-000", { "enclii-tenants:platformStack": "acme/infra/production" }).problems.map(renderProblem)).toEqual([
      'enclii-tenants:platformStack: names the project "infra"; a shard reads its platform from the enclii-infra project',
      `enclii-tenants:platformStack: names the stack "production", but this shard is staging's: a shard reads its own environment's platform stack (<organization>/enclii-infra/staging)`,
    ]);
  });

  it("refuses every key it does not read, in any namespace, pointing a near miss at the key meant", () => {
    const only = "(a shard reads only enclii-tenants:tenants and enclii-tenants:platformStack)";
    const { problems } = parseShard("staging-000", {
      "enclii-tenant:tenants": "[]",
      "enclii:tenants": "[]",
      "enclii-tenants:PlatformStack": "acme/enclii-infra/staging",
      "kubernetes:context": "default",
    });
    expect(problems.map(renderProblem)).toEqual([
      `enclii-tenant:tenants: unknown config key; did you mean enclii-tenants:tenants? ${only}`,
      `enclii-tenants:PlatformStack: unknown config key; did you mean enclii-tenants:platformStack? ${only}`,
      `enclii:tenants: unknown config key; did you mean enclii-tenants:tenants? ${only}`,
      `kubernetes:context: unknown config key ${only}`,
    ]);
  });

  it("gives no shard to plan when its only problem is a misspelt key, or its stack name", () => {
    // Valid tenants either way: the one problem must still stop the shard, or a typo would go unplanned.
    const tenants = raw([tenant("acme", "shop.acme.com")]);
    expect(parseShard("staging-000", { ...tenants, "enclii-tenants:platformStak": "acme/enclii-infra/staging" })).toEqual({
      problems: [
        {
          where: "enclii-tenants:platformStak",
          code: "unknown-key",
          message:
            "unknown config key; did you mean enclii-tenants:platformStack? (a shard reads only enclii-tenants:tenants and enclii-tenants:platformStack)",
        },
      ],
    });
    expect(parseShard("staging-0", tenants)).toEqual({
      problems: [
        {
          where: "staging-0",
          code: "shard-name",
          message: "a tenant shard's stack name must be <environment>-NNN, such as production-000",
        },
      ],
    });
    // A platform stack named in another organization is no problem: the shard is planned.
    expect(parseShard("staging-001", { ...tenants, "enclii-tenants:platformStack": "acme/enclii-infra/staging" }).shard).toEqual({
      stack: "staging-001",
      environment: "staging",
      index: 1,
      tenants: [tenant("acme", "shop.acme.com")],
    });
  });

  it("judges a platform stack's project and stack apart: the right project in the wrong stack, or the reverse", () => {
    const where = "enclii-tenants:platformStack";
    expect(parseShard("staging-000", { [where]: "acme/enclii-infra/production" }).problems).toEqual([
      {
        where,
        code: "platform-stack",
        message:
          "names the stack \"production\", but this shard is staging's: a shard reads its own environment's platform stack (<organization>/enclii-infra/staging)",
      },
    ]);
    expect(parseShard("staging-000", { [where]: "acme.io/enclii-tenants/staging" }).problems).toEqual([
      {
        where,
        code: "platform-stack",
        message: 'names the project "enclii-tenants"; a shard reads its platform from the enclii-infra project',
      },
    ]);
    // With no valid stack name there is no environment to hold it to, and the project is still judged.
    expect(parseShard("staging", { "enclii-tenants:platformStack": "acme/infra/production" }).problems.map(renderProblem)).toEqual([
      "staging: a tenant shard's stack name must be <environment>-NNN, such as production-000",
      'enclii-tenants:platformStack: names the project "infra"; a shard reads its platform from the enclii-infra project',
    ]);
  });

  it("names a value of the wrong type by what it is, and a tenant that is not an object", () => {
    expect(
      parseShard("staging-000", raw([{ name: 5, hostnames: "x", service: { name: "web", port: "80" } }])).problems.map(renderProblem),
    ).toEqual([
      "enclii-tenants:tenants[0].name: must be text, not a whole number",
      "enclii-tenants:tenants[0].hostnames: must be a list, not text",
      "enclii-tenants:tenants[0].service.port: must be a number, not text",
    ]);
    expect(parseShard("staging-000", raw([null])).problems.map(renderProblem)).toEqual([
      "enclii-tenants:tenants[0]: must be an object (fields), not null",
    ]);
  });

  it("points a key of another namespace at the key its name is near", () => {
    expect(parseShard("staging-000", { "cloudflare:tenant": "[]" }).problems.map(renderProblem)).toEqual([
      "cloudflare:tenant: unknown config key; did you mean enclii-tenants:tenants? (a shard reads only enclii-tenants:tenants and enclii-tenants:platformStack)",
    ]);
  });

  it("takes a platform stack reference of exactly three parts, nothing before or after", () => {
    for (const reference of ["acme/enclii-infra/staging/extra", "my org/enclii-infra/staging"])
      expect(parseShard("staging-000", { "enclii-tenants:platformStack": reference }).problems.map(renderProblem), reference).toEqual([
        "enclii-tenants:platformStack: must be a stack reference: <organization>/<project>/<stack>",
      ]);
  });

  it(`refuses more than ${TENANTS_PER_SHARD} tenants in one shard`, () => {
    expect(parseShard("staging-000", raw(makeTenants(TENANTS_PER_SHARD + 1))).problems.map(renderProblem)).toEqual([
      `enclii-tenants:tenants: must have at most ${TENANTS_PER_SHARD} items`,
    ]);
  });

  it("refuses tenant names and hostnames used twice in the shard", () => {
    const { problems } = parseShard("staging-000", raw([tenant("acme", "a.acme.com"), tenant("acme", "b.acme.com", "a.acme.com")]));
    expect(problems.map(renderProblem)).toEqual([
      'staging-000: tenant "acme" is declared more than once',
      "staging-000: hostname a.acme.com is declared more than once",
    ]);
  });
});

describe("tenant hostnames", () => {
  const hostnameProblems = (...hostnames: string[]) =>
    parseShard("staging-000", raw([tenant("acme", ...hostnames)])).problems.map(renderProblem);

  it("are held to DNS's limits: labels of at most 63 characters, 253 in all", () => {
    const label = (n: number) => "a".repeat(n);
    expect(
      hostnameProblems(
        `${label(63)}.acme.com`,
        `${label(64)}.acme.com`,
        [label(63), label(63), label(63), label(61)].join("."),
        [label(63), label(63), label(63), label(62)].join("."),
      ),
    ).toEqual([
      "enclii-tenants:tenants[0].hostnames[1]: must be a lowercase fully qualified domain name",
      "enclii-tenants:tenants[0].hostnames[3]: must be a lowercase fully qualified domain name",
    ]);
  });

  it("take internationalised names in their one ASCII form, and refuse reserved labels", () => {
    expect(hostnameProblems("shop.xn--p1ai", "xn--bcher-kva.example", "xn--zz.example", "ab--c.example", "Bücher.example")).toEqual([
      'enclii-tenants:tenants[0].hostnames[2]: must be a valid internationalised name: label "xn--zz" is not valid Punycode',
      'enclii-tenants:tenants[0].hostnames[3]: must not use a reserved label: "ab--c" has "--" in its third and fourth characters, which only IDNA\'s xn-- labels may (RFC 5891 §4.2.3.1)',
      "enclii-tenants:tenants[0].hostnames[4]: must be a lowercase fully qualified domain name: write it as xn--bcher-kva.example",
    ]);
  });

  it("listed twice by one tenant are named once per repeat, at both places", () => {
    expect(hostnameProblems("a.acme.com", "b.acme.com", "a.acme.com")).toEqual([
      "enclii-tenants:tenants[0].hostnames[2]: a.acme.com repeats enclii-tenants:tenants[0].hostnames[0]",
    ]);
    let problems: string[] = [];
    try {
      parseShardConfig("staging-000", raw([tenant("acme", "a.acme.com", "a.acme.com")]), "enclii.dev");
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      "tenants/Pulumi.staging-000.yaml: enclii-tenants:tenants[0].hostnames[1]: a.acme.com repeats enclii-tenants:tenants[0].hostnames[0]",
    ]);
  });
});

describe("checkShards", () => {
  it("refuses a tenant or hostname declared in two shards, naming both", () => {
    const shards = [
      { stack: "staging-000", tenants: [tenant("acme", "shop.acme.com")] },
      { stack: "staging-001", tenants: [tenant("acme", "www.acme.com"), tenant("other", "shop.acme.com")] },
    ];
    expect(checkShards(shards).map(renderProblem)).toEqual([
      'staging-001: tenant "acme" is also declared in staging-000',
      "staging-001: hostname shop.acme.com is also declared in staging-000",
    ]);
  });

  it("with the platform's domain, refuses hostnames in our zone or the fallback origin", () => {
    expect(
      checkShards([{ stack: "staging-000", tenants: [tenant("a", "app.enclii.dev", "proxy.enclii.dev", "ok.example.com")] }], "enclii.dev"),
    ).toEqual([
      { where: "staging-000", code: "inside-zone", message: "app.enclii.dev: tenant hostname must not be under our zone enclii.dev" },
      { where: "staging-000", code: "inside-zone", message: "proxy.enclii.dev: tenant hostname must not be under our zone enclii.dev" },
    ]);
  });

  it("says what kind of duplicate each problem is, and a hostname in two shards once even with the domain's checks", () => {
    const shards = [
      { stack: "staging-000", tenants: [tenant("acme", "shop.acme.com")] },
      { stack: "staging-001", tenants: [tenant("acme", "www.acme.com"), tenant("b", "shop.acme.com")] },
    ];
    expect(checkShards(shards, "enclii.dev")).toEqual([
      { where: "staging-001", code: "duplicate-tenant", message: 'tenant "acme" is also declared in staging-000' },
      { where: "staging-001", code: "duplicate-hostname", message: "hostname shop.acme.com is also declared in staging-000" },
    ]);
  });

  it("without the platform's domain checks only that tenants and hostnames are unique", () => {
    expect(checkShards([{ stack: "staging-000", tenants: [tenant("a", "app.enclii.dev", "not a hostname")] }])).toEqual([]);
  });

  it("names a hostname two tenants of one shard declare once, with the domain's checks too", () => {
    expect(checkShards([{ stack: "staging-000", tenants: [tenant("a", "x.acme.com"), tenant("b", "x.acme.com")] }], "enclii.dev")).toEqual([
      { where: "staging-000", code: "duplicate-hostname", message: "hostname x.acme.com is declared more than once" },
    ]);
  });

  it("names a duplicate inside one shard once, not once per check", () => {
    let problems: string[] = [];
    try {
      parseShardConfig("staging-000", raw([tenant("acme", "a.acme.com"), tenant("acme", "b.acme.com")]));
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual(['tenants/Pulumi.staging-000.yaml: tenant "acme" is declared more than once']);
  });

  it("parseShardConfig prefixes every problem with the shard's stack file", () => {
    let error: unknown;
    try {
      parseShardConfig("staging-000", raw([tenant("a", "app.enclii.dev")]), "enclii.dev");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "tenants/Pulumi.staging-000.yaml: app.enclii.dev: tenant hostname must not be under our zone enclii.dev",
    ]);
  });
});

describe("the planner refuses bad shards before loading Pulumi", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-shards-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const run = async (...argv: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await planCommand(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  };

  it("when the platform has not turned custom hostnames on", async () => {
    const dir = join(tmp, "off");
    const config = join(tmp, "Pulumi.staging.yaml");
    writeFileSync(
      config,
      readFileSync("Pulumi.staging.yaml", "utf8").replace("enclii:customHostnames: true", "enclii:customHostnames: false"),
    );
    writeShardFiles(dir, [{ stack: "staging-000", tenants: [tenant("acme", "shop.acme.com")] }]);
    const r = await run("staging", "--config", config, "--tenants", dir, "--out", join(tmp, "off-plan"));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("invalid stack config:\n  - enclii:customHostnames: staging has tenant shards (staging-000); set it to true\n");
  });

  it("when --tenants names no directory: exit 2 naming it, where it would have planned no shards", async () => {
    for (const stack of ["staging", "staging-000"]) {
      const r = await run(stack, "--tenants", join(tmp, "nosuch"), "--out", join(tmp, "nosuch-plan"));
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`--tenants: no directory ${join(tmp, "nosuch")}\n${USAGE}\n`);
    }
    expect(existsSync(join(tmp, "nosuch-plan"))).toBe(false);
  });

  it("when a stack file in the shards' directory is not a shard of an environment that exists", async () => {
    const root = join(tmp, "names");
    const dir = join(root, "tenants");
    writeShardFiles(dir, [{ stack: "staging-000", tenants: [] }]);
    writeFileSync(join(root, "Pulumi.staging.yaml"), readFileSync("Pulumi.staging.yaml", "utf8"));
    // The project file is no stack file; another environment's shard is its own business.
    writeFileSync(join(dir, "Pulumi.yaml"), "name: enclii-tenants\nruntime: nodejs\n");
    writeFileSync(join(root, "Pulumi.production.yaml"), "config: {}\n");
    writeShardFiles(dir, [{ stack: "production-000", tenants: [] }]);
    expect(shardFiles(dir, "staging")).toEqual([join(dir, "Pulumi.staging-000.yaml")]);

    for (const bad of ["stagign-001", "staging-1", "staging", "qa-000"]) writeShardFiles(dir, [{ stack: bad, tenants: [] }]);
    writeFileSync(join(dir, "Pulumi.staging-002.yml"), "config: {}\n");
    const form = "not a tenant shard's stack file: a shard's is named Pulumi.<environment>-NNN.yaml, such as Pulumi.production-000.yaml";
    const r = await run("staging", "--config", join(root, "Pulumi.staging.yaml"), "--tenants", dir, "--out", join(tmp, "names-plan"));
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      "invalid stack config:",
      `  - ${join(dir, "Pulumi.qa-000.yaml")}: no environment "qa" (no platform stack file Pulumi.qa.yaml) (environments: production, staging)`,
      `  - ${join(dir, "Pulumi.stagign-001.yaml")}: no environment "stagign" (no platform stack file Pulumi.stagign.yaml); did you mean Pulumi.staging-001.yaml?`,
      `  - ${join(dir, "Pulumi.staging-002.yml")}: ${form}`,
      `  - ${join(dir, "Pulumi.staging-1.yaml")}: ${form}`,
      `  - ${join(dir, "Pulumi.staging.yaml")}: ${form}`,
    ]);
    expect(existsSync(join(tmp, "names-plan"))).toBe(false);
  });

  it("when a shard file holds a secret in plain text: named by key, its value never shown", async () => {
    const dir = join(tmp, "secret");
    writeShardFiles(dir, [{ stack: "staging-000", tenants: [tenant("acme", "shop.acme.com")] }]);
    const file = join(dir, "Pulumi.staging-000.yaml");
    writeFileSync(
      file,
      `${readFileSync(file, "utf8")}  cloudflare:apiToken: cf-plain-9f8e7d\n  enclii-tenants:password:\n    secure: v1:c2VjcmV0\n`,
    );
    const r = await run("staging", "--tenants", dir, "--out", join(tmp, "secret-plan"));
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      "invalid stack config:",
      `  - ${file}: cloudflare:apiToken: looks like a secret and is in plain text; a shard holds no secrets (its Cloudflare token comes from the platform stack, its Kubernetes token from ENCLII_TENANTS_TOKEN): delete it from the file and rotate it`,
      // Encrypted, it is only a key the shard does not read.
      `  - ${file}: enclii-tenants:password: unknown config key (a shard reads only enclii-tenants:tenants and enclii-tenants:platformStack)`,
    ]);
    expect(r.stderr).not.toContain("cf-plain-9f8e7d");
  });

  it("naming every shard file's problems together, across shards too", async () => {
    const dir = join(tmp, "bad");
    writeShardFiles(dir, [
      { stack: "staging-000", tenants: [tenant("acme", "shop.acme.com")] },
      { stack: "staging-001", tenants: [tenant("acme", "app.enclii.dev")] },
    ]);
    writeFileSync(join(dir, "Pulumi.staging-002.yaml"), "config:\n  enclii-tenants:tenants: [{ name: x }]\n");
    const r = await run("staging", "--tenants", dir, "--out", join(tmp, "bad-plan"));
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      "invalid stack config:",
      `  - ${join(dir, "Pulumi.staging-002.yaml")}: enclii-tenants:tenants[0].hostnames: is required`,
      `  - ${join(dir, "Pulumi.staging-002.yaml")}: enclii-tenants:tenants[0].service: is required`,
      `  - ${join(dir, "Pulumi.staging-001.yaml")}: tenant "acme" is also declared in staging-000`,
      `  - ${join(dir, "Pulumi.staging-001.yaml")}: app.enclii.dev: tenant hostname must not be under our zone enclii.dev`,
    ]);
  });
});

describe("the shards' stack files", () => {
  it("are named Pulumi.<environment>-NNN.yaml, the whole name", () => {
    const form = "not a tenant shard's stack file: a shard's is named Pulumi.<environment>-NNN.yaml, such as Pulumi.production-000.yaml";
    expect(shardFileNameProblem("Pulumi.staging-000.yaml", ["staging"])).toBeUndefined();
    for (const name of ["old-Pulumi.staging-000.yaml", "Pulumi.staging-000.yaml.bak", "Pulumi..yaml"])
      expect(shardFileNameProblem(name, ["staging"]), name).toBe(form);
  });

  it("refuse a key whose name says it is a secret, judged by the name and not the namespace", () => {
    expect(plainSecretProblem("enclii-tenants:apiToken")).toBe(
      "enclii-tenants:apiToken: looks like a secret and is in plain text; a shard holds no secrets (its Cloudflare token comes from the platform stack, its Kubernetes token from ENCLII_TENANTS_TOKEN): delete it from the file and rotate it",
    );
    // "key" is in the namespace only: the name says nothing secret.
    expect(plainSecretProblem("keycloak:url")).toBeUndefined();
    expect(plainSecretProblem("turnkey:url")).toBeUndefined();
    // A key with no namespace is judged whole.
    expect(plainSecretProblem("apiToken")).toMatch(/^apiToken: looks like a secret and is in plain text;/);
    expect(plainSecretProblem("enclii-tenants:tenants")).toBeUndefined();
  });
});
