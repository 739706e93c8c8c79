/**
 * One reading of a stack file (docs/config-rules.md#the-stack-file): the real Pulumi CLI (`npm run
 * toolchain`) reads every stack file in the repository and every edge form in
 * testbed/yamlCorpus.ts with `pulumi config --json --show-secrets` (file backend, passphrase
 * secrets provider), and the planner's parse must give the program the same values, or refuse the
 * file. A refused form's claim is checked too: `differs` forms are read differently by Pulumi and
 * by the `yaml` package left to itself (or only one of them fails); `agrees` ones are not.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackFile } from "../automation/stackFile";
import { isSecureMap } from "../automation/stackFileValues";
import { ConfigError } from "../stacks/config";
import { Servers } from "../testbed/servers";
import { YAML_FORMS } from "../testbed/yamlCorpus";
import { requireBuilt, ROOT } from "./harness";

const pulumi = requireBuilt("pulumi");
const STACK = "corpus";
const FILE = `Pulumi.${STACK}.yaml`;

/** A reading: each key's value as the program gets it (objects as JSON text), and which keys are secrets. */
type Reading = { values: Record<string, string>; objects: Set<string>; secrets: Set<string> } | { error: string };

let servers: Servers;
let env: Record<string, string>;
/** Project directories by project name: a stack file is read in its own project. */
const projects: Record<string, string> = {};
let salt = "";
let ciphertext = "";

function cli(project: string, args: string[], input?: string) {
  return spawnSync(pulumi!, [...args, "--non-interactive"], {
    cwd: projects[project],
    env: { ...process.env, ...env },
    encoding: "utf8",
    input,
  });
}

