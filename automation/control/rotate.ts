/**
 * `enclii-infra rotate <secret> --env E` and `rotate --due`: a secret moved to its next
 * generation in the steps model/rotationPlan.ts lays out, each step's `enclii:rotations` entry
 * written to the stack config before its update, so a run that fails or is stopped leaves the stack
 * in a phase the next run resumes from (docs/runbooks/rotations.md). Each update is the control
 * plane's own guarded `up` (operations.ts `guardedUp`: preview, guard, retries on the lock,
 * signals.ts's stopping), the deletion of the generation a step retires expected by the guard.
 */
import type { ConfigMap, Stack } from "@pulumi/pulumi/automation";
import type { Environment } from "../../model/config/schema";
import { NAMESPACE } from "../../model/config/schema";
import type { OperationResult, RotationReport } from "../../model/controlPlane";
import { ROTATABLE_SECRETS, type RotatableSecret, type RotationState } from "../../model/rotation";
import {
  dueVerdict,
  partOfGeneration,
  planRotation,
  secretInState,
  stateProblem,
  stateText,
  type RotationStep,
  type StateResource,
} from "../../model/rotationPlan";
import { loadEnvironment } from "./environment";
import { ACCOUNTS, revokeTokens, runMint } from "./kubeToken";
import { failure, guardedUp, result, type Base, type Options } from "./operations";
import { Stop, withSignals } from "./signals";
import { localStacks, type ControlStack, type StackRef } from "./workspace";

/** The Automation API's Stack has these beyond ControlStack: a step's fields written in one CLI call, and the state. */
export type RotationStack = ControlStack & Pick<Stack, "setAllConfig" | "exportStack">;
export type OpenRotationStack = (ref: StackRef) => Promise<RotationStack>;

export interface RotateArgs {
  env: string;
  secret?: RotatableSecret;
  due?: boolean;
  olderThanDays?: number;
  dryRun?: boolean;
  json?: boolean;
  allow?: string[];
}

export interface RotateDeps {
  root: string;
  /** Opens the platform stack; the Pulumi CLI on PATH unless a test stands in. */
  open?: OpenRotationStack;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /** Runs the revocation over SSH (kubeToken.ts `runMint`) unless a test stands in. */
  mint?: typeof runMint;
}

/** The command that resumes a secret's rotation, as a message and the workflow's issue print it. */
export function resumeCommand(secret: RotatableSecret, env: string): string {
  return `npx enclii-infra rotate ${secret} --env ${env}`;
}

/** One field of a secret's entry as a Pulumi property path (a name such as r2-tokens in brackets). */
const fieldPath = (secret: RotatableSecret, field: keyof RotationState) => `${NAMESPACE}:rotations["${secret}"].${field}`;

/**
 * A step's entry in one `config set-all --path` call, so a stopped run never leaves half of one:
 * with --path the CLI stores "3" as the number 3 (sdk/go/common/resource/config/map.go `adjustObjectValue`).
 */
async function write(stack: RotationStack, secret: RotatableSecret, s: RotationState): Promise<void> {
  const config: ConfigMap = {
    [fieldPath(secret, "generation")]: { value: String(s.generation), secret: false },
    [fieldPath(secret, "since")]: { value: s.since, secret: false },
    [fieldPath(secret, "phase")]: { value: s.phase, secret: false },
  };
  await stack.setAllConfig(config, true);
}

/** What stays true after a step stopped, for the person who resumes it. */
function leftIn(step: RotationStep, written: boolean, before: RotationState | undefined, file: string): string {
  const holds = (s: RotationState | undefined) =>
    !s
      ? `${file} holds no entry for it (generation 0)`
      : `${file} holds ${stateText(s)}${s.phase === "overlap" ? ": the old credential keeps working in overlap, beside the new one" : ""}`;
  const a = step.action;
  if (a.kind === "revoke") return `${holds(before)}; revoking again is harmless`;
  if (a.kind === "record") return `both accounts are revoked, but ${holds(before)}`;
  if (!written) return holds(before);
  return a.state.phase === "overlap" ? holds(a.state) : `${holds(a.state)}: the update to it did not finish, and rerunning it finishes it`;
}

interface Rotated {
  report: RotationReport;
  result: OperationResult;
}

/**
 * Runs one step: a revocation, or its entry written (unless a resumed step's already is) and then
 * its update; a result when the update did not succeed. `onWritten` hears of the write at once, so
 * a failure after it still says what the stack config holds.
 */
