import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { denyAllButDns } from "../baseline";
import type { S3Credentials } from "../edge/R2Storage";
import { Janua, SIGNING_KIDS_ANNOTATION, type JanuaSmtp } from "../auth/Janua";
import { APPS_NAMESPACE, R2_APP_SECRET, SECRET_KEYS } from "../../model/names";
import type { Route } from "../../model/routes";
import type { AppService } from "../../model/config/services";
import type { Jwks } from "../../model/config/signingKeys";
import type { ServiceSummary } from "../../model/platformOutputs";
import type { Rotations } from "../../model/rotation";
import { serviceEnv, type BindingContext } from "./env";
import { servicePolicy } from "./network";
import { rotationPodAnnotations } from "./rotation";
import { Service } from "./Service";

export interface AppsArgs {
  services: AppService[];
  redisMode: "standalone" | "sentinel";
  /** Credentials scoped to the assets bucket only. */
  r2: { bucket: pulumi.Output<string>; credentials: S3Credentials };
  janua: {
    signingKeys: pulumi.Output<string>;
    rotationDays: number;
    localhostRedirects: boolean;
    smtp?: JanuaSmtp;
  };
  /** The environment (stack) name. */
  stack: string;
  /** The environment's observability (absent: off): scrape, trace and availability wiring follow it. */
  observability?: { traces: boolean };
  /** `enclii:rotations` (absent: every secret at generation 0): Janua's secrets and the pods that read rotated secrets. */
  rotations?: Rotations;
  provider: k8s.Provider;
}

/**
 * Enclii's own services from their `dogfooding/` specs, in the apps namespace: default-deny
 * underneath, Janua's key material and clients, one Service component per spec.
 */
export class Apps extends pulumi.ComponentResource {
  /** Public routes for the edge (tunnel ingress and DNS). */
  public readonly routes: Route[];
  public readonly services: ServiceSummary[];
  public readonly issuer?: string;
  public readonly jwksUri?: string;
  public readonly jwks?: pulumi.Output<Jwks>;

  constructor(name: string, args: AppsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Env and policies are pure and come from the specs alone: computed before anything is registered.
    const providerSpec = args.services.find((s) => s.bindings.oidc?.role === "provider");
    const ctx: BindingContext = {
      provider: providerSpec && { name: providerSpec.name, port: providerSpec.port, hostname: providerSpec.hostnames[0] },
      smtp: args.janua.smtp?.settings,
      stack: args.stack,
      observability: args.observability,
    };
    const specs = args.services.map((svc) => ({
      svc,
      env: serviceEnv(svc, ctx),
      networkPolicy: servicePolicy(svc, args.services, {
        redisMode: args.redisMode,
        smtpPort: ctx.smtp?.port,
        observability: args.observability,
      }),
    }));
    super("enclii:apps:Apps", name, {}, opts);
    const kube = { parent: this, provider: args.provider };
    denyAllButDns(name, { namespace: APPS_NAMESPACE, provider: args.provider, parent: this });

    let r2Secret: k8s.core.v1.Secret | undefined;
    if (args.services.some((s) => s.bindings.r2)) {
      const { credentials, bucket } = args.r2;
      const r2 = SECRET_KEYS.r2;
      r2Secret = new k8s.core.v1.Secret(
        `${name}-r2-assets`,
        {
          metadata: { name: R2_APP_SECRET, namespace: APPS_NAMESPACE },
          type: "Opaque",
          stringData: {
            [r2.endpoint]: credentials.endpoint,
            [r2.bucket]: bucket,
            [r2.accessKeyId]: credentials.accessKeyId,
            [r2.secretAccessKey]: credentials.secretAccessKey,
          },
        },
        kube,
      );
    }

    const rotations = args.rotations ?? {};
    const janua = providerSpec
      ? new Janua(
          `${name}-janua`,
          { provider: providerSpec, services: args.services, ...args.janua, rotations, k8sProvider: args.provider },
          { parent: this },
        )
      : undefined;
    const components = specs.map(
      ({ svc, env, networkPolicy }) =>
        new Service(
          `${name}-${svc.name}`,
          {
            service: svc,
            env,
            networkPolicy,
            podAnnotations: {
              ...(svc === providerSpec && janua && { [SIGNING_KIDS_ANNOTATION]: janua.signingKeyIds }),
              ...rotationPodAnnotations(svc.bindings, rotations),
            },
            provider: args.provider,
          },
          // Pods start (and read their env) only after the Secrets they read are written: a rotated
          // secret's new pods must never start on the old value (../rotation.ts).
          { parent: this, dependsOn: [...(janua ? [janua] : []), ...(svc.bindings.r2 && r2Secret ? [r2Secret] : [])] },
        ),
    );

    this.routes = components.flatMap((c) => c.routes);
    this.services = args.services.map((s) => ({
      name: s.name,
      image: s.image,
      replicas: s.replicas,
      maxReplicas: s.autoscaling?.maxReplicas,
      hostnames: s.hostnames,
    }));
    this.issuer = janua?.issuer;
    this.jwksUri = janua?.jwksUri;
    this.jwks = janua?.jwks;
    this.registerOutputs({ routes: this.routes, services: this.services, issuer: this.issuer, jwksUri: this.jwksUri, jwks: this.jwks });
  }
}
