/**
 * The k3s upgrade's drain and uncordon steps (components/k3s/upgrade.ts): shellchecked, and run
 * by bash against a stand-in `k3s` that answers like a cluster from files and records every call,
 * in the order the program's dependencies give them (walked from the offline plan of a three
 * servers + agent layout). test/k3s-upgrade.real.test.ts runs the same scripts against a real
 * kube-apiserver and kubectl.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource } from "../automation/plan";
import { loadStackConfig } from "../automation/stackFile";
import { DRAIN_SUFFIX, UNCORDON_SUFFIX, renderDrainScript, renderUncordonScript } from "../components/k3s/upgrade";
import { maintenanceSchema, type MaintenanceWindow } from "../model/config/maintenance";
import { BOOTSTRAP_SUFFIX } from "../model/names";
import { ConfigError, parseEnvironment } from "../stacks/config";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT, requireTool, shellcheck } from "./harness";

const OLD = "v1.34.11+k3s1";
const NEW = "v1.35.8+k3s1";
const WINDOW: MaintenanceWindow = maintenanceSchema.parse({ days: ["sat", "sun"] });
const NODE_STATE =
  '-o jsonpath={.status.conditions[?(@.type=="Ready")].status};{.status.nodeInfo.kubeletVersion};{.spec.unschedulable};{.metadata.annotations.enclii\\.io/drained-for}';
const getNode = (n: string) => `kubectl get node ${n} --ignore-not-found ${NODE_STATE}`;
const GET_NODES =
  'kubectl get nodes -o jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';
const annotate = (n: string) => `kubectl annotate --overwrite node ${n} enclii.io/drained-for=${NEW}`;
const drain = (n: string, timeoutS = 600) => `kubectl drain ${n} --ignore-daemonsets --delete-emptydir-data --timeout=${timeoutS}s`;
const unannotate = (n: string) => `kubectl annotate node ${n} enclii.io/drained-for-`;
const GET_PODS = (n: string) =>
  `kubectl get pods --all-namespaces --field-selector spec.nodeName=${n} -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].kind,PHASE:.status.phase`;

/**
 * `k3s kubectl` as a cluster answers the scripts, from `$UPGRADE_STATE/nodes/<node>/{ready,version,
 * unschedulable,annotation}`; every call's arguments go to `calls`. A refused drain (`refuse-drain`)
 * prints what kubectl v0.35.4 prints when a PodDisruptionBudget holds a pod until the timeout:
 * kubectl's pkg/drain/drain.go evictPods (the retry line and "global timeout reached") and
 * pkg/cmd/drain/drain.go RunDrain and deleteOrEvictPodsSimple (the pending pods and nodes), around the
 * API server's 429 text from pkg/registry/core/pod/storage/eviction.go checkAndDecrement, then
 * the returned error as kubectl's main prints it; test/k3s-upgrade.real.test.ts checks the real
 * kubectl prints these lines. Like kubectl, it has cordoned the node before it fails and leaves it so.
 */
const STANDIN_K3S = `#!/usr/bin/env bash
set -euo pipefail
s="$UPGRADE_STATE"
printf '%s\\n' "$*" >> "$s/calls"
[ "$1" = kubectl ] || { echo "stand-in k3s: only kubectl: $*" >&2; exit 2; }
shift
field() { cat "$s/nodes/$1/$2" 2>/dev/null || true; }
case "$*" in
  "get node "*" --ignore-not-found "*)
    [ -d "$s/nodes/$3" ] || exit 0
    printf '%s;%s;%s;%s' "$(field "$3" ready)" "$(field "$3" version)" "$(field "$3" unschedulable)" "$(field "$3" annotation)" ;;
  "get nodes -o jsonpath="*)
    for d in "$s"/nodes/*/; do n=$(basename "$d"); printf '%s %s\\n' "$n" "$(field "$n" ready)"; done ;;
  "annotate --overwrite node "*) printf '%s' "\${5#*=}" > "$s/nodes/$4/annotation" ;;
  "annotate node "*-) rm -f "$s/nodes/$3/annotation" ;;
  "drain "*)
    echo true > "$s/nodes/$2/unschedulable"
    echo "node/$2 cordoned"
    if [ -e "$s/refuse-drain" ]; then
      timeout=\${5#--timeout=}
      echo "evicting pod apps/web-0"
      echo "error when evicting pods/\\"web-0\\" -n \\"apps\\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget." >&2
      echo "There are pending pods in node \\"$2\\" when an error occurred: error when evicting pods/\\"web-0\\" -n \\"apps\\": global timeout reached: $timeout" >&2
      echo "pod/web-0" >&2
      echo "error: unable to drain node \\"$2\\" due to error: error when evicting pods/\\"web-0\\" -n \\"apps\\": global timeout reached: $timeout, continuing command..." >&2
      printf 'There are pending nodes to be drained:\\n %s\\n' "$2" >&2
      echo "error when evicting pods/\\"web-0\\" -n \\"apps\\": global timeout reached: $timeout" >&2
      exit 1
    fi
    echo "node/$2 drained" ;;
  "uncordon "*) rm -f "$s/nodes/$2/unschedulable" ;;
  "get pods "*) printf 'NAMESPACE   NAME       OWNER        PHASE\\napps        web-0      ReplicaSet   Running\\nkube-system svclb-x    DaemonSet    Running\\n' ;;
  *) echo "stand-in k3s: unexpected: kubectl $*" >&2; exit 1 ;;
esac
`;

