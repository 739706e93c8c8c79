/**
 * The control plane's results as zod schemas: the one source of the TypeScript types the CLI
 * builds (model/controlPlane.ts re-exports them) and of the JSON Schema a Go program checks them
 * against (`npm run contract` writes clients/go/enclii-infra/schema/). Every `--json` result of
 * `enclii-infra`, `plan --json` included, is one `OperationResult`.
 */
import { z } from "zod";
import { loadTestReportSchema } from "./loadtest";
import { imageReferencePattern } from "./imageReference";
import { ROTATABLE_SECRETS, ROTATION_PHASES, type RotatableSecret } from "./rotation";

/**
 * The contract's version, semver: the major changes when a field is removed or changes meaning,
 * or an exit status is reassigned; the minor when one is added. A client refuses another major.
 */
export const CONTRACT_VERSION = "1.3.0";

/** Exit statuses, one per outcome the control plane must act on differently. */
export const EXIT = {
  ok: 0,
  /** The engine failed (an update, refresh or preview); nothing was rolled back. */
  failed: 1,
  /** Bad arguments or invalid config (for `plan`, also a plan over budget or not fitting its machines): nothing was started. */
  usage: 2,
  /** `drift`: the world differs from the state; `plan --against`: the plans differ. */
  drift: 3,
  /**
   * The guard refused: the change would replace or delete something that holds data or identity;
   * `plan --against`: a change does that (nothing runs; a reviewer decides).
   */
  refused: 4,
  /** `deploy`: the update failed and the previous image is back. */
  rolledBack: 5,
  /** `deploy`: the update failed and so did restoring the previous image. */
  rollbackFailed: 6,
  /** No Pulumi CLI, or one older than PULUMI_CLI_MIN_VERSION. */
  noCli: 7,
  /** Another update held the stack through every retry. */
  busy: 8,
  /** The stack does not exist in the backend the CLI is logged in to: log in elsewhere, or create it. */
  noStack: 9,
  /** `rollback`: the history holds no earlier successful update with another image; deploy an explicit one. */
  nothingToRollBack: 10,
  /** A signal stopped the update: the engine cancelled it, let the steps in flight end (a provider may cut one short) and unlocked the stack. */
  cancelled: 11,
  /** A second signal: the engine was terminated mid-update; the message says what state the stack is left in. */
  interrupted: 12,
  /** `deploy`: outside the service's `deploySchedule` window (and no `--force`); the message says when the next one opens. */
  outsideWindow: 13,
  /** `deploy --canary`: the canary was judged worse than its objectives (or could not be judged) and removed; the stack runs what it ran before. */
  canaryAborted: 14,
} as const;

/** Each status a result can have, and the exit status it comes with: the table docs/control-plane.md#exit-status prints. */
export const STATUS_EXIT = {
  ok: "ok",
  deployed: "ok",
  unchanged: "ok",
  "no-drift": "ok",
  skipped: "ok",
  failed: "failed",
  usage: "usage",
  drift: "drift",
  refused: "refused",
  "rolled-back": "rolledBack",
  "rollback-failed": "rollbackFailed",
  "no-cli": "noCli",
  busy: "busy",
  "no-stack": "noStack",
  "nothing-to-roll-back": "nothingToRollBack",
  cancelled: "cancelled",
  interrupted: "interrupted",
  "outside-window": "outsideWindow",
  "budget-exhausted": "refused",
  "slo-missed": "failed",
  "canary-aborted": "canaryAborted",
} as const satisfies Record<string, keyof typeof EXIT>;

export type Status = keyof typeof STATUS_EXIT;
const STATUSES = Object.keys(STATUS_EXIT) as [Status, ...Status[]];

const urn = z
  .string()
  .regex(/^urn:pulumi:/)
  .describe("a Pulumi resource URN");

export const guardViolationSchema = z
  .strictObject({
    urn,
    type: z.string().describe("the resource's Pulumi type token"),
    op: z.string().describe("the engine's step: replace, create-replacement, delete-replaced, delete, import-replacement"),
    because: z.array(z.string()).describe("the properties that force the replacement, or why it is deleted"),
    holds: z.string().describe("what the resource holds: why a replace or delete loses something"),
  })
  .describe("a resource the guard stopped, and why");

