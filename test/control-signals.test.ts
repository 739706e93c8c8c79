/**
 * The library's retries of a restore and its stopping by signals, against the stand-in `Stack`
 * (test/controlStack.ts): a signal is delivered to `Stop` while a stand-in command runs, and the
 * stand-in answers the Automation API's abort as the CLI does ("update canceled"). The real CLI's
 * answers to one and two signals: test/engine-signals.real.test.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { afterAll, describe, expect, it } from "vitest";
import { deploy } from "../automation/control/deploy";
import { failure, guardedUp } from "../automation/control/operations";
import { driftOp } from "../automation/control/reads";
import { cliProcesses, inFlight, Stop, type StopSignal } from "../automation/control/signals";
import { EXIT, imageConfigPath } from "../model/controlPlane";
import { waitFor } from "../testbed/servers";
import { events, fakeOptions, FakeStack } from "./controlStack";
import { requireTool, ROOT } from "./harness";

const KEY = imageConfigPath("switchyard-api");
const NEW = "ghcr.io/madfam-io/switchyard-api:1.4.3";
const OLD = "ghcr.io/madfam-io/switchyard-api:1.4.2";
const SERVICE = "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:apps:Apps$enclii:apps:Service";
const API = `${SERVICE}$kubernetes:apps/v1:Deployment::enclii-apps-switchyard-api-deployment`;
const SECRET = `${SERVICE}$kubernetes:core/v1:Secret::enclii-apps-switchyard-api-secret`;
/** The service's component: its resources are those whose parent chain reaches it. */
const COMPONENT = `${SERVICE}::enclii-apps-switchyard-api`;
const ROLLOUT_TIMEOUT = { events: "image-rollout-timeout.up.jsonl", error: { stderr: "error: update failed" } };
const CONFLICT = { error: { name: "ConcurrentUpdateError", stderr: "[409] Conflict: Another update is currently in progress." } };
const req = { environment: "staging", service: "switchyard-api", image: NEW, services: ["switchyard-api", "switchyard-ui"] };
const base = { operation: "up", environment: "staging", stack: "staging" };

/** The image-only preview, with the service's Secret replaced too: what a restore's guard must stop. */
const withSecretReplaced: EngineEvent[] = [
  ...events("image-only.preview.jsonl"),
  {
    sequence: 0,
    timestamp: 0,
    resourcePreEvent: {
      metadata: { op: "replace", urn: SECRET, type: "kubernetes:core/v1:Secret", provider: "", keys: ["type"], new: { parent: COMPONENT } },
    },
  } as unknown as EngineEvent,
];

/** The image-only update as it stood when the engine was terminated: the Deployment's step begun, never ended. */
const terminatedMidStep = events("image-only.up.jsonl").filter(
  (e) => !(e.resOutputsEvent?.metadata.urn === API) && !e.summaryEvent && !e.cancelEvent,
);

const options = fakeOptions;

/** A Stop as the CLI's, its reports kept and the signals it passes on to the CLI recorded. */
function stopper(): Stop & { lines: string[]; passedOn: StopSignal[] } {
  const lines: string[] = [];
  const passedOn: StopSignal[] = [];
  const stop = new Stop(
    (l) => lines.push(l),
    () => false,
    (signal) => passedOn.push(signal),
  );
  return Object.assign(stop, { lines, passedOn });
}

describe("a deploy's restore while another update holds the stack", () => {
  it("waits, then previews and guards the restore again and updates what that preview changes", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [ROLLOUT_TIMEOUT, CONFLICT, { events: "image-restore.up.jsonl" }],
    });
    stack.config.set(KEY, OLD);
    const o = options(stack);
    const res = await deploy(o, req);
    expect(res).toMatchObject({ status: "rolled-back", exitCode: EXIT.rolledBack });
    expect(stack.calls.map((c) => c.method).filter((m) => m === "preview" || m === "up")).toEqual(["preview", "up", "up", "preview", "up"]);
    expect(stack.callsOf("up")[2].args[0]).toMatchObject({ target: [API], message: `enclii rollback switchyard-api ${OLD}` });
    expect(o.slept).toEqual([5000]);
    expect(stack.config.get(KEY)).toBe(OLD);
  });

  it("a restore whose new preview would replace what holds data is not run: rollback-failed, naming it", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }, { events: withSecretReplaced }],
      up: [ROLLOUT_TIMEOUT, CONFLICT],
    });
    stack.config.set(KEY, OLD);
    const res = await deploy(options(stack), req);
    expect(res).toMatchObject({ status: "rollback-failed", exitCode: EXIT.rollbackFailed, violations: [{ urn: SECRET, op: "replace" }] });
    expect(res.message).toContain(
      `switchyard-api: the update to ${NEW} failed and restoring ${OLD} was refused by the guard (refused: 1 resource(s)`,
    );
    expect(stack.callsOf("up")).toHaveLength(2);
  });
});

