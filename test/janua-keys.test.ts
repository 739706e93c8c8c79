/** Janua's signing keys with jose: what verifies, what is rejected, rotation, the set's checks and the CLI. */
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../automation/keys";
import {
  DEFAULT_ROTATION_DAYS,
  generateSigningKey,
  parseSigningKeys,
  publicJwks,
  rotateSigningKeys,
  rotationDue,
  serializeSigningKeys,
  type SigningKeySet,
} from "../model/config/signingKeys";

const ISSUER = "https://auth.enclii.io";
const AUDIENCE = "enclii-api";
const DAY_MS = 86_400_000;
const NOW = new Date("2026-11-22T00:00:00Z");
const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS);

async function sign(
  set: SigningKeySet,
  index: number,
  opts: { aud?: string; exp?: number | string; kid?: string; alg?: "RS256" | "RS512" } = {},
): Promise<string> {
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

/** RFC 7638 by hand (required members in lexical order, SHA-256, base64url), independent of jose. */
const thumbprint = (jwk: { e: string; n: string }) =>
  createHash("sha256")
    .update(JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n }))
    .digest("base64url");

const verify = (set: SigningKeySet, jwt: string) =>
  jwtVerify(jwt, createLocalJWKSet(publicJwks(set)), { issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] });

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
    await expect(verify(first, await sign(first, 0, { exp: Math.floor(Date.now() / 1000) - 60 }))).rejects.toThrow(
      /"exp" claim timestamp check failed/,
    );
    await expect(verify(first, await sign(first, 0, { kid: "no-such-key" }))).rejects.toThrow(
      /no applicable key found in the JSON Web Key Set/,
    );
    await expect(verify(first, await sign(other, 0, { kid: first.keys[0].kid }))).rejects.toThrow(/signature verification failed/);
  });

  it("rejects other algorithms: HS256 with a guessed secret, and RS512 with the right key", async () => {
    const hs = await new SignJWT({ sub: "user-1" })
      .setProtectedHeader({ alg: "HS256", kid: first.keys[0].kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("x".repeat(32)));
    await expect(verify(first, hs)).rejects.toThrow(/"alg" \(Algorithm\) Header Parameter value not allowed/);
    await expect(verify(first, await sign(first, 0, { alg: "RS512" }))).rejects.toThrow(
      /"alg" \(Algorithm\) Header Parameter value not allowed/,
    );
  });

  it("publishes public members only", () => {
    expect(publicJwks(first).keys.map((k) => Object.keys(k).sort())).toEqual([["alg", "e", "kid", "kty", "n", "use"]]);
    expect(JSON.stringify(publicJwks(first))).not.toContain(first.keys[0].privateJwk.d);
  });
});

describe("rotation", () => {
  it("signs with a new key and keeps the previous one published for the 7-day overlap, then drops it", async () => {
    const rotated = await rotateSigningKeys(first, at(90));
    expect(rotated.keys.map((k) => k.kid)).toEqual([expect.not.stringMatching(first.keys[0].kid), first.keys[0].kid]);
    const before = await sign(first, 0);
    await expect(verify(rotated, before)).resolves.toBeDefined();
    await expect(verify(rotated, await sign(rotated, 0))).resolves.toBeDefined();

    const within = await rotateSigningKeys(rotated, at(90 + 6));
    expect(within.keys.map((k) => k.kid)).toEqual([within.keys[0].kid, rotated.keys[0].kid, first.keys[0].kid]);
    await expect(verify(within, before)).resolves.toBeDefined();

    const again = await rotateSigningKeys(rotated, at(90 + 7 + 1));
    expect(again.keys.map((k) => k.kid)).toEqual([again.keys[0].kid, rotated.keys[0].kid]);
    await expect(verify(again, before)).rejects.toThrow(/no applicable key/);
  });

  it("is due once the signing key reaches the rotation age", () => {
    expect(rotationDue(first, at(89), DEFAULT_ROTATION_DAYS)).toBe(false);
    expect(rotationDue(first, at(90), DEFAULT_ROTATION_DAYS)).toBe(true);
  });

  it("makes the kid the key's RFC 7638 thumbprint and stamps createdAt to the second", async () => {
    const key = await generateSigningKey(new Date("2026-11-22T10:11:12.345Z"));
    expect(key.createdAt).toBe("2026-11-22T10:11:12Z");
    expect(key.kid).toBe(thumbprint(key.privateJwk));
    expect(Object.keys(key.privateJwk)).toEqual(["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"]);
  });

  it("refuses to put a new key behind one created later, which would no longer parse", async () => {
    await expect(rotateSigningKeys(first, at(-1))).rejects.toThrow(
      `signing key ${first.keys[0].kid} was created at 2026-11-22T00:00:00Z, after now (2026-11-21T00:00:00Z); check the clock`,
    );
  });
});