/** `date` for the window check answers `$UPGRADE_STATE/now` and records its zone and locale; `+%s` is the real clock. */
const STANDIN_DATE = `#!/usr/bin/env bash
if [ "$*" = "+%s" ]; then PATH=/usr/bin:/bin exec date +%s; fi
printf 'date %s TZ=%s LC_ALL=%s\\n' "$*" "$TZ" "$LC_ALL" >> "$UPGRADE_STATE/calls"
cat "$UPGRADE_STATE/now"
`;

interface NodeState {
  ready?: string;
  version?: string;
  unschedulable?: boolean;
  annotation?: string;
}

const tmp = mkdtempSync(join(tmpdir(), "enclii-k3s-upgrade-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let clusters = 0;

/** A stand-in cluster holding `nodes`; `k3s: false` is a first server k3s is not installed on yet. */
function cluster(nodes: Record<string, NodeState>, o: { k3s?: boolean; refuseDrain?: boolean; now?: string } = {}) {
  const state = join(tmp, `cluster-${++clusters}`);
  const bin = join(state, "bin");
  mkdirSync(bin, { recursive: true });
  if (o.k3s !== false) writeFileSync(join(bin, "k3s"), STANDIN_K3S, { mode: 0o755 });
  writeFileSync(join(bin, "date"), STANDIN_DATE, { mode: 0o755 });
  writeFileSync(join(state, "calls"), "");
  if (o.refuseDrain) writeFileSync(join(state, "refuse-drain"), "");
  if (o.now) writeFileSync(join(state, "now"), `${o.now}\n`);
  const dir = (n: string) => join(state, "nodes", n);
  for (const [name, n] of Object.entries(nodes)) {
    mkdirSync(dir(name), { recursive: true });
    const fields = { ready: n.ready ?? "True", version: n.version ?? OLD, unschedulable: n.unschedulable ? "true" : undefined };
    for (const [f, v] of Object.entries({ ...fields, annotation: n.annotation })) if (v !== undefined) writeFileSync(join(dir(name), f), v);
  }
  const read = (n: string, f: string) => (existsSync(join(dir(n), f)) ? readFileSync(join(dir(n), f), "utf8").trim() : undefined);
  return {
    run: (script: string) =>
      spawnSync("bash", ["-s"], { input: script, env: { PATH: `${bin}:/usr/bin:/bin`, UPGRADE_STATE: state }, encoding: "utf8" }),
    calls: () => readFileSync(join(state, "calls"), "utf8").split("\n").filter(Boolean),
    clearCalls: () => writeFileSync(join(state, "calls"), ""),
    /** What the bootstrap does to a node: k3s restarted on the new version. */
    upgrade: (n: string) => writeFileSync(join(dir(n), "version"), NEW),
    node: (n: string) => ({ unschedulable: read(n, "unschedulable") === "true", annotation: read(n, "annotation") }),
  };
}

const drainA = (maintenance = WINDOW) => renderDrainScript({ nodeName: "a", k3sVersion: NEW, maintenance });
const uncordonA = (readyTimeoutS?: number) => renderUncordonScript({ nodeName: "a", k3sVersion: NEW, readyTimeoutS });

describe("the drain and uncordon scripts", () => {
  it("are shellcheck-clean", () => {
    if (!requireTool("shellcheck")) return;
    expect(shellcheck(drainA())).toBe("");
    expect(shellcheck(drainA(maintenanceSchema.parse(undefined)))).toBe("");
    expect(shellcheck(uncordonA())).toBe("");
  });

  it("do nothing on a new cluster, a node not joined yet, or a node already on the version (a re-run)", () => {
    const fresh = cluster({}, { k3s: false });
    const r = fresh.run(drainA());
    expect([r.status, r.stderr]).toEqual([
      0,
      "[enclii a] k3s is not installed on the first server yet (a new cluster): nothing to drain\n",
    ]);
    expect(fresh.calls()).toEqual([]);

    const joining = cluster({ b: {} });
    const j = joining.run(drainA());
    expect([j.status, j.stderr]).toEqual([0, "[enclii a] node a is not in the cluster yet: nothing to drain\n"]);
    expect(joining.calls()).toEqual([getNode("a")]);

    const done = cluster({ a: { version: NEW }, b: {} });
    const d = done.run(drainA());
    expect([d.status, d.stderr]).toEqual([0, `[enclii a] node a already runs k3s ${NEW}: nothing to drain\n`]);
    expect(done.calls()).toEqual([getNode("a")]);
    // The uncordon of a node we did not cordon leaves it alone.
    expect(done.run(uncordonA()).stderr).toBe(`[enclii a] node a is Ready on k3s ${NEW}\n`);
    expect(done.calls().slice(1)).toEqual([getNode("a")]);
  });

  it("undoes a drain a PodDisruptionBudget stops: uncordoned, annotation removed, the pods listed, exit 1", () => {
    const c = cluster({ a: {}, b: {} }, { refuseDrain: true });
    const r = c.run(drainA());
    expect(r.status).toBe(1);
    expect(c.calls()).toEqual([getNode("a"), GET_NODES, annotate("a"), drain("a"), "kubectl uncordon a", unannotate("a"), GET_PODS("a")]);
    expect(c.node("a")).toEqual({ unschedulable: false, annotation: undefined });
    expect(r.stderr).toContain("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n");
    expect(r.stderr).toContain(
      `There are pending nodes to be drained:\n a\nerror when evicting pods/"web-0" -n "apps": global timeout reached: 600s\n[enclii a] pods still`,
    );
    expect(r.stderr.slice(r.stderr.indexOf("[enclii a] pods still"))).toBe(
      [
        "[enclii a] pods still on node a (DaemonSets' pods stay by design):",
        "NAMESPACE   NAME       OWNER        PHASE",
        "apps        web-0      ReplicaSet   Running",
        "[enclii a] node a could not be drained within 600s (kubectl's reason is above): it is schedulable again and nothing was upgraded. Free the pods listed above (a PodDisruptionBudget that allows no disruption, a pod without a controller), then run pulumi up again (docs/runbooks/upgrades.md#when-a-drain-stops)",
        "",
      ].join("\n"),
    );
  });

  it("leaves a node a person cordoned cordoned, even when its drain stops", () => {
    const c = cluster({ a: { unschedulable: true }, b: {} });
    expect(c.run(drainA()).stderr).toContain(
      "[enclii a] node a was cordoned before this run, not by enclii: it is drained and stays cordoned after the upgrade\n",
    );
    expect(c.calls()).toEqual([getNode("a"), GET_NODES, drain("a")]);
    c.upgrade("a");
    const u = c.run(uncordonA());
    expect([u.status, u.stderr]).toEqual([0, `[enclii a] node a is Ready on k3s ${NEW}; it was cordoned, not by enclii, and stays so\n`]);
    expect(c.node("a").unschedulable).toBe(true);

    const refused = cluster({ a: { unschedulable: true }, b: {} }, { refuseDrain: true });
    const r = refused.run(drainA());
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(": it stays cordoned, as it was before this run and nothing was upgraded.");
    expect(refused.calls()).not.toContain("kubectl uncordon a");
  });

  it("upgrades a single node only inside the maintenance window, saying what it costs, and never drains it", () => {
    const downtime = `[enclii a] node a is the only Ready node: its pods have nowhere to go, so it is not drained. Upgrading k3s ${OLD} -> ${NEW} stops the Kubernetes API while k3s restarts; containers keep running through the restart, but may restart once for the new kubelet\n`;
    const outside = cluster({ a: {}, b: { ready: "False" } }, { now: "Mon 10:00" });
    const r = outside.run(drainA());
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `${downtime}[enclii a] not upgrading node a outside the maintenance window (sat, sun 03:00-05:00 Europe/Berlin; it is Mon 10:00 there): nothing was changed. Run pulumi up inside the window, or, in an emergency, widen enclii:maintenance for this run (docs/runbooks/upgrades.md#the-maintenance-window)\n`,
    );
    expect(outside.calls()).toEqual([getNode("a"), GET_NODES, "date +%a %H:%M TZ=Europe/Berlin LC_ALL=C"]);

    for (const [now, inside] of [
      ["Sun 03:00", true],
      ["Sat 04:59", true],
      ["Sun 05:00", false],
      ["Sun 02:59", false],
      ["Fri 04:00", false],
    ] as const) {
      const c = cluster({ a: {} }, { now });
      const run = c.run(drainA());
      expect(run.status, now).toBe(inside ? 0 : 1);
      if (inside)
        expect(run.stderr, now).toBe(
          `${downtime}[enclii a] inside the maintenance window (sat, sun 03:00-05:00 Europe/Berlin; it is ${now} there): upgrading\n`,
        );
      expect(
        c.calls().filter((call) => /drain |annotate/.test(call)),
        now,
      ).toEqual([]);
    }
  });

  it("waits for the node to come back on the new version, and says so when it does not", () => {
    const c = cluster({ a: { annotation: NEW, unschedulable: true }, b: {} });
    const r = c.run(uncordonA(0));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `[enclii a] node a is not Ready on k3s ${NEW} after 0s (Ready: True, version: ${OLD}): left as it is. Look at k3s on that node (journalctl -u k3s, or -u k3s-agent on an agent), then run pulumi up again\n`,
    );
    expect(c.node("a")).toEqual({ unschedulable: true, annotation: NEW });
    c.upgrade("a");
    c.clearCalls();
    const u = c.run(uncordonA(0));
    expect([u.status, u.stderr]).toEqual([0, `[enclii a] node a is Ready on k3s ${NEW}: uncordoned\n`]);
    expect(c.calls()).toEqual([getNode("a"), "kubectl uncordon a", unannotate("a")]);
    expect(c.node("a")).toEqual({ unschedulable: false, annotation: undefined });
  });
});

