/**
 * Every version the platform pins, in one place: k3s releases, Helm charts, container images.
 * A bump is a one-line change here, reviewed in the plan's diff.
 */

/**
 * The k3s releases a stack may name in `enclii:k3s.version`, from the release notes in
 * k3s-io/docs (release-notes/v1.3x.X), read on K3S_RELEASES_AS_OF; the newest entries there were
 * from 2026-09-30. A typo'd or invented version (v1.99.0+k3s1) is refused rather than handed to the
 * install script. To use a newer release, read its notes and add its exact tag (vX.Y.Z+k3sN) here.
 */
export const K3S_RELEASES_AS_OF = "2026-12-02";
export const K3S_RELEASES_SOURCE = "https://github.com/k3s-io/k3s/releases";
const patches = (minor: number, last: number, revisions: Record<number, number[]> = {}, from = 0): string[] =>
  Array.from({ length: last - from + 1 }, (_, i) => from + i).flatMap((patch) =>
    (revisions[patch] ?? [1]).map((k3s) => `v1.${minor}.${patch}+k3s${k3s}`),
  );
export const K3S_RELEASES: readonly string[] = [
  ...patches(32, 13, { 11: [1, 3] }),
  ...patches(33, 13, { 7: [1, 3], 13: [1, 2] }),
  // There is no v1.34.0 release.
  ...patches(34, 12, { 3: [1, 3] }, 1),
  ...patches(35, 9, { 0: [1, 3] }),
  // Of 1.36 and 1.37 only these tags were confirmed by name when the table was written.
  "v1.36.3+k3s1",
  "v1.37.0+k3s1",
  "v1.37.1+k3s1",
];

/**
 * k3s's install script, pinned by commit and checked against its sha256 before it runs as root.
 * The script installs whichever release INSTALL_K3S_VERSION names, checking that release's binary
 * against the release's own sha256sum-<arch>.txt, so one script serves every release above. The
 * sha256 is the one k3s-io/k3s keeps beside the script (install.sh.sha256sum, k3s-io/k3s#8312) at
 * this commit, and the script's text there hashes to it. A new pin: read both at the new commit.
 */
export const K3S_INSTALL_SCRIPT = {
  commit: "019b0afdd830e36f5e4b7a5b237e6a4339e6a6be",
  sha256: "68ae766b4c4fd2c8032f712cdd346c8f9d1ae60eaeb4736a1155effda44ea23d",
} as const;

/**
 * Kubernetes minors by the end of their upstream patch support (kubernetes.io/releases, "End of
 * Life"); k3s patches a minor as long as upstream does. A stack on a minor past its end is warned
 * about (not refused: a running cluster must step through the minors one at a time to leave it).
 */
export const K3S_MINOR_END_OF_LIFE: Record<string, string> = {
  "1.32": "2026-02-28",
  "1.33": "2026-06-28",
  "1.34": "2026-10-27",
  "1.35": "2027-02-28",
  "1.36": "2027-06-28",
  "1.37": "2027-10-28",
};

/** Every chart and image pin below was last checked against its upstream on this date. */
export const PINS_CHECKED = "2026-12-02";

/**
 * Helm charts, pinned. Upstream's newest, as read on PINS_CHECKED: Longhorn 1.11.3 (longhorn/longhorn
 * tag v1.11.3, 2026-07-01), cert-manager v1.19.6 (the 1.19 line's newest patch, 2026-06-25; 1.20
 * and 1.21 are a minor upgrade each, not a patch), cloudnative-pg 0.29.0 (operator 1.30.0) and
 * plugin-barman-cloud 0.7.0 (cloudnative-pg/charts; the chart's plugin is v0.13.0, and the
 * ObjectStore CRD vendored in schemas/crds is byte-identical in v0.13.0 and v0.14.0, the plugin's
 * newest tag, which no chart ships yet).
 */
