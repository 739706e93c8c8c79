/**
 * The logins a PostgreSQL rotation alternates between (docs/data.md#how-postgresql-passwords-rotate).
 * PostgreSQL keeps one password per role, so two passwords valid at once take two roles:
 * generation g logs in as slot g % 2, slot 0 being the database's owner `<db>` (the role from
 * before rotation) and slot 1 `<db>_b`, a member of `<db>` whose sessions act as `<db>`, so what
 * a migration creates belongs to `<db>` whichever slot runs it. Pure: Postgres.ts registers what
 * these return, and test/postgres-rotation.real.test.ts applies the same roles and runs the same
 * script against real PostgreSQL and PgBouncer.
 */
import type * as k8s from "@pulumi/kubernetes";
import { PORTS } from "../../model/names";
import type { Generations } from "../../model/rotation";
import { oneShotJobSpec } from "../baseline";

const SLOT_ROLE_SUFFIX = "_b";
/** CloudNativePG's images run PostgreSQL's tools as uid 26 (cloudnative-pg v1.30.0 api/v1/cluster_types.go: DefaultPostgresUID). */
const POSTGRES_IMAGE_UID = 26;
/** The check waits this long for the operator to reconcile the role: 60 × 5 s, inside the Job's deadline. */
const CHECK_ATTEMPTS = 60;
const CHECK_INTERVAL_S = 5;
/** Pulumi's own wait for a Job is 10 minutes (@pulumi/kubernetes batch/v1/job.d.ts); the pod ends before it. */
const CHECK_DEADLINE_S = 540;
const CHECK_RESOURCES = { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } };

/** The role generation `generation` logs in as. */
export function loginRole(db: string, generation: number): string {
  return generation % 2 === 0 ? db : `${db}${SLOT_ROLE_SUFFIX}`;
}

/** A role as CloudNativePG's Cluster manages it (`spec.managed.roles[]`, schemas/crds/cnpg/postgresql.cnpg.io_clusters.yaml). */
export interface ManagedRole {
  name: string;
  ensure: "present";
  login: boolean;
  inherit: true;
  inRoles?: string[];
  passwordSecret?: { name: string };
  disablePassword?: true;
}

/**
 * One database's roles in a phase: each generation in use logs in with its own password (the
 * Secret `secretName` names); the slot no generation uses stays, unable to log in and without a
 * password (the operator's `ALTER ROLE … NOLOGIN … PASSWORD NULL`). At generation 0 this is the
 * single role from before rotation, unchanged; slot 1 exists from generation 1 on.
 */
export function managedRoles(db: string, gens: Generations, secretName: (generation: number) => string): ManagedRole[] {
  const live = gens.previous === undefined ? [gens.current] : [gens.current, gens.previous];
  const slots = gens.current === 0 ? [0] : [0, 1];
  return slots.map((slot): ManagedRole => {
    const name = loginRole(db, slot);
    const member = slot === 0 ? {} : { inRoles: [db] };
    const generation = live.find((g) => g % 2 === slot);
    return generation === undefined
      ? { name, ensure: "present", login: false, inherit: true, ...member, disablePassword: true }
      : { name, ensure: "present", login: true, inherit: true, ...member, passwordSecret: { name: secretName(generation) } };
  });
}

/**
 * The overlap's check, run by a Job the apps' new credentials wait for. CloudNativePG applies
 * managed roles asynchronously, so it first retries a direct login to the primary until the new
 * password works and the session acts as the owner: a slot-1 role gets `role` as its default
 * (`ALTER ROLE … SET`, which CloudNativePG's managed roles cannot express and its reconciler
 * leaves alone), set by the role itself since a role may set its own defaults. Only then does it
 * log in through the Pooler, so no pooled server connection can have been opened before the
 * default existed. Reads everything from its environment; nothing secret is in an argument.
 */
export function renderLoginCheck(): string {
  return `#!/bin/bash
# Env: PGUSER, PGPASSWORD (the role's Secret), PGDATABASE, PGPORT, OWNER, DIRECT_HOST, POOLED_HOST, ATTEMPTS, INTERVAL_S.
set -euo pipefail
export PGSSLMODE=require PGCONNECT_TIMEOUT=5
sql() { psql -h "$1" -X -A -t -q -v ON_ERROR_STOP=1 "\${@:2}"; }

# A session of the slot acts as the owner once the role's default is there.
act_as_owner() {
  if [ "$PGUSER" != "$OWNER" ]; then
    sql "$DIRECT_HOST" -v owner="$OWNER" <<'SQL' || return 1
SET ROLE NONE;
ALTER ROLE SESSION_USER SET role = :'owner';
SQL
  fi
  sql "$DIRECT_HOST" -c 'SELECT current_user'
}

attempt=1
until out=$(act_as_owner 2>&1) && [ "$out" = "$OWNER" ]; do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "$PGUSER could not log in to $PGDATABASE at $DIRECT_HOST acting as $OWNER after $ATTEMPTS attempts: $out" >&2
    exit 1
  fi
  echo "attempt $attempt of $ATTEMPTS: $PGUSER cannot log in to $PGDATABASE at $DIRECT_HOST acting as $OWNER yet: $out" >&2
  attempt=$((attempt + 1))
  sleep "$INTERVAL_S"
done

attempt=1
until out=$(sql "$POOLED_HOST" -c 'SELECT current_user' 2>&1); do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "$PGUSER could not log in to $PGDATABASE through $POOLED_HOST after $ATTEMPTS attempts: $out" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$INTERVAL_S"
done
if [ "$out" != "$OWNER" ]; then
  echo "$PGUSER acts as $out through $POOLED_HOST, not as $OWNER" >&2
  exit 1
fi
echo "$PGUSER logs in to $PGDATABASE directly and through $POOLED_HOST, acting as $OWNER"
`;
}

export interface LoginCheckArgs {
  db: string;
  /** The role's Secret (`kubernetes.io/basic-auth`): the login and its password. */
  roleSecret: string;
  /** The Cluster's read-write Service (`<cluster>-rw`) and the Pooler's. */
  directHost: string;
  pooledHost: string;
  image: string;
}

/** The check's Job spec, in the data namespace: the NetworkPolicy that lets its pods reach the instances and the Pooler is there already. */
export function loginCheckJobSpec(a: LoginCheckArgs): k8s.types.input.batch.v1.JobSpec {
  const fromSecret = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: a.roleSecret, key } } });
  const plain = (name: string, value: string | number) => ({ name, value: String(value) });
  return oneShotJobSpec(POSTGRES_IMAGE_UID, CHECK_DEADLINE_S, {
    name: "login-check",
    image: a.image,
    command: ["bash", "-c", renderLoginCheck()],
    env: [
      fromSecret("PGUSER", "username"),
      fromSecret("PGPASSWORD", "password"),
      plain("PGDATABASE", a.db),
      plain("PGPORT", PORTS.postgres),
      plain("OWNER", a.db),
      plain("DIRECT_HOST", a.directHost),
      plain("POOLED_HOST", a.pooledHost),
      plain("ATTEMPTS", CHECK_ATTEMPTS),
      plain("INTERVAL_S", CHECK_INTERVAL_S),
    ],
    resources: CHECK_RESOURCES,
  });
}