/** The HA example with an agent listed before its servers: the program still puts servers first. */
async function haWithAgent(): Promise<PlanResource[]> {
  const cfg = loadStackConfig(join(ROOT, "examples/Pulumi.ha.yaml"));
  const agent = {
    name: "worker",
    kind: "cloud",
    serverType: "cpx32",
    locations: ["nbg1", "fsn1", "hel1"],
    role: "agent",
    publicIpv4: false,
  };
  cfg.config["enclii:nodes"] = JSON.stringify([agent, ...JSON.parse(cfg.config["enclii:nodes"])]);
  return (await runPlan("ha", cfg)).resources;
}

const STEP_SUFFIXES = [DRAIN_SUFFIX, BOOTSTRAP_SUFFIX, UNCORDON_SUFFIX];
const isStep = (r: PlanResource) => r.type === "command:remote:Command" && STEP_SUFFIXES.some((s) => r.name.endsWith(s));

/** The steps in the order their dependencies force: each one's only successor is the step that depends on it. */
function chain(resources: PlanResource[]): PlanResource[] {
  const steps = resources.filter(isStep);
  const after = (r: PlanResource) => steps.filter((s) => s.dependencies.includes(r.urn));
  const heads = steps.filter((s) => !steps.some((p) => s.dependencies.includes(p.urn)));
  expect(heads.map((h) => h.name)).toEqual(["enclii-k3s-gateway-drain"]);
  const order = [heads[0]];
  for (let next = after(heads[0]); next.length > 0; next = after(order.at(-1)!)) {
    expect(next, `${order.at(-1)!.name} has one successor`).toHaveLength(1);
    order.push(next[0]);
  }
  expect(order).toHaveLength(steps.length);
  return order;
}

