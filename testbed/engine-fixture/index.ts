/**
 * The engine tests' program (test/engine.real.test.ts): a few Kubernetes objects named and nested
 * as the platform nests them (enclii:platform:Platform > enclii:apps:Service > Deployment, the
 * Redis StatefulSet, the CloudNativePG Cluster), so the real engine's events carry the platform's
 * URNs and types. It runs against an API server with no controllers: nothing ever becomes ready,
 * so every object says `pulumi.com/skipAwait` but a Deployment running `enclii:failingImage`,
 * whose rollout the provider waits for and which therefore fails as a real bad rollout does.
 *
 * Config: the fixture's own knobs in namespace `fixture`, which the platform's config schema
 * ignores (so a stack file holding them still passes `loadEnvironment`, testbed/cliFixture.ts):
 * `kubeconfig` (secret; without it only the outputs are registered, for the tests that need no
 * cluster), `failingImage`, `redisStorageGi`, `databaseCluster`, `database` (false removes the
 * Cluster), `holdUntil` (a file an update's program waits for, to hold the stack's lock),
 * `holdStepUntil` (a file a step waits for, ignoring cancellation: `HeldStep`), `greeting` (kept
 * in a Stash, the engine's own resource, so a change is an update even without a cluster) and
 * `token` (secret), returned as outputs. The platform's own keys where the fixture means the same:
 * `enclii:services` (the image override shape, `{ <service>: { image, replicas } }`, which the
 * library writes), `enclii:protect`, and `enclii:domain` (exported, with `customHostnames`, as a
 * tenant shard reads them). With a kubeconfig it exports `kubeApi` (server and CA, as the
 * platform's), which the tenants fixture (tenants/index.ts) reads through a stack reference.
 */
import { existsSync } from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

const platformConfig = new pulumi.Config("enclii");
const config = new pulumi.Config("fixture");
const NAMESPACE = "enclii-platform";
const SERVICES = ["switchyard-api", "switchyard-ui"];
/**
 * No waiting for readiness (pulumi-kubernetes honours it on every kind, provider/pkg/await), and
 * deletes in the background: the default, foreground, leaves a finalizer only the garbage
 * collector removes, and the provider would wait for it (provider/pkg/metadata/overrides.go
 * `DeletionPropagation`, `DeletedCondition`).
 */
const NO_CONTROLLERS = { "pulumi.com/skipAwait": "true", "pulumi.com/deletionPropagationPolicy": "background" };

class Component extends pulumi.ComponentResource {
  constructor(type: string, name: string, parent?: pulumi.Resource) {
    super(type, name, {}, { parent });
    this.registerOutputs({});
  }
}

interface ServiceConfig {
  image?: string;
  replicas?: number;
}

/** The API server and its CA from a kubeconfig, as the platform's `kubeApi` output has them (model/platformOutputs.ts). */
function kubeApi(text: string): { server: string; certificateAuthorityData: string } {
  const cluster = (parse(text) as { clusters: { cluster: { server: string; "certificate-authority-data": string } }[] }).clusters[0]
    .cluster;
  return { server: cluster.server, certificateAuthorityData: cluster["certificate-authority-data"] };
}

