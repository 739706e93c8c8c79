import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { APPS_NAMESPACE, JANUA_SECRETS, JWKS_PATH, SECRET_KEYS, issuerUrl, oidcClientSecretName } from "../../model/names";
import type { SmtpSettings } from "../../model/config/schema";
import type { AppService } from "../../model/config/services";
import { parseSigningKeys, publicJwks, rotationDue, type Jwks } from "../../model/config/signingKeys";
import { generationName, generationsOf, type Rotations } from "../../model/rotation";
import { oidcClients, type OidcClient } from "./clients";

/** RFC 7518 §3.2: an HS256 key must be at least 256 bits; 48 bytes leaves margin. */
const HS256_SECRET_BYTES = 48;
const SESSION_SECRET_LENGTH = 64;
const CLIENT_SECRET_LENGTH = 48;
export const SIGNING_KIDS_ANNOTATION = "enclii.dev/signing-key-ids";

/** Janua's mail server: the plain settings and the secret password travel together. */
export interface JanuaSmtp {
  settings: SmtpSettings;
  password: pulumi.Output<string>;
}

export interface JanuaArgs {
  /** The spec with `bindings.oidc.role: provider`. */
  provider: AppService;
  /** All specs: their oidc bindings become Janua's clients. */
  services: AppService[];
  /** `enclii:januaSigningKeys`, already validated: a Pulumi secret. */
  signingKeys: pulumi.Output<string>;
  rotationDays: number;
  /** Outside production the web client may also redirect to a local dev server. */
  localhostRedirects: boolean;
  smtp?: JanuaSmtp;
  /** `enclii:rotations`: the HS256 and session secrets are named by their current generations. */
  rotations: Rotations;
  k8sProvider: k8s.Provider;
}

/**
 * Janua's key material and client registry as Kubernetes Secrets in the apps namespace. The
 * signing keys come from secret stack config (rotated by `npm run keys -- rotate`), so every
 * evaluation with the same config signs with the same key; the JWKS is their public half.
 */
export class Janua extends pulumi.ComponentResource {
  public readonly issuer: string;
  public readonly jwksUri: string;
  public readonly jwks: pulumi.Output<Jwks>;
  public readonly clients: OidcClient[];
  /** Key ids in publication order; a pod annotation, so rotating keys rolls Janua's pods. */
  public readonly signingKeyIds: pulumi.Output<string>;

  constructor(name: string, args: JanuaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:auth:Janua", name, {}, opts);
    const kube = { parent: this, provider: args.k8sProvider };
    const secret = (role: string, secretName: string, stringData: Record<string, pulumi.Input<string>>) =>
      new k8s.core.v1.Secret(
        `${name}-${role}`,
        { metadata: { name: secretName, namespace: APPS_NAMESPACE }, type: "Opaque", stringData },
        kube,
      );

    const keySet = args.signingKeys.apply((text) => {
      const { value, problems } = parseSigningKeys(text);
      if (!value) throw new Error(`${name}: ${problems.join("; ")}`);
      return value;
    });
    keySet.apply((set) => {
      if (rotationDue(set, new Date(), args.rotationDays)) {
        pulumi.log.warn(
          `Janua's signing key ${set.keys[0].kid} is older than ${args.rotationDays} days; rotate it (docs/runbooks/rotations.md#januas-signing-key)`,
          this,
        );
      }
    });
    // The public half of a secret is not secret: unwrap it so the JWKS can be a readable stack output.
    this.jwks = pulumi.unsecret(keySet.apply(publicJwks));
    this.signingKeyIds = pulumi.unsecret(keySet.apply((set) => set.keys.map((k) => k.kid).join(",")));
    secret("signing-keys", JANUA_SECRETS.signingKeys, { [SECRET_KEYS.signingKeys]: pulumi.secret(args.signingKeys) });

    // Janua signs and verifies with one HS256 secret and one session secret, no previous one
    // beside it, so a new generation replaces the value outright: tokens and sessions signed
    // with the old one stop working once the pods that read it have rolled (docs/services.md#rotating-januas-secrets).
    // Only the random values get new resource names: a renamed Kubernetes Secret with the same
    // metadata.name would be created over and then deleted by the old name's delete
    // (pulumi/pulumi-kubernetes#2948), so the Secrets are updated in place.
    const generation = (rotated: "janua-hs256" | "janua-session") => generationsOf(args.rotations, rotated).current;
    const hs256 = new random.RandomBytes(
      generationName(`${name}-hs256`, generation("janua-hs256")),
      { length: HS256_SECRET_BYTES },
      { parent: this },
    );
    secret("internal", JANUA_SECRETS.internal, { [SECRET_KEYS.hs256]: pulumi.secret(hs256.base64) });
    const session = new random.RandomPassword(
      generationName(`${name}-session`, generation("janua-session")),
      { length: SESSION_SECRET_LENGTH, special: false },
      { parent: this },
    );
    secret("session", JANUA_SECRETS.session, {
      [SECRET_KEYS.session]: pulumi.secret(session.result),
      ...(args.smtp ? { [SECRET_KEYS.smtpPassword]: pulumi.secret(args.smtp.password) } : {}),
    });

    this.clients = oidcClients(args.services, args.localhostRedirects);
    const clientSecrets: Record<string, pulumi.Output<string>> = {};
    for (const c of this.clients.filter((x) => x.token_endpoint_auth_method !== "none")) {
      const password = new random.RandomPassword(
        `${name}-client-${c.client_id}`,
        { length: CLIENT_SECRET_LENGTH, special: false },
        { parent: this },
      );
      clientSecrets[c.client_id] = password.result;
      secret(`client-${c.client_id}`, oidcClientSecretName(c.client_id), { [SECRET_KEYS.clientSecret]: pulumi.secret(password.result) });
    }
    const registry = pulumi
      .all(clientSecrets)
      .apply((secrets) =>
        JSON.stringify({ clients: this.clients.map((c) => (secrets[c.client_id] ? { ...c, client_secret: secrets[c.client_id] } : c)) }),
      );
    secret("clients", JANUA_SECRETS.clients, { [SECRET_KEYS.clients]: pulumi.secret(registry) });

    const hostname = args.provider.hostnames[0];
    this.issuer = issuerUrl(hostname);
    this.jwksUri = `${this.issuer}${JWKS_PATH}`;
    this.registerOutputs({
      issuer: this.issuer,
      jwksUri: this.jwksUri,
      jwks: this.jwks,
      clients: this.clients,
      signingKeyIds: this.signingKeyIds,
    });
  }
}