async function runStep(
  o: Options,
  stack: RotationStack,
  base: Base,
  secret: RotatableSecret,
  step: RotationStep,
  ctx: { mint: typeof runMint; onWritten: () => void },
): Promise<OperationResult | undefined> {
  const a = step.action;
  // No config is written after a signal: a step runs whole or not at all.
  o.stop?.check(stack.name);
  if (a.kind === "revoke") {
    await revokeTokens(stack, ACCOUNTS[a.account], ctx.mint);
    o.report?.(`${secret}: every token of ${ACCOUNTS[a.account]} is refused from now on`);
    return undefined;
  }
  if (!step.written) {
    await write(stack, secret, a.state);
    ctx.onWritten();
  }
  if (a.kind === "record") return undefined;
  const retired = a.state.phase === "settled" ? a.state.generation - 1 : -1;
  const res = await guardedUp(stack, o, base, {
    message: `enclii rotate ${secret} step ${step.step}/${step.of}: ${stateText(a.state)}`,
    // The generation this step retires is deleted on purpose; anything else the guard stops still stops it.
    expected: (v) => v.op === "delete" && retired >= 0 && partOfGeneration(secret, v.urn, retired),
  });
  return res.exitCode === 0 ? undefined : res;
}

/** One secret's rotation: the plan's steps in order, each announced, stopping at the first that does not succeed. */
async function rotateSecret(
  o: Options,
  stack: RotationStack,
  env: Environment,
  secret: RotatableSecret,
  resources: readonly StateResource[],
  deps: { now: Date; mint: typeof runMint },
): Promise<Rotated> {
  const base: Base = { operation: "rotate", environment: env.stack, stack: env.stack };
  const file = `Pulumi.${env.stack}.yaml`;
  const current = env.rotations[secret];
  const held = secretInState(secret, resources);
  const entry = (s: RotationState | undefined) => ({ secret, generation: s?.generation ?? 0, phase: s?.phase ?? "settled" });
  const refuse = (message: string): Rotated => {
    const res = result(base, "usage", message);
    return { result: res, report: { ...entry(current), status: res.status, exitCode: res.exitCode, message: res.message } };
  };
  if (secret === "postgres" && env.postgres.mode === "external")
    return refuse(
      "postgres: enclii:postgres.mode is external: the database's owner rotates its passwords (enclii:externalDatabaseUrls); nothing was changed",
    );
  const problem = stateProblem(secret, current, held);
  if (problem) return refuse(`${secret}: ${problem}; nothing was changed`);

  const plan = planRotation(secret, current, held, deps.now);
  if (plan.resuming) o.report?.(`${secret}: ${plan.resuming}`);
  let holds = current;
  let wrote = false;
  const changed = () => (wrote ? { changedFiles: [file] } : {});
  for (const step of plan.steps) {
    o.report?.(`${secret}: step ${step.step} of ${step.of}: ${step.does}`);
    let written = step.written;
    const onWritten = () => {
      written = wrote = true;
      if (step.action.kind !== "revoke") holds = step.action.state;
    };
    let stopped: OperationResult | undefined;
    try {
      stopped = await runStep(o, stack, base, secret, step, { mint: deps.mint, onWritten });
    } catch (err) {
      stopped = failure(base, err);
    }
    if (!stopped) continue;
    const resume = resumeCommand(secret, env.stack);
    const message =
      `${secret}: step ${step.step} of ${step.of} (${step.does}) did not finish: ${stopped.message}\n` +
      `${leftIn(step, written, holds, file)}; resume with: ${resume}`;
    return {
      result: { ...stopped, message, ...changed() },
      report: {
        ...entry(holds),
        status: stopped.status,
        exitCode: stopped.exitCode,
        message,
        failedStep: { step: step.step, of: step.of, does: step.does },
        resume,
        ...(stopped.engineMessage && { engineMessage: stopped.engineMessage }),
      },
    };
  }
  const message = `${secret}: rotated in ${env.stack}: ${stateText(plan.target)} (since ${plan.target.since})`;
  return { result: result(base, "ok", message, changed()), report: { ...entry(plan.target), status: "ok", exitCode: 0, message } };
}

/** The state's resources (URNs, types, creation times): `pulumi stack export`, of which nothing else is kept. */
async function stateResources(stack: RotationStack): Promise<StateResource[]> {
  const exported = (await stack.exportStack()) as { deployment?: { resources?: StateResource[] } };
  return exported.deployment?.resources ?? [];
}

