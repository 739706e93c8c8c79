import { describe, expect, it } from "vitest";
import type { DiffKind, EngineEvent, OpMap, OpType, StepEventMetadata } from "@pulumi/pulumi/automation";
import {
  changeCounts,
  changingSteps,
  describeViolation,
  engineErrors,
  guardViolations,
  protectedRefusals,
  protectedViolations,
  refreshOutcomes,
  descendantsOf,
  serviceComponent,
  stepsOf,
  urnName,
} from "../automation/control/events";
import { events } from "./controlStack";

const none = new Set<string>();
const SERVER =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:hetzner:CloudPool$hcloud:index/server:Server::enclii-cloud-staging";
const REDIS =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Redis$kubernetes:apps/v1:StatefulSet::enclii-data-redis-redis";
const CLUSTER =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Postgres$kubernetes:postgresql.cnpg.io/v1:Cluster::enclii-data-postgres-enclii-pg";
const API_DEPLOYMENT =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:apps:Apps$enclii:apps:Service$kubernetes:apps/v1:Deployment::enclii-apps-switchyard-api-deployment";
const POSTGRES =
  "urn:pulumi:staging::enclii-infra::enclii:platform:Platform$enclii:data:DataLayer$enclii:data:Postgres::enclii-data-postgres";

// Events the recorded logs do not show, shaped as the Automation API hands them over.
function announced(op: OpType, urn: string, more: Partial<StepEventMetadata> = {}): EngineEvent {
  const type = urn.split("::").at(-2)!.split("$").at(-1)!;
  return { sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, urn, type, provider: "", ...more } } };
}
function applied(op: OpType, urn: string, more: Partial<StepEventMetadata> = {}): EngineEvent {
  const { resourcePreEvent } = announced(op, urn, more);
  return { sequence: 0, timestamp: 0, resOutputsEvent: resourcePreEvent };
}
function diagnostic(message: string, severity: "error" | "warning" = "error"): EngineEvent {
  return { sequence: 0, timestamp: 0, diagnosticEvent: { message, color: "raw", severity } };
}
function summary(resourceChanges: OpMap): EngineEvent {
  return { sequence: 0, timestamp: 0, summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges, policyPacks: {} } };
}

