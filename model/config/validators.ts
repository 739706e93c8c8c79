/**
 * The small validators every config schema shares (`enclii:*`, the service specs, the shard
 * files), declared once so a DNS label or a port means the same thing in each, with one wording.
 */
import { z } from "zod";
import { DNS_NAME } from "../routes";

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

export const fqdn = z.string().regex(DNS_NAME, "must be a lowercase fully qualified domain name");

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
