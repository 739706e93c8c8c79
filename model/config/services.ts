/**
 * Service specs (`dogfooding/*.yaml`): the schema, and the rules that span specs. The program
 * reads the files (`stacks/specs.ts`); `parseEnvironment` checks them with the rest of the config
 * so every problem, config or spec, is reported in one go, each naming its file and field.
 */
import { parseDocument } from "yaml";
import { z } from "zod";
import { imageProblem } from "../baseline";
import { deployScheduleProblem } from "../deployRules";
import { bindingEnvNames } from "./bindings";
import { describeIssues, fieldPath } from "./issues";
import { CANARY_SUFFIX, DATABASES, R2_APP_BUCKETS, UIDS } from "../names";
import { replicas, serviceLabel, whole } from "./validators";

const SPEC_API_VERSION = "enclii.dev/v1";
export const SPEC_DIR = "dogfooding";
/** The apex of the environment's domain in `routes[].host`, as in DNS zone files. */
const APEX = "@";
const DEFAULT_STARTUP_TIMEOUT_SECONDS = 60;
/** A latency threshold or allowance, in ms: more than a minute is a typo, not a latency. */
const MAX_LATENCY_MS = 60_000;
const SECONDS_PER_MINUTE = 60;

/**
 * A canary's defaults and bounds (docs/services.md#canary): the roadmap's five healthy minutes,
 * looked at every 30 s; a small share of the pods (at most 5: more is a second stable, not a
 * canary); judged once it has seen enough requests, against the errors SLO's whole budget
 * (1 − 0.999) and 50 ms of p95 beyond the stable pods'.
 */
const CANARY = {
  periodMinutes: { min: 1, max: 60, default: 5 },
  intervalSeconds: { min: 10, max: 300, default: 30 },
  replicas: { min: 1, max: 5, default: 1 },
  minRequests: { min: 1, default: 100 },
  maxErrorRatioIncrease: { min: 0, max: 1, default: 0.001 },
  maxP95IncreaseMs: { min: 0, max: MAX_LATENCY_MS, default: 50 },
} as const;
const CANARY_FALLBACKS = ["abort", "plain"] as const;
/** The error-budget gate's default: a deploy is refused only once the 30-day budget is spent. */
const DEFAULT_MIN_REMAINING_PERCENT = 0;
const canaryReplicas = whole(CANARY.replicas.min, CANARY.replicas.max);

const quantity = z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, 'must be a Kubernetes quantity such as "250m" or "256Mi"');
const glob = z.string().min(1);
const utcTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d UTC$/, 'must be a time such as "22:00 UTC"');

