import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  MONITORING_NAMESPACE,
  OBS_PORTS,
  POD_LABELS,
  PROMETHEUS_URL,
  READONLY_PROMETHEUS_URL,
  SERVICES,
  type Size,
} from "../../model/observability/config";
import { PART_OF, UIDS } from "../../model/names";
import { IMAGES } from "../../model/pins";
import { RESTRICTED_CONTAINER, restrictedPod } from "../baseline";
import { HEALTH_PATH, WRITABLE_DIR, readonlyNginxConf } from "./readonlyProxy";

/**
 * Not the image's own user (101): a uid that low can be a real user on the host, which Trivy's
 * KSV-0020/0021 flag (docs/security.md#trivys-findings). nginx needs no particular uid here: it
 * reads only its world-readable binary and the mounted config (which includes no other file), and
 * writes its pid and temp files only to the emptyDir, which fsGroup makes this uid's group's.
 */
const NGINX_UID = UIDS.nonroot;
const CONFIG_FILE = "nginx.conf";

export interface ReadOnlyPrometheusArgs {
  size: Size;
  provider: k8s.Provider;
  /** Prometheus must exist first: nginx resolves its upstream when it starts. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The read-only query path to Prometheus (components/observability/readonlyProxy.ts) as a Deployment and Service. */
export class ReadOnlyPrometheus extends pulumi.ComponentResource {
  public readonly url: string;

  constructor(name: string, args: ReadOnlyPrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
    super("enclii:observability:ReadOnlyPrometheus", name, {}, opts);
    const child = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    const labels = { ...POD_LABELS.readonly };
    const metadata = { name: SERVICES.readonly, namespace: MONITORING_NAMESPACE, labels: { ...labels, ...PART_OF } };
    const conf = readonlyNginxConf({
      listenPort: OBS_PORTS.readonly,
      upstream: new URL(PROMETHEUS_URL).host,
    });
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata, data: { [CONFIG_FILE]: conf } }, child);
    const probe = { httpGet: { path: HEALTH_PATH, port: OBS_PORTS.readonly }, periodSeconds: 10 };
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata,
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            // A changed config rolls the pod: nginx reads it only at start.
            metadata: {
              labels: metadata.labels,
              annotations: { "enclii.io/config-sha256": createHash("sha256").update(conf).digest("hex") },
            },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(NGINX_UID),
              containers: [
                {
                  name: "nginx",
                  image: IMAGES.nginx,
                  args: ["nginx", "-c", `/etc/nginx/custom/${CONFIG_FILE}`, "-g", "daemon off;"],
                  ports: [{ name: "http", containerPort: OBS_PORTS.readonly }],
                  resources: args.size,
                  securityContext: RESTRICTED_CONTAINER,
                  readinessProbe: probe,
                  livenessProbe: probe,
                  volumeMounts: [
                    { name: "config", mountPath: "/etc/nginx/custom", readOnly: true },
                    { name: "tmp", mountPath: WRITABLE_DIR },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: config.metadata.name } },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
      child,
    );
    new k8s.core.v1.Service(
      `${name}-service`,
      { metadata, spec: { selector: labels, ports: [{ name: "http", port: OBS_PORTS.readonly, targetPort: OBS_PORTS.readonly }] } },
      child,
    );
    this.url = READONLY_PROMETHEUS_URL;
    this.registerOutputs({ url: this.url });
  }
}
