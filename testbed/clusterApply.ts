/**
 * What a real API server says about the objects we render (docs/security.md#the-real-api-server):
 * server-side apply with strict field validation, each object read back and compared with what
 * was sent, and every workload's pod template submitted as a Pod (server-side dry run) for
 * PodSecurity to judge. The server has no controllers: nothing runs, and objects are removed by
 * this code, never by garbage collection.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { KubeObject, StackObjects } from "./clusterObjects";
import type { ApiResponse, Kube } from "./kube";
import { waitFor } from "./servers";

export const FIELD_MANAGER = "enclii";
export const CRD_DIR = join(__dirname, "..", "schemas", "crds");
const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];
const ENFORCE = "pod-security.kubernetes.io/enforce";

export interface Applied {
  /** `Kind namespace/name` */
  ref: string;
  source: string;
  /** The server's refusal; undefined when it stored the object. */
  refused?: string;
  /** Paths of fields sent that the stored object lacks or holds with another value. */
  lost: string[];
  /** Empty values sent that the server stores as absent (compareStored). */
  omitted: string[];
  warnings: string[];
}

export interface Admission {
  ref: string;
  namespace: string;
  /** The namespace's `pod-security.kubernetes.io/enforce` level, as the server holds it. */
  level: string;
  refused?: string;
  warnings: string[];
}

export const refOf = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
const why = (r: ApiResponse) => `${r.status} ${typeof r.body === "object" ? (r.body?.message ?? JSON.stringify(r.body)) : r.body}`;

/** Maps apiVersion + kind to the REST resource through the server's discovery (CRDs included, once served). */
export class Resources {
  private readonly lists = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();
  constructor(private readonly kube: Kube) {}