describe("the program's order, run against the stand-in (three servers and an agent)", () => {
  let steps: PlanResource[];
  let accounts: PlanResource;
  beforeAll(async () => {
    const resources = await haWithAgent();
    steps = chain(resources);
    accounts = resources.find((r) => r.name === "enclii-k3s-accounts")!;
  });

  it("chains drain, bootstrap and uncordon per node, servers first, the accounts after all of them", () => {
    expect(steps.map((s) => s.name.replace(/^enclii-k3s-/, ""))).toEqual(
      ["gateway", "node-1", "node-2", "worker"].flatMap((n) => [`${n}-drain`, `${n}-bootstrap`, `${n}-uncordon`]),
    );
    const bootstraps = steps.filter((s) => s.name.endsWith(BOOTSTRAP_SUFFIX));
    expect(bootstraps.map((b) => String(b.inputs.create).includes("INSTALL_K3S_EXEC=server"))).toEqual([true, true, true, false]);
    expect(accounts.dependencies).toEqual(expect.arrayContaining(steps.filter((s) => !s.name.endsWith(DRAIN_SUFFIX)).map((s) => s.urn)));
  });

  it("upgrades node by node: annotate, drain, the bootstrap, then uncordon, before the next node is touched", () => {
    const c = cluster({ gateway: {}, "node-1": {}, "node-2": {}, worker: {} });
    const calls: string[][] = [];
    for (const step of steps) {
      const node = step.name.replace(/^enclii-k3s-/, "").replace(/-(drain|bootstrap|uncordon)$/, "");
      c.clearCalls();
      if (step.name.endsWith(BOOTSTRAP_SUFFIX)) c.upgrade(node);
      else {
        const r = c.run(String(step.inputs.create));
        expect(r.status, `${step.name}: ${r.stderr}`).toBe(0);
      }
      calls.push(c.calls());
    }
    const perNode = (n: string) => [
      [getNode(n), GET_NODES, annotate(n), drain(n)],
      [],
      [getNode(n), "kubectl uncordon " + n, unannotate(n)],
    ];
    expect(calls).toEqual(["gateway", "node-1", "node-2", "worker"].flatMap(perNode));
    for (const n of ["gateway", "node-1", "node-2", "worker"]) expect(c.node(n)).toEqual({ unschedulable: false, annotation: undefined });
  });

  it("renders each step's script from the node, the version and the window alone, so only a change of those runs it again", () => {
    const drains = steps.filter((s) => s.name.endsWith(DRAIN_SUFFIX));
    const ha = maintenanceSchema.parse(undefined);
    expect(drains.map((d) => d.inputs.create)).toEqual(
      ["gateway", "node-1", "node-2", "worker"].map((nodeName) => renderDrainScript({ nodeName, k3sVersion: NEW, maintenance: ha })),
    );
    for (const s of steps.filter((x) => !x.name.endsWith(BOOTSTRAP_SUFFIX)))
      expect(Object.keys(s.inputs).sort(), s.name).toEqual(["connection", "create", "logging"]);
  });
});

describe("enclii:maintenance: what a stack file is told when the window is wrong", () => {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.production.yaml"));
  const problemsOf = (maintenance: unknown): string[] => {
    const raw = { ...cfg.config, "enclii:maintenance": JSON.stringify(maintenance) };
    try {
      parseEnvironment("production", raw, new Set(cfg.secretKeys), readSpecFiles(DOGFOODING_DIR));
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error("the config was accepted");
  };

  it.each([
    [
      "an end before the start",
      { start: "05:00", end: "03:00" },
      ["enclii:maintenance.end: must be later than start (05:00) on the same day"],
    ],
    [
      "an end equal to the start",
      { start: "03:00", end: "03:00" },
      ["enclii:maintenance.end: must be later than start (03:00) on the same day"],
    ],
    ["a day listed twice", { days: ["sat", "sun", "sat"] }, ["enclii:maintenance.days[2]: sat is listed twice"]],
    [
      "a zone the IANA database does not know",
      { timeZone: "Europe/Atlantis" },
      ["enclii:maintenance.timeZone: must be an IANA time zone such as Europe/Berlin"],
    ],
  ])("%s", (_, maintenance, problems) => {
    expect(problemsOf(maintenance)).toEqual(problems);
  });
});
