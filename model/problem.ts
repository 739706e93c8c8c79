/**
 * A problem as data: where it is (a hostname, a config key, a shard stack), a code a caller can
 * match on, and the message. It becomes text only where it is shown (`renderProblem`), so no
 * caller re-parses a message to learn where a problem is or what kind it is.
 */
export interface Problem<Code extends string = string> {
  where: string;
  code: Code;
  message: string;
}

/** `<where>: <message>`: how every problem list reads. */
export function renderProblem(p: Problem): string {
  return `${p.where}: ${p.message}`;
}