export const CHARTS = {
  longhorn: { chart: "longhorn", repo: "https://charts.longhorn.io", version: "1.11.3", namespace: "longhorn-system" },
  certManager: { chart: "cert-manager", repo: "https://charts.jetstack.io", version: "v1.19.6", namespace: "cert-manager" },
  cnpg: { chart: "cloudnative-pg", repo: "https://cloudnative-pg.github.io/charts", version: "0.29.0", namespace: "cnpg-system" },
  barmanCloud: {
    chart: "plugin-barman-cloud",
    repo: "https://cloudnative-pg.github.io/charts",
    version: "0.7.0",
    namespace: "cnpg-system",
  },
  /**
   * Observability (prometheus-community/helm-charts, grafana/alloy, grafana-community/helm-charts,
   * as read on PINS_CHECKED). kube-prometheus-stack 88.3.0 is the newest whose Prometheus Operator
   * is v0.93.0, the version of the CRDs vendored in schemas/crds/prometheus-operator (88.4.0 moves
   * to v0.93.1; only image tags differ up to 88.5.3). Loki and Tempo's open-source charts moved to
   * grafana-community in 2026 (Loki's from 6.55.0); Promtail reached end of life on 2026-03-02, so
   * logs are collected by Alloy.
   */
  kubePrometheusStack: {
    chart: "kube-prometheus-stack",
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "88.3.0",
    namespace: "monitoring",
  },
  loki: { chart: "loki", repo: "https://grafana-community.github.io/helm-charts", version: "18.11.0", namespace: "monitoring" },
  tempo: { chart: "tempo", repo: "https://grafana-community.github.io/helm-charts", version: "2.2.4", namespace: "monitoring" },
  blackbox: {
    chart: "prometheus-blackbox-exporter",
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "11.17.2",
    namespace: "monitoring",
  },
  /** In `monitoring` since it reads logs through the API server, not the host: PodSecurity restricted admits it. */
  alloy: { chart: "alloy", repo: "https://grafana.github.io/helm-charts", version: "1.11.1", namespace: "monitoring" },
  /**
   * kured, the reboot daemon (kubereboot/charts tag kured-6.1.0, 2026-06-30, the newest in the
   * repository as read on 2026-08-10; appVersion 1.23.0). In kube-system, where its privileged
   * DaemonSet is outside every baseline binding (components/k3s/Kured.ts).
   */
  kured: { chart: "kured", repo: "https://kubereboot.github.io/charts", version: "6.1.0", namespace: "kube-system" },
} as const;
export type Chart = (typeof CHARTS)[keyof typeof CHARTS];

/** Container images, pinned by tag; each comment says why this tag (as read on PINS_CHECKED). */
export const IMAGES = {
  /** cloudflared must stay within a year of Cloudflare's supported releases; 2026.8.2 is the newest tag in cloudflare/cloudflared. */
  cloudflared: "cloudflare/cloudflared:2026.8.2",
  /**
   * PostgreSQL 17's newest minor (17.11, August 2026), in the same image family as before (the
   * plain tag, Debian bullseye): moving to the trixie-based "standard" images changes glibc's
   * collations, which needs a REINDEX and is its own change.
   */
  postgres: "ghcr.io/cloudnative-pg/postgresql:17.11",
  /**
   * The Pooler's PgBouncer, pinned so an operator upgrade does not swap it unseen. 1.25.2 fixes
   * CVE-2026-6664..6667 (an unauthenticated SCRAM crash among them).
   */
  cnpgPgbouncer: "ghcr.io/cloudnative-pg/pgbouncer:1.25.2",
  /** Our own PgBouncer in front of an external database: the same release. */
  pgbouncer: "ghcr.io/cloudnative-pg/pgbouncer:1.25.2",
  /**
   * The 7.4 line's newest patch: fixes CVE-2025-49844 ("RediShell", from 7.4.6), the May 2026
   * batch and CVE-2026-81934 (docker-library/official-images, library/redis, 2026-08-18).
   */
  redis: "redis:7.4.11-alpine",
  /** The tenant router (standard Ingress objects only; no Traefik CRDs): the 3.6 line's newest patch. */
  traefik: "traefik:v3.6.24",
  /** The Redis exporter sidecar (oliver006/redis_exporter tag v1.88.0, 2026-07-23). */
  redisExporter: "oliver006/redis_exporter:v1.88.0",
  /** The read-only Prometheus proxy: nginx's stable line, unprivileged image (port 8080, uid 101). */
  nginx: "nginxinc/nginx-unprivileged:1.30.4-alpine",
  /** kured 1.23.0 (kubereboot/kured, 2026-06-30): the chart's appVersion, so the flags the chart renders are the ones it reads. */
  kured: "ghcr.io/kubereboot/kured:1.23.0",
} as const;
