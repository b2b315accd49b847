import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { openChat, say, setModel, useChatBrowser } from "./browser.ts";

const env = useChatBrowser();

const sessionTitles = (page: Page) => page.getByRole("navigation", { name: "Chats" }).locator(".session-title").allInnerTexts();
/** The chats listed from the server (each with its time), not the tab's own chat before it has a message. */
const listedTitles = (page: Page) => page.getByRole("navigation", { name: "Chats" }).locator("button.session:has(.session-time) .session-title").allInnerTexts();

describe("managing chats across tabs", () => {
  it("shows a chat begun in one tab in the others' sidebars from its first message, renames it everywhere, and deletes it everywhere once confirmed", async () => {
    const first = await openChat(env.browser, env.stack.url, "aoi");
    const second = await openChat(env.browser, env.stack.url, "aoi");
    await expect.poll(() => listedTitles(second.page)).toEqual([]);
    // The first answer is held back (the model's first token in a minute) until it is stopped below.
    const pace = env.stack.model!.settings().firstTokenMs;
    await setModel(env.stack.url, { firstTokenMs: 60_000 });
    const answer = first.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    try {
      await say(first, "Cross-tab hello 👋");
      // Listed in the other tab at its first message, untitled, while its answer is still coming.
      await expect.poll(() => listedTitles(second.page), { timeout: 30_000 }).toEqual(["Untitled chat"]);
      expect(await answer.count()).toBe(0);
      await first.page.getByRole("button", { name: "Stop", exact: true }).click();
      await first.conversation.locator('article.turn[data-status="stopped"]').waitFor({ timeout: 30_000 });
    } finally {
      await setModel(env.stack.url, { firstTokenMs: pace });
    }
    // A stopped turn is not a finished exchange; the next answer titles the chat (after its first
    // message) and the title is pushed to the other tab: no reload.
    await say(first, "And now an answer, please");
    await answer.waitFor({ timeout: 30_000 });
    await expect.poll(() => listedTitles(second.page), { timeout: 30_000 }).toEqual(["Cross-tab hello 👋"]);
    const sessionId = first.sessionId()!;
    const onIt = await openChat(env.browser, env.stack.url, "aoi", { sessionId });

    await first.page.getByRole("button", { name: "Rename this chat" }).click();
    const name = first.page.getByRole("textbox", { name: "Chat name" });
    await name.fill("Renamed chat ✏️");
    await name.press("Enter");
    await expect.poll(() => first.page.locator("h1.chat-title").innerText()).toBe("Renamed chat ✏️");
    await expect.poll(() => sessionTitles(second.page)).toContain("Renamed chat ✏️");
    await expect.poll(() => onIt.page.locator("h1.chat-title").innerText()).toBe("Renamed chat ✏️");
    // Escape leaves the name as it was.
    await first.page.getByRole("button", { name: "Rename this chat" }).click();
    await name.fill("not this");
    await name.press("Escape");
    await expect(first.page.locator("h1.chat-title").innerText()).resolves.toBe("Renamed chat ✏️");

    // Delete asks first; declined, nothing happens.
    first.page.once("dialog", (dialog) => void dialog.dismiss());
    await first.page.getByRole("button", { name: "Delete this chat" }).click();
    await expect(first.page.locator("h1.chat-title").innerText()).resolves.toBe("Renamed chat ✏️");
    expect(first.sessionId()).toBe(sessionId);

    first.page.once("dialog", (dialog) => void dialog.accept());
    await first.page.getByRole("button", { name: "Delete this chat" }).click();
    // The deleting tab moves to a new chat; every sidebar loses it; the tab that showed it says so.
    await first.page.waitForURL((url) => url.searchParams.get("session") !== sessionId && url.searchParams.get("session") !== null);
    await expect.poll(() => first.conversation.innerText()).toContain("What can azuchi do for you?");
    await expect.poll(() => sessionTitles(second.page)).not.toContain("Renamed chat ✏️");
    await expect.poll(() => onIt.page.getByRole("alert").allInnerTexts()).toContainEqual(expect.stringContaining("That chat was deleted in another tab."));
    await onIt.page.waitForURL((url) => url.searchParams.get("session") !== sessionId && url.searchParams.get("session") !== null);
    expect(await sessionTitles(first.page)).not.toContain("Renamed chat ✏️");

    // Its link no longer opens it.
    const late = await first.context.newPage();
    await late.goto(`${env.stack.url}/?session=${sessionId}`);
    await expect.poll(() => late.getByRole("alert").allInnerTexts(), { timeout: 20_000 }).toContainEqual(expect.stringContaining("cannot be opened"));
    await Promise.all([first.context.close(), second.context.close(), onIt.context.close()]);
  });
});