describe("signals", () => {
  it("the first stops the update in flight through the engine and starts nothing after it: cancelled, exit 11", async () => {
    const stop = stopper();
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-only.up.jsonl", during: () => stop.receive("SIGTERM") }],
    });
    const res = await guardedUp(stack, options(stack, { stop }), base, { message: "x" }).catch((err: unknown) => failure(base, err));
    expect(res).toMatchObject({ status: "cancelled", exitCode: EXIT.cancelled });
    expect(res.message).toBe(
      "staging: stopped by SIGTERM: the engine cancelled the update, let the steps in flight end, wrote the checkpoint and unlocked the stack; 1 change(s) were made before it stopped; run the command again to finish",
    );
    expect(stop.lines).toEqual(["SIGTERM: cancelling the engine's update (the steps in flight end first); a second signal terminates it"]);
    expect(stack.calls.map((c) => c.method)).toEqual(["preview", "up"]);
  });

  it("a deploy cancelled mid-update puts the config back and runs no restore", async () => {
    const stop = stopper();
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ ...ROLLOUT_TIMEOUT, during: () => stop.receive("SIGINT") }, {}],
    });
    stack.config.set(KEY, OLD);
    const res = await deploy(options(stack, { stop }), req);
    expect(res).toMatchObject({ status: "cancelled", exitCode: EXIT.cancelled, deploy: { targets: [API], previousImage: OLD } });
    expect(res.message).toBe(
      "staging: stopped by SIGINT: the engine cancelled the update, let the steps in flight end, wrote the checkpoint and unlocked the stack; nothing was changed\n" +
        `switchyard-api: Pulumi.staging.yaml is back to ${OLD} (a deploy the engine did not finish is not recorded); deploy ${NEW} again to finish it`,
    );
    expect(res.engineMessage).toContain("timed out waiting to be Ready");
    expect(stack.config.get(KEY)).toBe(OLD);
    expect(stack.callsOf("up")).toHaveLength(1);
  });

  it("the second is passed on to the CLI in flight: interrupted, exit 12, naming the pending operations and what to run", async () => {
    const stop = stopper();
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: terminatedMidStep, during: () => (stop.receive("SIGTERM"), stop.receive("SIGTERM")) }],
    });
    const res = await guardedUp(stack, options(stack, { stop }), base, { message: "x" }).catch((err: unknown) => failure(base, err));
    expect(stop.passedOn).toEqual(["SIGTERM"]);
    expect(stop.lines[1]).toBe("SIGTERM: terminating the engine's update");
    expect(res).toMatchObject({ status: "interrupted", exitCode: EXIT.interrupted });
    expect(res.message).toBe(
      "staging: a second SIGTERM terminated the engine mid-update (nothing was changed); the CLI unlocked the stack as it exited, but the checkpoint holds 1 pending operation(s), steps whose outcome is unknown:\n" +
        `  update ${API}\n` +
        "run pulumi refresh --stack staging before the next update, to read them back from the provider (it clears pending updates and deletes; a pending create needs pulumi refresh run interactively, or pulumi stack export, the entry removed from pending_operations, and pulumi stack import)",
    );
  });

  it("a signal during the wait for a busy stack ends the wait; no attempt follows", async () => {
    const stop = stopper();
    const stack = new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [CONFLICT] });
    const o = options(stack, { stop, sleep: () => new Promise(() => stop.receive("SIGTERM")) });
    const res = await guardedUp(stack, o, base, { message: "x" }).catch((err: unknown) => failure(base, err));
    expect(res).toMatchObject({
      status: "cancelled",
      message: "staging: stopped by SIGTERM before the next engine command; nothing more was changed; run the command again to finish",
    });
    expect(stack.calls.map((c) => c.method)).toEqual(["preview", "up"]);
  });

  it("a refresh preview cancelled changed nothing", async () => {
    const stop = stopper();
    const stack = new FakeStack("staging", { previewRefresh: [{ events: "drift.refresh.jsonl", during: () => stop.receive("SIGINT") }] });
    const res = await driftOp(stack, options(stack, { stop }), base).catch((err: unknown) => failure(base, err));
    expect(res.message).toBe(
      "staging: stopped by SIGINT: the engine cancelled the refresh preview: nothing was changed; run the command again to finish",
    );
  });

  it("a signal that comes before the engine's first event reaches the CLI only with that event, the SDK listening or not yet", async () => {
    // Before its engine speaks the CLI may hold the stack's lock with no handler installed: a signal then would kill it, lock kept.
    for (const listenFirst of [true, false]) {
      const stop = stopper();
      const sent: string[] = [];
      const listen = (signal: AbortSignal) => signal.addEventListener("abort", () => sent.push("SIGINT"));
      await stop.during("update", async (signal) => {
        if (listenFirst) listen(signal);
        stop.receive("SIGTERM");
        if (!listenFirst) listen(signal);
        expect(sent, `listening ${listenFirst ? "before" : "after"} the signal`).toEqual([]);
        stop.started();
        stop.started();
      });
      expect(sent).toEqual(["SIGINT"]);
    }
  });

  it("a signal after the engine's first event reaches the CLI at once", async () => {
    const stop = stopper();
    const sent: string[] = [];
    await stop.during("update", async (signal) => {
      signal.addEventListener("abort", () => sent.push("SIGINT"));
      stop.started();
      stop.receive("SIGTERM");
      expect(sent).toEqual(["SIGINT"]);
    });
  });

  it("in-flight steps are those begun and not ended, changes only", () => {
    expect(inFlight(terminatedMidStep)).toEqual([{ urn: API, op: "update" }]);
    expect(inFlight(events("image-only.up.jsonl"))).toEqual([]);
  });
});

