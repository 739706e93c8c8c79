/**
 * The env-name table (model/bindings.ts) against what the apps' env really sets: the spec check
 * refuses a spec's own env by the table, so the two must never drift apart.
 */
import { describe, expect, it } from "vitest";
import { bindingEnv } from "../components/apps/env";
import { BINDING_ENV, bindingEnvNames } from "../model/bindings";
import type { Bindings } from "../model/services";

const ctx = {
  provider: { name: "janua", port: 8000, hostname: "auth.enclii.io" },
  smtp: { host: "smtp.example.net", port: 587, username: "apikey", from: "no-reply@enclii.io" },
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
    for (const r2 of [undefined, { bucket: "assets" as const }]) for (const oidc of oidcs) combinations.push({ postgres, redis, r2, oidc });

describe("binding env names", () => {
  it.each(combinations.map((b) => [JSON.stringify(b), b]))("the table names exactly what %s sets", (_, bindings) => {
    const names = bindingEnv({ bindings, hostnames: ["app.enclii.io"] }, ctx).map((e) => e.name);
    expect(names).toEqual(bindingEnvNames(bindings));
  });

  it("leaves the SMTP names out of the provider's env when no SMTP server is configured", () => {
    const names = bindingEnv({ bindings: { oidc: { role: "provider" } }, hostnames: ["auth.enclii.io"] }, { provider: ctx.provider });
    expect(names.map((e) => e.name)).toEqual(Object.values(BINDING_ENV.provider));
  });
});
