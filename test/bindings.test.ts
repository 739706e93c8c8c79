/**
 * The env-name table (model/config/bindings.ts) against what the apps' env really sets: the spec check
 * refuses a spec's own env by the table, so the two must never drift apart.
 */
import { describe, expect, it } from "vitest";
import { bindingEnv } from "../components/apps/env";
import { BINDING_ENV, bindingEnvNames } from "../model/config/bindings";
import type { Bindings } from "../model/config/services";

const ctx = {
  provider: { name: "janua", port: 8000, hostname: "auth.enclii.io" },
  smtp: { host: "smtp.example.net", port: 587, username: "apikey", from: "no-reply@enclii.io" },
  stack: "staging",
  observability: { traces: true },
};
const oidcs: Bindings["oidc"][] = [
  undefined,
  { role: "provider" },
  { role: "client", clientId: "web", scope: "openid" },
  { role: "resource-server", clientId: "api", scope: "api:read" },
];
const combinations: Bindings[] = [];
for (const postgres of [undefined, { database: "enclii" as const }])
  for (const redis of [undefined, {}])
    for (const r2 of [undefined, { bucket: "assets" as const }])
      for (const oidc of oidcs)
        for (const [tracing, availability] of [
          [undefined, undefined],
          [{ sampleRatio: 0.5 }, {}],
        ] as const)
          combinations.push({ postgres, redis, r2, oidc, tracing, availability });

describe("binding env names", () => {
  it.each(combinations.map((b) => [JSON.stringify(b), b]))("the table names exactly what %s sets", (_, bindings) => {
    const names = bindingEnv({ name: "app", bindings, hostnames: ["app.enclii.io"] }, ctx).map((e) => e.name);
    expect(names).toEqual(bindingEnvNames(bindings));
  });

  it("leaves the SMTP names out of the provider's env when no SMTP server is configured", () => {
    const names = bindingEnv(
      { name: "janua", bindings: { oidc: { role: "provider" } }, hostnames: ["auth.enclii.io"] },
      { provider: ctx.provider, stack: "staging" },
    );
    expect(names.map((e) => e.name)).toEqual(Object.values(BINDING_ENV.provider));
  });

  it("sends traces to the environment's collector, or switches the SDK off when tracing is off", () => {
    const env = (stack: string, observability?: { traces: boolean }) =>
      Object.fromEntries(
        bindingEnv({ name: "api", bindings: { tracing: { sampleRatio: 0.25 } }, hostnames: [] }, { stack, observability }).map((e) => [
          e.name,
          e.value,
        ]),
      );
    const t = BINDING_ENV.tracing;
    expect(env("production", { traces: true })).toMatchObject({
      [t.endpoint]: "http://tempo.monitoring.svc.cluster.local:4318",
      [t.serviceName]: "api",
      [t.samplerArg]: "0.25",
      [t.disabled]: "false",
      [t.resourceAttributes]: "deployment.environment.name=production,service.namespace=enclii-platform",
    });
    expect(env("staging", { traces: false })).toMatchObject({ [t.endpoint]: "", [t.disabled]: "true" });
    expect(env("staging")).toMatchObject({
      [t.disabled]: "true",
      [t.resourceAttributes]: "deployment.environment.name=staging,service.namespace=enclii-platform",
    });
  });

  it("gives the availability binding the read-only query path, empty when observability is off", () => {
    const url = (observability?: { traces: boolean }) =>
      bindingEnv({ name: "status", bindings: { availability: {} }, hostnames: [] }, { stack: "production", observability })[0];
    expect(url({ traces: false })).toEqual({
      name: BINDING_ENV.availability.url,
      value: "http://prometheus-readonly.monitoring.svc.cluster.local:8080",
    });
    expect(url(undefined)).toEqual({ name: BINDING_ENV.availability.url, value: "" });
  });
});
