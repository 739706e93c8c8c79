/**
 * A Secret volume's files as the kubelet writes them (Kubernetes v1.35.4,
 * pkg/volume/util/atomic_writer.go, AtomicWriter.Write): the payload goes into a new timestamped
 * dir, a `..data_tmp` symlink to it is renamed over `..data` (the one atomic step), each key is a
 * symlink through `..data`, keys no longer in the payload lose theirs, and the old dir is removed.
 * A reader that opens one key's file gets one version of it whole, never a mix.
 */
import { lstatSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const DATA_DIR = "..data";
const NEW_DATA_DIR = "..data_tmp";

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function projectSecret(dir: string, files: Record<string, string>): void {
  const data = join(dir, DATA_DIR);
  const old = exists(data) ? readlinkSync(data) : undefined;
  // Upstream names it `..2006_01_02_15_04_05.<random>`; only the leading `..` matters (keys cannot start with it).
  const fresh = mkdtempSync(join(dir, `..${new Date().toISOString().replace(/\D/g, "_")}.`));
  for (const [key, text] of Object.entries(files)) writeFileSync(join(fresh, key), text);
  symlinkSync(basename(fresh), join(dir, NEW_DATA_DIR));
  renameSync(join(dir, NEW_DATA_DIR), data);
  for (const key of Object.keys(files)) if (!exists(join(dir, key))) symlinkSync(join(DATA_DIR, key), join(dir, key));
  for (const entry of readdirSync(dir)) if (!entry.startsWith("..") && !(entry in files)) rmSync(join(dir, entry));
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
}
