/**
 * How `enclii-infra rotate` moves a secret from one generation to the next, as data: the steps,
 * what each writes to `enclii:rotations` before its update, and where an interrupted rotation
 * resumes. What the stack's state holds of a secret (its resources, named by `generationName`)
 * says whether the last step's update finished, and how old a never-rotated secret is.
 * Pure: automation/control/rotate.ts runs the steps (docs/runbooks/rotations.md).
 */
import { DEFAULT_ROTATION_PERIOD_DAYS, type RotatableSecret, type RotationState } from "./rotation";

/**
 * `overlap`: two updates, both generations working between them (the servers accept both while
 * clients move); `replace`: one update, the new generation made before the old is deleted;
 * `revoke`: the cluster's accounts, revoked over SSH (no update).
 */
export const ROTATION_KIND = {
  postgres: "overlap",
  redis: "overlap",
  "r2-tokens": "replace",
  "janua-hs256": "replace",
  "janua-session": "replace",
  "grafana-admin": "replace",
  "cluster-credential": "revoke",
} as const satisfies Record<RotatableSecret, "overlap" | "replace" | "revoke">;

/**
 * The resources that are a secret's generations: children of `component` (a type in the URN's
 * parent chain) of `type`, named `generationName(<name ending in role>, g)`; `retires` names
 * everything else a generation has that goes with it (PostgreSQL's role Secrets). The cluster
 * credential's is the command that made the accounts: only its creation time is read.
 */
export const SECRET_RESOURCES: Record<RotatableSecret, { component: string; type: string; role: RegExp; retires?: RegExp }> = {
  postgres: {
    component: "enclii:data:Postgres",
    type: "random:index/randomPassword:RandomPassword",
    role: /-password$/,
    retires: /-(password|role)$/,
  },
  redis: { component: "enclii:data:Redis", type: "random:index/randomPassword:RandomPassword", role: /-password$/ },
  "r2-tokens": { component: "enclii:edge:R2Storage", type: "cloudflare:index/accountToken:AccountToken", role: /-token$/ },
  "janua-hs256": { component: "enclii:auth:Janua", type: "random:index/randomBytes:RandomBytes", role: /-hs256$/ },
  "janua-session": { component: "enclii:auth:Janua", type: "random:index/randomPassword:RandomPassword", role: /-session$/ },
  "grafana-admin": {
    component: "enclii:observability:Metrics",
    type: "random:index/randomPassword:RandomPassword",
    role: /-grafana-password$/,
  },
  "cluster-credential": { component: "enclii:k3s:K3sCluster", type: "command:remote:Command", role: /-accounts$/ },
};

/** A resource of the stack's state as `pulumi stack export` lists it; `created` since Pulumi 3.60-ish. */
export interface StateResource {
  urn: string;
  type: string;
  created?: string;
}

/** The generation a resource name carries (`generationName`'s inverse) and the name without it. */
export function generationOf(name: string): { base: string; generation: number } {
  const m = /^(.*)-g([1-9]\d*)$/.exec(name);
  return m ? { base: m[1], generation: Number(m[2]) } : { base: name, generation: 0 };
}

/** A URN's parent types and name: urn:pulumi:<stack>::<project>::<parent types $ type>::<name>, the name free to hold "::". */
function urnParts(urn: string): { types: string[]; name: string } {
  const [, , types, ...name] = urn.split("::");
  return { types: types?.split("$") ?? [], name: name.join("::") };
}

/** The generation `urn` holds of `secret`, or undefined when it is not the secret's credential. */
export function secretGeneration(secret: RotatableSecret, urn: string, type: string): number | undefined {
  const { component, type: wanted, role } = SECRET_RESOURCES[secret];
  const { types, name } = urnParts(urn);
  if (type !== wanted || !types.includes(component)) return undefined;
  const { base, generation } = generationOf(name);
  return role.test(base) ? generation : undefined;
}

/** Whether `urn` is part of `secret`'s generation `generation`: what a step retiring it deletes on purpose. */
export function partOfGeneration(secret: RotatableSecret, urn: string, generation: number): boolean {
  const { component, role, retires } = SECRET_RESOURCES[secret];
  const { types, name } = urnParts(urn);
  const named = generationOf(name);
  return types.includes(component) && named.generation === generation && (retires ?? role).test(named.base);
}

/** What the state holds of a secret: the generations its resources carry, and the oldest creation time. */
export interface SecretInState {
  generations: number[];
  resources: number;
  /** Some resource has no creation time: the state was written before Pulumi recorded them. */
  undated: boolean;
  oldest?: string;
}

export function secretInState(secret: RotatableSecret, resources: readonly StateResource[]): SecretInState {
  const found = resources.flatMap((r) => {
    const generation = secretGeneration(secret, r.urn, r.type);
    return generation === undefined ? [] : [{ generation, created: r.created }];
  });
  const dates = found.flatMap((f) => (f.created ? [f.created] : [])).sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    generations: [...new Set(found.map((f) => f.generation))].sort((a, b) => a - b),
    resources: found.length,
    undated: found.some((f) => !f.created),
    oldest: dates[0],
  };
}

export type StepAction =
  { kind: "up"; state: RotationState } | { kind: "revoke"; account: "tenants" | "platform" } | { kind: "record"; state: RotationState };

export interface RotationStep {
  step: number;
  of: number;
  /** What it does, in words, for the progress line and a failure's message. */
  does: string;
  action: StepAction;
  /** Its state is already in the stack config (a resumed step): it reruns its update without writing. */
  written: boolean;
}