describe("the guard over engine events", () => {
  it("stops a server replaced for its location, naming the URN and the property", () => {
    const violations = guardViolations(stepsOf(events("replace-server.preview.jsonl")), none);
    expect(violations).toEqual([
      {
        urn: SERVER,
        type: "hcloud:index/server:Server",
        op: "replace",
        because: ["location"],
        holds: "a node: its disks, k3s state and Longhorn replicas",
      },
    ]);
  });

  it("stops the Redis StatefulSet replaced for its volume claim template", () => {
    const [v] = guardViolations(stepsOf(events("replace-volume-claim-template.preview.jsonl")), none);
    expect(v.urn).toBe(REDIS);
    // pulumi-kubernetes names the full path in its replace keys, and lists nothing in `diffs`.
    expect(v.because).toEqual(["spec.volumeClaimTemplates[0].spec.resources.requests.storage"]);
  });

  it("stops the database Cluster replaced for its name", () => {
    const [v] = guardViolations(stepsOf(events("replace-database-cluster.preview.jsonl")), none);
    expect(v).toMatchObject({ urn: CLUSTER, op: "replace", because: ["metadata.name"], holds: "the database" });
  });

  it("lets an image change through, and a replacement named in the allow-list", () => {
    expect(guardViolations(stepsOf(events("image-only.preview.jsonl")), none)).toEqual([]);
    expect(guardViolations(stepsOf(events("replace-server.preview.jsonl")), new Set([SERVER]))).toEqual([]);
    // An allow-list names URNs, not types: another server is still stopped.
    expect(
      guardViolations(stepsOf(events("replace-server.preview.jsonl")), new Set([SERVER.replace("staging::", "production::")])),
    ).toHaveLength(1);
  });

  it("stops deletes of what holds data, with why", () => {
    const violations = guardViolations(stepsOf(events("shard-remove-last.preview.jsonl")), none);
    expect(violations.map((v) => [urnName(v.urn), v.op, v.because])).toEqual([
      ["tenants-acme-namespace", "delete", ["it is no longer in the program"]],
      ["tenants-shop.acme.example", "delete", ["it is no longer in the program"]],
    ]);
  });

  it("says a `--replace` target was requested, instead of naming the engine's forced `id` key", () => {
    const violations = guardViolations(stepsOf(events("rebuild-first-server.preview.jsonl")), none);
    // The bootstrap Command replaced beside it holds nothing the guard watches.
    expect(violations.map((v) => [urnName(v.urn), v.op, v.because])).toEqual([
      ["enclii-cloud-gateway", "replace", ["a requested replacement (--replace)"]],
    ]);
    // A volume replaced for its spec in the same rebuild is named for that property.
    expect(guardViolations(stepsOf(events("rebuild-with-volume.preview.jsonl")), none).map((v) => [urnName(v.urn), v.because])).toEqual([
      ["enclii-cloud-gateway", ["a requested replacement (--replace)"]],
      ["enclii-data-redis-data", ["spec"]],
    ]);
    // Only `id` alone is the engine's mark: beside a property, every key is named.
    const [server] = stepsOf(events("replace-server.preview.jsonl")).filter((s) => s.urn === SERVER);
    expect(guardViolations([{ ...server, replaceKeys: ["id", "location"] }], none)[0].because).toEqual(["id", "location"]);
  });

  it("says the provider requires a replacement when it names no property", () => {
    const [server] = stepsOf(events("replace-server.preview.jsonl")).filter((s) => s.urn === SERVER);
    const [v] = guardViolations([{ ...server, replaceKeys: [] }], none);
    expect(v).toMatchObject({ op: "replace", because: ["the provider requires a replacement"] });
  });

  it("takes what forces a replacement from the detailed diff when the provider lists no replace keys", () => {
    const steps = stepsOf([
      announced("replace", SERVER, {
        detailedDiff: {
          labels: { diffKind: "update" as DiffKind, inputDiff: true },
          location: { diffKind: "update-replace" as DiffKind, inputDiff: true },
          placementGroupId: { diffKind: "add-replace" as DiffKind, inputDiff: true },
          datacenter: { diffKind: "delete-replace" as DiffKind, inputDiff: true },
        },
      }),
    ]);
    // A property that only updates in place forces nothing; it still differs.
    expect(steps[0].diffs).toEqual(["labels", "location", "placementGroupId", "datacenter"]);
    expect(guardViolations(steps, none)[0].because).toEqual(["location", "placementGroupId", "datacenter"]);
  });

  it("still stops a replacement the engine announces after refreshing the resource (`up --refresh`)", () => {
    const log = [announced("refresh", SERVER), ...events("replace-server.preview.jsonl")];
    const steps = stepsOf(log);
    expect(steps.find((s) => s.urn === SERVER)?.ops).toEqual(["refresh", "create-replacement", "replace", "delete-replaced"]);
    expect(changingSteps(steps).map((s) => s.urn)).toEqual([SERVER]);
    expect(guardViolations(steps, none)).toMatchObject([{ urn: SERVER, op: "replace", because: ["location"] }]);
  });

  it("describes a violation as the operation, the URN, what forces it and what is lost", () => {
    const [v] = guardViolations(stepsOf(events("replace-server.preview.jsonl")), none);
    expect(describeViolation(v)).toBe(`replace ${SERVER} (forced by location): loses a node: its disks, k3s state and Longhorn replicas`);
    expect(describeViolation({ ...v, because: ["location", "serverType"] })).toBe(
      `replace ${SERVER} (forced by location, serverType): loses a node: its disks, k3s state and Longhorn replicas`,
    );
  });
});

