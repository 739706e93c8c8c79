import { describe, expect, it } from "vitest";
import { deploy, rollback } from "../automation/control/deploy";
import { failure, guardedUp, previewOp } from "../automation/control/operations";
import { driftOp, outputsOp } from "../automation/control/reads";
import { NoCliError } from "../automation/control/errors";
import { EXIT, imageConfigPath } from "../model/controlPlane";
import { fakeOptions, FakeStack, historyEntry } from "./controlStack";

const SERVICES = ["switchyard-api", "switchyard-ui", "janua"];
const KEY = imageConfigPath("switchyard-api");
const NEW = "ghcr.io/madfam-io/switchyard-api:1.4.3";
const OLD = "ghcr.io/madfam-io/switchyard-api:1.4.2";
const API_DEPLOYMENT =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:apps:Apps$enclii:apps:Service$kubernetes:apps/v1:Deployment::enclii-apps-switchyard-api-deployment";
const UI_DEPLOYMENT = API_DEPLOYMENT.replaceAll("switchyard-api", "switchyard-ui");
const CLUSTER =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Postgres$kubernetes:postgresql.cnpg.io/v1:Cluster::enclii-data-postgres-enclii-pg";
const REDIS =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Redis$kubernetes:apps/v1:StatefulSet::enclii-data-redis-redis";
const ROLLOUT_TIMEOUT = { events: "image-rollout-timeout.up.jsonl", error: { stderr: "error: update failed" } };
const CONFLICT = { name: "ConcurrentUpdateError", stderr: "[409] Conflict: Another update is currently in progress." };

const options = fakeOptions;

const req = (image = NEW) => ({ environment: "staging", service: "switchyard-api", image, services: SERVICES });

