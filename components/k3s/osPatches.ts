/**
 * The bootstrap's OS security updates: unattended-upgrades applies the distribution's security
 * suite every day and never reboots; a kernel or libc update leaves /var/run/reboot-required,
 * which kured (Kured.ts) acts on inside the maintenance window, one node at a time
 * (docs/runbooks/os-patches.md). Pure: bootstrap.ts runs the section on every node.
 */

const APT_CONF_DIR = "/etc/apt/apt.conf.d";
/**
 * After the package's own 50unattended-upgrades: apt reads the directory in name order, so the
 * lists that file fills are cleared here before ours are set.
 */
export const UNATTENDED_UPGRADES_CONF = `${APT_CONF_DIR}/52enclii-unattended-upgrades`;
/** The package's own file for the periodic run; its postinst writes the same bytes through ucf. */
export const AUTO_UPGRADES_CONF = `${APT_CONF_DIR}/20auto-upgrades`;
/** Staged outside apt.conf.d: apt would read a `.new` file there as configuration. */
const STAGING_DIR = "/var/lib/enclii";
/** apt's own timers (the apt package): the daily list update, then the daily unattended-upgrade run. */
export const APT_TIMERS = ["apt-daily.timer", "apt-daily-upgrade.timer"] as const;

/**
 * The security suites, as unattended-upgrades matches them against each archive's Release file
 * (unattended-upgrade, match_whitelist_string; `${distro_codename}` is its own macro, from
 * lsb_release). Debian's is the pattern of its 50unattended-upgrades.Debian (Release file: Origin
 * Debian, Label Debian-Security, Codename <codename>-security). Ubuntu's security pocket has
 * Suite <codename>-security and Codename <codename>, so it is matched by archive, as
 * 50unattended-upgrades.Ubuntu's "${distro_id}:${distro_codename}-security" is (that Allowed-Origins
 * form becomes `o=...,a=...`). Ubuntu's release pocket is allowed too, as its default does: it is
 * frozen at release, so it only supplies a package a security update newly depends on and never
 * upgrades one. Debian's main archive is left out, since it changes at every point release.
 * Each pattern names its origin, so one file serves both distributions.
 */
export const SECURITY_ORIGINS = [
  "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
  "origin=Ubuntu,archive=${distro_codename}-security,label=Ubuntu",
  "origin=Ubuntu,archive=${distro_codename},label=Ubuntu",
] as const;

/**
 * Clears what the package's default file allows (unattended-upgrades combines Allowed-Origins and
 * Origins-Pattern: get_allowed_origins), then allows the security suites only. No automatic
 * reboot: kured reboots, one node at a time, in the window.
 */
export function renderUnattendedUpgradesConf(): string {
  return `// Written by the Enclii bootstrap (components/k3s/osPatches.ts): security updates only, never a reboot.
#clear Unattended-Upgrade::Allowed-Origins;
#clear Unattended-Upgrade::Origins-Pattern;
Unattended-Upgrade::Origins-Pattern {
${SECURITY_ORIGINS.map((o) => `        "${o}";`).join("\n")}
};
Unattended-Upgrade::Automatic-Reboot "false";
`;
}

/** Byte for byte the package's data/20auto-upgrades, so ucf never sees a local change to ask about. */
export function renderAutoUpgradesConf(): string {
  return `APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
`;
}

/** The section's shell: each file written only when its content changed, then the timers on. */
export function renderOsPatchesSection(): string {
  const files: [string, string, string][] = [
    [AUTO_UPGRADES_CONF, "apt-20auto-upgrades", renderAutoUpgradesConf()],
    [UNATTENDED_UPGRADES_CONF, "apt-52enclii-unattended-upgrades", renderUnattendedUpgradesConf()],
  ];
  const writes = files
    .map(
      ([live, staged, text]) => `cat > ${STAGING_DIR}/${staged}.new <<'APT'
${text.trimEnd()}
APT
replace_if_changed ${STAGING_DIR}/${staged}.new ${live}`,
    )
    .join("\n");
  return `# Nothing reads these files but the timers' next run, so a change needs no restart.
replace_if_changed() {
  if cmp -s "$1" "$2"; then
    rm "$1"
  else
    mv "$1" "$2"
    log "OS updates: wrote $2"
  fi
}
${writes}
systemctl enable --now ${APT_TIMERS.join(" ")}`;
}
