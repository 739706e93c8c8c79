/**
 * Deterministic fake provider outputs for the offline plan and the tests: TEST-NET addresses,
 * numeric Hetzner ids, stable ids everywhere, all derived from resource names (never from
 * registration order, which can vary).
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { SECRET_MARK } from "../model/names";

const hash = (s: string) => createHash("sha256").update(s).digest();

/** 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never a real host. */
function fakeIpv4(name: string): string {
  return `203.0.113.${(hash(name).readUInt8(0) % 250) + 2}`;
}

/** What the mocked token mint prints (components/k3s/credential.ts remoteTokenCommand): a JWT-shaped token and the CA. */
export const FAKE_RUN_TOKEN = "fake-header.fake-run-token.fake-signature";
const FAKE_CA_DATA = Buffer.from("fake-ca").toString("base64");

/** A UUID-shaped id (version 4 layout) derived from `seed`. */
export function fakeUuid(seed: string): string {
  const h = hash(`uuid:${seed}`).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Cloudflare tunnel tokens are base64 JSON: account tag, tunnel id, tunnel secret. */
export function fakeTunnelToken(accountId: string, tunnelId: string): string {
  const s = hash(`tunnel-secret:${tunnelId}`).toString("base64");
  return Buffer.from(JSON.stringify({ a: accountId, t: tunnelId, s })).toString("base64");
}

/** The value of a created Cloudflare API token (shown once by Cloudflare, kept in state as a secret). */
export function fakeTokenValue(name: string): string {
  return hash(`token:${name}`).toString("base64url").slice(0, 40);
}

/** PKCS#8's DER prefix for a raw 32-byte ED25519 private key (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** The SSH wire format's string: a 32-bit big-endian length, then the bytes. */
function sshString(b: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length);
  return Buffer.concat([length, b]);
}

/**
 * A real ED25519 key derived from `seed`, in the OpenSSH formats tls.PrivateKey outputs
 * (openssh PROTOCOL.key, unencrypted), so tests can check a host key's halves belong together.
 */
export function fakeEd25519(seed: string): { privateKeyOpenssh: string; publicKeyOpenssh: string; publicKeyFingerprintSha256: string } {
  const secret = hash(`ed25519:${seed}`);
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
  const pub = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url");
  const blob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(pub)]);
  const check = hash(`check:${seed}`).subarray(0, 4);
  const section = Buffer.concat([check, check, blob, sshString(Buffer.concat([secret, pub])), sshString(Buffer.alloc(0))]);
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  const none = sshString(Buffer.from("none"));
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    none,
    none,
    sshString(Buffer.alloc(0)),
    Buffer.from([0, 0, 0, 1]),
    sshString(blob),
    sshString(Buffer.concat([section, padding])),
  ]);
  const pem = body
    .toString("base64")
    .match(/.{1,70}/g)!
    .join("\n");
  return {
    privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${pem}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
    publicKeyFingerprintSha256: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

const CLOUDFLARE_TOKEN_TYPES = ["cloudflare:index/apiToken:ApiToken", "cloudflare:index/accountToken:AccountToken"];
const TUNNEL_TYPE = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared";
const CUSTOM_HOSTNAME_TYPE = "cloudflare:index/customHostname:CustomHostname";

function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return fakeEd25519(name);
    case "hcloud:index/server:Server":
      return { ipv4Address: fakeIpv4(name), ipv6Address: "2001:db8::1", status: "running" };
    case "random:index/randomPassword:RandomPassword":
      return {
        result: hash(`password:${name}`)
          .toString("base64url")
          .slice(0, Number(inputs.length ?? 32)),
      };
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    case "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication":
      // The application's audience tag, which Grafana and cloudflared check Access's tokens against.
      return { aud: hash(`aud:${name}`).toString("hex") };
    case "kubernetes:helm.sh/v3:Release":
      return { status: { namespace: inputs.namespace, status: "deployed", version: inputs.version } };
    case "random:index/randomBytes:RandomBytes": {
      const bytes = Buffer.alloc(Number(inputs.length ?? 32), hash(`bytes:${name}`));
      return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case TUNNEL_TYPE:
      return { status: "inactive", tunType: "cfd_tunnel", remoteConfig: inputs.configSrc === "cloudflare" };
    case "cloudflare:index/apiToken:ApiToken":
    case "cloudflare:index/accountToken:AccountToken":
      return { status: "active", value: fakeTokenValue(name) };
    case CUSTOM_HOSTNAME_TYPE: {
      const hostname = String(inputs.hostname);
      return {
        status: "pending",
        ownershipVerification: { type: "txt", name: `_cf-custom-hostname.${hostname}`, value: fakeUuid(`ownership:${hostname}`) },
        ownershipVerificationHttp: {
          httpUrl: `http://${hostname}/.well-known/cf-custom-hostname-challenge/${fakeUuid(name)}`,
          httpBody: fakeUuid(`ownership:${hostname}`),
        },
      };
    }
    case "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin":
      return { status: "pending_deployment", errors: [] };
    default:
      return {};
  }
}

