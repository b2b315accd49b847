import { describe, expect, it } from "vitest";
import { createDocumentClient, MessagesRepository } from "@azuchi/core";
import { openChat, useChatBrowser, say, screenshot, type ChatTab } from "./browser.ts";

const env = useChatBrowser();

const replies = (tab: ChatTab) => tab.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
const chats = (tab: ChatTab) => tab.page.getByRole("navigation", { name: "Chats" }).getByRole("listitem");

/** Writes `count` messages into a session through the one messages repository, as the services would. */
async function seedMessages(sessionId: string, count: number): Promise<void> {
  const table = (name: string) => (JSON.parse(env.stack.environment[`SST_RESOURCE_${name}`]!) as { name: string }).name;
  const repository = new MessagesRepository(createDocumentClient(), {
    sessions: table("Sessions"),
    connections: table("Connections"),
    messages: table("Messages"),
    messageIds: table("MessageIds"),
  });
  const start = Date.now() - count * 60_000;
  const put = (n: number) =>
    repository.put({
      sessionId,
      createdAt: start + n * 60_000,
      messageId: crypto.randomUUID(),
      role: n % 2 === 0 ? "USER" : "AGENT",
      messageType: "CONVERSATION",
      message: `Message ${n} ${n % 2 === 0 ? "🙂" : "— 返信"}`,
      // Marked as queued long ago, so nothing tries to enqueue these old USER messages.
      ...(n % 2 === 0 && { enqueuedAt: start + n * 60_000 }),
    });
  for (let n = 0; n < count; n += 20) await Promise.all(Array.from({ length: Math.min(20, count - n) }, (_, i) => put(n + i)));
}

describe("sessions in the browser chat", () => {
  it("starts a new chat, lists chats newest first, switches between them and follows the browser's back button", async () => {
    const tab = await openChat(env.browser, env.stack.url, "taro");
    const first = tab.sessionId();
    await say(tab, "First chat: green tea 🍵");
    await replies(tab).waitFor({ timeout: 10_000 });

    await tab.page.getByRole("button", { name: "New chat" }).click();
    // The URL drops the old session at once and shows the new one when the server has made it.
    await expect.poll(() => tab.sessionId() !== undefined && tab.sessionId() !== first, { timeout: 10_000 }).toBe(true);
    const second = tab.sessionId();
    await expect.poll(() => tab.conversation.innerText()).toContain("What can azuchi do for you?");
    await expect(tab.message.evaluate((box) => box === document.activeElement)).resolves.toBe(true);
    await say(tab, "Second chat: bullet trains 🚄");
    await replies(tab).waitFor({ timeout: 10_000 });

    await expect.poll(() => chats(tab).allInnerTexts()).toEqual([expect.stringContaining("bullet trains"), expect.stringContaining("green tea")]);
    await chats(tab).nth(1).getByRole("button").click();
    await expect.poll(() => tab.sessionId()).toBe(first);
    await expect.poll(() => replies(tab).innerText()).toContain("green tea 🍵");
    await expect(tab.conversation.innerText()).resolves.not.toContain("bullet trains");

    await tab.page.goBack();
    await expect.poll(() => tab.sessionId()).toBe(second);
    await expect.poll(() => replies(tab).innerText()).toContain("bullet trains 🚄");

    // After a reload the list comes from the server (listSessions), with the titles it set.
    await tab.page.reload({ waitUntil: "domcontentloaded" });
    await expect.poll(() => replies(tab).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => chats(tab).count(), { timeout: 10_000 }).toBe(2);
    const titles = (await chats(tab).allInnerTexts()).map((t) => t.split("\n")[0]);
    expect(titles).toEqual([expect.stringMatching(/bullet trains|Second chat/), expect.stringMatching(/green tea|First chat/)]);
    await expect(chats(tab).first().getByRole("button").getAttribute("aria-current")).resolves.toBe("page");
    await screenshot(tab.page, "sessions-desktop");
    await tab.context.close();
  });

  it("loads older messages when scrolled to the top, keeping the place", async () => {
    const client = await env.stack.connect("emi");
    const sessionId = await env.stack.sessionOf(client);
    await client.close();
    await seedMessages(sessionId, 120);

    const tab = await openChat(env.browser, env.stack.url, "emi", { sessionId });
    const bubbles = tab.conversation.locator(".bubble");
    await expect.poll(() => bubbles.count()).toBe(50);
    await expect(bubbles.last().innerText()).resolves.toContain("Message 119");

    for (const expected of [100, 120]) {
      await tab.conversation.evaluate((element) => element.scrollTo({ top: 0 }));
      await expect.poll(() => bubbles.count()).toBe(expected);
      // The reader's place is kept: the view did not jump to the oldest message.
      await expect(tab.conversation.evaluate((element) => element.scrollTop)).resolves.toBeGreaterThan(200);
    }
    await expect(bubbles.first().innerText()).resolves.toContain("Message 0");
    await expect(tab.page.getByRole("button", { name: "Load earlier messages" }).count()).resolves.toBe(0);
    await tab.context.close();
  });
});
