/**
 * `domains` updates only the tenant's own resources, measured with the real CLI, engine and API
 * server (testbed/domainsShards.ts): a shard of one tenant and a full one, and in each the
 * resources whose provider Check or Diff the engine called, read from its own verbose log
 * (testbed/engineLog.ts). A change to one tenant touches the same resources in both, its own,
 * whatever the shard's size; without targets the full shard's would be all 700.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TENANTS_PER_SHARD } from "../model/config/tenants";
import { hostnameResourceName, probeResourceName, SHARD_RESOURCE, TENANT_OBJECTS, tenantObjectName } from "../model/tenantResources";
import {
  CHANGED,
  domainsShards,
  FULL_SHARD,
  hostnameOf,
  SOLO,
  SOLO_SHARD,
  type DomainsShards,
  type Measured,
} from "../testbed/domainsShards";
import { ENGINE_TOOLS } from "../testbed/engine";
import { Servers } from "../testbed/servers";
import { requireBuilt } from "./harness";

const tools = Object.fromEntries([...ENGINE_TOOLS, "etcd", "kube-apiserver", "kubectl"].map((bin) => [bin, requireBuilt(bin)]));
const built = Object.values(tools).every(Boolean);
/** The fixture's resources per one-hostname tenant: its six objects and the hostname's stand-in. */
const PER_TENANT = TENANT_OBJECTS.length + 1;
/** A safety net, not a budget: the full shard's first update creates some 700 objects. */
const SETUP_MS = 1_200_000;
const COMMAND_MS = 300_000;

let servers: Servers;
let shards: DomainsShards;

beforeAll(async () => {
  servers = new Servers();
  if (built) shards = await domainsShards(servers, tools as Record<(typeof ENGINE_TOOLS)[number], string>);
}, SETUP_MS);
afterAll(async () => {
  await servers.stopAll();
});

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
/** The tenant's resources by name, as the model names them: its objects, its hostnames, the shard's Probe. */
const own = (tenant: string, hostnames: string[]) =>
  [
    ...TENANT_OBJECTS.map((o) => tenantObjectName(SHARD_RESOURCE, tenant, o)),
    ...hostnames.map((h) => hostnameResourceName(SHARD_RESOURCE, h)),
    probeResourceName(SHARD_RESOURCE),
  ].sort();
/** What the command's preview and update each touched, by name, in `stack`. */
const touched = (m: Measured, stack: string) =>
  m.runs.map((r) => ({
    command: r.command,
    names: r.touched
      .filter((u) => u.startsWith(`urn:pulumi:${stack}::`))
      .map(nameOf)
      .sort(),
  }));

describe.skipIf(!built)("domains on a shard of one tenant and a full one, on the real engine", () => {
  it("the full shard's first update, never made before, touched every resource of it", () => {
    const { full } = shards.made;
    // The counter sees a whole shard: 100 tenants' objects and hostnames, and the Probe.
    expect(full.runs.map((r) => [r.command, r.touched.length, r.untargeted.length])).toEqual([
      ["preview", TENANTS_PER_SHARD * PER_TENANT + 1, 0],
      ["up", TENANTS_PER_SHARD * PER_TENANT + 1, 0],
    ]);
  });

  it(
    "domains add touches the tenant's own resources, the same in a shard of 1 and of 100, and the output has the hostname",
    async () => {
      const solo = await shards.domains(["domains", "add", "--tenant", SOLO, "--hostname", `www.${hostnameOf(SOLO)}`]);
      const full = await shards.domains(["domains", "add", "--tenant", CHANGED, "--hostname", `www.${hostnameOf(CHANGED)}`]);
      for (const m of [solo, full]) expect(m.status, m.stderr).toBe(0);
      const soloOwn = own(SOLO, [hostnameOf(SOLO), `www.${hostnameOf(SOLO)}`]);
      const fullOwn = own(CHANGED, [hostnameOf(CHANGED), `www.${hostnameOf(CHANGED)}`]);
      expect(touched(solo, SOLO_SHARD)).toEqual([
        { command: "preview", names: soloOwn },
        { command: "up", names: soloOwn },
      ]);
      // t4's and no other: not t40…t49, whose names it begins.
      expect(touched(full, FULL_SHARD)).toEqual([
        { command: "preview", names: fullOwn },
        { command: "up", names: fullOwn },
      ]);
      expect(fullOwn).toHaveLength(soloOwn.length);
      // The other 99 tenants' resources and the shard's component were left out, in the preview as in the update.
      expect(full.runs.map((r) => r.untargeted.length)).toEqual([
        (TENANTS_PER_SHARD - 1) * PER_TENANT + 1,
        (TENANTS_PER_SHARD - 1) * PER_TENANT + 1,
      ]);

      // The stack's `hostnames` output, which the answer is read from, has the new hostname after the targeted update.
      expect(full.result.domains.hostnames.map((h: { hostname: string }) => h.hostname)).toEqual([
        hostnameOf(CHANGED),
        `www.${hostnameOf(CHANGED)}`,
      ]);
      // In the cluster: the Probe's stand-in lists it, and t40's route is as it was.
      const configMap = async (name: string) => (await shards.kube.api("GET", `/api/v1/namespaces/default/configmaps/${name}`)).body.data;
      expect((await configMap(`custom-hostnames-${FULL_SHARD}`)).hostnames.split(",")).toContain(`www.${hostnameOf(CHANGED)}`);
      expect((await configMap(`tenant-${CHANGED}-ingress`)).hostnames).toBe(`${hostnameOf(CHANGED)},www.${hostnameOf(CHANGED)}`);
      expect((await configMap("tenant-t40-ingress")).hostnames).toBe(hostnameOf("t40"));
    },
    COMMAND_MS,
  );

  it(
    "domains status refreshes the tenant's own resources only, the same in both shards",
    async () => {
      const solo = await shards.domains(["domains", "status", "--tenant", SOLO]);
      const full = await shards.domains(["domains", "status", "--tenant", CHANGED]);
      for (const m of [solo, full]) expect(m.status, m.stderr).toBe(0);
      // One update with refresh (the preview before it refreshes too): each reads only the tenant's resources back.
      const refreshed = (m: Measured, stack: string) =>
        m.runs.map((r) =>
          r.read
            .filter((u) => u.startsWith(`urn:pulumi:${stack}::enclii-tenants::enclii:tenants:`))
            .map(nameOf)
            .sort(),
        );
      const soloOwn = own(SOLO, [hostnameOf(SOLO), `www.${hostnameOf(SOLO)}`]);
      const fullOwn = own(CHANGED, [hostnameOf(CHANGED), `www.${hostnameOf(CHANGED)}`]);
      expect(refreshed(solo, SOLO_SHARD)).toEqual([soloOwn, soloOwn]);
      expect(refreshed(full, FULL_SHARD)).toEqual([fullOwn, fullOwn]);
      expect(touched(full, FULL_SHARD).map((r) => r.names)).toEqual([fullOwn, fullOwn]);
    },
    COMMAND_MS,
  );
});
