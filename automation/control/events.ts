/**
 * Reading the engine's event stream: the steps a preview or update takes, the guard over them, and
 * what the engine said when it failed. Pure: the library feeds it the events the Automation API
 * hands over, the tests feed it recorded event logs.
 */
import type { EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";
import { DESTRUCTIVE_OPS, GUARDED_TYPES, SERVICE_COMPONENT_TYPE, type GuardViolation, type ResourceCounts } from "../../model/controlPlane";

/** Steps that change nothing in the world. */
const NO_CHANGE_OPS = new Set(["same", "read", "refresh", "discard", "discard-replaced", "remove-pending-replace"]);
const DESTRUCTIVE = new Set<string>(DESTRUCTIVE_OPS);
const REPLACE_DIFF_KINDS = new Set(["add-replace", "update-replace", "delete-replace"]);
const ANSI = /\u001b\[[0-9;]*m/g;

export interface Step {
  urn: string;
  type: string;
  parent?: string;
  /** Every op the engine announced for the URN, in order (a replacement is several). */
  ops: string[];
  /** Properties forcing a replacement, as the provider reported them. */
  replaceKeys: string[];
  /** Properties that differ. */
  diffs: string[];
}

/** The steps announced in `events`, one per URN, in the order they first appear. */
export function stepsOf(events: readonly EngineEvent[]): Step[] {
  const byUrn = new Map<string, Step>();
  for (const event of events) {
    const meta: StepEventMetadata | undefined = event.resourcePreEvent?.metadata;
    if (!meta) continue;
    const step = byUrn.get(meta.urn) ?? {
      urn: meta.urn,
      type: meta.type,
      parent: meta.new?.parent ?? meta.old?.parent,
      ops: [],
      replaceKeys: [],
      diffs: [],
    };
    if (!step.ops.includes(meta.op)) step.ops.push(meta.op);
    const fromDetail = Object.entries(meta.detailedDiff ?? {})
      .filter(([, d]) => REPLACE_DIFF_KINDS.has(d.diffKind))
      .map(([path]) => path);
    for (const key of [...(meta.keys ?? []), ...fromDetail]) if (!step.replaceKeys.includes(key)) step.replaceKeys.push(key);
    for (const key of [...(meta.diffs ?? []), ...Object.keys(meta.detailedDiff ?? {})]) if (!step.diffs.includes(key)) step.diffs.push(key);
    byUrn.set(meta.urn, step);
  }
  return [...byUrn.values()];
}

/** What a refresh found for one resource: `update` or `delete`, and the properties that differ. */
export interface RefreshOutcome {
  urn: string;
  op: string;
  properties: string[];
}

/**
 * What a refresh found, per resource that differs from the state. The engine announces a refresh
 * step with op `refresh` and nothing else, since it reads the resource only when the step runs
 * (pkg/resource/deploy/step.go `RefreshStep.Apply` computes the diff); the outcome comes on the
 * step's `resOutputsEvent`, whose op is `RefreshStep.ResultOp()` (`same`, `update` or `delete`)
 * and whose diffs are that diff (pkg/engine/update.go `OnResourceStepPost`, both actions).
 * Drift runs the refresh with the program (`runProgram`), so providers are configured as the
 * program configures them now: the Kubernetes token in the state expired two hours after the
 * update that stored it (docs/security.md#how-a-run-gets-its-credential).
 */
export function refreshOutcomes(events: readonly EngineEvent[]): RefreshOutcome[] {
  const refreshed = new Set<string>();
  const outcomes: RefreshOutcome[] = [];
  for (const event of events) {
    const pre = event.resourcePreEvent?.metadata;
    if (pre?.op === "refresh") refreshed.add(pre.urn);
    const done = event.resOutputsEvent?.metadata;
    if (!done || !refreshed.has(done.urn) || done.op === "same" || done.op === "refresh") continue;
    const properties = [...new Set([...(done.diffs ?? []), ...Object.keys(done.detailedDiff ?? {})])];
    // A refresh that runs the program reports what it re-registers without provider state (the
    // stack, components, providers) as updated with no property: nothing in the world differs.
    if (done.op === "update" && properties.length === 0) continue;
    outcomes.push({ urn: done.urn, op: done.op, properties });
  }
  return outcomes;
}

/**
 * What the engine says when a change would replace or delete a protected resource. Replacing one:
 * a preview reports it and goes on, so the replacement's steps are still announced, then fails;
 * an update stops there (pkg/resource/deploy/step_generator.go `generateStepsFromDiff`, and its
 * dependent-replacement variant "as part of replacing"). Deleting one fails the delete step, in a
 * preview too (pkg/resource/deploy/step.go `DeleteStep.Apply`, `deleteProtectedError`). The URN is
 * the first one quoted in the message.
 */
const PROTECTED = [
  /unable to replace resource "([^"]+)"[\s\S]*?as it is currently marked for protection/,
  /resource "([^"]+)" cannot be deleted\s+because it is protected/,
];

/** URNs the engine refused to replace or delete because they are protected, from its error diagnostics. */
export function protectedRefusals(events: readonly EngineEvent[]): string[] {
  const urns: string[] = [];
  for (const event of events) {
    const d = event.diagnosticEvent;
    if (d?.severity !== "error") continue;
    const text = d.message.replace(ANSI, "");
    for (const m of PROTECTED.map((re) => re.exec(text))) if (m && !urns.includes(m[1])) urns.push(m[1]);
  }
  return urns;
}

