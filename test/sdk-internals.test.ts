/**
 * What the planner does with SDK internals, pinned to the SDK version: the diagnostics it turns
 * off during a plan (automation/sdkInternals.ts) and the modules the bundle leaves out
 * (automation/bundle.cjs). A new @pulumi/pulumi fails here first.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planCommand } from "../automation/planCommand";
import { SDK_VERSION, withoutDiagnostics, withoutProtobuf } from "../automation/sdkInternals";
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
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc") as {
  serializeProperties(label: string, props: unknown): Promise<Record<string, unknown>>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as {
  Struct: { fromJavaScript(value: Record<string, unknown>): { toJavaScript(): unknown; serializeBinary(): Uint8Array } };
};
/** Pulumi's wire value for an unknown (sdk/nodejs/runtime/rpc.ts unknownValue). */
const UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
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

describe("withoutProtobuf", () => {
  // What the SDK wraps in a Struct: its own serialisation of a resource's properties, with a
  // secret, an unknown, nested lists and members left undefined.
  const wire = () =>
    rpc.serializeProperties("test", {
      name: "tenant-t0001",
      replicas: 2,
      ratio: 0.25,
      enabled: false,
      nothing: null,
      skipped: undefined,
      password: pulumi.secret("hunter2"),
      later: pulumi.output(pulumi.unknown),
      rules: [{ hosts: ["a.example.com", "b.example.com"], ports: [80, 443] }, [], {}],
    });

  it("replaces a round trip through google-protobuf that gives back what it was given", async () => {
    pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "p", "s", true);
    const value = await wire();
    expect(value.password).toMatchObject({ value: "hunter2" });
    expect(value.later).toBe(UNKNOWN_WIRE);
    expect(Struct.fromJavaScript(value).toJavaScript()).toEqual(value);
  });

  it("hands the value itself back for the run, and restores the real Struct after it, failed or not", async () => {
    const value = { a: [1, { b: "c" }] };
    await withoutProtobuf(async () => {
      expect(Struct.fromJavaScript(value).toJavaScript()).toBe(value);
    });
    const real = Struct.fromJavaScript(value);
    expect(real.toJavaScript()).not.toBe(value);
    expect(real.serializeBinary().length).toBeGreaterThan(0);
    await expect(withoutProtobuf(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(Struct.fromJavaScript(value).toJavaScript()).not.toBe(value);
  });
});

describe("the plan bundle (dist/cli.js)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "enclii-bundle-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  beforeAll(async () => {
    await bundle.build();
  });

  it("is ASCII, so V8 keeps its source one byte a character", () => {
    expect(/[^\x00-\x7f]/.exec(readFileSync(bundle.OUTFILE, "utf8"))).toBeNull();
  });

  it("leaves them out of a checkout whose node_modules is a link (a base ref's worktree, the bench's scratch copy)", () => {
    const copy = join(tmp, "linked");
    for (const dir of ["automation", "components", "model", "stacks"]) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(copy, "package.json"));
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    const built = spawnSync(process.execPath, [join(copy, "automation", "bundle.cjs")], { encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    const text = readFileSync(join(copy, "dist", "cli.js"), "utf8");
    expect(text.includes("node_modules/typescript/lib/typescript.js")).toBe(false);
    expect(text).toContain("is left out of the offline planner's bundle");
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
