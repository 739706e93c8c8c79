/**
 * One recipe for everything that holds data (volumes, databases, buckets, servers, and the
 * namespaces and releases whose deletion deletes them): with `protect` on (production), Pulumi
 * refuses to delete it, and if it is ever dropped from the program Pulumi forgets it rather than
 * deleting it; Hetzner's own delete and rebuild protection and Longhorn's reclaim policy follow.
 */
import type * as pulumi from "@pulumi/pulumi";

export function stateful(protect: boolean): Pick<pulumi.CustomResourceOptions, "protect" | "retainOnDelete"> {
  return { protect, retainOnDelete: protect };
}

/** Hetzner's API-side protection: no delete and no rebuild (reinstall) while it is on. */
export function hetznerProtection(protect: boolean): { deleteProtection: boolean; rebuildProtection: boolean } {
  return { deleteProtection: protect, rebuildProtection: protect };
}

/** What happens to a Longhorn volume when its claim is deleted. */
export function volumeReclaimPolicy(protect: boolean): "Retain" | "Delete" {
  return protect ? "Retain" : "Delete";
}