describe("parseSigningKeys", () => {
  const text = (set: unknown) => JSON.stringify(set);
  const weak = () => {
    const jwk = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "jwk" });
    return { kid: "weak", createdAt: "2026-01-01T00:00:00Z", privateJwk: jwk };
  };

  it("accepts a serialized set unchanged, and serializes members in one order whatever the input's", () => {
    expect(parseSigningKeys(serializeSigningKeys(first))).toEqual({ value: first, problems: [] });
    const { qi, kty, ...rest } = first.keys[0].privateJwk;
    expect(serializeSigningKeys({ keys: [{ ...first.keys[0], privateJwk: { qi, ...rest, kty } }] })).toBe(serializeSigningKeys(first));
  });

  // node:crypto accepts another key's d on every Node, and another key's n until OpenSSL 3.5 (Node 24).
  it.each(["n", "d"] as const)("refuses a key with another key's %s, with one message on every Node", (member) => {
    const mixed = { ...first.keys[0], privateJwk: { ...first.keys[0].privateJwk, [member]: other.keys[0].privateJwk[member] } };
    expect(parseSigningKeys(text({ keys: [mixed] })).problems).toEqual([
      "enclii:januaSigningKeys.keys[0].privateJwk: RSA key members do not belong together (n, e, d, p, q, dp, dq, qi)",
    ]);
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

  it("reports shape problems together with the checks across keys", () => {
    const extra = { ...first.keys[0], extra: true };
    const newerDuplicate = { ...other.keys[0], kid: first.keys[0].kid, createdAt: "2026-12-01T00:00:00Z" };
    expect(
      parseSigningKeys(text({ keys: [extra, newerDuplicate, weak(), { ...weak(), kid: "late", createdAt: "soon" }] })).problems,
    ).toEqual([
      'enclii:januaSigningKeys.keys[0]: unknown field "extra"',
      "enclii:januaSigningKeys.keys[3].createdAt: must be an RFC 3339 time such as 2026-11-22T00:00:00Z",
      `enclii:januaSigningKeys.keys[1].kid: "${first.keys[0].kid}" is used by more than one key`,
      "enclii:januaSigningKeys.keys[1].createdAt: keys must be ordered newest first",
      "enclii:januaSigningKeys.keys[2].privateJwk: RSA key has 1024 bits; at least 2048 are required",
      "enclii:januaSigningKeys.keys[3].privateJwk: RSA key has 1024 bits; at least 2048 are required",
    ]);
  });

  it("names unknown fields, a bad time, an empty set and text that is not JSON", () => {
    expect(parseSigningKeys(text({ keys: [{ ...first.keys[0], extra: 1 }] })).problems).toEqual([
      'enclii:januaSigningKeys.keys[0]: unknown field "extra"',
    ]);
    expect(parseSigningKeys(text({ keys: [{ ...first.keys[0], createdAt: "yesterday" }] })).problems).toEqual([
      "enclii:januaSigningKeys.keys[0].createdAt: must be an RFC 3339 time such as 2026-11-22T00:00:00Z",
    ]);
    expect(parseSigningKeys(text({ keys: [] })).problems).toEqual(["enclii:januaSigningKeys.keys: needs at least one key"]);
    expect(parseSigningKeys("{not json").problems).toEqual([
      "enclii:januaSigningKeys: must be JSON (a key set); create one with: npm run --silent keys -- rotate | pulumi config set --secret enclii:januaSigningKeys",
    ]);
  });

  it("accepts the offline plan's placeholder: one 2048-bit key of 2026-01-01, as rotate writes it", () => {
    const placeholder = readFileSync(join(__dirname, "..", "automation", "placeholders", "janua-signing-keys.json"), "utf8");
    const { value, problems } = parseSigningKeys(placeholder);
    expect(problems).toEqual([]);
    expect(value!.keys).toHaveLength(1);
    const [key] = value!.keys;
    expect([key.createdAt, key.kid]).toEqual(["2026-01-01T00:00:00Z", thumbprint(key.privateJwk)]);
    expect(Buffer.from(key.privateJwk.n, "base64url").length * 8).toBe(2048);
    expect(placeholder).toBe(`${serializeSigningKeys(value!)}\n`);
  });
});