  async path(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<string> {
    const base = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    let list = this.lists.get(base);
    if (!list?.some((r) => r.kind === o.kind)) {
      // A CRD's kind reaches discovery shortly after it is Established: wait for it, not for a time.
      list = await waitFor(`${o.apiVersion} ${o.kind} in discovery`, async () => {
        const r = await this.kube.api("GET", base);
        const found = r.status === 200 ? (r.body.resources as { name: string; kind: string; namespaced: boolean }[]) : undefined;
        return found?.some((x) => x.kind === o.kind) ? found : undefined;
      });
      this.lists.set(base, list);
    }
    const res = list.find((r) => r.kind === o.kind && !r.name.includes("/"))!;
    const ns = res.namespaced ? `/namespaces/${o.metadata.namespace ?? "default"}` : "";
    return `${base}${ns}/${res.name}/${o.metadata.name}`;
  }
}

/** The vendored CRDs with kubectl (server-side, strict), then waits until each is Established. */
export async function installCrds(kube: Kube): Promise<string[]> {
  const r = kube.kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--validate=strict", "--recursive", "-f", CRD_DIR]);
  if (r.status !== 0) throw new Error(`kubectl apply of schemas/crds failed: ${r.stderr || r.stdout}`);
  const names = readdirSync(CRD_DIR, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => (parse(readFileSync(join(CRD_DIR, f), "utf8")) as KubeObject).metadata.name)
    .sort();
  for (const name of names)
    await waitFor(`CRD ${name} to be Established`, async () => {
      const crd = await kube.api("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conditions = (crd.body?.status?.conditions ?? []) as { type: string; status: string }[];
      return conditions.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    });
  return names;
}

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
function quantity(s: string): number | undefined {
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const [, num, suffix = ""] = m;
  const scale = /^[eE]/.test(suffix)
    ? 10 ** Number(suffix.slice(1))
    : suffix.endsWith("i")
      ? 1024 ** ("KMGTPE".indexOf(suffix[0]) + 1)
      : (SUFFIX[suffix] ?? 1);
  return Number(num) * scale;
}

/** The server writes quantities canonically ("0.5" → "500m"): the same amount is the same value. */
function sameValue(sent: unknown, stored: unknown): boolean {
  if (sent === stored) return true;
  if (typeof sent !== "string" || typeof stored !== "string") return false;
  const [a, b] = [quantity(sent), quantity(stored)];
  return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
}

const isZero = (v: unknown) =>
  v === "" || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === "object" && Object.keys(v).length === 0);

export interface Comparison {
  /** Paths of `sent` that `stored` lacks or holds with another value. */
  lost: string[];
  /**
   * Paths where `sent` held an empty string, list or map and `stored` has nothing: the API's Go
   * types omit zero values when they serialize, and absent and empty mean the same to them
   * (`egress: []` beside `policyTypes: [Egress]` still denies all egress). Listed, not failed.
   */
  omitted: string[];
}

/** Compares what was sent with what the server stored: it may add fields (defaults), never drop or change one. */
export function compareStored(sent: unknown, stored: unknown, path = "", out: Comparison = { lost: [], omitted: [] }): Comparison {
  const at = path || ".";
  if (sent === null || typeof sent !== "object") {
    if (!sameValue(sent, stored)) out.lost.push(`${at}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`);
  } else if (stored === null || typeof stored !== "object") {
    out.lost.push(`${at}: sent ${Array.isArray(sent) ? "a list" : "a map"}, stored ${JSON.stringify(stored)}`);
  } else if (Array.isArray(sent)) {
    const have: unknown[] = Array.isArray(stored) ? stored : [];
    if (have.length !== sent.length) out.lost.push(`${at}: sent ${sent.length} items, stored ${have.length}`);
    sent.forEach((v, i) => compareStored(v, have[i], `${path}[${i}]`, out));
  } else {
    const s = stored as Record<string, unknown>;
    for (const [k, v] of Object.entries(sent)) {
      if (k in s) compareStored(v, s[k], `${path}.${k}`, out);
      else if (isZero(v)) out.omitted.push(`${path}.${k}`);
      else out.lost.push(`${path}.${k}: dropped`);
    }
  }
  return out;
}

/** A Secret's `stringData` is write-only: the server stores it in `data`, base64-encoded. */
function asStored(o: KubeObject): KubeObject {
  if (o.kind !== "Secret" || o.stringData === undefined) return o;
  const { stringData, ...rest } = o;
  const encoded = Object.entries(stringData as Record<string, string>).map(([k, v]) => [k, Buffer.from(v).toString("base64")]);
  return { ...rest, data: { ...(rest.data as object), ...Object.fromEntries(encoded) } };
}

/** One object by server-side apply, strict, and read back; as whoever `kube.api` calls as. */
export async function applyOne(kube: Kube, resources: Resources, source: string, o: KubeObject): Promise<Applied> {
  // A kind the server does not serve (no CRD for it) is that object's refusal, not the end of the check.
  const path = await resources.path(o).catch((err: Error) => err);
  if (path instanceof Error) return { ref: refOf(o), source, refused: `not served: ${path.message}`, lost: [], omitted: [], warnings: [] };
  const query = `?fieldManager=${FIELD_MANAGER}&fieldValidation=Strict`;
  const r = await kube.api("PATCH", `${path}${query}`, o, "application/apply-patch+yaml");
  const failed = { ref: refOf(o), source, lost: [], omitted: [], warnings: r.warnings };
  if (r.status !== 200 && r.status !== 201) return { ...failed, refused: why(r) };
  const back = await kube.api("GET", path);
  if (back.status !== 200) return { ...failed, refused: `read back: ${why(back)}` };
  return { ref: refOf(o), source, ...compareStored(asStored(o), back.body), warnings: r.warnings };
}

const ADMISSION_KINDS = ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"];
const ADMISSION_API = "/apis/admissionregistration.k8s.io/v1";
const CANARY = "enclii-check-canary";

/**
 * Waits until the admission policies and bindings written so far are in force. The API server
 * loads them from its watches, each delivering objects in the order they were written: a canary
 * policy and binding written after them, refusing a ConfigMap of their name, is in force only
 * once everything written before it is. The canary is then removed, and waited out too, so a
 * later call cannot see this one's canary before its own policies.
 */
export async function policiesInForce(kube: Kube): Promise<void> {
  const meta = { apiVersion: "admissionregistration.k8s.io/v1", metadata: { name: CANARY } };
  const canary = [
    {
      path: `${ADMISSION_API}/validatingadmissionpolicies/${CANARY}`,
      body: {
        ...meta,
        kind: "ValidatingAdmissionPolicy",
        spec: {
          matchConstraints: {
            resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] }],
          },
          validations: [{ expression: `object.metadata.name != "${CANARY}"`, message: CANARY }],
        },
      },
    },
    {
      path: `${ADMISSION_API}/validatingadmissionpolicybindings/${CANARY}`,
      body: { ...meta, kind: "ValidatingAdmissionPolicyBinding", spec: { policyName: CANARY, validationActions: ["Deny"] } },
    },
  ];
  const refused = async () => {
    const r = await kube.api("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", { metadata: { name: CANARY } });
    return r.status !== 201 && String(r.body?.message).includes(CANARY);
  };
  for (const { path, body } of canary) {
    const r = await kube.api("PATCH", `${path}?fieldManager=${FIELD_MANAGER}`, body, "application/apply-patch+yaml");
    if (r.status !== 200 && r.status !== 201) throw new Error(`the admission canary: ${why(r)}`);
  }
  await waitFor("the admission policies to be in force", async () => ((await refused()) ? true : undefined));
  for (const { path } of canary.reverse()) await kube.api("DELETE", path);
  await waitFor("the admission canary to be gone", async () => ((await refused()) ? undefined : true));
}

