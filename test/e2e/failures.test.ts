import { describe, expect, it } from "vitest";
import { openChat, PHONE, say, screenshot, setModel, useChatBrowser } from "./browser.ts";

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

describe("an answer that comes late", () => {
  it("is marked at the bottom when it lands out of sight, under its own question, and the marker jumps to it", async () => {
    const tab = await openChat(env.browser, env.stack.url, "late", { viewport: PHONE });
    const { conversation } = tab;
    await setModel(env.stack.url, { mode: "fail" });
    try {
      await say(tab, "The first question ⏳");
      await conversation.getByRole("button", { name: "Retry" }).waitFor({ timeout: 20_000 });
    } finally {
      await setModel(env.stack.url, { mode: "ok" });
    }
    // A later exchange long enough to push the first one out of sight.
    const long = Array.from({ length: 30 }, (_, i) => `Line ${i + 1} of a long second question.`).join("\n");
    await say(tab, long);
    await expect.poll(() => conversation.locator('.bubble[data-type="CONVERSATION"][data-role="AGENT"]').count(), { timeout: 10_000 }).toBe(1);

    // Retry pressed, and the user back at the bottom reading on, before any answer can arrive
    // (one task in the page: no frame is handled in between).
    await conversation.evaluate((element) => {
      [...element.querySelectorAll("button")].find((b) => b.textContent === "Retry")!.click();
      element.scrollTop = element.scrollHeight;
    });
    const marker = conversation.getByRole("button", { name: /Answer to an earlier question/ });
    await marker.waitFor({ timeout: 15_000 });
    await screenshot(tab.page, "late-answer-phone");

    const first = conversation.locator("article.turn").filter({ hasText: "The first question ⏳" });
    const answer = first.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await expect(answer.innerText()).resolves.toContain('You said: "The first question ⏳".');
    // Under its question, before the later exchange.
    const order = await conversation.locator("article.turn").evaluateAll((turns) => turns.map((t) => t.querySelector('[data-role="USER"] .plain')?.textContent?.slice(0, 20)));
    expect(order[0]).toContain("The first question");
    await expect(answer.evaluate((bubble) => { const view = bubble.closest(".conversation")!.getBoundingClientRect(); return bubble.getBoundingClientRect().bottom < view.top; })).resolves.toBe(true);

    await marker.click();
    await expect.poll(() => answer.evaluate((bubble) => { const box = bubble.getBoundingClientRect(); const view = bubble.closest(".conversation")!.getBoundingClientRect(); return box.top >= view.top && box.bottom <= view.bottom; })).toBe(true);
    await expect(answer.evaluate((bubble) => bubble === document.activeElement)).resolves.toBe(true);
    await expect(marker.count()).resolves.toBe(0);
    await tab.context.close();
  });
});