describe("deploy", () => {
  it("sets the image, previews, and updates only the service's changed resources", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-with-pending.preview.jsonl" }],
      up: [{ events: "image-only.up.jsonl" }],
    });
    stack.config.set(KEY, OLD);
    const o = options(stack);
    const res = await deploy(o, req());
    expect(res).toMatchObject({ status: "deployed", exitCode: EXIT.ok, changes: { update: 1 }, changedFiles: ["Pulumi.staging.yaml"] });
    expect(res.deploy).toEqual({
      service: "switchyard-api",
      image: NEW,
      previousImage: OLD,
      targets: [API_DEPLOYMENT],
      notApplied: [UI_DEPLOYMENT],
    });
    expect(stack.calls.map((c) => c.method)).toEqual(["getConfig", "setConfig", "preview", "up"]);
    expect(stack.callsOf("setConfig")[0].args).toEqual([KEY, NEW]);
    expect(stack.callsOf("up")[0].args[0]).toMatchObject({ target: [API_DEPLOYMENT], message: `enclii deploy switchyard-api ${NEW}` });
    expect(o.lines).toContain("[1/1] update kubernetes:apps/v1:Deployment enclii-apps-switchyard-api-deployment");
  });

  it("restores the previous image and updates again when the rollout fails", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [ROLLOUT_TIMEOUT, { events: "image-restore.up.jsonl" }],
    });
    stack.config.set(KEY, OLD);
    const res = await deploy(options(stack), req());
    expect(res.status).toBe("rolled-back");
    expect(res.exitCode).toBe(EXIT.rolledBack);
    expect(res.engineMessage).toContain("'switchyard-api' timed out waiting to be Ready");
    expect(stack.config.get(KEY)).toBe(OLD);
    const ups = stack.callsOf("up").map((c) => c.args[0]);
    expect(ups).toMatchObject([
      { target: [API_DEPLOYMENT], message: `enclii deploy switchyard-api ${NEW}` },
      { target: [API_DEPLOYMENT], message: `enclii rollback switchyard-api ${OLD}` },
    ]);
  });

  it("removes the override again when there was none before", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [ROLLOUT_TIMEOUT, {}] });
    const res = await deploy(options(stack), { ...req(), running: OLD });
    expect(res.status).toBe("rolled-back");
    expect(res.message).toBe(`switchyard-api: the update to ${NEW} failed; ${OLD} (its spec's image) is back`);
    expect(res.changedFiles).toBeUndefined();
    expect(stack.callsOf("up")[1].args[0]).toMatchObject({ message: `enclii rollback switchyard-api ${OLD}` });
    expect(stack.config.has(KEY)).toBe(false);
    expect(stack.callsOf("removeConfig")).toHaveLength(1);
  });

  it("says so when restoring fails too", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [ROLLOUT_TIMEOUT] });
    stack.config.set(KEY, OLD);
    const res = await deploy(options(stack), req());
    expect(res).toMatchObject({ status: "rollback-failed", exitCode: EXIT.rollbackFailed });
    expect(res.engineMessage).toMatch(/timed out waiting to be Ready[\s\S]*--- while restoring:/);
  });

  it("changes nothing for the image already running", async () => {
    const stack = new FakeStack("staging");
    stack.config.set(KEY, NEW);
    const res = await deploy(options(stack), req());
    expect(res).toMatchObject({ status: "unchanged", exitCode: EXIT.ok });
    expect(stack.calls.map((c) => c.method)).toEqual(["getConfig"]);
  });

  it("refuses bad arguments before opening anything, every problem at once", async () => {
    const stack = new FakeStack("staging");
    const o = options(stack);
    const res = await deploy(o, { ...req("ghcr.io/madfam-io/switchyard-api:latest"), service: "nope" });
    expect(res.exitCode).toBe(EXIT.usage);
    expect(res.message).toBe(
      'staging (stack staging): --service: staging runs no service "nope" (it runs switchyard-api, switchyard-ui, janua)\n' +
        '--image: "ghcr.io/madfam-io/switchyard-api:latest" uses "latest"; pin a version (name:1.2.3) or a digest (name@sha256:…)',
    );
    expect(stack.calls).toEqual([]);
  });

  it("refuses an image reference a registry could not parse, naming the part", async () => {
    const stack = new FakeStack("staging");
    const res = await deploy(options(stack), req("ghcr.io/Madfam-io/switchyard-api:1.4.3"));
    expect(res.exitCode).toBe(EXIT.usage);
    expect(res.message).toBe(
      'staging (stack staging): --image: "ghcr.io/Madfam-io/switchyard-api:1.4.3": the repository "Madfam-io/switchyard-api" must be lowercase letters and digits, in components separated by . _ __ or - and joined by /',
    );
    expect(stack.calls).toEqual([]);
  });

  it("reports a missing Pulumi CLI with what to install", async () => {
    const stack = new FakeStack("staging");
    const res = await deploy(
      options(stack, {
        open: async () => {
          throw new NoCliError("no pulumi executable on PATH");
        },
      }),
      req(),
    );
    expect(res.exitCode).toBe(EXIT.noCli);
    expect(res.message).toMatch(/^no pulumi executable on PATH; install the Pulumi CLI 3\.270\.0 or newer/);
  });

  it("retries while another update holds the stack, with growing delays, each time from a new preview, then succeeds", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ error: CONFLICT }, { error: CONFLICT }, { events: "image-only.up.jsonl" }],
    });
    const o = options(stack);
    const res = await deploy(o, req());
    expect(res.status).toBe("deployed");
    expect(o.slept).toEqual([5000, 10000]);
    expect(stack.calls.map((c) => c.method)).toEqual(["getConfig", "setConfig", ...Array(3).fill(["preview", "up"]).flat()]);
  });

  it("gives up after five attempts and says the stack is busy, with the image restored", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "image-only.preview.jsonl" }], up: [{ error: CONFLICT }] });
    stack.config.set(KEY, OLD);
    const o = options(stack);
    const res = await deploy(o, req());
    expect(res).toMatchObject({ status: "busy", exitCode: EXIT.busy });
    expect(res.message).toContain("another update held the stack through 5 attempts");
    expect(o.slept).toEqual([5000, 10000, 20000, 40000]);
    expect(stack.config.get(KEY)).toBe(OLD);
  });
});

