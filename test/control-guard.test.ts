import { describe, expect, it } from "vitest";
import {
  changeCounts,
  changingSteps,
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
});

describe("what the real engine's events say (logs recorded by test/engine.real.test.ts)", () => {
  const UI_DEPLOYMENT = API_DEPLOYMENT.replace("switchyard-api-deployment", "switchyard-ui-deployment");

  it("a refresh's outcome is on its outputs event; its pre-event says only `refresh`", () => {
    const log = events("drift.refresh.jsonl");
    expect(refreshOutcomes(log)).toEqual([{ urn: UI_DEPLOYMENT, op: "update", properties: ["spec.replicas"] }]);
    expect(stepsOf(log).find((s) => s.urn === UI_DEPLOYMENT)).toMatchObject({ ops: ["refresh"], diffs: [], replaceKeys: [] });
    expect(refreshOutcomes(events("image-only.preview.jsonl"))).toEqual([]);
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
});

describe("steps and services", () => {
  it("collects one step per URN with every op the engine announced", () => {
    const steps = stepsOf(events("replace-server.preview.jsonl"));
    expect(steps.find((s) => s.urn === SERVER)?.ops).toEqual(["create-replacement", "replace", "delete-replaced"]);
    expect(changingSteps(steps).map((s) => s.urn)).toEqual([SERVER]);
    expect(changeCounts(events("replace-server.preview.jsonl"))).toEqual({ replace: 1 });
  });

  it("finds a service's component by its name under its parent, and only that service's resources", () => {
    const steps = stepsOf(events("image-with-pending.preview.jsonl"));
    const api = serviceComponent(steps, "switchyard-api")!;
    expect(urnName(api.urn)).toBe("enclii-apps-switchyard-api");
    // "api" would be a suffix of switchyard-api: not the same service.
    expect(serviceComponent(steps, "api")).toBeUndefined();
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
});
