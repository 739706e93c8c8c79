/** The cost and capacity model: what an environment's machines cost per month, from the dated price table. */
import { machineSize, type Prices } from "./catalog";
import type { Environment } from "./schema";

export interface CostLine {
  item: string;
  count: number;
  monthlyUsd: number;
  /** No price known for this item: set it under `enclii:prices.monthlyEur`. */
  unpriced?: boolean;
}

export interface CostReport {
  lines: CostLine[];
  monthlyUsd: number;
  budgetUsd?: number;
  overBudget: boolean;
  capacity: { vcpu: number; memoryGi: number; diskGi: number };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function priced(item: string, count: number, eachEur: number | undefined, prices: Prices): CostLine {
  if (eachEur === undefined) return { item, count, monthlyUsd: 0, unpriced: true };
  return { item, count, monthlyUsd: round2(count * eachEur * prices.eurToUsd) };
}

/** Monthly cost and raw capacity of an environment's machines, from the dated price table. */
export function estimateCost(env: Environment): CostReport {
  const counts = new Map<string, number>();
  let publicIps = 0;
  const capacity = { vcpu: 0, memoryGi: 0, diskGi: 0 };
  for (const n of env.nodes) {
    const item = n.kind === "cloud" ? n.serverType : n.model;
    counts.set(item, (counts.get(item) ?? 0) + 1);
    const size = machineSize(n)!;
    capacity.vcpu += size.vcpu;
    capacity.memoryGi += size.memoryGi;
    capacity.diskGi += size.diskGi;
    if (n.kind === "cloud" && n.publicIpv4) publicIps++;
  }
  const lines = [...counts].map(([item, count]) => priced(item, count, env.prices.monthlyEur[item], env.prices));
  if (publicIps > 0) lines.push(priced("primary IPv4", publicIps, env.prices.primaryIpv4Eur, env.prices));
  const monthlyUsd = round2(lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  const budgetUsd = env.budget?.monthlyUsd;
  return { lines, monthlyUsd, budgetUsd, overBudget: budgetUsd !== undefined && monthlyUsd > budgetUsd, capacity };
}
