/**
 * When the platform may take a node down on its own: k3s upgrades of a single-node cluster (which
 * cost downtime) and the reboots that follow OS security patches. Pure: the schema and the rules
 * the bootstrap and the reboot daemon's settings are rendered from.
 */
import { z } from "zod";
import { listRefinement, repeats } from "./validators";

/** Weekdays as kured's `--reboot-days` and `date +%a` (C locale, lowercased) spell them. */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const clock = z.string().regex(HH_MM, 'must be a 24-hour time such as "03:00"');

/** A zone the IANA database (and so the nodes' tzdata and kured's Go time package) knows. */
export function isTimeZone(zone: string): boolean {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone.length > 0;
  } catch {
    return false;
  }
}

/** Minutes since midnight of an `HH:MM` the schema accepted. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
}

export const maintenanceSchema = z
  .strictObject({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1, "needs at least one day")
      .superRefine((days, ctx) => {
        for (const { index } of repeats(days, (d) => d))
          ctx.addIssue({ code: "custom", path: [index], message: `${days[index]} is listed twice` });
      }, listRefinement)
      .default(["sun"])
      .describe("the days the window opens, such as `[sat, sun]`"),
    start: clock.default("03:00").describe("when the window opens, `HH:MM` in `timeZone`"),
    end: clock.default("05:00").describe("when it closes, `HH:MM` in `timeZone`, later the same day"),
    timeZone: z
      .string()
      .refine(isTimeZone, "must be an IANA time zone such as Europe/Berlin")
      .default("Europe/Berlin")
      .describe("the zone `start` and `end` are read in"),
  })
  .superRefine((w, ctx) => {
    if (HH_MM.test(w.start) && HH_MM.test(w.end) && minutesOf(w.end) <= minutesOf(w.start))
      ctx.addIssue({ code: "custom", path: ["end"], message: `must be later than start (${w.start}) on the same day` });
  })
  .prefault({})
  .describe(
    "when a node may be taken down without a person: reboots after security patches, and k3s upgrades of a single-node cluster (docs/runbooks/upgrades.md#the-maintenance-window)",
  );
export type MaintenanceWindow = z.output<typeof maintenanceSchema>;
