import * as z from "zod";
import { defineTool } from "./tool.ts";

export const getCurrentTime = defineTool({
  name: "get_current_time",
  description: "Get the current date and time, in an IANA time zone such as Asia/Tokyo or UTC.",
  parameters: z.object({ timezone: z.string().max(64).nullish().describe("IANA time zone; null for UTC") }),
  shows: "log",
  async run(args, context) {
    const timeZone = args.timezone || "UTC";
    const now = context.now();
    let local: string;
    try {
      local = new Intl.DateTimeFormat(context.language === "ja" ? "ja-JP" : "en-GB", {
        timeZone,
        dateStyle: "medium",
        timeStyle: "short",
      }).format(now);
    } catch {
      return { output: JSON.stringify({ error: `unknown time zone ${timeZone}` }), summary: `unknown time zone ${timeZone}` };
    }
    return { output: JSON.stringify({ localTime: local, timezone: timeZone, iso: now.toISOString() }), summary: `${local} (${timeZone})` };
  },
});
