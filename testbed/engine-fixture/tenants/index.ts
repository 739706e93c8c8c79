/**
 * The tenants fixture (testbed/cliFixture.ts): a shard stack of the `enclii-tenants` project as
 * `enclii-infra domains` drives it, without Cloudflare. Like the real program (stacks/tenants.ts)
 * it reads its tenants from `enclii-tenants:tenants`, the API server from its environment's
 * platform stack (the engine fixture's `kubeApi` output, through a stack reference) and its token
 * from ENCLII_TENANTS_TOKEN. Its resources carry the real program's names
 * (model/tenantResources.ts, which this copied program cannot import), so `domains` targets mean
 * here what they mean there: per tenant the namespace `tenant-<name>` (`tenants-<name>-namespace`)
 * and five ConfigMaps standing in for its other objects (`tenants-<name>-quota`, `-limits`,
 * `-policy` in the namespace; `-route-service` and `-ingress`, which lists the hostnames and the
 * Service, outside it as the route is), per hostname a ConfigMap standing in for its custom hostname
 * (`tenants-<hostname>`) and one shard-wide ConfigMap listing every hostname, standing in for the
 * Probe (`tenants-probe`). What stands outside the tenant's namespace is in `default`. It exports
 * `hostnames` in the real shape (components/tenants/TenantShard.ts `HostnameStatus`) from the
 * hostnames' ConfigMaps, as the real one is read from the custom hostnames: every hostname pending,
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
/** The shard program's TenantShard, which starts every name (model/tenantResources.ts SHARD_RESOURCE). */
const SHARD = "tenants";
/** Where what the real shard keeps outside the tenant's namespace stands: the route, the custom hostnames, the Probe. */
const OUTSIDE = "default";

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
  const shard = new TenantShard(SHARD);
  const kube = { parent: shard, provider };
  const configMap = (
    name: string,
    metadata: { name: string; namespace: pulumi.Input<string> },
    data: pulumi.Input<Record<string, string>>,
    dependsOn: pulumi.Resource[] = [],
  ) => new k8s.core.v1.ConfigMap(name, { metadata: { ...metadata, annotations: NO_CONTROLLERS }, data }, { ...kube, dependsOn });
  const sorted = [...tenants].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const tenant of sorted) {
    const id = `${SHARD}-${tenant.name}`;
    const ns = new k8s.core.v1.Namespace(
      `${id}-namespace`,
      { metadata: { name: `tenant-${tenant.name}`, annotations: NO_CONTROLLERS } },
      kube,
    );
    for (const object of ["quota", "limits", "policy"])
      configMap(`${id}-${object}`, { name: object, namespace: ns.metadata.name }, { standsFor: object });
    const route = configMap(
      `${id}-route-service`,
      { name: `tenant-${tenant.name}-service`, namespace: OUTSIDE },
      { standsFor: "route-service" },
    );
    configMap(
      `${id}-ingress`,
      { name: `tenant-${tenant.name}-ingress`, namespace: OUTSIDE },
      { hostnames: tenant.hostnames.join(","), service: `${tenant.service.name}:${tenant.service.port}` },
      [route],
    );
  }
  const entries = sorted
    .flatMap((t) => t.hostnames.map((hostname) => ({ tenant: t.name, hostname })))
    .sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  if (entries.length > 0)
    configMap(
      `${SHARD}-probe`,
      { name: `custom-hostnames-${pulumi.getStack()}`, namespace: OUTSIDE },
      { hostnames: entries.map((e) => e.hostname).join(",") },
    );
  const created = entries.map(({ tenant, hostname }) =>
    configMap(`${SHARD}-${hostname}`, { name: `custom-hostname-${hostname}`, namespace: OUTSIDE }, { tenant, hostname, status: "pending" }),
  );
  const fallbackOrigin = platform.getOutput("customHostnames").apply((c?: { fallbackOrigin: string }) => c?.fallbackOrigin ?? "");
  const hostnames = pulumi.all([fallbackOrigin, pulumi.all(created.map((c) => c.data))]).apply(([cnameTarget, states]) =>
    Object.fromEntries(
      states.map(({ tenant, hostname: h, status }) => [
        h,
        {
          tenant,
          status,
          sslStatus: "pending_validation",
          cnameTarget,
          ownershipVerification: { name: `_cf-custom-hostname.${h}`, value: digest(`ownership ${h}`) },
          sslValidation: [{ name: `_acme-challenge.${h}`, value: digest(`certificate ${h}`) }],
        },
      ]),
    ),
  );
  shard.done({ hostnames });
  return { platform: `${ORGANIZATION}/enclii-infra/${environment}`, tenants: tenants.length, hostnames };
};
