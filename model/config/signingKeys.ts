/**
 * Janua's RS256 signing keys as data: a key set kept in secret stack config
 * (`enclii:januaSigningKeys`), newest first, rotated by `npm run keys -- rotate`. Parsing and
 * publishing are synchronous (config parsing uses them); generation uses jose.
 */
import { createPrivateKey } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { z } from "zod";
import { describeIssues, fieldPath } from "./issues";

const SIGNING_ALG = "RS256";
const MIN_RSA_BITS = 2048;
export const DEFAULT_ROTATION_DAYS = 90;
/**
 * How long a retired key stays published. It must outlast the longest-lived token Janua signs
 * (and the JWKS caches of its consumers), or valid sessions fail right after a rotation.
 */
export const DEFAULT_OVERLAP_DAYS = 7;
const DAY_MS = 86_400_000;
const ROTATE_HINT = "create one with: npm run --silent keys -- rotate | pulumi config set --secret enclii:januaSigningKeys";
/** The members of an RSA private JWK, in the order the set is written (stable text, stable diffs). */
const RSA_MEMBERS = ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;

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
});
const signingKey = z.strictObject({
  kid: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true, error: "must be an RFC 3339 time such as 2026-11-22T00:00:00Z" }),
  privateJwk: rsaPrivateJwk,
});
const keySetSchema = z.strictObject({ keys: z.array(signingKey).min(1, "needs at least one key") });

export type RsaPrivateJwk = z.infer<typeof rsaPrivateJwk>;
export type SigningKey = z.infer<typeof signingKey>;
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
  return path.length > 0 ? `${where}.${fieldPath(path)}` : where;
}

const int = (b64: string) => BigInt(`0x${Buffer.from(b64, "base64url").toString("hex") || "0"}`);

function rsaKeyProblem(jwk: RsaPrivateJwk): string | undefined {
  // node:crypto accepts members of different keys (say another key's d): Janua would sign with
  // one key while the JWKS publishes another's n, which no signature verifies against. Checked
  // before node:crypto sees the key, since which mixes it refuses depends on the Node: with
  // OpenSSL 3.5 (Node 24) another key's n or p already fails the import, with 3.0 (Node 20) none.
  const [n, e, d, p, q, dp, dq, qi] = RSA_MEMBERS.slice(1).map((m) => int(jwk[m]));
  const consistent =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    (e * d) % (p - 1n) === 1n &&
    (e * d) % (q - 1n) === 1n &&
    dp === d % (p - 1n) &&
    dq === d % (q - 1n) &&
    (qi * q) % p === 1n;
  if (!consistent) return "RSA key members do not belong together (n, e, d, p, q, dp, dq, qi)";
  let bits: number;
  try {
    bits = createPrivateKey({ key: jwk, format: "jwk" }).asymmetricKeyDetails?.modulusLength ?? 0;
  } catch {
    return "is not a valid RSA private key";
  }
  return bits < MIN_RSA_BITS ? `RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required` : undefined;
}

/** Every problem with the set, each starting with its path; messages never contain key material. */
export function parseSigningKeys(text: string, where = "enclii:januaSigningKeys"): { value?: SigningKeySet; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problems: [`${where}: must be JSON (a key set); ${ROTATE_HINT}`] };
  }
  const result = keySetSchema.safeParse(raw, { reportInput: true });
  const problems = describeIssues(keySetSchema, result.error?.issues ?? [], (path) => pathOf(where, path));

  // The checks across fields and keys also run on keys whose other fields are malformed, so
  // one pass reports everything; each looks only at fields that passed their own shape check.
  const entries: unknown[] = Array.isArray((raw as { keys?: unknown } | null)?.keys) ? (raw as { keys: unknown[] }).keys : [];
  const keys = entries.map((entry) => {
    const o = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const { kid, createdAt, privateJwk } = signingKey.shape;
    return {
      kid: kid.safeParse(o.kid).data,
      createdAt: createdAt.safeParse(o.createdAt).data,
      privateJwk: privateJwk.safeParse(o.privateJwk).data,
    };
  });
  keys.forEach((k, i) => {
    const at = pathOf(where, ["keys", i]);
    if (k.kid !== undefined && keys.findIndex((x) => x.kid === k.kid) !== i)
      problems.push(`${at}.kid: "${k.kid}" is used by more than one key`);
    const newer = keys[i - 1]?.createdAt;
    if (k.createdAt && newer && Date.parse(k.createdAt) > Date.parse(newer))
      problems.push(`${at}.createdAt: keys must be ordered newest first`);
    const keyProblem = k.privateJwk && rsaKeyProblem(k.privateJwk);
    if (keyProblem) problems.push(`${at}.privateJwk: ${keyProblem}`);
  });
  return result.success && problems.length === 0 ? { value: result.data, problems } : { problems };
}

export function publicJwks(set: SigningKeySet): Jwks {
  return { keys: set.keys.map((k) => ({ kty: "RSA", n: k.privateJwk.n, e: k.privateJwk.e, kid: k.kid, alg: SIGNING_ALG, use: "sig" })) };
}

export function keyAgeDays(set: SigningKeySet, now: Date): number {
  return (now.getTime() - Date.parse(set.keys[0].createdAt)) / DAY_MS;
}

export function rotationDue(set: SigningKeySet, now: Date, rotationDays: number): boolean {
  return keyAgeDays(set, now) >= rotationDays;
}

function onlyRsaMembers(jwk: RsaPrivateJwk): RsaPrivateJwk {
  return Object.fromEntries(RSA_MEMBERS.map((m) => [m, jwk[m]])) as RsaPrivateJwk;
}

export async function generateSigningKey(now: Date): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: MIN_RSA_BITS, extractable: true });
  const jwk = (await exportJWK(privateKey)) as RsaPrivateJwk;
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e }, "sha256");
  return { kid, createdAt: now.toISOString().replace(/\.\d{3}Z$/, "Z"), privateJwk: onlyRsaMembers(jwk) };
}

/**
 * A new signing key first; a retired key (retired when its successor was created) stays while
 * its overlap window lasts.
 */
export async function rotateSigningKeys(
  current: SigningKeySet | undefined,
  now: Date,
  overlapDays = DEFAULT_OVERLAP_DAYS,
): Promise<SigningKeySet> {
  const fresh = await generateSigningKey(now);
  const newest = current?.keys[0];
  // Otherwise the new key would sort after the current one and the set would no longer parse.
  if (newest && Date.parse(newest.createdAt) > Date.parse(fresh.createdAt)) {
    throw new Error(`signing key ${newest.kid} was created at ${newest.createdAt}, after now (${fresh.createdAt}); check the clock`);
  }
  const chain = [fresh, ...(current?.keys ?? [])];
  const kept = chain.filter((_, i) => i === 0 || Date.parse(chain[i - 1].createdAt) + overlapDays * DAY_MS > now.getTime());
  return { keys: kept };
}

export function serializeSigningKeys(set: SigningKeySet): string {
  return JSON.stringify({ keys: set.keys.map((k) => ({ kid: k.kid, createdAt: k.createdAt, privateJwk: onlyRsaMembers(k.privateJwk) })) });
}
