import { describe, expect, it } from "vitest";
import { openChat, say, useChatBrowser } from "./browser.ts";

const env = useChatBrowser();

describe("the time the agent tells", () => {
  it("is the page's own time zone and locale, as the bubbles show it, not Tokyo's", async () => {
    const tab = await openChat(env.browser, env.stack.url, "nyc", { timezoneId: "America/New_York", locale: "en-US" });
    await say(tab, "What time is it?");
    const answer = tab.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await answer.waitFor({ timeout: 10_000 });
    await tab.conversation.locator("details.activity summary").click();
    const lines = tab.conversation.getByRole("list", { name: "Activity" }).getByRole("listitem");
    await expect.poll(() => lines.allInnerTexts()).toContainEqual(expect.stringContaining("(America/New_York)"));
    // The date as this page formats it in its own zone and locale (e.g. "Dec 1, 2026").
    const today = await tab.page.evaluate(() => new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(Date.now()));
    await expect(answer.innerText()).resolves.toContain(`The current time is ${today}`);
    await tab.context.close();
  });
});
