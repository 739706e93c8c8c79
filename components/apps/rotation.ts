/** Which rotatable secrets a service reads from its environment, so a rotation rolls exactly those pods. */
import type { Bindings } from "../../model/config/services";
import type { RotatableSecret, Rotations } from "../../model/rotation";
import { generationAnnotations } from "../rotation";

/** What the bindings hand a service by `secretKeyRef` (./env.ts): the PostgreSQL login, the R2 assets token, the Redis password, Janua's HS256 and session secrets. */
export function secretsReadByEnv(b: Bindings): RotatableSecret[] {
  const role = b.oidc?.role;
  return [
    ...(b.postgres ? (["postgres"] as const) : []),
    ...(b.r2 ? (["r2-tokens"] as const) : []),
    ...(b.redis ? (["redis"] as const) : []),
    // Janua signs with both; an API validates Janua's HS256 tokens with the same secret.
    ...(role === "provider" ? (["janua-hs256", "janua-session"] as const) : []),
    ...(role === "resource-server" ? (["janua-hs256"] as const) : []),
  ];
}

/** The pod annotations that roll a service when a secret it reads gets a new generation. */
export function rotationPodAnnotations(b: Bindings, rotations: Rotations): Record<string, string> {
  return generationAnnotations(rotations, secretsReadByEnv(b));
}
