/**
 * `enclii-infra rotate` against the real Pulumi CLI and engine (built by `npm run toolchain`,
 * testbed/engine.ts: a file backend, passphrase secrets, no network). The program is inline (the
 * Automation API's own language server, in this process): a Redis component whose password is a
 * child per generation in use, as components/data/Redis.ts names them. Each child is a component
 * with the password's type token, so the engine needs no provider, yet its URN, its `created` time
 * and its step are the engine's own. What this shows of the real CLI: `config set-all --path`
 * stores a step's fields as the program reads them (a number, a quoted time), `stack export` gives
 * each resource its `created` time, and the guard lets step 2 delete the generation it retires.
 */
import { cpSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvironment } from "../automation/control/environment";
import { rotateCommand } from "../automation/control/rotate";
import { EXIT } from "../model/controlPlane";
import { generationName, generationsOf, rotationsSchema } from "../model/rotation";
import { dueVerdict, secretInState, type StateResource } from "../model/rotationPlan";
import { ENGINE_TOOLS, startEngine, type Engine } from "../testbed/engine";
import { Servers } from "../testbed/servers";
import { requireBuilt, ROOT } from "./harness";

const tools = Object.fromEntries(ENGINE_TOOLS.map((bin) => [bin, requireBuilt(bin)]));
const engineBuilt = ENGINE_TOOLS.every((bin) => tools[bin]);
const PASSWORD = "random:index/randomPassword:RandomPassword";

/** The Redis component's passwords: one per generation in use, named as Redis.ts names them. */
async function program(): Promise<void> {
  const rotations = rotationsSchema.parse(new pulumi.Config("enclii").getObject("rotations") ?? {});
  const { current, previous } = generationsOf(rotations, "redis");
  const redis = new pulumi.ComponentResource("enclii:data:Redis", "enclii-data-redis", {}, {});
  for (const g of previous === undefined ? [current] : [previous, current])
    new pulumi.ComponentResource(PASSWORD, generationName("enclii-data-redis-password", g), {}, { parent: redis });
}

let servers: Servers;
let engine: Engine;
let root: string;
let stack: Stack;

beforeAll(async () => {
  servers = new Servers();
  if (!engineBuilt) return;
  engine = startEngine(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
  // A checkout holding the staging stack file (rotate reads and checks it) and the specs.
  root = servers.tempDir("rotate-real");
  // No Pulumi.yaml: the inline program's workspace writes its own.
  for (const f of ["Pulumi.staging.yaml", "dogfooding"]) cpSync(join(ROOT, f), join(root, f), { recursive: true });
  // The installation whose bin/ heads the engine's PATH (testbed/engine.ts).
  const pulumiCommand = await PulumiCommand.get({ root: dirname(engine.env.PATH.split(":")[0]) });
  stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "staging", projectName: "enclii-infra", program },
    { workDir: root, pulumiCommand, envVars: engine.env },
  );
}, 120_000);
afterAll(async () => {
  await servers.stopAll();
});

const resources = async () => ((await stack.exportStack()).deployment.resources ?? []) as StateResource[];
const passwords = async () => (await resources()).filter((r) => r.type === PASSWORD).map((r) => r.urn.split("::").at(-1));

describe.skipIf(!engineBuilt)("rotate against the real engine", () => {
  it("stack export gives the password its creation time, from which --due ages a secret never rotated", async () => {
    await stack.up({ showSecrets: false });
    const held = secretInState("redis", await resources());
    expect(held).toMatchObject({ generations: [0], resources: 1, undated: false });
    const created = Date.parse(held.oldest!);
    expect(Math.abs(created - Date.now())).toBeLessThan(3_600_000);
    const later = new Date(created + 91 * 86_400_000);
    expect(dueVerdict("redis", undefined, held, later)).toEqual({
      due: true,
      why: `generation 0 (created ${held.oldest}) is 91 days old, at least the period of 90`,
    });
  }, 120_000);

  it("rotates redis in two updates: the fields land as the program reads them, and step 2 deletes generation 0", async () => {
    const lines: string[] = [];
    const io = { stdout: (t: string) => void lines.push(t), stderr: (t: string) => void lines.push(t) };
    const now = new Date();
    const code = await rotateCommand({ env: "staging", secret: "redis" }, io, { root, open: async () => stack, now: () => now });
    expect(code, lines.join("")).toBe(EXIT.ok);
    const since = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    // The real CLI's file: a number and a quoted time, which the repository's loader accepts as written.
    const file = readFileSync(join(root, "Pulumi.staging.yaml"), "utf8");
    expect(file).toContain("      generation: 1\n");
    expect(file).toContain(`      since: "${since}"\n`);
    expect(parse(file).config["enclii:rotations"]).toEqual({ redis: { generation: 1, since, phase: "settled" } });
    expect(loadEnvironment(root, "staging").rotations).toEqual({ redis: { generation: 1, since, phase: "settled" } });
    expect(await passwords()).toEqual(["enclii-data-redis-password-g1"]);
    const messages = (await stack.history(3, 1, false)).map((h) => [h.message, h.result]);
    expect(messages).toEqual([
      ["enclii rotate redis step 2/2: generation 1, settled", "succeeded"],
      ["enclii rotate redis step 1/2: generation 1, overlap", "succeeded"],
      ["", "succeeded"],
    ]);
    expect(lines.join("")).toContain("[1/1] delete random:index/randomPassword:RandomPassword enclii-data-redis-password\n");
  }, 300_000);
});
