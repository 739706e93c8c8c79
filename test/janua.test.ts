/**
 * Janua through the whole program: the JWKS the stack publishes verifies tokens signed with the
 * key in stack config, the key is stable across evaluations, and a rotation keeps the previous
 * key published. Key handling itself is proven in janua-keys.test.ts.
 */
import { join } from "node:path";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResult } from "../automation/plan";
import { loadStackConfig, type StackConfig } from "../automation/stackFile";
import { oidcClients } from "../components/auth/clients";
import { secretPlaceholder } from "../automation/placeholders";
import { SIGNING_KEYS_KEY } from "../model/config/schema";
import { resolveServices } from "../model/config/services";
import { rotateSigningKeys, serializeSigningKeys, type Jwks, type SigningKeySet } from "../model/config/signingKeys";
import { DOGFOODING_DIR, readSpecFiles } from "../stacks/specs";
import { ROOT } from "./harness";

const ISSUER = "https://auth.enclii.io";
const HOUR_SECONDS = 3600;

function config(signingKeys: string): StackConfig {
  const cfg = loadStackConfig(join(ROOT, "Pulumi.production.yaml"));
  cfg.config[SIGNING_KEYS_KEY] = signingKeys;
  return cfg;
}

async function token(set: SigningKeySet, index: number, claims: { aud: string; expiresIn?: string }): Promise<string> {
  const key = set.keys[index];
  return new SignJWT({ sub: "user-1" })
    .setProtectedHeader({ alg: "RS256", kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience(claims.aud)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "10m")
    .sign(await importJWK(key.privateJwk, "RS256"));
}

const verify = (jwks: Jwks, jwt: string) =>
  jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: ISSUER, audience: "enclii-api", algorithms: ["RS256"] });

let keys: SigningKeySet;
let first: PlanResult;
let second: PlanResult;
let rotated: { set: SigningKeySet; plan: PlanResult };

beforeAll(async () => {
  const text = secretPlaceholder(SIGNING_KEYS_KEY);
  keys = JSON.parse(text);
  first = await runPlan("production", config(text));
  second = await runPlan("production", config(text));
  const set = await rotateSigningKeys(keys, new Date(Date.parse(keys.keys[0].createdAt) + 90 * 24 * HOUR_SECONDS * 1000));
  rotated = { set, plan: await runPlan("production", config(serializeSigningKeys(set))) };
});

describe("the published JWKS", () => {
  it("is a plain stack output holding the public half of the configured key", () => {
    const jwks = first.outputs.jwks as Jwks;
    expect(jwks.keys).toEqual([
      { kty: "RSA", n: keys.keys[0].privateJwk.n, e: keys.keys[0].privateJwk.e, kid: keys.keys[0].kid, alg: "RS256", use: "sig" },
    ]);
    expect(first.outputs.oidcIssuer).toBe(ISSUER);
    expect(first.outputs.jwksUri).toBe(`${ISSUER}/.well-known/jwks.json`);
  });

  it("verifies a token signed with the key, and rejects one for another audience", async () => {
    const jwks = first.outputs.jwks as Jwks;
    await expect(verify(jwks, await token(keys, 0, { aud: "enclii-api" }))).resolves.toMatchObject({ payload: { sub: "user-1" } });
    await expect(verify(jwks, await token(keys, 0, { aud: "someone-else" }))).rejects.toThrow(/unexpected "aud" claim value/);
  });

  it("stays the same across evaluations with the same config: no accidental rotation", () => {
    expect(second.outputs.jwks).toEqual(first.outputs.jwks);
    const annotation = (p: PlanResult) =>
      (p.resources.find((r) => r.name === "enclii-apps-janua-deployment")!.inputs as any).spec.template.metadata.annotations[
        "enclii.dev/signing-key-ids"
      ];
    expect(annotation(second)).toBe(annotation(first));
    expect(annotation(first)).toBe(keys.keys[0].kid);
  });

  it("after a rotation publishes both keys, so tokens signed before it still verify during the overlap", async () => {
    const jwks = rotated.plan.outputs.jwks as Jwks;
    expect(jwks.keys.map((k) => k.kid)).toEqual([rotated.set.keys[0].kid, keys.keys[0].kid]);
    await expect(verify(jwks, await token(keys, 0, { aud: "enclii-api" }))).resolves.toBeDefined();
    await expect(verify(jwks, await token(rotated.set, 0, { aud: "enclii-api" }))).resolves.toBeDefined();
    const annotation = (rotated.plan.resources.find((r) => r.name === "enclii-apps-janua-deployment")!.inputs as any).spec.template.metadata
      .annotations;
    expect(annotation["enclii.dev/signing-key-ids"]).toBe(`${rotated.set.keys[0].kid},${keys.keys[0].kid}`);
  });

  it("keeps key material out of everything the plan writes", () => {
    const written = JSON.stringify(first);
    for (const k of keys.keys)
      for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) expect(written).not.toContain(k.privateJwk[member]);
  });
});

describe("OIDC clients", () => {
  const services = resolveServices(readSpecFiles(DOGFOODING_DIR), { domain: "enclii.dev", overrides: {} }).services;

  it("lets the web client redirect to localhost only where localhost redirects are on", () => {
    const web = (localhost: boolean) => oidcClients(services, localhost).find((c) => c.client_id === "enclii-web-ui")!.redirect_uris;
    expect(web(false)).toEqual(["https://app.enclii.dev/callback"]);
    expect(web(true)).toEqual(["https://app.enclii.dev/callback", "http://localhost:3000/callback"]);
  });

  it("makes enclii-api a confidential client-credentials client", () => {
    expect(oidcClients(services, false).find((c) => c.client_id === "enclii-api")).toEqual({
      client_id: "enclii-api",
      client_name: "Enclii Control Plane API",
      grant_types: ["client_credentials"],
      scope: "api:read api:write",
      token_endpoint_auth_method: "client_secret_basic",
      application_type: "service",
    });
  });
});
