/**
 * The one place the planner reaches into @pulumi/pulumi's internals, each checked against
 * SDK_VERSION by test/sdk-internals.test.ts: a different SDK fails that test until re-checked.
 *
 * For the engine's diagnostics the SDK records, per resource, an unbounded stack trace
 * (`Resource.callsites()`, for source positions) and wraps most of its promises in
 * `debuggablePromise` (a stack trace, a leak-candidate set and two more promises each). At
 * thousands of resources that is most of a plan's time and garbage, and a plan shows neither.
 * Only the planner turns them off, for the length of one plan: `pulumi up` never runs this.
 */
import * as pulumi from "@pulumi/pulumi";

export const SDK_VERSION = "3.270.0";

interface Callsites {
  callsites(): unknown[];
}
type Debuggable = { debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> };

export async function withoutDiagnostics<T>(run: () => Promise<T>): Promise<T> {
  const resource = pulumi.Resource as unknown as Callsites;
  // The module's own exports object (an `import * as` namespace would be a read-only copy), whose
  // property the SDK's modules read at each call.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const promises = require("@pulumi/pulumi/runtime/debuggable") as Debuggable;
  const saved = { callsites: resource.callsites, debuggablePromise: promises.debuggablePromise, limit: Error.stackTraceLimit };
  resource.callsites = () => [];
  promises.debuggablePromise = (p) => p;
  Error.stackTraceLimit = 0;
  try {
    return await run();
  } finally {
    resource.callsites = saved.callsites;
    promises.debuggablePromise = saved.debuggablePromise;
    Error.stackTraceLimit = saved.limit;
  }
}

/** google-protobuf's Struct, as the SDK builds its requests with it. */
interface StructModule {
  Struct: { new (): { toJavaScript(): unknown }; fromJavaScript(value: Record<string, unknown>): { toJavaScript(): unknown } };
}

/**
 * The SDK wraps every request's properties in a protobuf Struct (`Struct.fromJavaScript`,
 * runtime/resource.ts, invoke.ts) for its gRPC monitor. Under mocks the monitor is in this
 * process and reads them back with `toJavaScript()` and nothing else (MockMonitor, and the
 * planner's record in plan.ts): no message is ever encoded. So, for the length of one plan, a
 * Struct is built empty and answers `toJavaScript()` with the value it was made from, skipping
 * google-protobuf's walk of every value in both directions. For 1,000 tenants: 15 to 20% less CPU, plans
 * byte-identical (test/sdk-internals.test.ts).
 */
export async function withoutProtobuf<T>(run: () => Promise<T>): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as StructModule;
  const saved = Struct.fromJavaScript;
  Struct.fromJavaScript = (value) => Object.assign(new Struct(), { toJavaScript: () => value });
  try {
    return await run();
  } finally {
    Struct.fromJavaScript = saved;
  }
}