/**
 * A stack's objects, admission policies first, then Namespaces, each applied and read back. Each
 * namespace gets the `default` ServiceAccount the controller-manager would have made (pods that
 * name no account use it).
 */
export async function applyStack(kube: Kube, resources: Resources, stack: StackObjects): Promise<Applied[]> {
  const policies = stack.objects.filter((r) => ADMISSION_KINDS.includes(r.object.kind));
  const first = stack.objects.filter((r) => r.object.kind === "Namespace");
  const rest = stack.objects.filter((r) => r.object.kind !== "Namespace" && !ADMISSION_KINDS.includes(r.object.kind));
  const out: Applied[] = [];
  // The admission policies first, in force before anything they judge (Namespaces included) is applied.
  for (const r of policies) out.push(await applyOne(kube, resources, r.source, r.object));
  if (policies.length > 0) await policiesInForce(kube);
  for (const r of first) out.push(await applyOne(kube, resources, r.source, r.object));
  for (const ns of namespacesOf(stack)) {
    const sa = await kube.api("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: "default" } });
    if (sa.status !== 201 && sa.status !== 409) throw new Error(`default ServiceAccount in ${ns}: ${why(sa)}`);
  }
  for (const r of rest) out.push(await applyOne(kube, resources, r.source, r.object));
  return out;
}

export function namespacesOf(stack: StackObjects): string[] {
  const names = stack.objects.map((r) => (r.object.kind === "Namespace" ? r.object.metadata.name : r.object.metadata.namespace));
  return [...new Set(names.filter((n): n is string => n !== undefined))].sort();
}

/** Removes the stack's objects but its Namespaces (deleting one needs the namespace controller, absent here). */
export async function removeStack(kube: Kube, resources: Resources, stack: StackObjects): Promise<void> {
  for (const { object } of stack.objects.filter((r) => r.object.kind !== "Namespace")) {
    // A kind the server never served was never stored.
    const path = await resources.path(object).catch(() => undefined);
    if (!path) continue;
    const r = await kube.api("DELETE", path);
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new Error(`deleting ${refOf(object)}: ${why(r)}`);
  }
}

type Template = { metadata?: { labels?: object; annotations?: object }; spec: { volumes?: object[]; [field: string]: unknown } };
type WorkloadSpec = { template?: Template; jobTemplate?: { spec: { template: Template } }; volumeClaimTemplates?: KubeObject[] };

/** The pod a workload's controller would create: a StatefulSet's adds a claim volume per volumeClaimTemplate, as its controller does. */
function podTemplate(o: KubeObject): Template {
  const spec = o.spec as WorkloadSpec;
  if (o.kind === "CronJob") return spec.jobTemplate!.spec.template;
  const template = spec.template!;
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => ({
    name: c.metadata.name,
    persistentVolumeClaim: { claimName: `${c.metadata.name}-${o.metadata.name}-0` },
  }));
  return claims.length === 0
    ? template
    : { ...template, spec: { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims] } };
}

/** A Pod as the workload's controller would create it, submitted with dryRun=All: admission runs, nothing is stored. */
export async function submitPod(kube: Kube, namespace: string, name: string, template: Template): Promise<ApiResponse> {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name, namespace }, spec: template.spec };
  return kube.api("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`, pod);
}

export async function admitWorkloads(kube: Kube, stack: StackObjects): Promise<Admission[]> {
  const out: Admission[] = [];
  for (const { object } of stack.objects.filter((r) => WORKLOADS.includes(r.object.kind))) {
    const namespace = object.metadata.namespace ?? "default";
    // The level the server holds; without the label PodSecurity applies its default, privileged.
    const ns = await kube.api("GET", `/api/v1/namespaces/${namespace}`);
    const level = (ns.body?.metadata?.labels?.[ENFORCE] as string | undefined) ?? "unlabelled (privileged)";
    const r = await submitPod(kube, namespace, `${object.kind.toLowerCase()}-${object.metadata.name}`, podTemplate(object));
    out.push({ ref: refOf(object), namespace, level, refused: r.status === 201 ? undefined : why(r), warnings: r.warnings });
  }
  return out;
}