const pinnedImage = z.string().superRefine((image, ctx) => {
  const problem = imageProblem(image);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const oidcBinding = z.discriminatedUnion("role", [
  /** The identity provider itself (Janua): gets the signing keys, secrets, SMTP and the client registry. */
  z.strictObject({ role: z.literal("provider") }),
  /** A browser app: a public client (authorization code + PKCE) redirected back to its own routes. */
  z.strictObject({ role: z.literal("client"), clientId: serviceLabel, scope: z.string().default("openid profile email") }),
  /** An API: validates tokens against the JWKS and holds a confidential client for client credentials. */
  z.strictObject({ role: z.literal("resource-server"), clientId: serviceLabel, scope: z.string().default("api:read api:write") }),
]);

const serviceSpecSchema = z.strictObject({
  apiVersion: z.literal(SPEC_API_VERSION),
  kind: z.literal("Service"),
  metadata: z.strictObject({ name: serviceLabel, project: serviceLabel.optional(), description: z.string().optional() }),
  spec: z.strictObject({
    build: z.strictObject({
      source: z.strictObject({
        git: z.strictObject({
          repository: z.url({ protocol: /^https$/, error: "must be an https:// repository URL" }),
          branch: z.string().min(1).default("main"),
          /** Directory inside the repository that holds the service (its Dockerfile). */
          path: z.string().default("."),
          autoDeploy: z.boolean().default(false),
          deployFilter: z.strictObject({ paths: z.array(glob).default([]), excludePaths: z.array(glob).default([]) }).optional(),
          deploySchedule: z
            .strictObject({ onlyAfter: utcTime, onlyBefore: utcTime })
            .superRefine((schedule, ctx) => {
              const problem = deployScheduleProblem(schedule);
              if (problem) ctx.addIssue({ code: "custom", message: problem });
            })
            .optional(),
        }),
      }),
    }),
    runtime: z.strictObject({
      image: pinnedImage,
      port: z.number().int().min(1024, "must be 1024 or above: containers run without privileges").max(65535),
      replicas,
      runAsUser: z.number().int().min(1, "must not be 0 (root)").default(UIDS.nonroot),
      healthCheck: z.strictObject({
        path: z.string().startsWith("/", "must start with /"),
        livenessPath: z.string().startsWith("/", "must start with /").optional(),
        startupTimeoutSeconds: z.number().int().min(5).max(600).default(DEFAULT_STARTUP_TIMEOUT_SECONDS),
      }),
      resources: z.strictObject({
        requests: z.strictObject({ cpu: quantity, memory: quantity }),
        limits: z.strictObject({ memory: quantity, cpu: quantity.optional() }),
      }),
      env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an upper-case environment variable name"), z.string()).default({}),
      /**
       * Where Prometheus scrapes the service (OpenTelemetry's HTTP server histogram, model/observability/config.ts).
       * `latencyP95Ms` makes a latency SLO of it: 95% of requests faster than this.
       */
      metrics: z
        .strictObject({
          port: z.number().int().min(1024, "must be 1024 or above: containers run without privileges").max(65535),
          path: z.string().startsWith("/", "must start with /").default("/metrics"),
          latencyP95Ms: z.number().int().min(1).max(MAX_LATENCY_MS).optional(),
        })
        .optional(),
      /** The root filesystem is read-only; these paths get an emptyDir each. */
      writablePaths: z.array(z.string().startsWith("/", "must be an absolute path")).default(["/tmp"]),
    }),
    bindings: z
      .strictObject({
        postgres: z.strictObject({ database: z.enum(DATABASES) }).optional(),
        redis: z.strictObject({}).optional(),
        r2: z
          .strictObject({
            bucket: z.enum(R2_APP_BUCKETS, {
              error: `must be ${R2_APP_BUCKETS.map((b) => JSON.stringify(b)).join(" or ")}: backups are reachable by the data layer alone`,
            }),
          })
          .optional(),
        oidc: oidcBinding.optional(),
        /** OpenTelemetry traces to the environment's collector (OTEL_* env); off when tracing is off. */
        tracing: z.strictObject({ sampleRatio: z.number().min(0).max(1).default(1) }).optional(),
        /** Read-only access to the services' measured availability (the status page). */
        availability: z.strictObject({}).optional(),
      })
      .default({}),
    /** Services in this namespace that call this one directly (NetworkPolicy ingress). */
    callers: z.array(serviceLabel).default([]),
    routes: z
      .array(
        z.strictObject({ host: z.string().regex(/^(@|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/, 'must be "@" (the apex) or one DNS label') }),
      )
      .default([]),
    autoscaling: z.strictObject({ maxReplicas: replicas, targetCpuPercent: z.number().int().min(10).max(95).default(70) }).optional(),
    /** How `enclii-infra deploy` releases a new image: the canary's defaults and the error-budget gate. */
    deploy: z
      .strictObject({
        canary: z
          .strictObject({
            /** Every deploy of this service goes through a canary, as with `deploy --canary`. */
            enabled: z.boolean().default(false),
            /** How long the canary is watched before it is judged. */
            periodMinutes: whole(CANARY.periodMinutes.min, CANARY.periodMinutes.max).default(CANARY.periodMinutes.default),
            /** How often its figures are read (and progress printed) while it is watched. */
            intervalSeconds: whole(CANARY.intervalSeconds.min, CANARY.intervalSeconds.max).default(CANARY.intervalSeconds.default),
            replicas: canaryReplicas.default(CANARY.replicas.default),
            /** Fewer requests to the canary in the period and it is not judged: it aborts (no-traffic). */
            minRequests: z.number().int().min(CANARY.minRequests.min).default(CANARY.minRequests.default),
            /** When the canary cannot be judged (no metrics, query path unreachable, no traffic): abort, or deploy without one. */
            fallback: z.enum(CANARY_FALLBACKS).default("abort"),
            /** How far the canary's error ratio may exceed the stable pods'. */
            maxErrorRatioIncrease: z
              .number()
              .min(CANARY.maxErrorRatioIncrease.min)
              .max(CANARY.maxErrorRatioIncrease.max)
              .default(CANARY.maxErrorRatioIncrease.default),
            /** How far the canary's p95 latency may exceed the stable pods', in ms. */
            maxP95IncreaseMs: whole(CANARY.maxP95IncreaseMs.min, CANARY.maxP95IncreaseMs.max).default(CANARY.maxP95IncreaseMs.default),
          })
          .prefault({}),
        errorBudget: z
          .strictObject({
            /** A deploy is refused while less than this share of the 30-day error budget remains (or the fast burn fires). */
            minRemainingPercent: z.number().min(0).max(100).default(DEFAULT_MIN_REMAINING_PERCENT),
          })
          .prefault({}),
      })
      .prefault({}),
  }),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;
export type Bindings = ServiceSpec["spec"]["bindings"];
export type DeployRules = ServiceSpec["spec"]["deploy"];

/** A spec resolved for one environment: overrides applied, hostnames under its domain. */
export interface AppService {
  name: string;
  file: string;
  description?: string;
  source: ServiceSpec["spec"]["build"]["source"]["git"];
  image: string;
  port: number;
  replicas: number;
  runAsUser: number;
  healthCheck: { path: string; livenessPath: string; startupTimeoutSeconds: number };
  resources: ServiceSpec["spec"]["runtime"]["resources"];
  env: Record<string, string>;
  writablePaths: string[];
  metrics?: { port: number; path: string; latencyP95Ms?: number };
  bindings: Bindings;
  callers: string[];
  hostnames: string[];
  autoscaling?: { maxReplicas: number; targetCpuPercent: number };
  /** `spec.deploy`: the canary's defaults and the error-budget gate, for `enclii-infra deploy`. */
  deploy: DeployRules;
  /** A canary running beside the stable pods (`enclii:services.<name>.canary`): its image and replicas. */
  canary?: { image: string; replicas: number };
}

export interface SpecFile {
  /** Relative to the project root, as errors name it: `dogfooding/janua.yaml`. */
  file: string;
  text: string;
}

export const serviceOverrides = z.record(
  serviceLabel,
  z.strictObject({
    image: pinnedImage.optional().describe("the image to run instead of the spec's, pinned by tag or digest"),
    replicas: replicas.optional().describe("replicas instead of the spec's, within its autoscaling ceiling"),
    canary: z
      .strictObject({
        image: pinnedImage.describe("the canary's image, pinned by tag or digest"),
        replicas: canaryReplicas.optional().describe("the canary's replicas (default the spec's `deploy.canary.replicas`, itself 1)"),
      })
      .optional()
      .describe(
        "a canary beside the stable pods while `enclii-infra deploy --canary` watches it: a Deployment `<service>-canary` behind the same Service, its share of connections its replicas over all the service's (docs/services.md#canary); the deploy sets and removes it",
      ),
  }),
);
export type ServiceOverrides = z.infer<typeof serviceOverrides>;

function hostname(host: string, domain: string): string {
  return host === APEX ? domain : `${host}.${domain}`;
}

const BYTES: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  m: 1e-3,
};
export function quantityValue(q: string): number {
  const [, num, unit = ""] = /^(\d+(?:\.\d+)?)(\D*)$/.exec(q)!;
  return Number(num) * BYTES[unit];
}

/** One spec file's problems, each `file: field: message`. */
function parseServiceSpec(f: SpecFile): { spec?: ServiceSpec; problems: string[] } {
  const doc = parseDocument(f.text);
  if (doc.errors.length > 0)
    return {
      problems: doc.errors.map(
        (e) =>
          `${f.file}: invalid YAML at line ${e.linePos?.[0].line ?? "?"}: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
      ),
    };
  const result = serviceSpecSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!result.success)
    return { problems: describeIssues(serviceSpecSchema, result.error.issues, (path) => `${f.file}: ${fieldPath(path) || "(document)"}`) };
  const spec = result.data;
  const problems: string[] = [];
  const at = (field: string, message: string) => problems.push(`${f.file}: ${field}: ${message}`);
  const expected = f.file.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
  if (spec.metadata.name !== expected) at("metadata.name", `"${spec.metadata.name}" must match the file name "${expected}"`);
  const { requests, limits } = spec.spec.runtime.resources;
  if (quantityValue(limits.memory) < quantityValue(requests.memory))
    at("spec.runtime.resources.limits.memory", `${limits.memory} is below the request ${requests.memory}`);
  if (limits.cpu && quantityValue(limits.cpu) < quantityValue(requests.cpu))
    at("spec.runtime.resources.limits.cpu", `${limits.cpu} is below the request ${requests.cpu}`);
  const hosts = spec.spec.routes.map((r) => r.host);
  hosts.forEach((h, i) => {
    if (hosts.indexOf(h) !== i) at(`spec.routes[${i}].host`, `"${h}" is listed more than once`);
  });
  const metrics = spec.spec.runtime.metrics;
  if (metrics && metrics.port === spec.spec.runtime.port && hosts.length > 0)
    at("spec.runtime.metrics.port", `${metrics.port} is the routed port: the metrics would be public; give them a port of their own`);
  const oidc = spec.spec.bindings.oidc;
  if ((oidc?.role === "provider" || oidc?.role === "client") && hosts.length === 0)
    at("spec.bindings.oidc", `role "${oidc.role}" needs a route (its public URL)`);
  const canary = spec.spec.deploy.canary;
  if (canary.enabled && !metrics) at("spec.deploy.canary.enabled", "a canary is judged by its metrics: set spec.runtime.metrics");
  if (canary.intervalSeconds > canary.periodMinutes * SECONDS_PER_MINUTE)
    at(
      "spec.deploy.canary.intervalSeconds",
      `${canary.intervalSeconds} s is longer than the period (periodMinutes ${canary.periodMinutes}): the canary would be judged before it is first looked at`,
    );
  return { spec, problems };
}

export interface ResolveArgs {
  domain: string;
  overrides: ServiceOverrides;
}

/** Every spec parsed, overrides applied and cross-spec rules checked; problems from all files at once. */
export function resolveServices(files: SpecFile[], a: ResolveArgs): { services: AppService[]; problems: string[] } {
  const problems: string[] = [];
  if (files.length === 0) problems.push(`${SPEC_DIR}/: no service specs (*.yaml) found`);
  const parsed: { file: string; spec: ServiceSpec }[] = [];
  for (const f of files) {
    const r = parseServiceSpec(f);
    problems.push(...r.problems);
    if (r.spec) parsed.push({ file: f.file, spec: r.spec });
  }
  const byName = new Map(parsed.map((p) => [p.spec.metadata.name, p]));
  // Checks that need every spec are skipped while one does not parse: they would only echo that problem.
  const complete = parsed.length === files.length;
  const routedBy = new Map<string, string>();
  const clientIds = new Map<string, string>();
  for (const { file, spec } of parsed) {
    const at = (field: string, message: string) => problems.push(`${file}: ${field}: ${message}`);
    spec.spec.routes.forEach((r, i) => {
      const h = hostname(r.host, a.domain);
      const other = routedBy.get(h);
      if (other && other !== file) at(`spec.routes[${i}].host`, `${h} is already routed by ${other}`);
      else routedBy.set(h, file);
    });
    const name = spec.metadata.name;
    const stable = name.endsWith(CANARY_SUFFIX) ? name.slice(0, -CANARY_SUFFIX.length) : undefined;
    if (stable && byName.has(stable)) at("metadata.name", `"${name}" is the name of ${stable}'s canary Deployment; choose another`);
    spec.spec.callers.forEach((c, i) => {
      if (!byName.has(c) && complete) at(`spec.callers[${i}]`, `no service spec named "${c}" in ${SPEC_DIR}/`);
      else if (c === spec.metadata.name) at(`spec.callers[${i}]`, "a service does not need to list itself");
    });
    const oidc = spec.spec.bindings.oidc;
    if (oidc && oidc.role !== "provider") {
      const other = clientIds.get(oidc.clientId);
      if (other) at("spec.bindings.oidc.clientId", `"${oidc.clientId}" is already used by ${other}`);
      else clientIds.set(oidc.clientId, file);
    }
    const reserved = new Set(bindingEnvNames(spec.spec.bindings));
    for (const name of Object.keys(spec.spec.runtime.env).sort()) {
      if (reserved.has(name)) at(`spec.runtime.env.${name}`, "is set by the service's bindings");
    }
  }
  const providers = parsed.filter((p) => p.spec.spec.bindings.oidc?.role === "provider");
  if (providers.length > 1)
    problems.push(
      `${SPEC_DIR}/: only one service may have bindings.oidc.role "provider" (found ${providers.map((p) => p.file).join(", ")})`,
    );
  if (providers.length === 0 && clientIds.size > 0 && complete)
    problems.push(`${SPEC_DIR}/: services bind oidc clients but no spec has bindings.oidc.role "provider"`);

  for (const name of Object.keys(a.overrides).sort()) {
    if (!byName.has(name) && complete) {
      problems.push(
        `enclii:services.${name}: no service spec named "${name}" in ${SPEC_DIR}/ (known: ${[...byName.keys()].sort().join(", ")})`,
      );
    }
  }
  const services = parsed.map(({ file, spec }) => resolve(file, spec, a));
  for (const s of services) {
    if (s.autoscaling && s.replicas > s.autoscaling.maxReplicas) {
      const where = a.overrides[s.name]?.replicas !== undefined ? `enclii:services.${s.name}.replicas` : `${s.file}: spec.runtime.replicas`;
      problems.push(`${where}: ${s.replicas} exceeds spec.autoscaling.maxReplicas ${s.autoscaling.maxReplicas} in ${s.file}`);
    }
  }
  return { services: services.sort((x, y) => (x.name < y.name ? -1 : 1)), problems };
}

function resolve(file: string, spec: ServiceSpec, a: ResolveArgs): AppService {
  const { runtime } = spec.spec;
  const override = a.overrides[spec.metadata.name] ?? {};
  return {
    name: spec.metadata.name,
    file,
    description: spec.metadata.description,
    source: spec.spec.build.source.git,
    image: override.image ?? runtime.image,
    port: runtime.port,
    replicas: override.replicas ?? runtime.replicas,
    runAsUser: runtime.runAsUser,
    healthCheck: { ...runtime.healthCheck, livenessPath: runtime.healthCheck.livenessPath ?? runtime.healthCheck.path },
    resources: runtime.resources,
    env: runtime.env,
    writablePaths: runtime.writablePaths,
    metrics: runtime.metrics,
    bindings: spec.spec.bindings,
    callers: spec.spec.callers,
    hostnames: spec.spec.routes.map((r) => hostname(r.host, a.domain)),
    autoscaling: spec.spec.autoscaling,
    deploy: spec.spec.deploy,
    ...(override.canary && {
      canary: { image: override.canary.image, replicas: override.canary.replicas ?? spec.spec.deploy.canary.replicas },
    }),
  };
}
