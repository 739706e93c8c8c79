/** Janua's signing keys with jose: what verifies, what is rejected, rotation, the set's checks and the CLI. */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../automation/keys";
import { generateSigningKey, parseSigningKeys, publicJwks, rotateSigningKeys, rotationDue, serializeSigningKeys, type SigningKeySet } from "../components/auth/keys";

const ISSUER = "https://auth.enclii.io";
const AUDIENCE = "enclii-api";
const DAY_MS = 86_400_000;
const NOW = new Date("2026-11-22T00:00:00Z");
const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS);

async function sign(set: SigningKeySet, index: number, opts: { aud?: string; exp?: number | string; kid?: string; alg?: "RS256" | "RS512" } = {}): Promise<string> {
  const key = set.keys[index];
  const alg = opts.alg ?? "RS256";
  return new SignJWT({ sub: "user-1" })
    .setProtectedHeader({ alg, kid: opts.kid ?? key.kid })
    .setIssuer(ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "10m")
    .sign(await importJWK({ ...key.privateJwk, alg }, alg));
}

const verify = (set: SigningKeySet, jwt: string) => jwtVerify(jwt, createLocalJWKSet(publicJwks(set)), { issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] });

let first: SigningKeySet;
let other: SigningKeySet;

beforeAll(async () => {
  first = await rotateSigningKeys(undefined, NOW);
  other = await rotateSigningKeys(undefined, NOW);
});