export interface RotationPlan {
  secret: RotatableSecret;
  steps: RotationStep[];
  /** Set when the run resumes a rotation: where, and why. */
  resuming?: string;
  /** The state once every step has run. */
  target: RotationState;
}

/** The stack config's time format: RFC 3339, whole seconds, UTC. */
export function rotationTime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A state in words: `generation 2, overlap`. */
export function stateText(s: RotationState): string {
  return `generation ${s.generation}, ${s.phase}`;
}

type Unnumbered = Omit<RotationStep, "step" | "of" | "written">;
const numbered = (steps: Unnumbered[]): RotationStep[] => steps.map((s, i) => ({ ...s, step: i + 1, of: steps.length, written: false }));

/** The steps of a rotation to `next` (settled), none written yet. */
function freshSteps(secret: RotatableSecret, next: RotationState): RotationStep[] {
  const g = next.generation;
  switch (ROTATION_KIND[secret]) {
    case "revoke":
      return numbered([
        { does: "revoke every token of the tenants' account", action: { kind: "revoke", account: "tenants" } },
        { does: "revoke every token of the platform's account", action: { kind: "revoke", account: "platform" } },
        { does: `record generation ${g} (since ${next.since})`, action: { kind: "record", state: next } },
      ]);
    case "replace":
      return numbered([{ does: `generation ${g} replaces generation ${g - 1}`, action: { kind: "up", state: next } }]);
    case "overlap":
      return numbered([
        {
          does: `generation ${g} beside generation ${g - 1} (overlap: both work)`,
          action: { kind: "up", state: { ...next, phase: "overlap" } },
        },
        { does: `generation ${g} only (settled: generation ${g - 1} stops working)`, action: { kind: "up", state: next } },
      ]);
  }
}

/** Why the config and the state disagree so that no step can run, or undefined when they agree. */
export function stateProblem(secret: RotatableSecret, current: RotationState | undefined, held: SecretInState): string | undefined {
  if (ROTATION_KIND[secret] === "revoke") return undefined;
  const g = current?.generation ?? 0;
  const ahead = held.generations.filter((x) => x > g);
  if (ahead.length === 0) return undefined;
  return (
    `the state holds generation ${ahead.join(", ")} of ${secret}, but the stack config says ${current ? stateText(current) : "generation 0 (no entry)"}: ` +
    `the stack file is behind the stack (was a rotation's commit lost?); put enclii:rotations.${secret} back to what the last rotation wrote before rotating`
  );
}

/** The last step's update did not finish: the state still holds a generation the config no longer names. */
function unfinished(current: RotationState, held: SecretInState): boolean {
  return held.generations.some((x) => x < current.generation);
}

/**
 * What a run does, from the secret's config entry and what the state holds of it: a rotation left
 * in overlap reruns step 1's update (idempotent) then step 2; one whose last update did not finish
 * reruns it; otherwise a rotation to the next generation.
 */
export function planRotation(secret: RotatableSecret, current: RotationState | undefined, held: SecretInState, now: Date): RotationPlan {
  const kind = ROTATION_KIND[secret];
  if (current && kind !== "revoke") {
    const steps = freshSteps(secret, { ...current, phase: "settled" });
    if (current.phase === "overlap") {
      const from = steps.findIndex((s) => s.action.kind === "up" && s.action.state.phase === "overlap");
      return {
        secret,
        steps: steps.slice(Math.max(from, 0)).map((s, i) => ({ ...s, written: i === 0 && from >= 0 })),
        resuming: `the stack config holds ${stateText(current)}: resuming at step ${Math.max(from, 0) + 1} of ${steps.length}`,
        target: { ...current, phase: "settled" },
      };
    }
    if (unfinished(current, held))
      return {
        secret,
        steps: [{ ...steps[steps.length - 1], written: true }],
        resuming: `the stack config holds ${stateText(current)} but the state still holds generation ${held.generations.filter((x) => x < current.generation).join(", ")}: the last update did not finish; resuming at step ${steps.length} of ${steps.length}`,
        target: current,
      };
  }
  const next: RotationState = { generation: (current?.generation ?? 0) + 1, since: rotationTime(now), phase: "settled" };
  return { secret, steps: freshSteps(secret, next), target: next };
}

const DAY_MS = 86_400_000;

/** Whether `--due` rotates the secret, and why in words. */
export function dueVerdict(
  secret: RotatableSecret,
  current: RotationState | undefined,
  held: SecretInState,
  now: Date,
  periodDays = DEFAULT_ROTATION_PERIOD_DAYS,
): { due: boolean; why: string } {
  const age = (since: string) => Math.floor((now.getTime() - Date.parse(since)) / DAY_MS);
  const verdict = (since: string, what: string) => {
    const days = age(since);
    return days >= periodDays
      ? { due: true, why: `${what} is ${days} days old, at least the period of ${periodDays}` }
      : { due: false, why: `${what} is ${days} days old, under the period of ${periodDays}` };
  };
  if (current?.phase === "overlap") return { due: true, why: `left in overlap at generation ${current.generation}: resuming` };
  if (current && ROTATION_KIND[secret] !== "revoke" && unfinished(current, held))
    return { due: true, why: `the update to generation ${current.generation} did not finish: resuming` };
  if (current) return verdict(current.since, `generation ${current.generation} (since ${current.since})`);
  if (held.resources === 0) return { due: false, why: "the stack's state holds none of its resources: nothing here uses it" };
  if (held.undated || !held.oldest)
    return { due: true, why: "its resource has no creation time in the state (made before Pulumi recorded them)" };
  return verdict(held.oldest, `generation 0 (created ${held.oldest})`);
}
