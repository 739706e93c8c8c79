/**
 * Grafana's values inside kube-prometheus-stack (its `grafana` subchart: grafana-community/helm-charts
 * chart grafana 12.10.4, the dependency of kube-prometheus-stack 88.3.0 in its Chart.yaml). Keys
 * cited are that chart's values.yaml unless said otherwise.
 */
import { GRAFANA_ACCOUNT } from "../../model/observability/accounts";
import {
  ALERTMANAGER_URL,
  DASHBOARD_LABEL,
  DATASOURCES,
  LOKI_URL,
  MONITORING_NAMESPACE,
  OBS_PORTS,
  PROMETHEUS_URL,
  SIZES,
  TEMPO_URL,
  accessTeamDomain,
  type Observability,
} from "../../model/observability/config";
import { RESTRICTED_CONTAINER, restrictedPod } from "../baseline";
import { UID, type Values } from "./chartValues";

/** The header Cloudflare Access puts its signed token in, on every request it lets through to the origin. */
export const ACCESS_JWT_HEADER = "Cf-Access-Jwt-Assertion";
/** Where a Zero Trust team serves the keys that sign its Access tokens (rotated by Cloudflare). */
const ACCESS_CERTS_PATH = "/cdn-cgi/access/certs";

export interface GrafanaValuesArgs {
  o: Observability;
  /** The Secret with Grafana's admin user and password. */
  grafanaSecret: string;
  /** On Grafana's pod template: a new admin password's generation rolls the pod (Metrics.ts). */
  podAnnotations?: Record<string, string>;
  /** `https://grafana.<domain>` when exposed. */
  grafanaUrl?: string;
  /** With Grafana exposed (`o.grafana`): the Access application's audience tag (its `aud` output), the only audience Grafana accepts. */
  accessAudience?: string;
}

export function grafanaValues(a: GrafanaValuesArgs): Values {
  const size = SIZES[a.o.profile];
  return {
    enabled: true,
    admin: { existingSecret: a.grafanaSecret, userKey: "admin-user", passwordKey: "admin-password" },
    // With `admin.existingSecret` the chart leaves out its `checksum/secret` annotation
    // (templates/deployment.yaml), so a changed admin Secret alone rolls nothing: the rotation's
    // generation does. Absent until the first rotation, so older stacks keep their pod.
    ...(a.podAnnotations && Object.keys(a.podAnnotations).length > 0 ? { podAnnotations: a.podAnnotations } : {}),
    // Our account and Role (model/observability/accounts.ts) instead of the chart's: its Role and
    // ClusterRole grant Secrets beside ConfigMaps whenever a sidecar is on (templates/role.yaml,
    // templates/clusterrole.yaml). `serviceAccount.create: false` makes the pod run as `name`.
    rbac: { create: false },
    serviceAccount: { create: false, name: GRAFANA_ACCOUNT.name },
    // The pod's token (`automountServiceAccountToken`, templates/_pod.tpl): the dashboards sidecar needs it.
    automountServiceAccountToken: true,
    // Dashboards come from ConfigMaps (ours), so nothing in Grafana needs to survive a restart.
    // It also makes a rotated admin password take effect: without persistence the database is an
    // emptyDir (templates/_pod.tpl, volume `storage`), so every new pod creates it afresh and
    // Grafana creates the admin from GF_SECURITY_ADMIN_PASSWORD, which it does only into an empty
    // user table (grafana/grafana pkg/services/sqlstore/sqlstore.go ensureMainOrgAndAdminUser).
    persistence: { enabled: false },
    initChownData: { enabled: false },
    resources: size.grafana,
    securityContext: restrictedPod(UID.grafana),
    containerSecurityContext: RESTRICTED_CONTAINER,
    defaultDashboardsEnabled: true,
    // The tunnel routes to the Service's port and cloudflared's egress admits the pod's: keep them the same.
    service: { port: OBS_PORTS.grafana, targetPort: OBS_PORTS.grafana },
    sidecar: {
      dashboards: {
        enabled: true,
        label: Object.keys(DASHBOARD_LABEL)[0],
        labelValue: Object.values(DASHBOARD_LABEL)[0],
        // kube-prometheus-stack sets `ALL`; ours and the chart's dashboards are all in `monitoring`.
        searchNamespace: [MONITORING_NAMESPACE],
        // `both` (the default) would also watch Secrets, which the Role does not grant.
        resource: "configmap",
      },
      // Data sources are values (`datasources` below), not ConfigMaps found through the API.
      datasources: { enabled: false },
      securityContext: RESTRICTED_CONTAINER,
      resources: size.grafanaSidecar,
    },
    datasources: { "datasources.yaml": { apiVersion: 1, datasources: datasources(a.o) } },
    "grafana.ini": grafanaIni(a),
  };
}

/** grafana.ini (the chart renders each map as a section, templates/_config.tpl): exposed, Access's token is the only way in. */
function grafanaIni(a: GrafanaValuesArgs): Values {
  const access = a.o.grafana;
  const behindAccess = access !== undefined;
  return {
    server: a.grafanaUrl ? { root_url: a.grafanaUrl } : {},
    analytics: { reporting_enabled: false, check_for_updates: false },
    // Grafana would otherwise install and update plugins from grafana.com at start; the images' own
    // stay, and its HTTPS egress (for Access's keys) is not a way to fetch code.
    plugins: { preinstall_disabled: true },
    users: {
      allow_sign_up: false,
      // Access decides who gets in; Explore (logs, traces) needs Editor. Dashboards stay read-only: they are provisioned.
      ...(behindAccess ? { auto_assign_org_role: "Editor" } : {}),
    },
    // Unexposed, the shared admin password over a port-forward is the way in.
    auth: { disable_login_form: behindAccess },
    ...(behindAccess
      ? {
          "auth.basic": { enabled: false },
          "auth.jwt": {
            enabled: true,
            header_name: ACCESS_JWT_HEADER,
            email_claim: "email",
            username_claim: "email",
            jwk_set_url: `${accessTeamDomain(access.teamName)}${ACCESS_CERTS_PATH}`,
            // A string: the chart would write a map in Go's syntax. Grafana requires `aud` to contain
            // this application's tag and `iss` to be the team's (pkg/services/auth/jwt/validation.go).
            expect_claims: JSON.stringify({ aud: [a.accessAudience], iss: accessTeamDomain(access.teamName) }),
            auto_sign_up: true,
          },
        }
      : {}),
  };
}

function datasources(o: Observability): Values[] {
  return [
    { name: "Prometheus", uid: DATASOURCES.prometheus, type: "prometheus", access: "proxy", url: PROMETHEUS_URL, isDefault: true },
    // What kube-prometheus-stack's data-source ConfigMap provided (templates/grafana/configmaps-datasources.yaml), now a value.
    {
      name: "Alertmanager",
      uid: DATASOURCES.alertmanager,
      type: "alertmanager",
      access: "proxy",
      url: ALERTMANAGER_URL,
      jsonData: { implementation: "prometheus", handleGrafanaManagedAlerts: false },
    },
    ...(o.logs ? [{ name: "Loki", uid: DATASOURCES.loki, type: "loki", access: "proxy", url: LOKI_URL }] : []),
    ...(o.traces ? [{ name: "Tempo", uid: DATASOURCES.tempo, type: "tempo", access: "proxy", url: TEMPO_URL }] : []),
  ];
}
