/**
 * Trivy's misconfiguration checks over every Kubernetes manifest the plans render: production,
 * staging, the HA and external examples and a staging tenant shard (testbed/trivy.ts). What the
 * scan finds must be exactly what docs/security.md#trivys-findings accepts, so a new finding fails
 * until it is fixed or accepted with a reason, and an accepted one that no longer fires fails
 * until its row is removed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STACK_FILES } from "../testbed/clusterObjects";
import { renderManifests, scan, type Scan } from "../testbed/trivy";
import { ROOT, requireBuilt } from "./harness";

interface Triage {
  check: string;
  title: string;
  resources: string[];
  verdict: string;
  why: string;
}

/** The rows of the triage table under "Trivy's findings" in docs/security.md. */
function triage(): Triage[] {
  const text = readFileSync(join(ROOT, "docs/security.md"), "utf8");
  const section = text.split(/^## /m).find((s) => s.startsWith("Trivy's findings\n"));
  if (!section) throw new Error('docs/security.md has no "## Trivy\'s findings" section');
  return section
    .split("\n")
    .filter((l) => /^\| KSV-\d{4,5} \|/.test(l))
    .map((l) => {
      const [check, title, resources, verdict, why] = l
        .slice(1, -1)
        .split(" | ")
        .map((c) => c.trim());
      return { check, title, resources: [...resources.matchAll(/`([^`]+)`/g)].map((m) => m[1]), verdict, why };
    });
}

/** `<check> <namespace>/<kind>-<name>`: one finding per object, whichever stacks render it. */
const key = (check: string, resource: string) => `${check} ${resource}`;

describe("the triage table in docs/security.md", () => {
  it("gives every row a check, a title, resources, a verdict and a reason", () => {
    const rows = triage();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.title, r.check).not.toBe("");
      expect(r.resources.length, r.check).toBeGreaterThan(0);
      expect(["fixed", "accepted"], r.check).toContain(r.verdict);
      expect(r.why.length, r.check).toBeGreaterThan(20);
    }
    // Each finding has one verdict: listed once, never both fixed and accepted.
    const listed = rows.flatMap((r) => r.resources.map((x) => key(r.check, x)));
    expect(listed.filter((k, i) => listed.indexOf(k) !== i)).toEqual([]);
  });
});

describe("Trivy's misconfiguration scan of every rendered manifest", () => {
  const bin = requireBuilt("trivy");
  let dir: string | undefined;
  let counts: Record<string, number>;
  let result: Scan;

  beforeAll(async () => {
    if (!bin) return;
    dir = mkdtempSync(join(tmpdir(), "enclii-trivy-manifests-"));
    counts = await renderManifests(dir);
    result = await scan(bin, dir);
    // The scan's size and time, for docs/security.md; never asserted.
    const perCheck = new Map<string, number>();
    for (const f of result.findings) perCheck.set(f.check, (perCheck.get(f.check) ?? 0) + 1);
    console.warn(
      `trivy config: ${result.findings.length} findings (${[...perCheck].map(([c, n]) => `${c} ${n}`).join(", ")}) ` +
        `over ${Object.values(counts).reduce((a, b) => a + b)} manifests; ${result.batches} runs in ${result.ms} ms`,
    );
  });
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!bin)("renders the manifests of every scanned stack and of a tenant shard", () => {
    expect(Object.keys(counts).sort()).toEqual([...Object.keys(STACK_FILES), "staging-000"].sort());
    for (const [stack, n] of Object.entries(counts)) expect(n, stack).toBeGreaterThan(0);
  });

  it.skipIf(!bin)("runs the checks embedded in the binary, and sends no request", () => {
    // With --skip-check-update and an empty cache there is no downloaded bundle to load.
    expect(result.log.match(/Falling back to embedded checks/g)).toHaveLength(result.batches);
    expect(result.log).not.toContain("Downloading the checks bundle");
    expect(result.requests).toEqual([]);
  });

  it.skipIf(!bin)("would see a request: without --skip-check-update, Trivy asks for its checks bundle through the trap", async () => {
    // The control for the assertion above: the trap sees what Trivy sends, and fails it at once.
    const control = await scan(bin!, dir!, { kinds: ["limitrange"], without: ["--skip-check-update"] });
    expect(control.log).toContain("Downloading the checks bundle");
    expect(control.requests.length).toBeGreaterThan(0);
    expect(new Set(control.requests)).toEqual(new Set(["CONNECT mirror.gcr.io:443 HTTP/1.1"]));
    // It falls back to the same embedded checks, so it finds what the offline scan found.
    expect(control.findings).toEqual(result.findings.filter((f) => f.resource.includes("/limitrange-")));
  });

  it.skipIf(!bin)("finds exactly what docs/security.md#trivys-findings accepts", () => {
    const found = [...new Set(result.findings.map((f) => key(f.check, f.resource)))].sort();
    const accepted = triage()
      .filter((r) => r.verdict === "accepted")
      .flatMap((r) => r.resources.map((x) => key(r.check, x)))
      .sort();
    expect(found).toEqual(accepted);
  });

  it.skipIf(!bin)("names each accepted check by Trivy's own title", () => {
    const titles = new Map(result.findings.map((f) => [f.check, f.title]));
    for (const r of triage().filter((x) => x.verdict === "accepted")) expect(r.title, r.check).toBe(titles.get(r.check));
  });
});