describe("rollback", () => {
  it("deploys the image of the previous successful deploy, from history", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-restore.up.jsonl" }],
    });
    stack.config.set(KEY, NEW);
    stack.historyList = [
      historyEntry("succeeded", { "switchyard-api": NEW }),
      historyEntry("failed", { "switchyard-api": "ghcr.io/madfam-io/switchyard-api:1.4.4" }),
      historyEntry("succeeded", { "switchyard-api": NEW }),
      historyEntry("succeeded", { "switchyard-api": OLD }),
    ];
    const res = await rollback(options(stack), { environment: "staging", service: "switchyard-api", services: SERVICES });
    expect(res).toMatchObject({ operation: "rollback", status: "deployed", deploy: { image: OLD, previousImage: NEW } });
    expect(stack.callsOf("history")[0].args).toEqual([100, 1, false]);
    expect(stack.callsOf("up")[0].args[0]).toMatchObject({ message: `enclii rollback switchyard-api ${OLD}` });
  });

  it("refuses to guess when no earlier update recorded another image", async () => {
    const stack = new FakeStack("staging");
    stack.historyList = [historyEntry("succeeded", { "switchyard-api": NEW }), historyEntry("succeeded", {})];
    const res = await rollback(options(stack), { environment: "staging", service: "switchyard-api", services: SERVICES });
    expect(res.exitCode).toBe(EXIT.nothingToRollBack);
    expect(res.message).toBe(
      "switchyard-api: none of the last 2 successful updates of staging ran another recorded image; deploy an explicit --image instead",
    );
    expect(stack.callsOf("setConfig")).toEqual([]);
  });
});