/** `--due`: each secret in turn, rotated when due; one that fails does not stop the others. */
async function rotateDue(
  o: Options,
  stack: RotationStack,
  env: Environment,
  a: RotateArgs,
  deps: { now: Date; mint: typeof runMint },
): Promise<{ reports: RotationReport[]; wrote: boolean }> {
  const resources = await stateResources(stack);
  const reports: RotationReport[] = [];
  let wrote = false;
  for (const secret of ROTATABLE_SECRETS) {
    const current = env.rotations[secret];
    const held = { generation: current?.generation ?? 0, phase: current?.phase ?? "settled" };
    const skip = (why: string, due = false): RotationReport => ({
      secret,
      ...held,
      status: "skipped",
      exitCode: 0,
      message: `${secret}: ${why}`,
      due,
    });
    if (secret === "postgres" && env.postgres.mode === "external") {
      reports.push(skip("not rotated here: enclii:postgres.mode is external, and the database's owner rotates its passwords"));
      continue;
    }
    const verdict = dueVerdict(secret, current, secretInState(secret, resources), deps.now, a.olderThanDays);
    if (!verdict.due) reports.push(skip(`not due: ${verdict.why}`));
    else if (a.dryRun) reports.push(skip(`due: ${verdict.why} (--dry-run: not rotated)`, true));
    else {
      o.report?.(`${secret}: due: ${verdict.why}`);
      const rotated = await rotateSecret(o, stack, env, secret, resources, deps);
      wrote ||= Boolean(rotated.result.changedFiles);
      reports.push({ ...rotated.report, due: true });
    }
  }
  return { reports, wrote };
}

/** The command's one result: the secret's own, or for --due the first failure's status over every secret's line. */
async function operate(
  a: RotateArgs,
  o: Options,
  open: OpenRotationStack,
  deps: { now: Date; mint: typeof runMint },
): Promise<OperationResult> {
  const base: Base = { operation: "rotate", environment: a.env, stack: a.env };
  const usage = (message: string) => result(base, "usage", message);
  if (a.due && a.secret) return usage("rotate: name a secret or pass --due, not both");
  if (!a.due && !a.secret) return usage(`rotate: name a secret (${ROTATABLE_SECRETS.join(", ")}) or pass --due`);
  if (!a.due && a.olderThanDays !== undefined) return usage("--older-than-days: only with --due");
  if (!a.due && a.dryRun) return usage("--dry-run: only with --due");
  try {
    const env = loadEnvironment(o.root, a.env);
    const stack = await open({ project: "platform", stack: a.env });
    if (a.secret) {
      const { result: res, report } = await rotateSecret(o, stack, env, a.secret, await stateResources(stack), deps);
      return { ...res, rotations: [report] };
    }
    const { reports: rotations, wrote } = await rotateDue(o, stack, env, a, deps);
    const first = rotations.find((r) => r.exitCode !== 0);
    const message = rotations.map((r) => r.message).join("\n");
    return result(base, first?.status ?? "ok", message, {
      rotations,
      ...(first?.engineMessage && { engineMessage: first.engineMessage }),
      ...(wrote && { changedFiles: [`Pulumi.${a.env}.yaml`] }),
    });
  } catch (err) {
    return failure(base, err);
  }
}

/**
 * Runs `rotate`; returns its exit status. Progress goes to stdout (stderr with --json); SIGINT and
 * SIGTERM stop the update in flight through the engine, as for every control command (signals.ts).
 */
export async function rotateCommand(
  a: RotateArgs,
  io: { stdout(t: string): void; stderr(t: string): void },
  deps: RotateDeps,
): Promise<number> {
  const progress = a.json ? io.stderr : io.stdout;
  const report = (line: string) => progress(`${line}\n`);
  const stop = new Stop(report);
  // localStacks hands out the Automation API's Stack, which has what RotationStack adds.
  const open = deps.open ?? (localStacks(deps.root) as OpenRotationStack);
  const o: Options = { open, root: deps.root, allow: new Set(a.allow ?? []), report, sleep: deps.sleep, now: deps.now, stop };
  const now = (deps.now ?? (() => new Date()))();
  const res = await withSignals(stop, () => operate(a, o, open, { now, mint: deps.mint ?? runMint }));
  if (a.json) io.stdout(`${JSON.stringify(res)}\n`);
  else {
    const out = res.exitCode === 0 ? io.stdout : io.stderr;
    out(`${res.message}\n`);
    if (res.engineMessage) out(`engine:\n${res.engineMessage}\n`);
    if (res.changedFiles?.length) out(`edited ${res.changedFiles.join(", ")} (commit it: the stack file is the record)\n`);
  }
  return res.exitCode;
}