describe("what the real engine's events say (logs recorded by test/engine.real.test.ts)", () => {
  const UI_DEPLOYMENT = API_DEPLOYMENT.replace("switchyard-api-deployment", "switchyard-ui-deployment");

  it("a refresh's outcome is on its outputs event; its pre-event says only `refresh`", () => {
    const log = events("drift.refresh.jsonl");
    expect(refreshOutcomes(log)).toEqual([{ urn: UI_DEPLOYMENT, op: "update", properties: ["spec.replicas"] }]);
    expect(stepsOf(log).find((s) => s.urn === UI_DEPLOYMENT)).toMatchObject({ ops: ["refresh"], diffs: [], replaceKeys: [] });
    expect(refreshOutcomes(events("image-only.preview.jsonl"))).toEqual([]);
  });

  it("reports a resource a refresh found gone, though a delete names no property", () => {
    const log = [announced("refresh", CLUSTER), applied("delete", CLUSTER)];
    expect(refreshOutcomes(log)).toEqual([{ urn: CLUSTER, op: "delete", properties: [] }]);
  });

  it("finds no drift in a refresh whose outputs event still says only `refresh`", () => {
    const log = [announced("refresh", CLUSTER), applied("refresh", CLUSTER, { diffs: ["spec.instances"] })];
    expect(refreshOutcomes(log)).toEqual([]);
  });

  it("a delete-before-replace is announced delete first, and its failed preview still names the steps", () => {
    const log = events("replace-volume-claim-template.preview.jsonl");
    expect(stepsOf(log).find((s) => s.urn === REDIS)?.ops).toEqual(["delete-replaced", "replace", "create-replacement"]);
    expect(engineErrors(log)).toContain('StatefulSet.apps "redis" is invalid: spec: Forbidden');
    expect(protectedRefusals(log)).toEqual([]);
  });

  it("finds the protected resources the engine refused to replace or delete, from its error diagnostics", () => {
    const replacing = events("replace-protected.preview.jsonl");
    expect(protectedRefusals(replacing)).toEqual([CLUSTER]);
    expect(protectedViolations(stepsOf(replacing), [CLUSTER])).toEqual([
      { urn: CLUSTER, type: "kubernetes:postgresql.cnpg.io/v1:Cluster", op: "replace", because: ["metadata.name"], holds: "the database" },
    ]);
    const deleting = events("delete-protected.preview.jsonl");
    expect(protectedRefusals(deleting)).toEqual([CLUSTER]);
    expect(protectedViolations(stepsOf(deleting), [CLUSTER])).toMatchObject([
      { op: "delete", because: ["it is no longer in the program"] },
    ]);
    // Without steps (a dependent replacement stops the preview at once) the URN still says what it is.
    expect(protectedViolations([], [REDIS])).toMatchObject([{ type: "kubernetes:apps/v1:StatefulSet", op: "replace" }]);
  });

  it("names the protected resource a dependent replacement stops at: the first URN the engine quotes", () => {
    // The engine's words (pkg/resource/deploy/step_generator.go): REDIS is protected, CLUSTER is being replaced.
    const log = [
      diagnostic(
        `unable to replace resource "${REDIS}" as part of replacing "${CLUSTER}" as it is currently marked for protection. ` +
          "To unprotect the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`\n",
      ),
    ];
    expect(protectedRefusals(log)).toEqual([REDIS]);
  });

  it("reads a protected refusal through the engine's colour codes, and only from errors", () => {
    const log = [
      diagnostic(`\u001b[38;5;1mPreview failed: resource "${CLUSTER}" cannot be deleted\u001b[0m\nbecause it is protected.\n`),
      diagnostic(`resource "${REDIS}" cannot be deleted\nbecause it is protected.\n`, "warning"),
    ];
    expect(protectedRefusals(log)).toEqual([CLUSTER]);
  });

  it("a refused resource with no announced step is a replacement the provider requires, of what the program protects", () => {
    expect(protectedViolations([], [API_DEPLOYMENT])).toEqual([
      {
        urn: API_DEPLOYMENT,
        type: "kubernetes:apps/v1:Deployment",
        op: "replace",
        because: ["the provider requires a replacement"],
        holds: "what the program protects",
      },
    ]);
  });
});