/**
 * The guard's violations for protected resources the engine refused to replace or delete,
 * whatever the allow-list says (the engine would refuse the update anyway); what forces a
 * replacement comes from the steps the preview still announced.
 */
export function protectedViolations(steps: readonly Step[], urns: readonly string[]): GuardViolation[] {
  return urns.map((urn) => {
    const step = steps.find((s) => s.urn === urn);
    const type = step?.type ?? urnTypes(urn).at(-1)!;
    // No announced step: the engine refused before stepping it, which only a replacement does.
    const { op, because } = step ? destruction(step) : { op: "replace" as const, because: [REPLACEMENT_REQUIRED] };
    return { urn, type, op, because, holds: GUARDED_TYPES[type] ?? "what the program protects" };
  });
}

/** Steps that change the world (creates, updates, replaces, deletes). */
export function changingSteps(steps: readonly Step[]): Step[] {
  return steps.filter((s) => s.ops.some((op) => !NO_CHANGE_OPS.has(op)));
}

/**
 * Replacements and deletions of resources that hold data or identity, minus the URNs the caller
 * allowed. Each names the properties forcing it, so the operator sees why.
 */
export function guardViolations(steps: readonly Step[], allow: ReadonlySet<string>): GuardViolation[] {
  const violations: GuardViolation[] = [];
  for (const step of steps) {
    const holds = GUARDED_TYPES[step.type];
    if (!holds || !step.ops.some((o) => DESTRUCTIVE.has(o)) || allow.has(step.urn)) continue;
    violations.push({ urn: step.urn, type: step.type, ...destruction(step), holds });
  }
  return violations;
}

const REPLACEMENT_REQUIRED = "the provider requires a replacement";
/**
 * A `--replace` target: the engine steps it with the one replace key `id` and no diff, whatever
 * its inputs did (seen on the real engine: test/engine.real.test.ts, the forced replacement). No
 * provider names `id`, which is no input, as a replace key of its own.
 */
const FORCED_KEY = "id";
const REPLACEMENT_REQUESTED = "a requested replacement (--replace)";

/** Whether a destructive step replaces or deletes, and what forces it. */
function destruction(step: Step): Pick<GuardViolation, "op" | "because"> {
  const replaced = step.ops.some((o) => o !== "delete" && DESTRUCTIVE.has(o));
  if (!replaced) return { op: "delete", because: ["it is no longer in the program"] };
  if (step.replaceKeys.length === 1 && step.replaceKeys[0] === FORCED_KEY) return { op: "replace", because: [REPLACEMENT_REQUESTED] };
  return { op: "replace", because: step.replaceKeys.length > 0 ? step.replaceKeys : [REPLACEMENT_REQUIRED] };
}

export function describeViolation(v: GuardViolation): string {
  return `${v.op} ${v.urn} (forced by ${v.because.join(", ")}): loses ${v.holds}`;
}

/** The summary's counts, without the unchanged. */
export function changeCounts(events: readonly EngineEvent[]): ResourceCounts {
  const summary = [...events].reverse().find((e) => e.summaryEvent)?.summaryEvent;
  return Object.fromEntries(
    Object.entries(summary?.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0),
  ) as ResourceCounts;
}

/** What the engine said went wrong: its error diagnostics, colours removed. */
export function engineErrors(events: readonly EngineEvent[]): string {
  return events
    .map((e) => e.diagnosticEvent)
    .filter((d) => d?.severity === "error")
    .map((d) => d!.message.replace(ANSI, "").trim())
    .filter((m) => m.length > 0)
    .join("\n");
}

/** The resource name at the end of a URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The type chain of a URN: its parents' types then its own, `$`-separated. */
function urnTypes(urn: string): string[] {
  const parts = urn.split("::");
  return parts[parts.length - 2].split("$");
}

/**
 * The component holding one service's resources: an `enclii:apps:Service` named
 * `${parent}-${service}` (house style), so `api` never matches `switchyard-api`.
 */
export function serviceComponent(steps: readonly Step[], service: string): Step | undefined {
  return steps.find((s) => s.type === SERVICE_COMPONENT_TYPE && s.parent && urnName(s.urn) === `${urnName(s.parent)}-${service}`);
}

/**
 * The resources of one service: its component and every step whose parent chain reaches it. The
 * chain, not the name: a sibling service named `${service}-worker` has the same types and a name
 * with the same prefix, yet none of its resources is this service's.
 */
export function descendantsOf(steps: readonly Step[], componentUrn: string): Set<string> {
  const parentOf = new Map(steps.map((s) => [s.urn, s.parent]));
  const under = (urn: string): boolean => {
    // At most one hop per step: a chain can be no longer, whatever a malformed event claims.
    for (let p = parentOf.get(urn), hops = 0; p !== undefined && hops < steps.length; p = parentOf.get(p), hops++)
      if (p === componentUrn) return true;
    return false;
  };
  return new Set([componentUrn, ...steps.filter((s) => under(s.urn)).map((s) => s.urn)]);
}
