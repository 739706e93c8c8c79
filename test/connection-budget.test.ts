import { describe, expect, it } from "vitest";
import { budgetFor, connectionBudget, describeBudget } from "../model/rules/connectionBudget";

describe("the connection budget", () => {
  it("shares max_connections less the reserves among every (instance, database) pool, at most 25 each", () => {
    expect(budgetFor({ mode: "in-cluster" }, 1, 2)).toMatchObject({ poolerInstances: 1, perPool: 25, poolers: 50 });
    expect(budgetFor({ mode: "in-cluster" }, 3, 2)).toMatchObject({ poolerInstances: 2, perPool: 21, poolers: 84 });
    expect(budgetFor({ mode: "external", maxConnections: 100 }, 1, 2)).toMatchObject({ poolerInstances: 2, perPool: 21, poolers: 84 });
    expect(budgetFor({ mode: "external", maxConnections: 20 }, 1, 2)).toMatchObject({ perPool: 1, poolers: 4 });
  });

  it("never lets the poolers with the reserves exceed max_connections", () => {
    for (let max = 20; max <= 2000; max += 7)
      for (const instances of [1, 2, 3])
        for (const databases of [1, 2, 5]) {
          let b;
          try {
            b = connectionBudget({ maxConnections: max, poolerInstances: instances, databases });
          } catch {
            continue;
          }
          expect(b.poolers + b.adminReserved + b.superuserReserved, `${max}/${instances}/${databases}`).toBeLessThanOrEqual(max);
          expect(b.perPool).toBeGreaterThanOrEqual(1);
        }
  });

  it("refuses a server too small for one connection per pool, saying why", () => {
    expect(() => connectionBudget({ maxConnections: 15, poolerInstances: 2, databases: 2 })).toThrow(
      "max_connections 15 leaves 2 connections after the reserves (3 superuser, 10 admin): not one per pool for 4 pools",
    );
  });

  it("describes itself in one line for the plan", () => {
    expect(describeBudget(budgetFor({ mode: "in-cluster" }, 3, 2))).toBe(
      "max_connections 100 = 84 for the poolers (2 instance(s) × 2 databases × 21) + 10 direct + 3 superuser + 3 unused",
    );
  });

  it("names no unused connections when the poolers and the reserves take every one", () => {
    // 113 less 13 reserved is 100: 25 for each of 2 instances × 2 databases, nothing left over.
    expect(describeBudget(budgetFor({ mode: "external", maxConnections: 113 }, 1, 2))).toBe(
      "max_connections 113 = 100 for the poolers (2 instance(s) × 2 databases × 25) + 10 direct + 3 superuser",
    );
  });
});
