import { describe, expect, it } from "vitest";
import { getCurrentTime } from "../../packages/agent/src/tools/get-current-time.ts";

const now = () => new Date("2026-12-01T23:30:00Z");

describe("get_current_time", () => {
  it("answers in the user's own time zone and locale when the model names none", async () => {
    const outcome = await getCurrentTime.run({ timezone: null }, { language: "en", now, timeZone: "America/New_York", locale: "en-US" });
    expect(JSON.parse(outcome.output)).toEqual({ localTime: "Dec 1, 2026, 6:30 PM", timezone: "America/New_York", iso: "2026-12-01T23:30:00.000Z" });
    expect(outcome.summary).toBe("Dec 1, 2026, 6:30 PM (America/New_York)");
  });

  it("answers in the zone the model names, still in the user's locale", async () => {
    const outcome = await getCurrentTime.run({ timezone: "Asia/Tokyo" }, { language: "en", now, timeZone: "Europe/Paris", locale: "fr-FR" });
    expect(JSON.parse(outcome.output)).toMatchObject({ localTime: "2 déc. 2026, 08:30", timezone: "Asia/Tokyo" });
  });

  it("falls back to UTC and the language's locale when the page sent nothing usable", async () => {
    const outcome = await getCurrentTime.run({ timezone: null }, { language: "ja", now, timeZone: "Mars/Olympus", locale: "not a locale!" });
    expect(JSON.parse(outcome.output)).toMatchObject({ timezone: "UTC", localTime: "2026/12/01 23:30" });
  });
});
