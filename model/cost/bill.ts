/**
 * The whole monthly bill of an environment, line by line, each price dated and sourced: servers
 * and primary IPv4 (Hetzner, EUR), R2 storage and operations from the stated usage and custom
 * hostnames past the free 100 (Cloudflare, USD), an external database's price from config, and
 * what the model does not price, as config states it.
 */
import { CLOUDFLARE_PRICES_AS_OF, CUSTOM_HOSTNAME_PRICES, PRICES_AS_OF, R2_PRICES, machineSize, type Prices } from "./catalog";
import type { Environment } from "../config/schema";
import type { CostLine, CostReport } from "../contract";

export type { CostLine, CostReport };

const round2 = (n: number) => Math.round(n * 100) / 100;
const HETZNER = `Hetzner price list ${PRICES_AS_OF} (model/cost/catalog.ts), or enclii:prices`;
const CLOUDFLARE = `Cloudflare pricing ${CLOUDFLARE_PRICES_AS_OF} (model/cost/catalog.ts)`;

function priced(item: string, count: number, eachEur: number | undefined, prices: Prices): CostLine {
  if (eachEur === undefined) return { item, count, monthlyUsd: 0, source: "unpriced: set enclii:prices.monthlyEur", unpriced: true };
  return { item, count, monthlyUsd: round2(count * eachEur * prices.eurToUsd), source: HETZNER };
}

/** R2's bill for a month of the stated usage: what is past the free tier, at list price. */
export function r2MonthlyUsd(usage: Environment["usage"]): number {
  const over = (used: number, free: number) => Math.max(0, used - free);
  return round2(
    over(usage.r2StorageGb, R2_PRICES.free.storageGb) * R2_PRICES.storageGbMonthUsd +
      over(usage.r2ClassAMillions, R2_PRICES.free.classAMillions) * R2_PRICES.classAPerMillionUsd +
      over(usage.r2ClassBMillions, R2_PRICES.free.classBMillions) * R2_PRICES.classBPerMillionUsd,
  );
}

/** A line per server type or dedicated model, priced. */
function serverLines(env: Environment): CostLine[] {
  const counts = new Map<string, number>();
  for (const n of env.nodes) {
    const item = n.kind === "cloud" ? n.serverType : n.model;
    counts.set(item, (counts.get(item) ?? 0) + 1);
  }
  return [...counts].map(([item, count]) => priced(item, count, env.prices.monthlyEur[item], env.prices));
}

/**
 * A budget the servers alone exceed, known from the config alone: the planner refuses it before
 * loading Pulumi, since no plan could come in under it. Unpriced servers count as nothing here.
 */
export function serversBudgetProblem(env: Environment): string | undefined {
  const budgetUsd = env.budget?.monthlyUsd;
  const serversUsd = round2(serverLines(env).reduce((sum, l) => sum + l.monthlyUsd, 0));
  if (budgetUsd === undefined || serversUsd <= budgetUsd) return undefined;
  return `enclii:budget.monthlyUsd: the servers alone cost $${serversUsd.toFixed(2)} a month, over the budget of $${budgetUsd.toFixed(2)} by $${(serversUsd - budgetUsd).toFixed(2)}`;
}

/** `customHostnames`: how many the environment's tenant shards hold (the planner counts them). */
export function estimateCost(env: Environment, customHostnames = 0): CostReport {
  let publicIps = 0;
  const capacity = { vcpu: 0, memoryGi: 0, diskGi: 0 };
  for (const n of env.nodes) {
    const size = machineSize(n)!;
    capacity.vcpu += size.vcpu;
    capacity.memoryGi += size.memoryGi;
    capacity.diskGi += size.diskGi;
    if (n.kind === "cloud" && n.publicIpv4) publicIps++;
  }
  const lines = serverLines(env);
  if (publicIps > 0) lines.push(priced("primary IPv4", publicIps, env.prices.primaryIpv4Eur, env.prices));
  const u = env.usage;
  lines.push({
    item: `R2: ${u.r2StorageGb} GB, ${u.r2ClassAMillions} M class A, ${u.r2ClassBMillions} M class B`,
    count: 1,
    monthlyUsd: r2MonthlyUsd(u),
    source: `${CLOUDFLARE}; usage from enclii:usage`,
  });
  const billedHostnames = Math.max(0, customHostnames - CUSTOM_HOSTNAME_PRICES.free);
  lines.push({
    item: `custom hostnames past the free ${CUSTOM_HOSTNAME_PRICES.free}`,
    count: billedHostnames,
    monthlyUsd: round2(billedHostnames * CUSTOM_HOSTNAME_PRICES.perHostnameUsd),
    source: `${CLOUDFLARE}; ${customHostnames} in the tenant shards`,
  });
  if (env.postgres.mode === "external")
    lines.push(
      env.postgres.monthlyUsd === undefined
        ? { item: "external PostgreSQL", count: 1, monthlyUsd: 0, source: "unpriced: set enclii:postgres.monthlyUsd", unpriced: true }
        : { item: "external PostgreSQL", count: 1, monthlyUsd: env.postgres.monthlyUsd, source: "enclii:postgres.monthlyUsd" },
    );
  const other = round2(env.otherCosts.reduce((sum, c) => sum + c.monthlyUsd, 0));
  lines.push({
    item: `not modelled: ${env.otherCosts.map((c) => c.item).join(", ") || "nothing stated"}`,
    count: env.otherCosts.length,
    monthlyUsd: other,
    source: "enclii:otherCosts",
  });
  const monthlyUsd = round2(lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  const budgetUsd = env.budget?.monthlyUsd;
  return { lines, monthlyUsd, budgetUsd, overBudget: budgetUsd !== undefined && monthlyUsd > budgetUsd, capacity };
}

export function budgetProblem(cost: CostReport): string | undefined {
  if (!cost.overBudget || cost.budgetUsd === undefined) return undefined;
  return `enclii:budget.monthlyUsd: the bill is $${cost.monthlyUsd.toFixed(2)} a month, over the budget of $${cost.budgetUsd.toFixed(2)} by $${(cost.monthlyUsd - cost.budgetUsd).toFixed(2)}`;
}