beforeAll(() => {
  servers = new Servers();
  if (!pulumi) return;
  const dir = servers.tempDir("yaml-readings");
  mkdirSync(join(dir, "state"));
  env = {
    PULUMI_HOME: join(dir, "home"),
    PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: randomBytes(18).toString("base64"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  for (const [project, from] of [
    ["enclii-infra", "Pulumi.yaml"],
    ["enclii-tenants", "tenants/Pulumi.yaml"],
  ]) {
    projects[project] = join(dir, project);
    mkdirSync(projects[project]);
    copyFileSync(join(ROOT, from), join(projects[project], "Pulumi.yaml"));
    // The file backend keeps each project's stacks apart: both are named STACK.
    const init = cli(project, ["stack", "init", STACK, "--secrets-provider", "passphrase"]);
    expect(init.status, init.stderr).toBe(0);
  }
  // A ciphertext of this stack's passphrase, set through stdin as an operator would.
  const set = cli("enclii-infra", ["config", "set", "--secret", "enclii:s"], "not-a-real-secret");
  expect(set.status, set.stderr).toBe(0);
  const file = parse(readFileSync(join(projects["enclii-infra"], FILE), "utf8"));
  salt = file.encryptionsalt;
  ciphertext = file.config["enclii:s"].secure;
});
afterAll(async () => {
  await servers.stopAll();
});

function pulumiReads(text: string, project = "enclii-infra"): Reading {
  writeFileSync(join(projects[project], FILE), text);
  const r = cli(project, ["config", "--json", "--show-secrets", "--stack", STACK]);
  if (r.status !== 0) return { error: r.stderr.trim().split("\n").pop() ?? "" };
  const shown = JSON.parse(r.stdout) as Record<string, { value: string; secret: boolean; objectValue?: unknown }>;
  const entries = Object.entries(shown);
  return {
    values: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
    objects: new Set(entries.filter(([, v]) => v.objectValue !== undefined).map(([k]) => k)),
    secrets: new Set(entries.filter(([, v]) => v.secret).map(([k]) => k)),
  };
}

function plannerReads(text: string): Reading {
  try {
    const { config, secretKeys } = parseStackFile(FILE, Buffer.from(text), () => []);
    return { values: config, objects: new Set(), secrets: new Set(secretKeys) };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.problems.join("\n") };
    throw err;
  }
}

/** The `yaml` package's reading with the planner's options and none of its checks. */
function yamlAloneReads(text: string): Reading {
  try {
    const doc = parseDocument(text, { uniqueKeys: true, merge: true });
    if (doc.errors.length > 0) return { error: doc.errors[0].message };
    const config = (doc.toJS() as { config: Record<string, unknown> }).config;
    const entries = Object.entries(config);
    return {
      values: Object.fromEntries(entries.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
      objects: new Set(),
      secrets: new Set(entries.filter(([, v]) => isSecureMap(v)).map(([k]) => k)),
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** JSON text with whole numbers kept exact and keys sorted, so Go's text and ours compare by meaning. */
function canonical(json: string): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : typeof v === "bigint"
          ? `${v}n`
          : v;
  return JSON.stringify(sorted(parse(json, { schema: "json", intAsBigInt: true })));
}

/** Where `ours` differs from Pulumi's reading, key by key (secrets by being secret; their values are Pulumi's to decrypt). */
function differences(theirs: Reading, ours: Reading): string[] {
  if ("error" in theirs || "error" in ours)
    return "error" in theirs && "error" in ours
      ? []
      : [`pulumi: ${"error" in theirs ? theirs.error : "reads it"}; ours: ${"error" in ours ? ours.error : "reads it"}`];
  const keys = [...new Set([...Object.keys(theirs.values), ...Object.keys(ours.values)])].sort();
  return keys.flatMap((k) => {
    if (theirs.secrets.has(k) || ours.secrets.has(k))
      return theirs.secrets.has(k) === ours.secrets.has(k) ? [] : [`${k}: secret to only one`];
    const [a, b] = [theirs.values[k], ours.values[k]];
    if (a === undefined || b === undefined) return [`${k}: ${a === undefined ? "only ours" : "only Pulumi's"}`];
    const same = theirs.objects.has(k) ? canonical(a) === canonical(b) : a === b;
    return same ? [] : [`${k}: pulumi ${JSON.stringify(a)}, ours ${JSON.stringify(b)}`];
  });
}

const STACK_FILES = [
  ...["", "examples"].flatMap((d) =>
    readdirSync(join(ROOT, d))
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .map((f) => join(d, f)),
  ),
  ...readdirSync(join(ROOT, "tenants"))
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .map((f) => join("tenants", f)),
];

describe.skipIf(!pulumi)("every stack file in the repository, as Pulumi reads it", () => {
  it("finds the platform stacks and the examples", () => {
    expect(STACK_FILES).toEqual(
      expect.arrayContaining(["Pulumi.production.yaml", "Pulumi.staging.yaml", join("examples", "Pulumi.ha.yaml")]),
    );
  });
  it.each(STACK_FILES)("%s: the planner reads what pulumi config reads", (file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const theirs = pulumiReads(text, file.startsWith("tenants") ? "enclii-tenants" : "enclii-infra");
    const ours = plannerReads(text);
    expect("error" in ours ? ours.error : "", "the planner refused the repository's own file").toBe("");
    expect(Object.keys((ours as { values: object }).values).length).toBeGreaterThan(3);
    expect(differences(theirs, ours)).toEqual([]);
  });
});

describe.skipIf(!pulumi)("edge forms: read the same as Pulumi, or refused", () => {
  const text = (body: string) => `encryptionsalt: ${salt}\nconfig:\n${body.replaceAll("{{secret}}", ciphertext)}\n`;
  it.each(YAML_FORMS.map((f) => [f.name, f] as const))("%s", (_, form) => {
    const theirs = pulumiReads(text(form.body));
    const ours = plannerReads(text(form.body));
    if (form.planner === "reads") {
      expect("error" in ours ? ours.error : "", "refused by the planner").toBe("");
      expect("error" in theirs ? theirs.error : "", "refused by pulumi").toBe("");
      expect(differences(theirs, ours)).toEqual([]);
      return;
    }
    expect("error" in ours, "read by the planner").toBe(true);
    // Each refusal says what to write instead, at a line and column, without quoting the value.
    for (const problem of (ours as { error: string }).error.split("\n"))
      expect(problem).toMatch(/^Pulumi\.corpus\.yaml:\d+:\d+: .*(write|quote|remove|use|set|merge)/);
    const alone = differences(theirs, yamlAloneReads(text(form.body)));
    if (form.why === "differs") expect(alone, "the two readers agree: mark it agrees").not.toEqual([]);
    else expect(alone, "the two readers disagree: mark it differs").toEqual([]);
  });
});