describe("guarded updates, preview, drift and outputs", () => {
  const base = { operation: "up", environment: "staging", stack: "staging" };

  it("stops an update that would replace a server before it runs", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "replace-server.preview.jsonl" }], up: [{}] });
    const res = await guardedUp(stack, options(stack), base, { message: "x" });
    expect(res.exitCode).toBe(EXIT.refused);
    expect(res.message).toContain(
      "replace urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:hetzner:CloudPool$hcloud:index/server:Server::enclii-cloud-staging (forced by location)",
    );
    expect(stack.callsOf("up")).toEqual([]);
  });

  it("runs it when the caller allows that URN", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "replace-server.preview.jsonl" }], up: [{}] });
    const server =
      "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:hetzner:CloudPool$hcloud:index/server:Server::enclii-cloud-staging";
    const res = await guardedUp(stack, options(stack, { allow: new Set([server]) }), base, { message: "x" });
    expect(res.status).toBe("ok");
    expect(stack.callsOf("up")).toHaveLength(1);
  });

  it("a 409 retry previews and guards again: the verdict of the newest preview decides", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }, { events: "image-only.preview.jsonl" }],
      up: [{ error: CONFLICT }, { events: "image-only.up.jsonl" }],
    });
    const o = options(stack);
    expect(await guardedUp(stack, o, base, { message: "x" })).toMatchObject({ status: "ok", changes: { update: 1 } });
    expect(stack.calls.map((c) => c.method)).toEqual(["preview", "up", "preview", "up"]);
    expect(o.slept).toEqual([5000]);
    // Meanwhile the other writer made the change destructive: the second preview's verdict stands, nothing runs.
    const turned = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }, { events: "replace-server.preview.jsonl" }],
      up: [{ error: CONFLICT }, {}],
    });
    const refused = await guardedUp(turned, options(turned), base, { message: "x" });
    expect(refused).toMatchObject({ status: "refused", exitCode: EXIT.refused, violations: [{ type: "hcloud:index/server:Server" }] });
    expect(turned.calls.map((c) => c.method)).toEqual(["preview", "up", "preview"]);
  });

  it("every update and refresh preview asks the SDK not to decrypt its summary (showSecrets: false)", async () => {
    const stack = new FakeStack("staging", {
      preview: [{ events: "image-only.preview.jsonl" }],
      up: [{ events: "image-only.up.jsonl" }],
      previewRefresh: [{ events: "drift.refresh.jsonl" }],
    });
    await guardedUp(stack, options(stack), base, { message: "x" });
    await driftOp(stack, options(stack), base);
    expect([...stack.callsOf("up"), ...stack.callsOf("previewRefresh")].map((c) => c.args[0])).toMatchObject([
      { showSecrets: false },
      { showSecrets: false },
    ]);
  });

  it("preview says what would change and what the guard thinks", async () => {
    const ok = new FakeStack("staging", { preview: [{ events: "image-with-pending.preview.jsonl" }] });
    expect(await previewOp(ok, options(ok), base)).toMatchObject({ exitCode: EXIT.ok, changes: { update: 2 } });
    const bad = new FakeStack("staging", { preview: [{ events: "replace-database-cluster.preview.jsonl" }] });
    expect((await previewOp(bad, options(bad), base)).violations).toHaveLength(1);
  });

  it("drift: exit 3 naming what differs; 0 when nothing does", async () => {
    const drifted = new FakeStack("staging", { previewRefresh: [{ events: "drift.refresh.jsonl" }] });
    const res = await driftOp(drifted, options(drifted), base);
    expect(res.exitCode).toBe(EXIT.drift);
    expect(res.drift).toEqual([{ urn: UI_DEPLOYMENT, op: "update", properties: ["spec.replicas"] }]);
    const clean = new FakeStack("staging", { previewRefresh: [{ events: "no-change.preview.jsonl" }] });
    expect((await driftOp(clean, options(clean), base)).exitCode).toBe(EXIT.ok);
  });

  it("a preview the engine fails for a protected resource: refused (exit 4) naming it, --allow or not, nothing run", async () => {
    const failed = { events: "replace-protected.preview.jsonl", error: { stderr: "" } };
    for (const allow of [new Set<string>(), new Set([CLUSTER])]) {
      const stack = new FakeStack("staging", { preview: [failed], up: [{}] });
      const res = await guardedUp(stack, options(stack, { allow }), base, { message: "x" });
      expect(res).toMatchObject({
        status: "refused",
        exitCode: EXIT.refused,
        violations: [{ urn: CLUSTER, op: "replace", because: ["metadata.name"] }],
      });
      expect(res.message).toContain(`replace ${CLUSTER} (forced by metadata.name): loses the database [protected]`);
      expect(res.message).toContain("the engine refuses to replace or delete a [protected] resource whatever --allow says");
      expect(res.engineMessage).toContain("as it is currently marked for protection");
      expect(stack.callsOf("up")).toEqual([]);
    }
  });

  it("a failed preview that would replace what holds data is refused; allowed, it is the failure it was", async () => {
    const failed = { events: "replace-volume-claim-template.preview.jsonl", error: { stderr: "" } };
    const stack = new FakeStack("staging", { preview: [failed], up: [{}] });
    const refused = await previewOp(stack, options(stack), base);
    expect(refused).toMatchObject({ status: "refused", violations: [{ urn: REDIS }] });
    expect(refused.message).toContain("pass --allow <urn> for each (the preview itself failed, so allowing it is not enough");
    const allowed = await guardedUp(stack, options(stack, { allow: new Set([REDIS]) }), base, { message: "x" }).catch((err: unknown) =>
      failure(base, err),
    );
    expect(allowed).toMatchObject({ status: "failed", exitCode: EXIT.failed });
    expect(allowed.engineMessage).toContain('StatefulSet.apps "redis" is invalid');
    expect(stack.callsOf("up")).toEqual([]);
  });

  it("a deploy whose preview the engine failed for a protected resource elsewhere: refused naming it, the image back, nothing run", async () => {
    const stack = new FakeStack("staging", { preview: [{ events: "replace-protected.preview.jsonl", error: { stderr: "" } }], up: [{}] });
    stack.config.set(KEY, OLD);
    const res = await deploy(options(stack), req());
    expect(res).toMatchObject({ status: "refused", exitCode: EXIT.refused, violations: [{ op: "replace" }] });
    expect(res.violations?.[0].urn).toMatch(/kubernetes:postgresql\.cnpg\.io\/v1:Cluster::/);
    expect(res.message).toContain("[protected]");
    expect(res.engineMessage).toContain("marked for protection");
    expect(stack.config.get(KEY)).toBe(OLD);
    expect(stack.callsOf("up")).toEqual([]);
  });

  it("outputs never carry a secret's value", async () => {
    const stack = new FakeStack("staging");
    stack.outputMap = {
      domain: { value: "enclii.dev", secret: false },
      kubeconfig: { value: "apiVersion: v1 token: s3cr3t-token", secret: true },
    };
    const res = await outputsOp(stack, base);
    expect(res.outputs).toEqual({ domain: "enclii.dev", kubeconfig: "[secret]" });
    expect(JSON.stringify(res)).not.toContain("s3cr3t");
  });
});
