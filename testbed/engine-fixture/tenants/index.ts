/**
 * The tenants fixture (testbed/cliFixture.ts): a shard stack of the `enclii-tenants` project as
 * `enclii-infra domains` drives it, without Cloudflare. Like the real program (stacks/tenants.ts)
 * it reads its tenants from `enclii-tenants:tenants`, the API server from its environment's
 * platform stack (the engine fixture's `kubeApi` output, through a stack reference) and its token
 * from ENCLII_TENANTS_TOKEN; per tenant it creates the namespace (`tenant-<name>`, guarded like
 * the real one) and a ConfigMap naming the hostnames and the Service. It exports `hostnames` in
 * the real shape (components/tenants/TenantShard.ts `HostnameStatus`), every hostname pending,
 * with records derived from the hostname where Cloudflare would issue them.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";

interface Tenant {
  name: string;
  hostnames: string[];
  service: { name: string; port: number };
}

/** No controller finalizes anything on the test API server (testbed/engine-fixture/index.ts). */
const NO_CONTROLLERS = { "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" };
/** The file backend has one organization, and this is its name. */
const ORGANIZATION = "organization";

class TenantShard extends pulumi.ComponentResource {
  constructor(name: string) {
    super("enclii:tenants:TenantShard", name, {});
  }
  done(outputs: pulumi.Inputs): void {
    this.registerOutputs(outputs);
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

export = async () => {
  const tenants = new pulumi.Config("enclii-tenants").getObject<Tenant[]>("tenants") ?? [];
  const environment = pulumi.getStack().replace(/-\d{3}$/, "");
  const platform = new pulumi.StackReference("platform", { name: `${ORGANIZATION}/enclii-infra/${environment}` });
  const token = process.env.ENCLII_TENANTS_TOKEN;
  if (!token) throw new Error("ENCLII_TENANTS_TOKEN is not set");
  const kubeconfig = platform.requireOutput("kubeApi").apply((api: { server: string; certificateAuthorityData: string }) =>
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "enclii", cluster: { server: api.server, "certificate-authority-data": api.certificateAuthorityData } }],
      users: [{ name: "tenants", user: { token } }],
      contexts: [{ name: "enclii", context: { cluster: "enclii", user: "tenants" } }],
      "current-context": "enclii",
    }),
  );
  const provider = new k8s.Provider("k8s", { kubeconfig: pulumi.secret(kubeconfig) });
  const shard = new TenantShard("tenants");
  for (const tenant of tenants) {
    const id = `tenants-${tenant.name}`;
    const namespace = new k8s.core.v1.Namespace(
      `${id}-namespace`,
      { metadata: { name: `tenant-${tenant.name}`, annotations: NO_CONTROLLERS } },
      { parent: shard, provider },
    );
    new k8s.core.v1.ConfigMap(
      `${id}-hostnames`,
      {
        metadata: { name: "tenant", namespace: namespace.metadata.name, annotations: NO_CONTROLLERS },
        data: { hostnames: tenant.hostnames.join(","), service: `${tenant.service.name}:${tenant.service.port}` },
      },
      { parent: shard, provider },
    );
  }
  const fallbackOrigin = platform.getOutput("customHostnames").apply((c?: { fallbackOrigin: string }) => c?.fallbackOrigin ?? "");
  const hostnames = fallbackOrigin.apply((cnameTarget) =>
    Object.fromEntries(
      tenants.flatMap((t) =>
        t.hostnames.map((h) => [
          h,
          {
            tenant: t.name,
            status: "pending",
            sslStatus: "pending_validation",
            cnameTarget,
            ownershipVerification: { name: `_cf-custom-hostname.${h}`, value: digest(`ownership ${h}`) },
            sslValidation: [{ name: `_acme-challenge.${h}`, value: digest(`certificate ${h}`) }],
          },
        ]),
      ),
    ),
  );
  shard.done({ hostnames });
  return { platform: `${ORGANIZATION}/enclii-infra/${environment}`, tenants: tenants.length, hostnames };
};
