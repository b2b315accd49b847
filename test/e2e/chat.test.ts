import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { openChat, useChatBrowser, PHONE, say, screenshot, setModel } from "./browser.ts";

const env = useChatBrowser();

const QUESTION = "京都で週末を過ごす計画を立てて、今の時刻も教えて 🍵✨ **ありがとう**";

describe("the browser chat", () => {
  it("streams the reply in, with the agent's plan as a checklist and its activity trail, rendered as Markdown", async () => {
    const tab = await openChat(env.browser, env.stack.url, "hana", { locale: "ja-JP" });
    const { page, conversation } = tab;
    await expect.poll(() => page.getByRole("status").first().innerText(), { timeout: 20_000 }).toBe("Connected");
    // What the page showed while the reply was written, recorded as it happened: the stream lasts
    // a moment, which a busy machine may spend before the test could look at it.
    await page.evaluate(() => {
      const seen: { text: string; stop: boolean }[] = [];
      (window as unknown as { streamSeen: typeof seen }).streamSeen = seen;
      new MutationObserver(() => {
        const streaming = document.querySelector<HTMLElement>("[data-streaming]");
        if (streaming && streaming.innerText !== seen.at(-1)?.text) seen.push({ text: streaming.innerText, stop: document.querySelector("button.stop") !== null });
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const streamSeen = () => page.evaluate(() => (window as unknown as { streamSeen: { text: string; stop: boolean }[] }).streamSeen);
    const watcher = await env.stack.connect("hana", tab.sessionId());
    // Slow enough to watch the reply being written.
    await setModel(env.stack.url, { tokenMs: 10 });
    try {
      await say(tab, QUESTION);
      await expect.poll(() => conversation.locator('[data-role="USER"]').first().innerText()).toContain(QUESTION);
      // Answered when the server has sent the reply; a busy machine decides how long that takes, not the test.
      await watcher.waitFor((f) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION", 60_000);
      await watcher.close();

      const streaming = conversation.locator("[data-streaming]");
      // Written in before it was whole: the quote showed while the reply streamed, with Stop beside it.
      await expect.poll(streamSeen).toContainEqual({ text: expect.stringContaining("「京都") as string, stop: true });

      const plan = conversation.getByRole("group", { name: "Plan" }).last();
      await plan.waitFor();
      const steps = plan.getByRole("listitem");
      await expect.poll(() => steps.count()).toBe(3);
      await expect(steps.nth(1).innerText()).resolves.toContain("現在時刻を調べる");

      const answer = reply(page);
      await answer.waitFor();
      await expect(streaming.count()).resolves.toBe(0);
      // The quote's **ありがとう** is Markdown: bold, not asterisks.
      await expect(answer.locator("strong").innerText()).resolves.toBe("ありがとう");
      await expect(answer.innerText()).resolves.toContain("3つの手順で計画を立てました。");
      // A finished turn looks finished: the plan as the agent left it, every step done, and
      // the trail says what happened instead of its first line.
      await expect.poll(() => steps.evaluateAll((items) => items.map((item) => item.getAttribute("data-status")))).toEqual(["completed", "completed", "completed"]);
      await expect(plan.locator(".plan-progress").innerText()).resolves.toBe("3/3 done");
      await expect(conversation.locator("details.activity summary .activity-last").innerText()).resolves.toMatch(/^3 steps · \d+(\.\d)? s$/);

      const activity = conversation.locator("details.activity");
      await activity.locator("summary").click();
      const lines = activity.getByRole("list", { name: "Activity" }).getByRole("listitem");
      await expect.poll(() => lines.allInnerTexts()).toEqual([
        expect.stringContaining("メッセージを確認しています…"),
        expect.stringContaining("get_current_time を呼び出しています…"),
        expect.stringContaining("get_current_time:"),
      ]);
      await expect(page.getByRole("button", { name: "Stop", exact: true }).count()).resolves.toBe(0);
      await screenshot(page, "conversation-desktop");
    } finally {
      await setModel(env.stack.url, { tokenMs: 2 });
    }

    // The same conversation after a reload, from the server.
    const before = await conversation.locator(".bubble, .plan, details.activity li").allInnerTexts();
    const url = page.url();
    await page.reload();
    await reply(page).waitFor();
    expect(page.url()).toBe(url);
    await conversation.locator("details.activity summary").click();
    expect(await conversation.locator(".bubble, .plan, details.activity li").allInnerTexts()).toEqual(before);

    // The same session on a phone, read from its link.
    const phone = await openChat(env.browser, env.stack.url, "hana", { sessionId: tab.sessionId(), viewport: PHONE });
    await reply(phone.page).waitFor();
    expect(phone.sessionId()).toBe(tab.sessionId());
    await screenshot(phone.page, "conversation-phone");
    await phone.page.getByRole("button", { name: "Chats" }).click();
    await phone.page.getByRole("button", { name: "New chat" }).waitFor();
    await screenshot(phone.page, "sessions-phone");
    await phone.context.close();
    await tab.context.close();
  });

  it("shows the agent's reply in both tabs open on one session", async () => {
    const first = await openChat(env.browser, env.stack.url, "kenji");
    const second = await openChat(env.browser, env.stack.url, "kenji", { sessionId: first.sessionId() });
    expect(second.sessionId()).toBe(first.sessionId());

    // Both tabs in sync before the message goes: the second one's page may still be loading.
    for (const tab of [first, second]) await expect.poll(() => tab.page.getByRole("status").first().innerText(), { timeout: 20_000 }).toBe("Connected");
    const watcher = await env.stack.connect("kenji", first.sessionId());
    await say(first, "Two tabs, one chat 👀");
    // The reply is stored and sent to every tab; a busy machine decides how long that takes, not the test.
    await watcher.waitFor((f) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION", 60_000);
    await watcher.close();
    for (const tab of [first, second]) {
      await reply(tab.page).waitFor({ timeout: 10_000 });
      await expect(reply(tab.page).innerText()).resolves.toContain('You said: "Two tabs, one chat 👀".');
      // The other tab hears of the question from chat's post, which API Gateway does not order
      // against the agent's frames: on a busy machine the reply may come first, and the
      // question then takes its place above it.
      await expect.poll(() => tab.conversation.locator(`.bubble[data-role="USER"], ${REPLY_BUBBLES}`).evaluateAll((bubbles) => bubbles.map((b) => b.getAttribute("data-role")))).toEqual(["USER", "AGENT"]);
    }
    await Promise.all([first.context.close(), second.context.close()]);
  });

  it("says how long a message may be when it is too long, and keeps the text", async () => {
    const tab = await openChat(env.browser, env.stack.url, "mika", { viewport: PHONE });
    const text = "あ".repeat(8_001);
    await tab.message.fill(text);
    await expect(tab.page.locator(".counter").innerText()).resolves.toBe("8,001 / 8,000 characters");
    await tab.message.press("Enter");
    const alert = tab.page.getByRole("alert");
    await expect.poll(() => alert.innerText()).toContain("8,001 characters long; a message can have at most 8,000");
    expect(await tab.message.inputValue()).toBe(text);
    await expect(tab.conversation.locator('[data-role="USER"]').count()).resolves.toBe(0);
    await screenshot(tab.page, "too-long-phone");
    await tab.context.close();
  });

  it("never runs or loads what agent text contains: links keep safe targets only, images stay links; long words wrap", async () => {
    const tab = await openChat(env.browser, env.stack.url, "sora", { viewport: PHONE });
    const longWord = "x".repeat(300);
    await say(tab, `[click](javascript:alert(1)) ![pixel](https://tracker.example/p.png) <img src=x onerror=alert(1)> [ok](https://example.com) ${longWord}`);
    await reply(tab.page).waitFor({ timeout: 10_000 });
    const links = await reply(tab.page).locator("a").evaluateAll((anchors) => anchors.map((a) => a.getAttribute("href")));
    expect(links).toEqual(["https://tracker.example/p.png", "https://example.com"]);
    await expect(reply(tab.page).locator("img").count()).resolves.toBe(0);
    await expect(reply(tab.page).innerText()).resolves.toContain("<img src=x onerror=alert(1)>");
    // A 300-character word wraps inside the bubbles: nothing scrolls sideways on a phone.
    await expect(tab.page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(PHONE.width);
    await expect(tab.conversation.evaluate((element) => element.scrollWidth <= element.clientWidth)).resolves.toBe(true);
    await tab.context.close();
  });

  it("signs in with the User name box and Enter, then sends with Enter and breaks lines with Shift+Enter", async () => {
    const context = await env.browser.newContext({ viewport: PHONE, locale: "en-US" });
    const page = await context.newPage();
    await page.goto(`${env.stack.url}/`);
    await page.getByLabel("User name").fill("yuki");
    await screenshot(page, "sign-in-phone");
    await page.getByLabel("User name").press("Enter");
    await page.waitForURL(/[?&]session=[0-9a-f-]{36}/);
    await expect(page.getByRole("textbox", { name: "Message" }).evaluate((box) => box === document.activeElement)).resolves.toBe(true);
    await expect(page.getByRole("region", { name: "Conversation" }).innerText()).resolves.toContain("What can azuchi do for you?");

    // Shift+Enter is a new line; Enter sends.
    const box = page.getByRole("textbox", { name: "Message" });
    await box.pressSequentially("line one");
    await box.press("Shift+Enter");
    await box.pressSequentially("二行目 ✍️");
    expect(await box.inputValue()).toBe("line one\n二行目 ✍️");
    await box.press("Enter");
    await expect.poll(() => page.locator('.bubble[data-role="USER"]').innerText()).toContain("line one\n二行目 ✍️");
    expect(await box.inputValue()).toBe("");
    await context.close();
  });
});

/** The agent's answers: the bubbles of its stored CONVERSATION messages. */
const REPLY_BUBBLES = '.bubble[data-role="AGENT"][data-type="CONVERSATION"]';

function reply(page: Page) {
  return page.getByRole("region", { name: "Conversation" }).locator(REPLY_BUBBLES).last();
}