describe("tokens against the published JWKS", () => {
  it("verifies a token signed with the signing key, checking issuer and audience", async () => {
    const { payload, protectedHeader } = await verify(first, await sign(first, 0));
    expect([payload.sub, payload.iss, payload.aud, protectedHeader.kid]).toEqual(["user-1", ISSUER, AUDIENCE, first.keys[0].kid]);
  });

  it("rejects the wrong audience, an expired token, an unknown kid and a bad signature", async () => {
    await expect(verify(first, await sign(first, 0, { aud: "enclii-web-ui" }))).rejects.toThrow(/unexpected "aud" claim value/);
    await expect(verify(first, await sign(first, 0, { exp: Math.floor(Date.now() / 1000) - 60 }))).rejects.toThrow(/"exp" claim timestamp check failed/);
    await expect(verify(first, await sign(first, 0, { kid: "no-such-key" }))).rejects.toThrow(/no applicable key found in the JSON Web Key Set/);
    await expect(verify(first, await sign(other, 0, { kid: first.keys[0].kid }))).rejects.toThrow(/signature verification failed/);
  });

  it("rejects other algorithms: HS256 with a guessed secret, and RS512 with the right key", async () => {
    const hs = await new SignJWT({ sub: "user-1" }).setProtectedHeader({ alg: "HS256", kid: first.keys[0].kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("10m").sign(new TextEncoder().encode("x".repeat(32)));
    await expect(verify(first, hs)).rejects.toThrow(/"alg" \(Algorithm\) Header Parameter value not allowed/);
    await expect(verify(first, await sign(first, 0, { alg: "RS512" }))).rejects.toThrow(/"alg" \(Algorithm\) Header Parameter value not allowed/);
  });

  it("publishes public members only", () => {
    expect(publicJwks(first).keys.map((k) => Object.keys(k).sort())).toEqual([["alg", "e", "kid", "kty", "n", "use"]]);
    expect(JSON.stringify(publicJwks(first))).not.toContain(first.keys[0].privateJwk.d);
  });
});

describe("rotation", () => {
  it("signs with a new key and keeps the previous one published during the overlap, then drops it", async () => {
    const rotated = await rotateSigningKeys(first, at(90));
    expect(rotated.keys.map((k) => k.kid)).toEqual([expect.not.stringMatching(first.keys[0].kid), first.keys[0].kid]);
    const before = await sign(first, 0);
    await expect(verify(rotated, before)).resolves.toBeDefined();
    await expect(verify(rotated, await sign(rotated, 0))).resolves.toBeDefined();

    const again = await rotateSigningKeys(rotated, at(90 + 7 + 1));
    expect(again.keys.map((k) => k.kid)).toEqual([again.keys[0].kid, rotated.keys[0].kid]);
    await expect(verify(again, before)).rejects.toThrow(/no applicable key/);
  });

  it("is due once the signing key reaches the rotation age", () => {
    expect(rotationDue(first, at(89))).toBe(false);
    expect(rotationDue(first, at(90))).toBe(true);
  });

  it("makes the kid the key's RFC 7638 thumbprint and stamps createdAt to the second", async () => {
    const key = await generateSigningKey(new Date("2026-11-22T10:11:12.345Z"));
    expect(key.createdAt).toBe("2026-11-22T10:11:12Z");
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe("parseSigningKeys", () => {
  const text = (set: unknown) => JSON.stringify(set);
  const weak = () => {
    const jwk = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "jwk" });
    return { kid: "weak", createdAt: "2026-01-01T00:00:00Z", privateJwk: jwk };
  };

  it("accepts a serialized set unchanged", () => {
    expect(parseSigningKeys(serializeSigningKeys(first))).toEqual({ value: first, problems: [] });
  });

  it("reports every problem at once, naming the path and never key material", () => {
    const older = { ...other.keys[0], createdAt: "2025-01-01T00:00:00Z" };
    const problems = parseSigningKeys(text({ keys: [older, { ...first.keys[0], kid: older.kid }, weak()] })).problems;
    expect(problems).toEqual([
      `enclii:januaSigningKeys.keys[1].kid: "${older.kid}" is used by more than one key`,
      "enclii:januaSigningKeys.keys[1].createdAt: keys must be ordered newest first",
      "enclii:januaSigningKeys.keys[2].privateJwk: RSA key has 1024 bits; at least 2048 are required",
    ]);
    expect(problems.join("\n")).not.toContain(first.keys[0].privateJwk.d);
  });

  it("names unknown fields, a bad time, an empty set and text that is not JSON", () => {
    expect(parseSigningKeys(text({ keys: [{ ...first.keys[0], extra: 1 }] })).problems).toEqual(['enclii:januaSigningKeys.keys[0]: unknown field "extra"']);
    expect(parseSigningKeys(text({ keys: [{ ...first.keys[0], createdAt: "yesterday" }] })).problems).toEqual([
      "enclii:januaSigningKeys.keys[0].createdAt: must be an RFC 3339 time such as 2026-11-22T00:00:00Z",
    ]);
    expect(parseSigningKeys(text({ keys: [] })).problems).toEqual(["enclii:januaSigningKeys.keys: needs at least one key"]);
    expect(parseSigningKeys("{not json").problems).toEqual([
      "enclii:januaSigningKeys: must be JSON (a key set); create one with: npm run --silent keys -- rotate | pulumi config set --secret enclii:januaSigningKeys",
    ]);
  });

  it("accepts the offline plan's placeholder: one 2048-bit key", () => {
    const placeholder = readFileSync(join(__dirname, "..", "automation", "placeholders", "janua-signing-keys.json"), "utf8");
    const { value, problems } = parseSigningKeys(placeholder);
    expect(problems).toEqual([]);
    expect(value!.keys).toHaveLength(1);
    expect(Buffer.from(value!.keys[0].privateJwk.n, "base64url").length * 8).toBe(2048);
  });
});

describe("npm run keys", () => {
  it("rotate on empty input makes a new set; stderr names kids, never key material", async () => {
    const r = await main(["rotate"], "", NOW);
    expect(r.code).toBe(0);
    const set = parseSigningKeys(r.stdout).value!;
    expect(set.keys).toHaveLength(1);
    expect(r.stderr).toBe(`new signing key ${set.keys[0].kid}; still published: none; dropped: none\n`);
    expect(r.stderr).not.toContain(set.keys[0].privateJwk.d);
  });

  it("rotate --if-older-than-days leaves a younger set byte for byte, and rotates an older one", async () => {
    const input = `${serializeSigningKeys(first)}\n`;
    const young = await main(["rotate", "--if-older-than-days", "90"], input, at(30));
    expect([young.code, young.stdout]).toEqual([0, input]);
    const old = await main(["rotate", "--if-older-than-days", "90"], input, at(91));
    expect(parseSigningKeys(old.stdout).value!.keys.map((k) => k.kid)[1]).toBe(first.keys[0].kid);
  });

  it("refuses an invalid set with exit 2 and the problem on stderr", async () => {
    const r = await main(["rotate"], '{"keys":[]}', NOW);
    expect(r).toEqual({ code: 2, stdout: "", stderr: "stdin.keys: needs at least one key\n" });
  });

  it("jwks prints the public set only", async () => {
    const r = await main(["jwks"], serializeSigningKeys(first), NOW);
    expect(JSON.parse(r.stdout)).toEqual(publicJwks(first));
    expect(r.stdout).not.toContain(first.keys[0].privateJwk.d);
  });

  it("works as a pipe: the script reads stdin, writes the set to stdout and sets the exit status", () => {
    const run = (args: string[], input: string) => spawnSync(process.execPath, [join(__dirname, "..", "node_modules", "tsx", "dist", "cli.mjs"), "automation/keys.ts", ...args], { input, encoding: "utf8", cwd: join(__dirname, "..") });
    const made = run(["rotate"], "");
    expect(made.status, made.stderr).toBe(0);
    const jwks = run(["jwks"], made.stdout);
    expect(JSON.parse(jwks.stdout).keys[0].kid).toBe(parseSigningKeys(made.stdout).value!.keys[0].kid);
    expect(run(["jwks"], "{}").status).toBe(2);
  });

  it("answers unknown commands and bad flags with usage and exit 2", async () => {
    expect((await main(["rotat"], "", NOW)).stderr).toMatch(/^unknown command rotat\nusage: npm run --silent keys/);
    expect((await main(["rotate", "--overlap-days", "-1"], "", NOW)).code).toBe(2);
    expect((await main([], "", NOW)).code).toBe(2);
  });
});
