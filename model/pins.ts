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

/** Helm charts, pinned. The CNPG chart's operator (1.30.0) and the barman-cloud chart's plugin (v0.13.0) match the CRDs in schemas/crds. */
export const CHARTS = {
  longhorn: { chart: "longhorn", repo: "https://charts.longhorn.io", version: "1.11.0", namespace: "longhorn-system" },
  certManager: { chart: "cert-manager", repo: "https://charts.jetstack.io", version: "v1.19.1", namespace: "cert-manager" },
  cnpg: { chart: "cloudnative-pg", repo: "https://cloudnative-pg.github.io/charts", version: "0.29.0", namespace: "cnpg-system" },
  barmanCloud: {
    chart: "plugin-barman-cloud",
    repo: "https://cloudnative-pg.github.io/charts",
    version: "0.7.0",
    namespace: "cnpg-system",
  },
} as const;
export type Chart = (typeof CHARTS)[keyof typeof CHARTS];

/** Container images, pinned by tag. */
export const IMAGES = {
  /** cloudflared must stay within a year of Cloudflare's supported releases, so bump it deliberately. */
  cloudflared: "cloudflare/cloudflared:2026.8.2",
  postgres: "ghcr.io/cloudnative-pg/postgresql:17.6",
  /** The image CloudNativePG 1.30 uses for its Pooler by default, pinned so an operator upgrade does not swap it unseen. */
  cnpgPgbouncer: "ghcr.io/cloudnative-pg/pgbouncer:1.25.1",
  /** Our own PgBouncer in front of an external database. */
  pgbouncer: "ghcr.io/cloudnative-pg/pgbouncer:1.24.1",
  redis: "redis:7.4.2-alpine",
  /** The tenant router (standard Ingress objects only; no Traefik CRDs). */
  traefik: "traefik:v3.6.8",
} as const;
