/**
 * The secrets the platform owns and rotates (`enclii-infra rotate <secret> --env <env>`), and
 * where a rotation stands: a generation number and a phase per secret, kept in the stack's plain
 * config (`enclii:rotations`) so an interrupted rotation resumes from the step it stopped at.
 * Pure: components read generations from here; the command drives the phases.
 */
import { z } from "zod";

/** Every rotatable secret, with what it holds (the usage error lists these). */
export const ROTATABLE = {
  postgres: "the PostgreSQL roles' passwords (one per database), through PgBouncer",
  redis: "the Redis password (clients, replicas and Sentinel)",
  "r2-tokens": "the R2 API tokens of the assets bucket and of each backup writer",
  "janua-hs256": "Janua's HS256 secret",
  "janua-session": "Janua's session secret",
  "grafana-admin": "Grafana's admin password",
  "cluster-credential": "the Kubernetes accounts' tokens (platform and tenants)",
} as const;
export type RotatableSecret = keyof typeof ROTATABLE;
export const ROTATABLE_SECRETS = Object.keys(ROTATABLE) as RotatableSecret[];

/** How old a secret may get before the scheduled rotation replaces it. */
export const DEFAULT_ROTATION_PERIOD_DAYS = 90;
const MAX_GENERATION = 1_000_000;

/**
 * `overlap`: the servers accept the current generation and the one before it, while clients
 * move to the current; `settled`: only the current one works.
 */
export const ROTATION_PHASES = ["overlap", "settled"] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

export const rotationState = z
  .strictObject({
    generation: z.int().min(0).max(MAX_GENERATION).describe("how many times the secret was rotated; 0 is the one made with the stack"),
    since: z.iso
      .datetime({ offset: true, error: "must be an RFC 3339 time such as 2026-12-07T03:00:00Z" })
      .describe("when this generation was made"),
    phase: z.enum(ROTATION_PHASES).default("settled").describe("`overlap` while the previous generation still works"),
  })
  .superRefine((s, ctx) => {
    if (s.phase === "overlap" && s.generation === 0)
      ctx.addIssue({ code: "custom", path: ["phase"], message: "generation 0 has no previous generation to overlap with" });
  });
export type RotationState = z.output<typeof rotationState>;

export const rotationsSchema = z
  .partialRecord(z.enum(ROTATABLE_SECRETS as [RotatableSecret, ...RotatableSecret[]]), rotationState)
  .default({})
  .describe("where each secret's rotation stands; written by `enclii-infra rotate`, not by hand (docs/runbooks/rotations.md)");
export type Rotations = z.output<typeof rotationsSchema>;

/** The generations a secret has in this stack: the current one, and the previous while they overlap. */
export interface Generations {
  current: number;
  previous?: number;
}
export function generationsOf(rotations: Rotations, secret: RotatableSecret): Generations {
  const s = rotations[secret];
  if (!s) return { current: 0 };
  return s.phase === "overlap" ? { current: s.generation, previous: s.generation - 1 } : { current: s.generation };
}

/**
 * A generation's resource name: generation 0 keeps the name the resource had before rotation
 * existed (no replacement on upgrade); each later one gets a new name, so Pulumi makes the new
 * secret beside the old one and deletes the old only when nothing names it any more.
 */
export function generationName(base: string, generation: number): string {
  return generation === 0 ? base : `${base}-g${generation}`;
}
