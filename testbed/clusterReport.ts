/**
 * What `npm run cluster-check` found (testbed/clusterCheck.ts), as data, as the list of
 * differences it fails on, and as the tables it prints (docs/security.md#the-real-api-server).
 */
import { ACCESS_CHECKS, EXPECTED_ACCESS, formatAnswer } from "../model/leastPrivilege";
import { FIELD_MANAGER, type Admission, type Applied } from "./clusterApply";
import type { Release } from "./clusterObjects";
import { accessDifferences, type AccountAnswers } from "./clusterRbac";
import type { ApiResponse } from "./kube";

export interface StackReport {
  stack: string;
  applied: Applied[];
  admissions: Admission[];
  access: AccountAnswers[];
  /** Bindings to aggregated ClusterRoles, which the matrix cannot judge here (clusterRbac.ts). */
  aggregated: string[];
  releases: Release[];
}

export interface Controls {
  /** The server's answer to a ConfigMap with an unknown field, and to a PodMonitor with one. */
  unknownField: ApiResponse;
  unknownCustomField: ApiResponse;
  /** The server's answer to a privileged pod in a namespace enforcing "restricted". */
  privilegedPod: ApiResponse;
}

export interface ClusterReport {
  crds: string[];
  stacks: StackReport[];
  controls: Controls;
}

/**
 * Refused, naming the field. Server-side apply answers an undeclared field with 500 "failed to
 * create typed patch object … field not declared in schema" (Kubernetes 1.35) whatever
 * fieldValidation says (Strict adds duplicate keys, which JSON bodies cannot have): the typed
 * merge cannot hold the field. A status alone would not say which field.
 */
export function refusedNaming(r: ApiResponse, field: string): boolean {
  return r.status >= 400 && String(r.body?.message).includes(`.${field}: field not declared in schema`);
}

/** Every way the report differs from what the program promises, one line each; none is a pass. */
export function differences(report: ClusterReport): string[] {
  const out: string[] = [];
  for (const s of report.stacks) {
    for (const a of s.applied) {
      if (a.refused) out.push(`${s.stack}: ${a.ref} (${a.source}) refused: ${a.refused}`);
      for (const lost of a.lost) out.push(`${s.stack}: ${a.ref} (${a.source}) lost ${lost}`);
      for (const w of a.warnings) out.push(`${s.stack}: ${a.ref} (${a.source}) warned: ${w}`);
    }
    for (const p of s.admissions) {
      if (p.refused) out.push(`${s.stack}: the pod of ${p.ref} refused: ${p.refused}`);
      // Admitted at a laxer level proves little: the baseline puts every workload we render under "restricted".
      if (p.level !== "restricted") out.push(`${s.stack}: the pod of ${p.ref} was judged at ${p.level}, not restricted`);
      for (const w of p.warnings) out.push(`${s.stack}: the pod of ${p.ref} warned: ${w}`);
    }
    out.push(...accessDifferences(s.stack, s.access), ...s.aggregated);
  }
  const seen = new Set(report.stacks.flatMap((s) => s.access.map((a) => a.account)));
  for (const row of EXPECTED_ACCESS)
    if (!seen.has(row.account)) out.push(`model/leastPrivilege.ts: ${row.account} is in no stack; remove its row or fix the stack`);
  const c = report.controls;
  if (!refusedNaming(c.unknownField, "datta"))
    out.push(`control: a ConfigMap with an unknown field was not refused (${c.unknownField.status})`);
  if (!refusedNaming(c.unknownCustomField, "spec.scrapeIntervall"))
    out.push(`control: a PodMonitor with an unknown field was not refused (${c.unknownCustomField.status})`);
  if (c.privilegedPod.status !== 403 || !String(c.privilegedPod.body?.message).includes("violates PodSecurity"))
    out.push(`control: a privileged pod in a restricted namespace was not refused by PodSecurity (${c.privilegedPod.status})`);
  return out;
}