describe("npm run keys", () => {
  it("rotate on empty input makes a new set and says so; stderr names kids, never key material", async () => {
    const r = await main(["rotate"], "", { now: NOW });
    expect(r.code).toBe(0);
    const set = parseSigningKeys(r.stdout).value!;
    expect(set.keys).toHaveLength(1);
    expect(r.stderr).toBe(`stdin was empty: new key set with signing key ${set.keys[0].kid}\n`);
    expect(r.stderr).not.toContain(set.keys[0].privateJwk.d);
  });

  it("rotate --if-older-than-days leaves a younger set byte for byte, and rotates an older one", async () => {
    const input = `${serializeSigningKeys(first)}\n`;
    const young = await main(["rotate", "--if-older-than-days", "90"], input, { now: at(30) });
    expect([young.code, young.stdout]).toEqual([0, input]);
    const old = await main(["rotate", "--if-older-than-days", "90"], input, { now: at(91) });
    const next = parseSigningKeys(old.stdout).value!;
    expect(next.keys.map((k) => k.kid)[1]).toBe(first.keys[0].kid);
    expect(old.stderr).toBe(`new signing key ${next.keys[0].kid}; still published: ${first.keys[0].kid}; dropped: none\n`);
    for (const k of next.keys)
      for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) expect(old.stderr).not.toContain(k.privateJwk[member]);
  });

  it("rotate --overlap-days 0 drops every retired key at once (after a leak)", async () => {
    const r = await main(["rotate", "--overlap-days", "0"], serializeSigningKeys(first), { now: at(1) });
    const next = parseSigningKeys(r.stdout).value!;
    expect(r.stderr).toBe(`new signing key ${next.keys[0].kid}; still published: none; dropped: ${first.keys[0].kid}\n`);
  });

  it("refuses an invalid set with exit 2 and the problem on stderr, and a clock behind the set with exit 1", async () => {
    expect(await main(["rotate"], '{"keys":[]}', { now: NOW })).toEqual({
      code: 2,
      stdout: "",
      stderr: "stdin.keys: needs at least one key\n",
    });
    expect(await main(["rotate"], serializeSigningKeys(first), { now: at(-1) })).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringMatching(/check the clock\n$/),
    });
  });

  it("refuses to write private keys to a terminal", async () => {
    expect(await main(["rotate"], "", { now: NOW, stdoutIsTerminal: true })).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/^refusing to print private keys to a terminal/),
    });
  });

  it("jwks prints the public set only", async () => {
    const r = await main(["jwks"], serializeSigningKeys(first), { now: NOW });
    expect(JSON.parse(r.stdout)).toEqual(publicJwks(first));
    expect(r.stdout).not.toContain(first.keys[0].privateJwk.d);
  });

  it("works as a pipe: the script reads stdin, writes the set to stdout and sets the exit status", () => {
    const run = (args: string[], input: string) =>
      spawnSync(process.execPath, [join(__dirname, "..", "node_modules", "tsx", "dist", "cli.mjs"), "automation/keys.ts", ...args], {
        input,
        encoding: "utf8",
        cwd: join(__dirname, ".."),
      });
    const made = run(["rotate"], "");
    expect(made.status, made.stderr).toBe(0);
    const jwks = run(["jwks"], made.stdout);
    expect(JSON.parse(jwks.stdout).keys[0].kid).toBe(parseSigningKeys(made.stdout).value!.keys[0].kid);
    expect(run(["jwks"], "{}").status).toBe(2);
  });

  it("answers unknown commands and bad flags with usage and exit 2", async () => {
    expect(await main(["rotat"], "")).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/^unknown command rotat\nusage: npm run --silent keys/),
    });
    expect(await main(["rotate", "--overlap-days=-1"], "")).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/^--overlap-days must be a whole number of days\n/),
    });
    expect(await main(["rotate", "--if-older-than-days", "ninety"], "")).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/^--if-older-than-days must be a whole number of days\n/),
    });
    expect(await main(["rotate", "--overlap-days", "-1"], "")).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/argument is ambiguous/),
    });
    expect((await main([], "")).code).toBe(2);
  });
});