export const customerRecordSchema = z.strictObject({
  type: z.enum(["CNAME", "TXT"]),
  name: z.string(),
  value: z.string(),
  purpose: z.enum(["traffic", "ownership", "certificate"]).describe("why the customer adds it"),
});

export const domainStatusSchema = z.strictObject({
  hostname: z.string(),
  tenant: z.string(),
  status: z.string().describe("Cloudflare's custom hostname status (pending, active, …)"),
  sslStatus: z.string().describe("Cloudflare's certificate status (pending_validation, active, …)"),
  records: z.array(customerRecordSchema).describe("the DNS records the customer must create"),
});

export const domainsResultSchema = z.strictObject({
  tenant: z.string().optional(),
  shard: z.string().optional().describe("the shard stack holding the tenant"),
  hostnames: z.array(domainStatusSchema),
  tenants: z
    .array(z.strictObject({ name: z.string(), shard: z.string(), hostnames: z.array(z.string()), service: z.string() }))
    .optional()
    .describe("`domains list`: every tenant of the environment and its shard"),
});

export const historyEntrySchema = z.strictObject({
  kind: z.string().describe("update, preview, refresh, destroy, …"),
  result: z.string().describe("succeeded, failed, in-progress"),
  startTime: z.iso.datetime().describe("when it started, ISO 8601 UTC"),
  message: z.string(),
  image: z.record(z.string(), z.string()).optional().describe("per service, the image override the update ran with"),
});

const image = z.string().regex(imageReferencePattern()).describe("an OCI image reference (model/imageReference.ts)");

const trackFiguresSchema = z.strictObject({
  requests: z.number().min(0).describe("requests the track served in the window"),
  errorRatio: z.number().min(0).max(1).optional().describe("the share answered 5xx (none without requests)"),
  p95Ms: z.number().min(0).optional().describe("the 95th percentile latency, ms (none without requests)"),
});

export const canaryReportSchema = z
  .strictObject({
    decision: z
      .enum(["promote", "abort", "fallback"])
      .describe("promoted on its figures, aborted, or deployed plainly because it could not be judged (fallback: plain)"),
    cause: z
      .enum(["errors", "latency", "no-traffic", "no-metrics", "unreachable", "interrupted", "failed"])
      .optional()
      .describe("why it did not promote on its figures"),
    reason: z.string().describe("the decision in words, with the figures it saw"),
    replicas: z.number().int().min(1).describe("canary pods beside the stable ones"),
    share: z.number().min(0).max(1).describe("the canary's expected share of requests: its pods over all the Service's pods"),
    watchedSeconds: z.number().min(0).describe("how long it was watched"),
    periodSeconds: z.number().min(0).describe("how long it was to be watched"),
    canary: trackFiguresSchema.optional(),
    stable: trackFiguresSchema.optional(),
  })
  .describe("`deploy --canary`: how the canary was judged");

export const gateReportSchema = z
  .strictObject({
    checked: z.boolean().describe("false when the query path is not set and the environment does not require it"),
    allowed: z.boolean(),
    reason: z.string(),
    fastBurnFiring: z.boolean().optional(),
    budgetRemainingPercent: z.number().optional().describe("the 30-day error budget left, %"),
  })
  .describe("the error-budget gate a deploy passed (or not)");

export const deployInfoSchema = z.strictObject({
  service: z.string(),
  image,
  previousImage: image.optional().describe("the override before this deploy, when there was one"),
  targets: z.array(urn).describe("the update's --target URNs: the service's changed resources"),
  notApplied: z.array(urn).describe("changes the preview showed outside the service, left for a full up"),
  canary: canaryReportSchema.optional(),
  gate: gateReportSchema.optional(),
  forced: z
    .array(z.string())
    .optional()
    .describe("what --force overrode (the deploy window, the deploy filter, the error budget), also in the update's message"),
});

