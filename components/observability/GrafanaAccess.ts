import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

/** How long a sign-in through Access lasts before Cloudflare asks again. */
const SESSION_DURATION = "24h";

export interface GrafanaAccessArgs {
  stack: string;
  accountId: string;
  hostname: string;
  allowedEmails: string[];
  allowedEmailDomains: string[];
  provider: cloudflare.Provider;
}

/** Grafana's hostname behind Cloudflare Access: only the configured emails or email domains get through to it. */
export class GrafanaAccess extends pulumi.ComponentResource {
  /** The tunnel's route to Grafana must wait for this: until it exists the hostname would be open. */
  public readonly application: cloudflare.ZeroTrustAccessApplication;

  constructor(name: string, args: GrafanaAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:GrafanaAccess", name, {}, opts);
    const cf = { parent: this, provider: args.provider };
    const policy = new cloudflare.ZeroTrustAccessPolicy(
      `${name}-policy`,
      {
        accountId: args.accountId,
        name: `enclii-${args.stack} grafana`,
        decision: "allow",
        includes: [
          ...args.allowedEmails.map((email) => ({ email: { email } })),
          ...args.allowedEmailDomains.map((domain) => ({ emailDomain: { domain } })),
        ],
        sessionDuration: SESSION_DURATION,
      },
      cf,
    );
    this.application = new cloudflare.ZeroTrustAccessApplication(
      `${name}-application`,
      {
        accountId: args.accountId,
        name: `enclii-${args.stack} grafana`,
        type: "self_hosted",
        domain: args.hostname,
        destinations: [{ type: "public", uri: args.hostname }],
        sessionDuration: SESSION_DURATION,
        appLauncherVisible: true,
        policies: [{ id: policy.id, precedence: 1 }],
      },
      cf,
    );
    this.registerOutputs({ application: this.application.id });
  }
}
