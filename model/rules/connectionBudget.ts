/**
 * PostgreSQL's connection budget, computed once for both poolers (CloudNativePG's Pooler and our
 * PgBouncer in front of a managed server). PgBouncer's pool limits are per PgBouncer process and
 * per database: with two pooler instances and two databases, a `max_db_connections` of 25 opens
 * 100 server connections, all of a 100-connection server, and PostgreSQL then refuses the
 * poolers' logins and every direct client. So the per-pool limit is what is left of
 * `max_connections`, after PostgreSQL's superuser slots and a reserve for direct administration
 * (migrations, psql), shared among every (instance, database) pool.
 */

/** PostgreSQL's `superuser_reserved_connections` default, which CloudNativePG keeps. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;
/** Left for direct, non-superuser clients: a migration job and a few psql sessions at the peak. */
export const ADMIN_RESERVED_CONNECTIONS = 10;
/** Per pool, more server connections stop helping long before the server's limit on our machines. */
export const MAX_POOL_SIZE = 25;
/** The in-cluster server's `max_connections` (CloudNativePG's Cluster parameter). */
export const IN_CLUSTER_MAX_CONNECTIONS = 100;
/** Our PgBouncer Deployment in front of a managed server: two replicas, so a node drain never cuts the database off. */
export const EXTERNAL_POOLER_REPLICAS = 2;

/** What decides the budget: the database mode, a managed server's limit, and the node count. */
export type BudgetSettings = { mode: "in-cluster" } | { mode: "external"; maxConnections: number };

/** The Pooler runs two instances once there is a second node to put one on. */
export function budgetFor(postgres: BudgetSettings, nodeCount: number, databases: number): ConnectionBudget {
  return postgres.mode === "in-cluster"
    ? connectionBudget({ maxConnections: IN_CLUSTER_MAX_CONNECTIONS, poolerInstances: nodeCount > 1 ? 2 : 1, databases })
    : connectionBudget({ maxConnections: postgres.maxConnections, poolerInstances: EXTERNAL_POOLER_REPLICAS, databases });
}

export interface ConnectionBudgetInput {
  /** The server's `max_connections`. */
  maxConnections: number;
  /** PgBouncer processes: the Pooler's instances, or our Deployment's replicas. */
  poolerInstances: number;
  databases: number;
}

export interface ConnectionBudget extends ConnectionBudgetInput {
  superuserReserved: number;
  adminReserved: number;
  /** `default_pool_size` and `max_db_connections` of every pool. */
  perPool: number;
  /** The most server connections the poolers can hold together: perPool × instances × databases. */
  poolers: number;
}

export function connectionBudget(input: ConnectionBudgetInput): ConnectionBudget {
  const usable = input.maxConnections - SUPERUSER_RESERVED_CONNECTIONS - ADMIN_RESERVED_CONNECTIONS;
  const pools = input.poolerInstances * input.databases;
  const perPool = Math.min(MAX_POOL_SIZE, Math.floor(usable / pools));
  if (perPool < 1)
    throw new Error(
      `max_connections ${input.maxConnections} leaves ${usable} connections after the reserves (${SUPERUSER_RESERVED_CONNECTIONS} superuser, ${ADMIN_RESERVED_CONNECTIONS} admin): not one per pool for ${pools} pools`,
    );
  return {
    ...input,
    superuserReserved: SUPERUSER_RESERVED_CONNECTIONS,
    adminReserved: ADMIN_RESERVED_CONNECTIONS,
    perPool,
    poolers: perPool * pools,
  };
}

/** One line for the plan's summary and the README. */
export function describeBudget(b: ConnectionBudget): string {
  return (
    `max_connections ${b.maxConnections} = ${b.poolers} for the poolers (${b.poolerInstances} instance(s) × ${b.databases} databases × ${b.perPool}) ` +
    `+ ${b.adminReserved} direct + ${b.superuserReserved} superuser` +
    (b.maxConnections - b.poolers - b.adminReserved - b.superuserReserved > 0
      ? ` + ${b.maxConnections - b.poolers - b.adminReserved - b.superuserReserved} unused`
      : "")
  );
}