function fakeId(type: string, name: string): string {
  // Hetzner ids are integers, and the program converts them with Number().
  if (type.startsWith("hcloud:")) return String((hash(name).readUInt32BE(0) % 90_000_000) + 10_000_000);
  if (type === TUNNEL_TYPE || type === CUSTOM_HOSTNAME_TYPE) return fakeUuid(name);
  if (CLOUDFLARE_TOKEN_TYPES.includes(type)) return hash(`token-id:${name}`).toString("hex").slice(0, 32);
  return `${name}-id`;
}

/** Full stack name (`organization/enclii-infra/staging`) → that stack's outputs, secrets as "[secret]". */
export type StackOutputs = Record<string, Record<string, unknown>>;

const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

const holdsSecret = (v: unknown): boolean =>
  v === SECRET_MARK || (Array.isArray(v) ? v.some(holdsSecret) : v !== null && typeof v === "object" && Object.values(v).some(holdsSecret));

/** A stack reference reads the planned stack's outputs; any output holding a secret is a secret output. */
function stackReferenceState(name: string, stacks: StackOutputs): Record<string, unknown> {
  const outputs = stacks[name];
  if (!outputs)
    throw new Error(`stack reference ${name}: no such stack in this plan (planned: ${Object.keys(stacks).join(", ") || "none"})`);
  return { name, outputs, secretOutputNames: Object.keys(outputs).filter((k) => holdsSecret(outputs[k])) };
}

export function planMocks(stacks: StackOutputs = {}): pulumi.runtime.Mocks {
  // What the zone's custom-hostname list returns: every CustomHostname registered so far.
  const customHostnames = new Map<string, Record<string, unknown>[]>();
  return {
    newResource(args) {
      if (args.type === STACK_REFERENCE_TYPE)
        return { id: String(args.inputs.name), state: stackReferenceState(String(args.inputs.name), stacks) };
      // An adopted resource keeps the id it is imported with.
      const id = args.id || fakeId(args.type, args.name);
      const state = { ...args.inputs, ...fakeOutputs(args.type, args.name, args.inputs) };
      if (args.type === CUSTOM_HOSTNAME_TYPE) {
        const zone = String(args.inputs.zoneId);
        const listed = customHostnames.get(zone) ?? [];
        listed.push({ id, ...state });
        customHostnames.set(zone, listed);
      }
      return { id, state };
    },
    call(args) {
      switch (args.token) {
        case "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken":
          return { ...args.inputs, token: fakeTunnelToken(String(args.inputs.accountId), String(args.inputs.tunnelId)) };
        case "cloudflare:index/getCustomHostnames:getCustomHostnames": {
          const listed = [...(customHostnames.get(String(args.inputs.zoneId)) ?? [])].sort((a, b) =>
            String(a.hostname) < String(b.hostname) ? -1 : 1,
          );
          const results = listed.map((h) => ({
            ...h,
            ssl: {
              ...(h.ssl as object),
              status: "pending_validation",
              validationRecords: [
                {
                  status: "pending",
                  txtName: `_acme-challenge.${h.hostname}`,
                  txtValue: hash(`dcv:${h.hostname}`).toString("base64url").slice(0, 43),
                },
              ],
            },
          }));
          return { ...args.inputs, results };
        }
        case "command:local:run":
          return { ...args.inputs, stdout: `${FAKE_RUN_TOKEN}\n${FAKE_CA_DATA}\n`, stderr: "" };
        default:
          return args.inputs;
      }
    },
  };
}
