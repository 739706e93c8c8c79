import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { RESTRICTED_CONTAINER, oneShotJobSpec, restrictedPod, spreadAcrossNodes } from "../baseline";
import { DATA_NAMESPACE, PORTS, REDIS_SECRET, UIDS } from "../../model/names";
import { OBS_PORTS } from "../../model/observability/config";
import { IMAGES } from "../../model/pins";
import { generationName, type Generations } from "../../model/rotation";
import { stateful } from "../stateful";
import { MASTER_NAME } from "./redisConfig";
import {
  CLIENT_PASSWORD_KEY,
  EXPORTER_PASSWORDS_KEY,
  PASSWORD_KEY,
  exporterAddress,
  REDIS_POD_PATHS,
  SENTINEL_REPLICAS,
  SERVICES,
  headless,
  podFqdn,
  redisCommand,
  redisConfigFiles,
  redisInitScript,
  type RedisMode,
  type RedisRole,
} from "./redisPods";
import { CHECK_DEADLINE_S, redisAuthSyncProbes, redisAuthSyncScript, redisPasswordCheckScript } from "./redisRotation";

const PASSWORD_LENGTH = 32;

export interface RedisArgs {
  namespace: pulumi.Input<string>;
  appsNamespace: pulumi.Input<string>;
  mode: RedisMode;
  storageGi: number;
  storageClass: pulumi.Input<string>;
  /** Production: the Redis StatefulSet is `stateful`; its volumes are retained in every mode. */
  protect: boolean;
  /** With observability on: a redis_exporter sidecar in each pod, sized so, on the `metrics` port. */
  exporter?: { resources: k8s.types.input.core.v1.ResourceRequirements };
  /** The password's generations (`enclii:rotations`): the current one, and the previous while they overlap. */
  generations: Generations;
  provider: k8s.Provider;
}

/** redis_exporter recognises a Sentinel by its INFO and reports the masters it watches. */
const EXPORTER_PORT = OBS_PORTS.redisExporter;

/**
 * Redis on Longhorn, AOF + RDB. Standalone: one instance. Sentinel: three Redis (the first
 * starts as master, `min-replicas-to-write 1`) and three Sentinels (quorum 2) that find each
 * other by stable hostnames through headless Services. Apps get a `redis` Secret. A rotation
 * changes Secrets only, never a pod template: a sidecar applies the passwords at run time.
 */
export class Redis extends pulumi.ComponentResource {
  public readonly appSecret: pulumi.Output<string>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:data:Redis", name, {}, opts);
    const { namespace } = args;
    const child = { parent: this, provider: args.provider };
    const kept = { ...child, ...stateful(args.protect) };
    const sentinel = args.mode === "sentinel";
    const replicas = sentinel ? SENTINEL_REPLICAS : 1;
    const { current, previous } = args.generations;
    // Generation 0 keeps the name the password had before rotations, so existing stacks keep theirs.
    const passwordOf = (g: number) =>
      new random.RandomPassword(generationName(`${name}-password`, g), { length: PASSWORD_LENGTH, special: false }, { parent: this })
        .result;
    const password = passwordOf(current);
    const previousPassword = previous === undefined ? undefined : passwordOf(previous);
    const paths = REDIS_POD_PATHS;

    const config = new k8s.core.v1.Secret(
      `${name}-config`,
      {
        metadata: { name: "redis-config", namespace },
        stringData: pulumi.secret(
          pulumi
            .all([password, previousPassword])
            .apply(([c, p]) => redisConfigFiles(args.mode, { current: c, previous: p }, paths, args.exporter !== undefined)),
        ),
      },
      child,
    );
    const configVolume = { name: "config", mountPath: paths.config, readOnly: true };
    const workVolume = { name: "work", mountPath: paths.work };
    const sync = redisAuthSyncProbes(paths);

