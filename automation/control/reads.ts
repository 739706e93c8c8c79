/**
 * The operations that read a stack and change nothing: drift (a refresh in preview mode), outputs
 * and history. Each ends in one `OperationResult`.
 */
import type { ConfigMap, UpdateSummary } from "@pulumi/pulumi/automation";
import type { HistoryEntry, OperationResult } from "../../model/controlPlane";
import { SECRET_MARK } from "../../model/names";
import { NAMESPACE } from "../../model/config/schema";
import { refreshOutcomes } from "./events";
import { result, retrying, runEngine, type Base, type Options } from "./operations";
import type { ControlStack } from "./workspace";

const SERVICES_KEY = `${NAMESPACE}:services`;

/** A refresh in preview mode: exit status 3 when the world differs from the state. */
export async function driftOp(stack: ControlStack, o: Options, base: Base): Promise<OperationResult> {
  // With the program: a refresh alone configures providers from the state, whose Kubernetes
  // token expired hours after the run that stored it (docs/security.md#how-a-run-gets-its-credential).
  // showSecrets: false, as every engine command here (operations.ts `update`), though a refresh
  // preview reads no history (stack.js `previewRefresh`).
  const events = await retrying(stack.name, o, () =>
    runEngine(stack, o, "refresh preview", (onEvent, signal) =>
      stack.previewRefresh({ onEvent, runProgram: true, signal, showSecrets: false }),
    ),
  );
  // The outcome of each refresh is on its outputs event, not its pre-event (events.ts refreshOutcomes).
  const drift = refreshOutcomes(events);
  if (drift.length === 0) return result(base, "no-drift", `${stack.name}: the world matches the state`, { drift });
  return result(
    base,
    "drift",
    `${stack.name}: ${drift.length} resource(s) differ from the state:\n${drift.map((d) => `  ${d.urn}: ${d.properties.join(", ") || d.op}`).join("\n")}`,
    { drift },
  );
}

export async function outputsOp(stack: ControlStack, base: Base): Promise<OperationResult> {
  const raw = await stack.outputs();
  const outputs = Object.fromEntries(
    Object.keys(raw)
      .sort()
      .map((k) => [k, raw[k].secret ? SECRET_MARK : raw[k].value]),
  );
  return result(base, "ok", `${stack.name}: ${Object.keys(outputs).length} outputs`, { outputs });
}

/** Per service, the image an update ran with (overrides only: a service without one ran its spec's). */
export function imagesIn(config: ConfigMap | undefined): Record<string, string> {
  const entry = config?.[SERVICES_KEY] as { value?: string; objectValue?: unknown } | undefined;
  if (!entry) return {};
  let services: unknown = entry.objectValue;
  if (services === undefined && entry.value !== undefined) {
    try {
      services = JSON.parse(entry.value);
    } catch {
      return {};
    }
  }
  if (!services || typeof services !== "object") return {};
  const images: Record<string, string> = {};
  for (const [name, o] of Object.entries(services as Record<string, { image?: unknown }>))
    if (typeof o?.image === "string") images[name] = o.image;
  return images;
}

export function historyEntry(h: UpdateSummary): HistoryEntry {
  return {
    kind: h.kind,
    result: h.result,
    startTime: new Date(h.startTime).toISOString(),
    message: h.message ?? "",
    image: imagesIn(h.config),
  };
}

export async function historyOp(stack: ControlStack, base: Base, limit: number): Promise<OperationResult> {
  const history = (await stack.history(limit, 1, false)).map(historyEntry);
  const lines = history.map((h) => `  ${h.startTime} ${h.kind} ${h.result}${h.message ? `: ${h.message}` : ""}`).join("\n");
  return result(base, "ok", `${stack.name}: last ${history.length} operation(s)${lines ? `\n${lines}` : ""}`, { history });
}