const resources = z.strictObject({ cpuMilli: z.number(), memoryMi: z.number() });

export const costReportSchema = z.strictObject({
  lines: z.array(
    z.strictObject({
      item: z.string(),
      count: z.number(),
      monthlyUsd: z.number(),
      source: z.string().describe("where the price comes from"),
      unpriced: z.boolean().optional().describe("no price known for this item: set it in config (the source says where)"),
    }),
  ),
  monthlyUsd: z.number(),
  budgetUsd: z.number().optional(),
  overBudget: z.boolean(),
  capacity: z.strictObject({ vcpu: z.number(), memoryGi: z.number(), diskGi: z.number() }),
});

export const capacityReportSchema = z.strictObject({
  nodes: z.array(z.strictObject({ node: z.string(), machine: z.string(), allocatable: resources, requested: resources, pods: z.number() })),
  surge: z
    .strictObject({ workload: z.string(), requests: resources, fitsOn: z.string().optional() })
    .optional()
    .describe("the largest pod a rolling update adds, and whether some node has room for it"),
  disk: z.strictObject({ neededGi: z.number(), usableGi: z.number(), replicas: z.number() }),
  problems: z.array(z.string()),
});

export const planDiffSchema = z.strictObject({
  stack: z.string(),
  changes: z.array(
    z.strictObject({
      kind: z.enum(["added", "removed", "changed"]),
      urn: z.string(),
      type: z.string(),
      name: z.string(),
      paths: z.array(z.string()).describe("changed input paths (changed resources only)"),
      replacements: z.array(
        z.strictObject({
          effect: z.enum(["replace", "disrupt"]),
          paths: z.array(z.string()),
          source: z.string(),
          note: z.string().optional(),
        }),
      ),
      stateful: z.boolean().describe("holds data or identity (the guard's table)"),
      losesData: z.boolean().describe("a replacement or removal of something stateful"),
    }),
  ),
  costUsd: z.strictObject({ before: z.number().optional(), after: z.number().optional() }),
  verdict: z.enum(["no-change", "changes", "replaces-stateful"]),
});

export const planReportSchema = z
  .strictObject({
    cost: costReportSchema,
    capacity: capacityReportSchema,
    problems: z.array(z.string()).describe("why the plan does not fit its machines or budget (exit 2)"),
    diff: planDiffSchema.optional().describe("with --against: the platform stack's changes against the other plan"),
    shards: z
      .array(
        z.strictObject({
          stack: z.string(),
          tenants: z.number().int().optional().describe("none for a removed shard"),
          status: z
            .enum(["planned", "unchanged", "removed"])
            .describe("planned now; unchanged: the other plan's digest, so not planned; removed: only the other plan has it"),
          diff: planDiffSchema.optional().describe("with --against, for a planned or removed shard the other plan has a plan of"),
        }),
      )
      .describe("the environment's tenant shards planned or compared (docs/plan.md#which-shards-are-planned-again)"),
  })
  .describe("`plan --json`: the bill, the capacity check, the diff and the tenant shards");

export const rotationReportSchema = z
  .strictObject({
    secret: z.enum(ROTATABLE_SECRETS as [RotatableSecret, ...RotatableSecret[]]).describe("the secret (model/rotation.ts ROTATABLE)"),
    status: z.enum(STATUSES),
    exitCode: z.number().int().min(0).describe("the exit status this secret alone would have given"),
    message: z.string(),
    generation: z.number().int().min(0).describe("the generation the stack config holds for it after the run; 0 before its first rotation"),
    phase: z.enum(ROTATION_PHASES).describe("`overlap` while the previous generation still works"),
    due: z.boolean().optional().describe("`--due`: whether it was due (older than the period, or a rotation left unfinished)"),
    failedStep: z
      .strictObject({ step: z.number().int().min(1), of: z.number().int().min(1), does: z.string() })
      .optional()
      .describe("the step that did not finish"),
    resume: z.string().optional().describe("the command that resumes it"),
    engineMessage: z.string().optional().describe("what the engine said when the step's update failed"),
  })
  .describe("`rotate`: what became of one secret");

