import { describe, expect, it } from "vitest";
import { openChat, say, screenshot, setModel, useChatBrowser } from "./browser.ts";

// Quick retries (1 s, then 4 s) and none inside the OpenAI client, so a give-up takes seconds.
const env = useChatBrowser({ environment: { AZUCHI_RETRY_BASE_SECONDS: "1", AZUCHI_OPENAI_MAX_RETRIES: "0" } });

describe("a message the agent cannot answer", () => {
  it("shows one notice that updates in place, then Retry, which answers it under its question and resolves the notice", async () => {
    const tab = await openChat(env.browser, env.stack.url, "nobu");
    const { page, conversation } = tab;
    await setModel(env.stack.url, { mode: "fail" });
    try {
      await say(tab, "Will this ever be answered? 🤞");
      const notices = conversation.locator('[data-type="SYSTEM_LOG"]');
      const notice = notices.first();
      // The second attempt's notice replaces the first one where it stands.
      await expect.poll(() => notice.getAttribute("data-count"), { timeout: 15_000 }).toBe("2");
      await expect(notices.count()).resolves.toBe(1);
      await expect.poll(() => notice.getAttribute("data-state"), { timeout: 20_000 }).toBe("final");
      await expect(notices.count()).resolves.toBe(1);
      await expect(notice.getAttribute("data-count")).resolves.toBe("3");
      await expect(notice.innerText()).resolves.toContain("after several attempts");
      await screenshot(page, "failure-retry-desktop");
    } finally {
      await setModel(env.stack.url, { mode: "ok" });
    }

    await conversation.getByRole("button", { name: "Retry" }).click();
    const turn = conversation.locator("article.turn").filter({ hasText: "Will this ever be answered? 🤞" });
    const answer = turn.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await answer.waitFor({ timeout: 15_000 });
    await expect(answer.innerText()).resolves.toContain('You said: "Will this ever be answered? 🤞".');
    const notice = turn.locator('[data-type="SYSTEM_LOG"]');
    await expect(notice.getAttribute("data-state")).resolves.toBe("resolved");
    await expect(conversation.getByRole("button", { name: "Retry" }).count()).resolves.toBe(0);
    await expect(turn.getAttribute("data-status")).resolves.toBe("done");

    // After a reload, from the server: still one notice, resolved, and the answer under its question.
    await page.reload();
    await answer.waitFor();
    await expect(turn.locator('[data-type="SYSTEM_LOG"]').count()).resolves.toBe(1);
    await expect(turn.locator('[data-type="SYSTEM_LOG"]').getAttribute("data-state")).resolves.toBe("resolved");
    await tab.context.close();
  });
});