/** Resolves once `file` exists: the test creates it when a held update may go on. */
async function until(file: string): Promise<void> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * A step that lasts until the test says: its create and update wait for the file `until` names.
 * Like a provider that cannot stop an operation it started, it goes on when the engine cancels
 * (a dynamic provider's Cancel does nothing: @pulumi/pulumi cmd/dynamic-provider `cancel`), so a
 * signal arrives while a step is in flight and stays so. Its provider runs in the
 * `pulumi-resource-pulumi-nodejs` plugin (testbed/engine.ts puts it on PATH).
 */
class HeldStep extends pulumi.dynamic.Resource {
  constructor(name: string, props: { until: string; greeting: string }) {
    const provider: pulumi.dynamic.ResourceProvider = {
      async create(inputs) {
        await until(inputs.until);
        return { id: "held", outs: inputs };
      },
      async update(_id, _olds, news) {
        await until(news.until);
        return { outs: news };
      },
    };
    super(provider, name, props);
  }
}

function platform(provider: k8s.Provider): void {
  const services = platformConfig.getObject<Record<string, ServiceConfig>>("services") ?? {};
  const failing = config.get("failingImage");
  const protect = platformConfig.getBoolean("protect") ?? false;
  const root = new Component("enclii:platform:Platform", "enclii");
  const namespace = new k8s.core.v1.Namespace("enclii-namespace", { metadata: { name: NAMESPACE } }, { parent: root, provider });
  const opts = { provider, dependsOn: [namespace] };

  const apps = new Component("enclii:apps:Apps", "enclii-apps", root);
  for (const name of SERVICES) {
    const component = new Component("enclii:apps:Service", `enclii-apps-${name}`, apps);
    const image = services[name]?.image ?? `ghcr.io/madfam-io/${name}:1.4.2`;
    const labels = { app: name };
    new k8s.apps.v1.Deployment(
      `enclii-apps-${name}-deployment`,
      {
        metadata: { name, namespace: NAMESPACE, labels, annotations: image === failing ? {} : NO_CONTROLLERS },
        spec: {
          // A `config set --path` value may arrive as text.
          replicas: Number(services[name]?.replicas ?? 1),
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name, image }] } },
        },
      },
      // The provider's rollout wait gives up after this: a failed rollout without a long wait.
      { ...opts, parent: component, customTimeouts: { create: "20s", update: "20s" } },
    );
  }

  const data = new Component("enclii:data:DataLayer", "enclii-data", root);
  const redis = new Component("enclii:data:Redis", "enclii-data-redis", data);
  const labels = { app: "redis" };
  new k8s.apps.v1.StatefulSet(
    "enclii-data-redis-redis",
    {
      metadata: { name: "redis", namespace: NAMESPACE, annotations: NO_CONTROLLERS },
      spec: {
        serviceName: "redis-headless",
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "redis", image: "redis:8.2.3", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${config.getNumber("redisStorageGi") ?? 1}Gi` } } },
          },
        ],
      },
    },
    { ...opts, parent: redis, protect },
  );

  if (config.getBoolean("database") === false) return;
  const postgres = new Component("enclii:data:Postgres", "enclii-data-postgres", data);
  new k8s.apiextensions.CustomResource(
    "enclii-data-postgres-enclii-pg",
    {
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Cluster",
      metadata: { name: config.get("databaseCluster") ?? "enclii-pg", namespace: NAMESPACE, annotations: NO_CONTROLLERS },
      spec: { instances: 1, storage: { size: "1Gi" } },
    },
    { ...opts, parent: postgres, protect },
  );
}

export = async () => {
  const hold = config.get("holdUntil");
  // Only an update holds: a preview takes no lock, so it has nothing to hold.
  if (hold && !pulumi.runtime.isDryRun()) await until(hold);
  const greeting = config.get("greeting") ?? "hello";
  // The engine's own resource (no plugin): something to update where no cluster is needed.
  new pulumi.Stash("enclii-greeting", { input: greeting });
  const holdStep = config.get("holdStepUntil");
  if (holdStep) new HeldStep("enclii-held-step", { until: holdStep, greeting });
  const kubeconfig = config.getSecret("kubeconfig");
  if (kubeconfig) platform(new k8s.Provider("enclii-kubernetes", { kubeconfig }));
  const domain = platformConfig.get("domain");
  return {
    greeting,
    token: config.getSecret("token"),
    ...(kubeconfig && { kubeApi: kubeconfig.apply(kubeApi) }),
    ...(domain && { domain }),
    ...(domain && platformConfig.getBoolean("customHostnames") && { customHostnames: { fallbackOrigin: `proxy.${domain}` } }),
  };
};