describe("steps and services", () => {
  it("collects one step per URN with every op the engine announced", () => {
    const steps = stepsOf(events("replace-server.preview.jsonl"));
    expect(steps.find((s) => s.urn === SERVER)?.ops).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(changingSteps(steps).map((s) => s.urn)).toEqual([SERVER]);
    expect(changeCounts(events("replace-server.preview.jsonl"))).toEqual({ replace: 1 });
  });

  it("merges what a URN's announcements say, each op and property once", () => {
    const log = events("replace-server.preview.jsonl");
    // Both replacement events name `location`, as a replace key, a diff and a detailed diff.
    expect(stepsOf(log).find((s) => s.urn === SERVER)).toMatchObject({ replaceKeys: ["location"], diffs: ["location"] });
    // The same announcements read twice change no step.
    expect(stepsOf([...log, ...log])).toEqual(stepsOf(log));
  });

  it("places a deleted resource under the parent its old state names", () => {
    const steps = stepsOf(events("platform-delete.preview.jsonl"));
    expect(steps.find((s) => s.urn === CLUSTER)?.parent).toBe(POSTGRES);
    expect([...descendantsOf(steps, POSTGRES)]).toEqual([POSTGRES, CLUSTER]);
  });

  it("counts no refresh, read or discard as a change, but a change after a refresh", () => {
    const quiet: OpType[] = ["same", "read", "refresh", "discard", "discard-replaced", "remove-pending-replace"];
    const steps = stepsOf(quiet.map((op) => announced(op, `${API_DEPLOYMENT}-${op}`)));
    expect(steps).toHaveLength(quiet.length);
    expect(changingSteps(steps)).toEqual([]);
    const refreshedThenUpdated = stepsOf([announced("refresh", API_DEPLOYMENT), announced("update", API_DEPLOYMENT)]);
    expect(changingSteps(refreshedThenUpdated).map((s) => s.urn)).toEqual([API_DEPLOYMENT]);
  });

  it("counts changes from the last summary in the stream, without the unchanged or the zero counts", () => {
    const log = [summary({ create: 2, same: 5 }), summary({ update: 1, delete: 0, same: 13 })];
    expect(changeCounts(log)).toEqual({ update: 1 });
    // A stream that ends before any summary (a cancelled command) counts nothing.
    expect(changeCounts(events("replace-server.preview.jsonl").filter((e) => !e.summaryEvent))).toEqual({});
  });

  it("finds a service's component by its name under its parent, and only that service's resources", () => {
    const steps = stepsOf(events("image-with-pending.preview.jsonl"));
    const api = serviceComponent(steps, "switchyard-api")!;
    expect(urnName(api.urn)).toBe("enclii-apps-switchyard-api");
    // "api" would be a suffix of switchyard-api: not the same service.
    expect(serviceComponent(steps, "api")).toBeUndefined();
    // The Deployment is named `${component}-deployment` under the component: no service component all the same.
    expect(serviceComponent(steps, "deployment")).toBeUndefined();
    // A component whose events name no parent is no service's.
    expect(serviceComponent([{ ...api, parent: undefined }], "switchyard-api")).toBeUndefined();
    const owned = descendantsOf(steps, api.urn);
    expect(
      changingSteps(steps)
        .filter((s) => owned.has(s.urn))
        .map((s) => s.urn),
    ).toEqual([API_DEPLOYMENT]);
  });

  it("gives a deploy only its own service's resources, even beside a service whose name extends it", () => {
    const steps = stepsOf(events("image-with-pending.preview.jsonl"));
    const api = serviceComponent(steps, "switchyard-api")!;
    // switchyard-api-worker: the same types and a name sharing the prefix, a sibling under Apps.
    const worker = { ...api, urn: api.urn.replace(/switchyard-api$/, "switchyard-api-worker") };
    const workerDeployment = {
      ...steps.find((s) => s.urn === API_DEPLOYMENT)!,
      urn: API_DEPLOYMENT.replace("switchyard-api-deployment", "switchyard-api-worker-deployment"),
      parent: worker.urn,
    };
    // Deeper than one level: a resource under a child component of the service is still its own.
    const nested = { ...workerDeployment, urn: `${API_DEPLOYMENT}-pdb`, parent: API_DEPLOYMENT };
    const all = [...steps, worker, workerDeployment, nested];
    expect(serviceComponent(all, "switchyard-api")?.urn).toBe(api.urn);
    const owned = descendantsOf(all, api.urn);
    expect(
      changingSteps(all)
        .filter((s) => owned.has(s.urn))
        .map((s) => s.urn),
    ).toEqual([API_DEPLOYMENT, nested.urn]);
    expect(
      changingSteps(all)
        .filter((s) => descendantsOf(all, worker.urn).has(s.urn))
        .map((s) => s.urn),
    ).toEqual([workerDeployment.urn]);
    // A parent chain that loops (a malformed event log) ends instead of hanging.
    const loop = [{ ...nested, parent: `${API_DEPLOYMENT}-pdb` }];
    expect([...descendantsOf(loop, api.urn)]).toEqual([api.urn]);
  });

  it("keeps the engine's error diagnostics, colours removed", () => {
    const message = engineErrors(events("image-rollout-timeout.up.jsonl"));
    expect(message).toContain("'switchyard-api' timed out waiting to be Ready");
    expect(message).toContain("update failed");
    expect(engineErrors(events("image-only.up.jsonl"))).toBe("");
  });

  it("gives each error diagnostic one trimmed line, colour codes removed, blank ones and warnings left out", () => {
    const log = [
      diagnostic("\u001b[38;5;1m2 errors occurred:\u001b[0m\n\t* 'switchyard-api' timed out waiting to be Ready\n\n\n"),
      diagnostic("resource plugin kubernetes is expected to have version >=4.34.2\n", "warning"),
      diagnostic("\u001b[0m\n"),
      diagnostic("\u001b[1;31mupdate failed\u001b[0m\n"),
    ];
    expect(engineErrors(log)).toBe("2 errors occurred:\n\t* 'switchyard-api' timed out waiting to be Ready\nupdate failed");
  });
});
