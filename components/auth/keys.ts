/**
 * Janua's RS256 signing keys as data: a key set kept in secret stack config
 * (`enclii:januaSigningKeys`), newest first, rotated by `npm run keys -- rotate`. Parsing and
 * publishing are synchronous (config parsing uses them); generation uses jose.
 */
import { createPrivateKey } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { z } from "zod";

export const SIGNING_ALG = "RS256";
export const MIN_RSA_BITS = 2048;
export const DEFAULT_ROTATION_DAYS = 90;
/**
 * How long a retired key stays published. It must outlast the longest-lived token Janua signs
 * (and the JWKS caches of its consumers), or valid sessions fail right after a rotation.
 */
export const DEFAULT_OVERLAP_DAYS = 7;
const DAY_MS = 86_400_000;
const ROTATE_HINT = "create one with: npm run --silent keys -- rotate | pulumi config set --secret enclii:januaSigningKeys";

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
const rsaPrivateJwk = z.strictObject({
  kty: z.literal("RSA"),
  n: b64url,
  e: b64url,
  d: b64url,
  p: b64url,
  q: b64url,
  dp: b64url,
  dq: b64url,
  qi: b64url,
  alg: z.literal(SIGNING_ALG).optional(),
  use: z.literal("sig").optional(),
  kid: z.string().optional(),
  ext: z.boolean().optional(),
  key_ops: z.array(z.string()).optional(),
});
const keySetSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        kid: z.string().min(1),
        createdAt: z.iso.datetime({ offset: true, error: "must be an RFC 3339 time such as 2026-11-22T00:00:00Z" }),
        privateJwk: rsaPrivateJwk,
      }),
    )
    .min(1, "needs at least one key"),
});

export type RsaPrivateJwk = z.infer<typeof rsaPrivateJwk>;
export type SigningKey = z.infer<typeof keySetSchema>["keys"][number];
export interface SigningKeySet {
  keys: SigningKey[];
}
export interface PublicJwk {
  kty: "RSA";
  n: string;
  e: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: "sig";
}
export interface Jwks {
  keys: PublicJwk[];
}

function pathOf(where: string, path: readonly PropertyKey[]): string {
  return where + path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/** Every problem with the set, each starting with its path; messages never contain key material. */
export function parseSigningKeys(text: string, where = "enclii:januaSigningKeys"): { value?: SigningKeySet; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problems: [`${where}: must be JSON (a key set); ${ROTATE_HINT}`] };
  }
  const result = keySetSchema.safeParse(raw);
  if (!result.success) {
    return {
      problems: result.error.issues.map((i) => {
        const message = i.code === "unrecognized_keys" ? `unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}` : i.message;
        return `${pathOf(where, i.path)}: ${message}`;
      }),
    };
  }
  const set = result.data;
  const problems: string[] = [];
  set.keys.forEach((k, i) => {
    const at = pathOf(where, ["keys", i]);
    if (set.keys.findIndex((x) => x.kid === k.kid) !== i) problems.push(`${at}.kid: "${k.kid}" is used by more than one key`);
    try {
      const bits = createPrivateKey({ key: k.privateJwk, format: "jwk" }).asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) problems.push(`${at}.privateJwk: RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    } catch {
      problems.push(`${at}.privateJwk: is not a valid RSA private key`);
    }
    if (i > 0 && Date.parse(k.createdAt) > Date.parse(set.keys[i - 1].createdAt)) problems.push(`${at}.createdAt: keys must be ordered newest first`);
  });
  return problems.length > 0 ? { problems } : { value: set, problems };
}

export function publicJwks(set: SigningKeySet): Jwks {
  return { keys: set.keys.map((k) => ({ kty: "RSA", n: k.privateJwk.n, e: k.privateJwk.e, kid: k.kid, alg: SIGNING_ALG, use: "sig" })) };
}

export function keyAgeDays(set: SigningKeySet, now: Date): number {
  return (now.getTime() - Date.parse(set.keys[0].createdAt)) / DAY_MS;
}

export function rotationDue(set: SigningKeySet, now: Date, rotationDays = DEFAULT_ROTATION_DAYS): boolean {
  return keyAgeDays(set, now) >= rotationDays;
}

export async function generateSigningKey(now: Date): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: MIN_RSA_BITS, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e }, "sha256");
  const { kty, n, e, d, p, q, dp, dq, qi } = jwk as RsaPrivateJwk;
  return { kid, createdAt: now.toISOString().replace(/\.\d{3}Z$/, "Z"), privateJwk: { kty, n, e, d, p, q, dp, dq, qi } };
}

/**
 * A new signing key first; a retired key (retired when its successor was created) stays while
 * its overlap window lasts.
 */
export async function rotateSigningKeys(current: SigningKeySet | undefined, now: Date, overlapDays = DEFAULT_OVERLAP_DAYS): Promise<SigningKeySet> {
  const fresh = await generateSigningKey(now);
  const chain = [fresh, ...(current?.keys ?? [])];
  const kept = chain.filter((_, i) => i === 0 || Date.parse(chain[i - 1].createdAt) + overlapDays * DAY_MS > now.getTime());
  return { keys: kept };
}

export function serializeSigningKeys(set: SigningKeySet): string {
  return JSON.stringify({ keys: set.keys.map((k) => ({ kid: k.kid, createdAt: k.createdAt, privateJwk: k.privateJwk })) });
}
