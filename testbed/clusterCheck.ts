/**
 * `npm run cluster-check` (docs/security.md#the-real-api-server): every object the program renders
 * against a real kube-apiserver (testbed/kube.ts). The vendored CRDs are installed first; then
 * each stack in turn is applied (server-side, strict field validation) and read back, its
 * workloads' pods judged by PodSecurity and its accounts' access asked of RBAC; its objects are
 * removed before the next stack (a shard's platform after the shard), so no stack's RBAC colours
 * another's answers. Prints the tables and exits 1 on any difference; test/cluster.real.test.ts
 * runs the same code under vitest.
 */
import { RESTRICTED_NAMESPACE_LABELS } from "../model/baseline";
import { FIELD_MANAGER, Resources, admitWorkloads, applyStack, installCrds, namespacesOf, removeStack, submitPod } from "./clusterApply";
import { renderStacks, type StackObjects } from "./clusterObjects";
import { accessOf, accountsOf, aggregatedBindings, type AccountAnswers } from "./clusterRbac";
import { differences, formatReport, type ClusterReport, type Controls, type StackReport } from "./clusterReport";
import { startKube, type Kube } from "./kube";
import { Servers } from "./servers";
import { toolPath } from "./toolchain";

export const KUBE_TOOLS = ["etcd", "kube-apiserver", "kubectl"];
/** The control namespace: restricted like ours, and made by this check alone. */
const CONTROL_NAMESPACE = "enclii-check-restricted";

const strictApply = (kube: Kube, path: string, body: object) =>
  kube.api("PATCH", `${path}?fieldManager=${FIELD_MANAGER}&fieldValidation=Strict`, body, "application/apply-patch+yaml");

/** Proof that the checks can fail: the server must refuse each of these. */
async function controls(kube: Kube): Promise<Controls> {
  const unknownField = await strictApply(kube, "/api/v1/namespaces/default/configmaps/control", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "control", namespace: "default" },
    datta: { typo: "yes" },
  });
  const unknownCustomField = await strictApply(kube, "/apis/monitoring.coreos.com/v1/namespaces/default/podmonitors/control", {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: "control", namespace: "default" },
    spec: { selector: {}, podMetricsEndpoints: [{ port: "metrics" }], scrapeIntervall: "30s" },
  });
  const ns = await strictApply(kube, `/api/v1/namespaces/${CONTROL_NAMESPACE}`, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: CONTROL_NAMESPACE, labels: RESTRICTED_NAMESPACE_LABELS },
  });
  if (ns.status !== 200 && ns.status !== 201) throw new Error(`control namespace: ${ns.status} ${JSON.stringify(ns.body)}`);
  await kube.api("POST", `/api/v1/namespaces/${CONTROL_NAMESPACE}/serviceaccounts`, { metadata: { name: "default" } });
  const privilegedPod = await submitPod(kube, CONTROL_NAMESPACE, "privileged", {
    spec: { containers: [{ name: "root", image: "busybox:1.37.0", securityContext: { privileged: true } }] },
  });
  return { unknownField, unknownCustomField, privilegedPod };
}

export async function checkCluster(kube: Kube, stacks: StackObjects[]): Promise<ClusterReport> {
  const crds = await installCrds(kube);
  const resources = new Resources(kube);
  const out: StackReport[] = [];
  let present: StackObjects[] = [];
  for (const [i, stack] of stacks.entries()) {
    const applied = await applyStack(kube, resources, stack);
    const admissions = await admitWorkloads(kube, stack);
    const access: AccountAnswers[] = [];
    for (const account of accountsOf(stack)) access.push({ account, answers: await accessOf(kube, account, namespacesOf(stack)) });
    const aggregated = await aggregatedBindings(kube, stack);
    out.push({ stack: stack.stack, applied, admissions, access, aggregated, releases: stack.releases });
    present.push(stack);
    // A platform stays while its shards are applied: they go into its cluster, beside its objects.
    if (stacks[i + 1]?.platform === (stack.platform ?? stack.stack)) continue;
    for (const s of present.reverse()) await removeStack(kube, resources, s);
    present = [];
  }
  return { crds, stacks: out, controls: await controls(kube) };
}

async function main(): Promise<number> {
  const started = Date.now();
  const missing = KUBE_TOOLS.filter((b) => !toolPath(b));
  if (missing.length > 0) {
    process.stderr.write(`cluster-check needs ${missing.join(", ")}, not built yet: run npm run toolchain\n`);
    return 2;
  }
  const servers = new Servers();
  // Whatever ends this process, the servers go with it (SIGKILL too: kube.ts starts them with a parent-death signal).
  process.once("exit", () => servers.killAllNow());
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, () => process.exit(sig === "SIGINT" ? 130 : 143));
  try {
    // The plans render while the servers start.
    const [kube, stacks] = await Promise.all([startKube(servers), renderStacks()]);
    const report = await checkCluster(kube!, stacks);
    process.stdout.write(`${formatReport(report)}\n`);
    const diffs = differences(report);
    const took = `${Math.round((Date.now() - started) / 1000)} s`;
    if (diffs.length === 0) process.stdout.write(`\ncluster-check: no differences (${took})\n`);
    else process.stderr.write(`\ncluster-check: ${diffs.length} differences (${took}):\n${diffs.map((d) => `  - ${d}`).join("\n")}\n`);
    return diffs.length === 0 ? 0 : 1;
  } finally {
    await servers.stopAll();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`cluster-check failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
