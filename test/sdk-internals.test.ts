/**
 * What the planner does with SDK internals, pinned to the SDK version: the diagnostics it turns
 * off during a plan (automation/sdkInternals.ts) and the modules the bundle leaves out
 * (automation/bundle.cjs). A new @pulumi/pulumi fails here first.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCommand } from "../automation/planCommand";
import { SDK_VERSION, withoutDiagnostics } from "../automation/sdkInternals";
import { ROOT, tree } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundle = require("../automation/bundle.cjs") as {
  build(): Promise<string>;
  isStale(): boolean;
  OUTFILE: string;
  STUBBED: string[];
  PULUMI_SDK_VERSION: string;
};
const SDK = join(ROOT, "node_modules", "@pulumi", "pulumi");
const installed = JSON.parse(readFileSync(join(SDK, "package.json"), "utf8")).version as string;
type Debuggable = { debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as Debuggable;
const callsites = () => (pulumi.Resource as unknown as { callsites(): unknown[] }).callsites();

describe("the SDK version both workarounds were checked against", () => {
  it("is the installed one", () => {
    expect(SDK_VERSION).toBe(installed);
    expect(bundle.PULUMI_SDK_VERSION).toBe(installed);
  });
});

describe("withoutDiagnostics", () => {
  it("turns off per-resource stack traces and promise bookkeeping for the run, and restores them after", async () => {
    const limit = Error.stackTraceLimit;
    expect(callsites().length).toBeGreaterThan(0);
    const p = Promise.resolve(1);
    expect(debuggable.debuggablePromise(p, "ctx")).not.toBe(p);
    await withoutDiagnostics(async () => {
      expect(callsites()).toEqual([]);
      expect(debuggable.debuggablePromise(p, "ctx")).toBe(p);
      expect(Error.stackTraceLimit).toBe(0);
    });
    expect(callsites().length).toBeGreaterThan(0);
    expect(debuggable.debuggablePromise(p, "ctx")).not.toBe(p);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it("restores them when the run fails", async () => {
    await expect(withoutDiagnostics(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(callsites().length).toBeGreaterThan(0);
  });
});

describe("the plan bundle (dist/cli.js)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-bundle-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  beforeAll(async () => {
    await bundle.build();
  });

  it("stubs modules the SDK really has", () => {
    for (const m of bundle.STUBBED) expect(existsSync(join(SDK, m)), m).toBe(true);
  });

  it("leaves TypeScript and npm's package tooling out", () => {
    const text = readFileSync(bundle.OUTFILE, "utf8");
    for (const left of ["node_modules/typescript/lib/typescript.js", "node_modules/@npmcli/arborist/", "node_modules/source-map-support/"])
      expect(text.includes(left), left).toBe(false);
  });

  it("plans every stack byte-identically to the TypeScript sources", async () => {
    for (const [stack, extra] of [
      ["production", []],
      ["staging", []],
      ["ha", ["--config", "examples/Pulumi.ha.yaml"]],
      ["external", ["--config", "examples/Pulumi.external.yaml"]],
    ] as const) {
      const [fromBundle, fromSources] = [join(tmp, `${stack}-bundle`), join(tmp, `${stack}-sources`)];
      const r = spawnSync(process.execPath, [bundle.OUTFILE, "plan", stack, ...extra, "--out", fromBundle], {
        cwd: ROOT,
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
      const code = await planCommand([stack, ...extra, "--out", fromSources], { stdout: () => undefined, stderr: () => undefined });
      expect(code).toBe(0);
      expect(tree(fromBundle), stack).toEqual(tree(fromSources));
    }
  });

  it("starts from V8's code cache once the launcher has run it, planning the same", () => {
    const cache = `${bundle.OUTFILE}.cache`;
    rmSync(cache, { force: true });
    const launch = (out: string) =>
      spawnSync(process.execPath, ["automation/launch.cjs", "plan", "production", "--out", out], { cwd: ROOT, encoding: "utf8" });
    const [first, second] = [launch(join(tmp, "cold")), launch(join(tmp, "warm"))];
    expect(first.status, first.stderr).toBe(0);
    expect(second.status, second.stderr).toBe(0);
    expect(statSync(cache).size).toBeGreaterThan(0);
    expect(tree(join(tmp, "warm"))).toEqual(tree(join(tmp, "cold")));
  });

  it("is rebuilt by the launcher when a source is newer", () => {
    expect(bundle.isStale()).toBe(false);
    const source = join(ROOT, "model", "pins.ts");
    const { atime, mtime } = statSync(source);
    const later = new Date(statSync(bundle.OUTFILE).mtimeMs + 60_000);
    try {
      utimesSync(source, later, later);
      expect(bundle.isStale()).toBe(true);
    } finally {
      utimesSync(source, atime, mtime);
    }
    expect(bundle.isStale()).toBe(false);
  });
});
