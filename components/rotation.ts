/**
 * How a rotation reaches the pods that read a secret from their environment. Kubernetes resolves
 * a `secretKeyRef` only when a container starts ("a Secret update will not be seen by the
 * container unless it is restarted": Kubernetes docs, Secrets, Using Secrets as environment
 * variables), so a Secret with a new value leaves running pods on the old one. An annotation per
 * rotated secret, carrying its generation, changes the pod template and rolls them in the same
 * update, before the old generation is deleted (docs/runbooks/rotations.md).
 */
import { generationsOf, type RotatableSecret, type Rotations } from "../model/rotation";

const GENERATION_ANNOTATION_PREFIX = "enclii.dev/generation-";

/** One annotation per secret past generation 0; none at 0, so stacks from before rotation keep their pods. */
export function generationAnnotations(rotations: Rotations, secrets: readonly RotatableSecret[]): Record<string, string> {
  return Object.fromEntries(
    secrets.flatMap((secret) => {
      const { current } = generationsOf(rotations, secret);
      return current === 0 ? [] : [[`${GENERATION_ANNOTATION_PREFIX}${secret}`, String(current)]];
    }),
  );
}