    const workload = (role: RedisRole, port: number, count: number) => {
      const service = SERVICES[role];
      const data = role === "redis";
      const labels = { app: service };
      new k8s.core.v1.Service(
        `${name}-${service}-headless`,
        {
          metadata: { name: headless(service), namespace },
          spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels, ports: [{ name: service, port }] },
        },
        child,
      );
      const probe = { exec: { command: ["redis-cli", "-p", String(port), "ping"] }, periodSeconds: 10, timeoutSeconds: 3 };
      // The exporter's own liveness: it answers /health whether or not Redis does (redis_up says that).
      const exporterProbe = { httpGet: { path: "/health", port: EXPORTER_PORT }, periodSeconds: 10, timeoutSeconds: 3 };
      const set = new k8s.apps.v1.StatefulSet(
        `${name}-${service}`,
        {
          metadata: { name: service, namespace, labels },
          spec: {
            serviceName: headless(service),
            replicas: count,
            selector: { matchLabels: labels },
            podManagementPolicy: "OrderedReady",
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            template: {
              metadata: { labels },
              spec: {
                automountServiceAccountToken: false,
                securityContext: restrictedPod(UIDS.redis),
                topologySpreadConstraints: spreadAcrossNodes(labels),
                initContainers: [
                  {
                    name: "config",
                    image: IMAGES.redis,
                    command: ["sh", "-c", redisInitScript(role, args.mode, paths)],
                    securityContext: RESTRICTED_CONTAINER,
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
                    volumeMounts: [configVolume, workVolume],
                  },
                ],
                containers: [
                  {
                    name: service,
                    image: IMAGES.redis,
                    command: redisCommand(role, paths),
                    ports: [{ name: service, containerPort: port }],
                    env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: config.metadata.name, key: PASSWORD_KEY } } }],
                    securityContext: RESTRICTED_CONTAINER,
                    resources: data
                      ? { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } }
                      : { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                    readinessProbe: probe,
                    livenessProbe: { ...probe, failureThreshold: 6 },
                    volumeMounts: [workVolume, ...(data ? [{ name: "data", mountPath: paths.data }] : [])],
                  },
                  {
                    // Applies the config Secret's passwords to the server when the kubelet refreshes it: no restart.
                    name: "auth-sync",
                    image: IMAGES.redis,
                    command: ["sh", "-c", redisAuthSyncScript(role, paths, args.exporter ? EXPORTER_PORT : undefined)],
                    securityContext: RESTRICTED_CONTAINER,
                    resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
                    readinessProbe: { exec: { command: sync.started }, periodSeconds: 10, timeoutSeconds: 3 },
                    livenessProbe: { exec: { command: sync.alive }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                    volumeMounts: [configVolume, workVolume],
                  },
                  ...(args.exporter
                    ? [
                        {
                          name: "exporter",
                          image: IMAGES.redisExporter,
                          // A password file, not REDIS_PASSWORD: env is read once, the file again on the sidecar's /-/reload.
                          env: [
                            { name: "REDIS_ADDR", value: exporterAddress(port) },
                            { name: "REDIS_PASSWORD_FILE", value: `${paths.config}/${EXPORTER_PASSWORDS_KEY}` },
                          ],
                          volumeMounts: [configVolume],
                          ports: [{ name: "metrics", containerPort: EXPORTER_PORT }],
                          readinessProbe: exporterProbe,
                          livenessProbe: { ...exporterProbe, failureThreshold: 6 },
                          securityContext: RESTRICTED_CONTAINER,
                          resources: args.exporter.resources,
                        },
                      ]
                    : []),
                ],
                volumes: [
                  { name: "config", secret: { secretName: config.metadata.name } },
                  { name: "work", emptyDir: {} },
                ],
              },
            },
            volumeClaimTemplates: data
              ? [
                  {
                    metadata: { name: "data" },
                    spec: {
                      accessModes: ["ReadWriteOnce"],
                      storageClassName: args.storageClass,
                      resources: { requests: { storage: `${args.storageGi}Gi` } },
                    },
                  },
                ]
              : [],
          },
        },
        data ? kept : child,
      );
      if (count > 1) {
        new k8s.policy.v1.PodDisruptionBudget(
          `${name}-${service}-pdb`,
          { metadata: { name: service, namespace }, spec: { minAvailable: count - 1, selector: { matchLabels: labels } } },
          child,
        );
      }
      return set;
    };

    const sets = [workload("redis", PORTS.redis, replicas)];
    // With Sentinel, clients ask the Sentinels for the master; a Service over all three would hit replicas.
    if (!sentinel)
      new k8s.core.v1.Service(
        `${name}-service`,
        { metadata: { name: "redis", namespace }, spec: { selector: { app: "redis" }, ports: [{ name: "redis", port: PORTS.redis }] } },
        child,
      );
    const sentinels = Array.from(
      { length: SENTINEL_REPLICAS },
      (_, i) => `${podFqdn(`${SERVICES.sentinel}-${i}`, SERVICES.sentinel)}:${PORTS.sentinel}`,
    ).join(",");
    if (sentinel) sets.push(workload("sentinel", PORTS.sentinel, SENTINEL_REPLICAS));

    // While two generations overlap, clients get the new password only once every server accepts
    // it: the kubelet refreshes the mounted Secret after a delay, and Pulumi waits for a Job.
    const check =
      previous === undefined
        ? undefined
        : new k8s.batch.v1.Job(
            generationName(`${name}-password-check`, current),
            {
              metadata: {
                name: generationName("redis-password-check", current),
                namespace,
                // A check that failed is run again by the next update, not awaited as it was (pulumi-kubernetes' Job await).
                annotations: { "pulumi.com/replaceUnready": "true" },
              },
              spec: oneShotJobSpec(UIDS.redis, CHECK_DEADLINE_S, {
                name: "check",
                image: IMAGES.redis,
                command: ["sh", "-c", redisPasswordCheckScript(args.mode)],
                env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: config.metadata.name, key: CLIENT_PASSWORD_KEY } } }],
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
              }),
            },
            { ...child, dependsOn: [config, ...sets] },
          );

    const url = sentinel
      ? pulumi.interpolate`redis+sentinel://:${password}@${sentinels}/${MASTER_NAME}/0`
      : pulumi.interpolate`redis://:${password}@redis.${DATA_NAMESPACE}.svc.cluster.local:${PORTS.redis}/0`;
    const secret = new k8s.core.v1.Secret(
      `${name}-app-secret`,
      {
        metadata: { name: REDIS_SECRET, namespace: args.appsNamespace },
        stringData: {
          REDIS_URL: pulumi.secret(url),
          REDIS_PASSWORD: pulumi.secret(password),
          ...(sentinel ? { REDIS_SENTINELS: sentinels, REDIS_MASTER_NAME: MASTER_NAME } : {}),
        },
      },
      { ...child, dependsOn: check ? [check] : [] },
    );
    this.appSecret = secret.metadata.name;
    this.registerOutputs({ appSecret: this.appSecret });
  }
}
