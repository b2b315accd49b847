import * as z from "zod/mini";
import { defineTool } from "./tool.ts";

/** Whether Intl knows the zone (an unknown one throws a RangeError). */
function knownZone(timeZone: string | undefined): timeZone is string {
  if (!timeZone) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone });
    return true;
  } catch {
    return false;
  }
}

function knownLocale(locale: string | undefined): locale is string {
  if (!locale) return false;
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([locale]).length > 0;
  } catch {
    return false;
  }
}

/**
 * The time, in the zone the model names or else the user's own (their page sends it with each
 * message), formatted in the user's locale: what the bubbles show is what the agent says.
 */
export const getCurrentTime = defineTool({
  name: "get_current_time",
  description: "Get the current date and time. Pass an IANA time zone such as Asia/Tokyo to ask about a place; null for the user's own time zone.",
  parameters: z.object({ timezone: z.nullish(z.string().check(z.maxLength(64))).check(z.describe("IANA time zone; null for the user's own")) }),
  shows: "log",
  async run(args, context) {
    const timeZone = args.timezone || (knownZone(context.timeZone) ? context.timeZone : "UTC");
    const locale = knownLocale(context.locale) ? context.locale : context.language === "ja" ? "ja-JP" : "en-GB";
    const now = context.now();
    let local: string;
    try {
      local = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "medium", timeStyle: "short" }).format(now);
    } catch {
      return { output: JSON.stringify({ error: `unknown time zone ${timeZone}` }), summary: `unknown time zone ${timeZone}` };
    }
    return { output: JSON.stringify({ localTime: local, timezone: timeZone, iso: now.toISOString() }), summary: `${local} (${timeZone})` };
  },
});