export const operationResultSchema = z
  .strictObject({
    contractVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/)
      .describe("the contract's semver (CONTRACT_VERSION); refuse another major"),
    operation: z.string().describe("the command: preview, up, deploy, rollback, outputs, history, drift, domains add, …, plan"),
    environment: z.string().describe("the environment (a platform stack's name)"),
    stack: z.string().describe("the Pulumi stack operated on (a shard stack for domains)"),
    status: z.enum(STATUSES),
    exitCode: z
      .number()
      .int()
      .min(0)
      .max(Math.max(...Object.values(EXIT)))
      .describe("the process's exit status (EXIT)"),
    message: z.string().describe("one line a person can act on"),
    engineMessage: z.string().optional().describe("what the engine said when it failed (error diagnostics), secrets already masked"),
    changes: z.record(z.string(), z.number().int().min(0)).optional().describe("the engine's counts by operation"),
    violations: z.array(guardViolationSchema).optional(),
    changedFiles: z.array(z.string()).optional().describe("files under the repository the operation edited: commit them"),
    deploy: deployInfoSchema.optional(),
    domains: domainsResultSchema.optional(),
    outputs: z.record(z.string(), z.unknown()).optional().describe("the stack's outputs, secret ones as [secret]"),
    history: z.array(historyEntrySchema).optional(),
    drift: z
      .array(z.strictObject({ urn, op: z.string(), properties: z.array(z.string()) }))
      .optional()
      .describe("each resource that differs from the state, with the properties that differ"),
    plan: planReportSchema.optional(),
    loadtest: loadTestReportSchema.optional().describe("`loadtest`: the figures, the SLO verdicts and the burn rates"),
    schedule: z
      .strictObject({
        onlyAfter: z.string(),
        onlyBefore: z.string(),
        nextWindowOpensAt: z.iso.datetime().describe("when the next window opens, ISO 8601 UTC"),
      })
      .optional()
      .describe("`outside-window`: the service's deploySchedule and when a deploy may run next"),
    rotations: z.array(rotationReportSchema).optional().describe("`rotate`: one entry per secret, rotated or not"),
  })
  .describe("every enclii-infra --json result");

export type GuardViolation = z.infer<typeof guardViolationSchema>;
export type CustomerRecord = z.infer<typeof customerRecordSchema>;
export type DomainStatus = z.infer<typeof domainStatusSchema>;
export type DomainsResult = z.infer<typeof domainsResultSchema>;
export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export type CostReport = z.infer<typeof costReportSchema>;
export type CostLine = CostReport["lines"][number];
export type CapacityReport = z.infer<typeof capacityReportSchema>;
export type PlanDiff = z.infer<typeof planDiffSchema>;
export type ResourceChange = PlanDiff["changes"][number];
export type Replacement = ResourceChange["replacements"][number];
export type OperationResult = z.infer<typeof operationResultSchema>;
export type DeployInfo = z.infer<typeof deployInfoSchema>;
export type CanaryReport = z.infer<typeof canaryReportSchema>;
export type GateReport = z.infer<typeof gateReportSchema>;
export type RotationReport = z.infer<typeof rotationReportSchema>;
export type ResourceCounts = NonNullable<OperationResult["changes"]>;

/** What every result names: the command and the environment and stack it concerns. */
export interface ResultBase {
  operation: string;
  environment: string;
  stack: string;
}

/**
 * A result of `status`, its exit status from the table; a usage error's message starts with the
 * environment and stack it concerns, for the person reading it where the caller logged only the message.
 */
export function operationResult(base: ResultBase, status: Status, message: string, extra: Partial<OperationResult> = {}): OperationResult {
  const where = base.environment ? `${base.environment} (stack ${base.stack || base.environment}): ` : "";
  const text = status === "usage" && !message.startsWith(where) ? `${where}${message}` : message;
  return { contractVersion: CONTRACT_VERSION, ...base, status, exitCode: EXIT[STATUS_EXIT[status]], message: text, ...extra };
}
