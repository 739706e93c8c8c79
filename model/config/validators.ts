/**
 * The small validators every config schema shares (`enclii:*`, the service specs, the shard
 * files), declared once so a DNS label or a port means the same thing in each, with one wording.
 */
import { z } from "zod";
import { DNS_NAME, FQDN_RULE, asciiProblem, idnaProblem } from "../dnsName";

/** A Deployment's replicas or an autoscaler's ceiling: more than this on our nodes is a typo. */
export const MAX_REPLICAS = 50;

/** An RFC 1123 label (node, cluster, tenant names): what Kubernetes and DNS both accept. */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and '-', at most 52 characters");

/** An RFC 1035 label (service and client names): it also names a Kubernetes Service, which must start with a letter. */
export const serviceLabel = z
  .string()
  .regex(/^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$/, "must be a DNS label starting with a letter (lowercase letters, digits, '-')");

/**
 * A domain name under the shared rule (model/dnsName.ts) that `pattern` writes out, `rule` saying
 * what the pattern asks for. The pattern stays a regex check, so the contract's JSON Schema
 * carries it; the IDNA checks follow only on a name it accepts, so a name gets one message.
 */
export function domainName(rule: string, pattern: RegExp = DNS_NAME) {
  return z
    .string()
    .regex(pattern, { error: (issue) => asciiProblem(String(issue.input), rule, pattern) })
    .superRefine((name, ctx) => {
      const problem = pattern.test(name) ? idnaProblem(name) : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}

export const fqdn = domainName(FQDN_RULE);

/**
 * For a list's own refinement: run it while the value is a list, even when some of its items are
 * of the wrong type (zod skips it then), so every problem is reported at once.
 */
export const listRefinement = { when: (payload: { value: unknown }) => Array.isArray(payload.value) };

/**
 * Each item of `items` that repeats an earlier one, with the index of the first: a list item
 * counted twice. `identity` says what makes two items the same (a CIDR's address space, a bill
 * line's name); undefined leaves an item out, such as one its own schema refuses.
 */
export function repeats<T>(items: readonly T[], identity: (item: T) => string | undefined): { index: number; first: number }[] {
  const firstAt = new Map<string, number>();
  const found: { index: number; first: number }[] = [];
  items.forEach((item, index) => {
    const id = identity(item);
    if (id === undefined) return;
    const first = firstAt.get(id);
    if (first === undefined) firstAt.set(id, index);
    else found.push({ index, first });
  });
  return found;
}

export const port = z.number().int().min(1).max(65535);

/** A whole number within bounds. */
export const whole = (min: number, max: number) => z.number().int().min(min).max(max);

export const replicas = whole(1, MAX_REPLICAS);

/** A config value as Pulumi hands it over: JSON when it parses (objects, lists, numbers), the raw text otherwise. */
export function decode(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
