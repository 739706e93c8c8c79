/**
 * Stopping `enclii-infra` with signals, the real process against the real engine: the bundled CLI
 * in a CLI fixture root (testbed/cliFixture.ts), the Pulumi CLI built by `npm run toolchain`, the
 * file backend. The update is held mid-step by the fixture's `HeldStep` (testbed/engine-fixture),
 * whose create and update wait for a file and, like a provider that cannot stop what it started,
 * go on when the engine cancels: so each signal arrives while a step is in flight, and the test
 * decides when the step ends. Every wait is on a condition: a line the CLI printed, a lock file.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../model/controlPlane";
import { cliFixtureRoot, type CliFixture } from "../testbed/cliFixture";
import { ENGINE_TOOLS, startEngine, type Engine } from "../testbed/engine";
import { startKube } from "../testbed/kube";
import { Servers, waitFor } from "../testbed/servers";
import { requireBuilt } from "./harness";

const tools = Object.fromEntries(ENGINE_TOOLS.map((bin) => [bin, requireBuilt(bin)]));
const engineBuilt = ENGINE_TOOLS.every((bin) => tools[bin]);
const clusterBuilt = engineBuilt && ["etcd", "kube-apiserver", "kubectl"].every((bin) => requireBuilt(bin));
const ENV = "signals";
const HELD = `urn:pulumi:${ENV}::enclii-infra::pulumi-nodejs:dynamic:Resource::enclii-held-step`;
/** The CLI's progress line as the held step starts (operations.ts `progress`). */
const HELD_STARTS = "      update pulumi-nodejs:dynamic:Resource enclii-held-step …";

let servers: Servers;
let engine: Engine;
let cli: CliFixture;
let n = 0;