describe("the CLI's processes", () => {
  it("a SIGINT counts as the terminal's when this process is in a terminal's foreground group (a pty from script)", () => {
    if (!requireTool("script", "util-linux") || !requireTool("setsid", "util-linux")) return;
    const probe = `process.stdout.write(["SIGINT", "SIGTERM"].map(require("./automation/control/signals.ts").fromTerminal).join(" "))`;
    const node = [process.execPath, "--import", "tsx", "-e", probe];
    // In a session of its own, with no terminal, whatever terminal runs the tests.
    const alone = spawnSync("setsid", ["--wait", ...node], { cwd: ROOT, encoding: "utf8" });
    expect(alone.stdout).toBe("false false");
    const quoted = node.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    const inPty = spawnSync("setsid", ["--wait", "script", "-qec", quoted, "/dev/null"], { cwd: ROOT, encoding: "utf8" });
    expect(inPty.stdout.trim()).toBe("true false");
  });

  const dir = mkdtempSync(join(tmpdir(), "enclii-signals-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are this process's nearest descendants named pulumi, through a shell or not", async () => {
    const pulumi = join(dir, "pulumi");
    copyFileSync("/bin/sleep", pulumi);
    const direct = spawn(pulumi, ["30"]);
    // A shim that does not exec: the CLI is its child.
    const shim = spawn("/bin/sh", ["-c", `'${pulumi}' 30; :`]);
    let found: number[] = [];
    try {
      found = await waitFor("both CLIs to run", async () => {
        const now = cliProcesses();
        return now.length === 2 ? now : undefined;
      });
      expect(found).toContain(direct.pid);
      expect(found).not.toContain(shim.pid);
    } finally {
      for (const pid of [...found, direct.pid!, shim.pid!]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  });
});
