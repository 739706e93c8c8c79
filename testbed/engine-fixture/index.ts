/**
 * The engine tests' program (test/engine.real.test.ts): a few Kubernetes objects named and nested
 * as the platform nests them (enclii:platform:Platform > enclii:apps:Service > Deployment, the
 * Redis StatefulSet, the CloudNativePG Cluster), so the real engine's events carry the platform's
 * URNs and types. It runs against an API server with no controllers: nothing ever becomes ready,
 * so every object says `pulumi.com/skipAwait` but a Deployment running `enclii:failingImage`,
 * whose rollout the provider waits for and which therefore fails as a real bad rollout does.
 *
 * Config (namespace `enclii`, as the platform's): `kubeconfig` (secret; without it only the
 * outputs are registered, for the tests that need no cluster), `services` (the platform's image
 * override shape, `{ <service>: { image, replicas } }`), `failingImage`, `redisStorageGi`,
 * `databaseCluster`, `database` (false removes the Cluster), `protect`, `holdUntil` (a file an update waits for, to hold the stack's
 * lock), `greeting` (kept in a Stash, the engine's own resource, so a change is an update even
 * without a cluster) and `token` (secret), returned as outputs.
 */
import { existsSync } from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config("enclii");
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

/** Resolves once `file` exists: the test creates it when a held update may go on. */
async function until(file: string): Promise<void> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50));
}

function platform(provider: k8s.Provider): void {
  const services = config.getObject<Record<string, ServiceConfig>>("services") ?? {};
  const failing = config.get("failingImage");
  const protect = config.getBoolean("protect") ?? false;
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
  const kubeconfig = config.getSecret("kubeconfig");
  if (kubeconfig) platform(new k8s.Provider("enclii-kubernetes", { kubeconfig }));
  return { greeting, token: config.getSecret("token") };
};
