/**
 * Tenant shard files as a new user (or the control plane's `domains add`) would write them: each
 * tenant placed by the shard rule (model/config/tenants.ts), one stack file per shard.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Tenant } from "../model/routes";
import { TENANTS_KEY, placeTenant, type Shard } from "../model/config/tenants";

/** `count` tenants, `t0000`…, each with one hostname on its own domain. */
export function makeTenants(count: number, prefix = "t"): Tenant[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}${String(i).padStart(4, "0")}`;
    return { name, hostnames: [`app.${name}.example.com`], service: { name: "web", port: 8080 } };
  });
}

/** Places every tenant in turn and returns the shards, in stack order. */
export function placeAll(environment: string, tenants: Tenant[], existing: Shard[] = []): Shard[] {
  const shards = new Map(existing.map((s) => [s.stack, { stack: s.stack, tenants: [...s.tenants] }]));
  for (const t of tenants) {
    const stack = placeTenant(t.name, environment, [...shards.values()]);
    const shard = shards.get(stack) ?? { stack, tenants: [] };
    if (!shard.tenants.some((x) => x.name === t.name)) shard.tenants.push(t);
    shards.set(stack, shard);
  }
  return [...shards.values()].sort((a, b) => (a.stack < b.stack ? -1 : 1));
}

/** Writes `Pulumi.<shard>.yaml` per shard into `dir`; returns the files. */
export function writeShardFiles(dir: string, shards: Shard[]): string[] {
  mkdirSync(dir, { recursive: true });
  return shards.map((s) => {
    const file = join(dir, `Pulumi.${s.stack}.yaml`);
    writeFileSync(file, stringify({ config: { [TENANTS_KEY]: s.tenants } }));
    return file;
  });
}

/**
 * Past the free 100, each tenant hostname costs $0.10 a month: 10,000 of them (the benchmark's
 * largest plan) cost $990, and staging itself about $12 ($1,001.72 in all): $1,100 holds both.
 */
const TENANT_BUDGET_USD = 1100;

/**
 * Staging's stack file with a budget for thousands of tenants' hostnames, written into `dir`: the
 * real one's $50 refuses them (docs/capacity-and-cost.md), as it should for staging.
 */
export function stagingForTenants(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "Pulumi.staging.yaml");
  const text = readFileSync(join(__dirname, "..", "Pulumi.staging.yaml"), "utf8");
  writeFileSync(file, text.replace(/^( {4}monthlyUsd:) 50$/m, `$1 ${TENANT_BUDGET_USD}`));
  return file;
}