beforeAll(async () => {
  servers = new Servers();
  if (!engineBuilt) return;
  engine = startEngine(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
  cli = await cliFixtureRoot(engine, ENV);
  // The stack as it stands before each test: the held step created, released at once.
  const release = join(cli.root, "created");
  writeFileSync(release, "");
  cli.setConfig("fixture:holdStepUntil", release);
  const created = cli.run(["up", "--env", ENV, "--json"]);
  expect(created.status, created.stderr).toBe(EXIT.ok);
});
afterAll(async () => {
  await servers.stopAll();
});

/** The checkpoint's pending operations, as `pulumi stack export` shows them. */
function pending(): { type: string; resource: { urn: string } }[] {
  const exported = engine.pulumi(["stack", "export", "--stack", ENV], { cwd: cli.root });
  expect(exported.status, exported.stderr).toBe(0);
  return JSON.parse(exported.stdout).deployment.pending_operations ?? [];
}

/**
 * An `up` whose held step waits for a file of its own, returned once the step is in flight. Each
 * such update makes two changes: the dynamic provider (`pulumi-nodejs`, updated on every run),
 * then the held step.
 */
async function heldUpdate() {
  const release = join(cli.root, `release-${n++}`);
  cli.setConfig("fixture:holdStepUntil", release);
  const child = cli.spawn(["up", "--env", ENV, "--json"]);
  await waitFor("the held step to start", async () => (child.out.stderr.includes(HELD_STARTS) ? true : undefined));
  await engine.locked(ENV);
  const said = (line: string) => waitFor(`the CLI to say "${line}"`, async () => (child.out.stderr.includes(line) ? true : undefined));
  return { child, release, said };
}

describe.skipIf(!engineBuilt)("enclii-infra stopped by signals, on the real engine", () => {
  it("SIGTERM once: the engine finishes the step in flight and unlocks the stack; cancelled, exit 11; the next update runs", async () => {
    const { child, release, said } = await heldUpdate();
    child.kill("SIGTERM");
    await said("SIGTERM: cancelling the engine's update (the steps in flight end first); a second signal terminates it");
    // Cancelled, the engine still waits for the step in flight: the lock stays until it ends.
    expect(engine.locks(ENV)).toHaveLength(1);
    expect(existsSync(release)).toBe(false);
    writeFileSync(release, "");
    const res = await child.done;
    expect(res.status, res.stderr).toBe(EXIT.cancelled);
    expect(JSON.parse(res.stdout)).toMatchObject({
      operation: "up",
      status: "cancelled",
      exitCode: EXIT.cancelled,
      message: `${ENV}: stopped by SIGTERM: the engine cancelled the update, let the steps in flight end, wrote the checkpoint and unlocked the stack; 2 change(s) were made before it stopped; run the command again to finish`,
    });
    expect(engine.locks(ENV)).toEqual([]);
    expect(pending()).toEqual([]);
    const next = cli.run(["up", "--env", ENV, "--json"]);
    expect(next.status, next.stderr).toBe(EXIT.ok);
  });

  it("SIGTERM twice: the CLI is terminated mid-step; interrupted, exit 12, and the message's state is the backend's", async () => {
    const { child, release, said } = await heldUpdate();
    child.kill("SIGTERM");
    await said("SIGTERM: cancelling the engine's update");
    child.kill("SIGTERM");
    const res = await child.done;
    expect(res.status, res.stderr).toBe(EXIT.interrupted);
    const result = JSON.parse(res.stdout);
    expect(result).toMatchObject({ status: "interrupted", exitCode: EXIT.interrupted });
    expect(result.message).toBe(
      `${ENV}: a second SIGTERM terminated the engine mid-update (1 change(s) were made before it stopped); the CLI unlocked the stack as it exited, but the checkpoint holds 1 pending operation(s), steps whose outcome is unknown:\n` +
        `  update ${HELD}\n` +
        `run pulumi refresh --stack ${ENV} before the next update, to read them back from the provider (it clears pending updates and deletes; a pending create needs pulumi refresh run interactively, or pulumi stack export, the entry removed from pending_operations, and pulumi stack import)`,
    );
    // What the message says, as the backend has it: no lock, one pending update of the held step.
    expect(engine.locks(ENV)).toEqual([]);
    expect(pending().map((p) => `${p.type} ${p.resource.urn}`)).toEqual([`updating ${HELD}`]);
    // And what it says to run clears it.
    writeFileSync(release, "");
    const refresh = engine.pulumi(["refresh", "--yes", "--stack", ENV], { cwd: cli.root });
    expect(refresh.status, refresh.stderr).toBe(0);
    expect(pending()).toEqual([]);
    const next = cli.run(["up", "--env", ENV, "--json"]);
    expect(next.status, next.stderr).toBe(EXIT.ok);
  });
});

describe.skipIf(!clusterBuilt)("a deploy stopped by a signal, on the real engine and an API server", () => {
  const env = "deploys";
  const image = "ghcr.io/madfam-io/switchyard-api:1.4.4";
  let deploys: CliFixture;

  beforeAll(async () => {
    deploys = await cliFixtureRoot(engine, env, { kube: (await startKube(servers))! });
    const created = deploys.run(["up", "--env", env, "--json"]);
    expect(created.status, created.stderr).toBe(EXIT.ok);
  });

  it("SIGTERM during the update: the provider stops, the stack file is back, no restore runs; cancelled, exit 11", async () => {
    const file = join(deploys.root, `Pulumi.${env}.yaml`);
    const before = readFileSync(file, "utf8");
    // A rollout the provider waits for and that never completes (no controllers): the step stays in flight.
    deploys.setConfig("fixture:failingImage", image);
    const fixtureKnob = readFileSync(file, "utf8");
    const child = deploys.spawn(["deploy", "--env", env, "--service", "switchyard-api", "--image", image, "--force", "--json"]);
    const rollout = "      update kubernetes:apps/v1:Deployment enclii-apps-switchyard-api-deployment …";
    await waitFor("the rollout to start", async () => (child.out.stderr.includes(rollout) ? true : undefined));
    child.kill("SIGTERM");
    const res = await child.done;
    expect(res.status, res.stderr).toBe(EXIT.cancelled);
    const result = JSON.parse(res.stdout);
    expect(result).toMatchObject({
      operation: "deploy",
      status: "cancelled",
      deploy: { image, targets: [expect.stringContaining("switchyard-api")] },
    });
    expect(result.message).toMatch(
      /^deploys: stopped by SIGTERM: the engine cancelled the update, let the steps in flight end, wrote the checkpoint and unlocked the stack; /,
    );
    expect(result.message).toContain(`switchyard-api: Pulumi.${env}.yaml is back to `);
    // The engine asked the provider to stop: its request or its rollout wait ends "canceled"/"cancelled".
    expect(result.engineMessage).toMatch(/update of resource "[^"]*enclii-apps-switchyard-api-deployment" failed: .*cancel+ed/);
    expect(result.changedFiles).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe(fixtureKnob);
    expect(before).not.toContain(image);
    expect(engine.locks(env)).toEqual([]);
    // The engine's own record: the deploy's update, failed, and no rollback after it.
    const history = JSON.parse(deploys.run(["history", "--env", env, "--limit", "2", "--json"]).stdout).history;
    expect(history.map((h: { message: string; result: string }) => `${h.message} ${h.result}`)).toEqual([
      `enclii deploy switchyard-api ${image} (forced past: deployFilter, error budget) failed`,
      "enclii-infra up succeeded",
    ]);
  });
});