/** A Markdown table, columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

const sum = (s: StackReport, count: (a: Applied) => number) => String(s.applied.reduce((n, a) => n + count(a), 0));

function applyTable(report: ClusterReport): string {
  return table(
    ["stack", "objects", "refused", "fields lost", "empty values omitted", "warnings"],
    report.stacks.map((s) => [
      s.stack,
      String(s.applied.length),
      sum(s, (a) => (a.refused ? 1 : 0)),
      sum(s, (a) => a.lost.length),
      sum(s, (a) => a.omitted.length),
      sum(s, (a) => a.warnings.length),
    ]),
  );
}

/** Checks down, accounts across; accounts with the same answers share a column, named in the legend. */
function rbacMatrix(report: ClusterReport): string {
  const stacksOf = new Map<string, string[]>();
  const answersOf = new Map<string, AccountAnswers["answers"]>();
  for (const s of report.stacks)
    for (const a of s.access) {
      stacksOf.set(a.account, [...(stacksOf.get(a.account) ?? []), s.stack]);
      if (!answersOf.has(a.account)) answersOf.set(a.account, a.answers);
    }
  const groups = new Map<string, string[]>();
  for (const [account, answers] of [...answersOf].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = ACCESS_CHECKS.map((c) => formatAnswer(answers[c.id])).join("|");
    groups.set(key, [...(groups.get(key) ?? []), account]);
  }
  const columns = [...groups.values()];
  const label = (accounts: string[], i: number) => (accounts.length === 1 ? accounts[0] : `${accounts.length} accounts (${i + 1})`);
  const matrix = table(
    ["check", ...columns.map(label)],
    ACCESS_CHECKS.map((c) => [c.id, ...columns.map((accounts) => formatAnswer(answersOf.get(accounts[0])![c.id]))]),
  );
  const legend = columns.map((accounts, i) => {
    const named = accounts.map((a) => `${a} (${stacksOf.get(a)!.join(", ")})`).join("; ");
    return accounts.length === 1 ? `  ${named}` : `  ${label(accounts, i)}: ${named}`;
  });
  return `${matrix}\n${legend.join("\n")}`;
}

export function formatReport(report: ClusterReport): string {
  // Which fields, by kind and path (list positions folded): the same few wherever they occur.
  const omitted = [
    ...new Set(
      report.stacks.flatMap((s) => s.applied.flatMap((a) => a.omitted.map((p) => `${a.ref.split(" ")[0]} ${p.replace(/\[\d+\]/g, "[]")}`))),
    ),
  ].sort();
  const releases = report.stacks
    .filter((s) => s.releases.length > 0)
    .map((s) => `  ${s.stack}: ${s.releases.map((r) => `${r.namespace}/${r.chart}`).join(", ")}`);
  const pods = table(
    ["stack", "workload", "namespace enforces", "PodSecurity (server-side dry run)"],
    report.stacks.flatMap((s) => s.admissions.map((p) => [s.stack, p.ref, p.level, p.refused ? `REFUSED: ${p.refused}` : "admitted"])),
  );
  const c = report.controls;
  const control = (r: ApiResponse) => `${r.status} ${String(r.body?.message ?? "").split("\n")[0]}`;
  return [
    `CRDs installed and Established: ${report.crds.length}`,
    `\nServer-side apply (field manager ${FIELD_MANAGER}, fieldValidation=Strict), each object read back:\n${applyTable(report)}`,
    `Empty values stored as absent (the API omits zero values; same meaning): ${omitted.join(", ") || "none"}`,
    `Helm releases not applied (their charts are not in the repository; Helm renders them at install):\n${releases.join("\n")}`,
    `\nWorkloads' pods:\n${pods}`,
    `\nRBAC (SubjectAccessReview; all = cluster-wide, - = no):\n${rbacMatrix(report)}`,
    `\nControls (each must be refused):`,
    `  ConfigMap with an unknown field: ${control(c.unknownField)}`,
    `  PodMonitor with an unknown field: ${control(c.unknownCustomField)}`,
    `  privileged pod in a restricted namespace: ${control(c.privilegedPod)}`,
  ].join("\n");
}
