import { describe, expect, it } from "vitest";
import { openChat, say, useChatBrowser } from "./browser.ts";

const env = useChatBrowser();

describe("what can be done with a message", () => {
  it("copies a reply as Markdown or as text and a question as typed; edits the last question and sends it again", async () => {
    const tab = await openChat(env.browser, env.stack.url, "copy");
    await tab.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.stack.url });
    const { page, conversation } = tab;
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await say(tab, "Copy **this** please 📋");
    const reply = conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await reply.waitFor({ timeout: 10_000 });

    await reply.getByRole("button", { name: "Copy as Markdown" }).click();
    await expect.poll(clipboard).toBe('You said: "Copy **this** please 📋".');
    await reply.getByRole("button", { name: "Copy text, as shown" }).click();
    await expect.poll(clipboard).toBe('You said: "Copy this please 📋".');
    const question = conversation.locator('.bubble[data-role="USER"]');
    await question.getByRole("button", { name: "Copy", exact: true }).click();
    await expect.poll(clipboard).toBe("Copy **this** please 📋");

    await question.getByRole("button", { name: "Edit" }).click();
    const edit = conversation.getByRole("textbox", { name: "Edit your message" });
    await expect(edit.inputValue()).resolves.toBe("Copy **this** please 📋");
    await edit.fill("Copy that instead ✂️");
    await edit.press("Enter");
    // A new message, answered; the first exchange stays above it.
    await expect.poll(() => reply.count(), { timeout: 10_000 }).toBe(2);
    await expect(reply.last().innerText()).resolves.toContain('You said: "Copy that instead ✂️".');
    await expect(question.allInnerTexts()).resolves.toEqual([expect.stringContaining("Copy **this** please 📋"), expect.stringContaining("Copy that instead ✂️")]);
    // Only the last message can be edited.
    await expect(question.first().getByRole("button", { name: "Edit" }).count()).resolves.toBe(0);
    await expect(question.last().getByRole("button", { name: "Edit" }).count()).resolves.toBe(1);
    // Escape leaves an edit unsent.
    await question.last().getByRole("button", { name: "Edit" }).click();
    await edit.fill("never sent");
    await edit.press("Escape");
    await expect(edit.count()).resolves.toBe(0);
    await expect(question.count()).resolves.toBe(2);
    await tab.context.close();
  });

  it("regenerates the last answer: a new one under the same question, the old one kept as a previous answer", async () => {
    const tab = await openChat(env.browser, env.stack.url, "again");
    const { page, conversation } = tab;
    await say(tab, "Answer me twice 🔁");
    const turn = conversation.locator("article.turn").filter({ hasText: "Answer me twice 🔁" });
    const current = turn.locator('.agent-side > .bubble[data-role="AGENT"][data-type="CONVERSATION"]');
    await current.waitFor({ timeout: 10_000 });
    const firstId = await current.getAttribute("data-reply");
    await turn.getByRole("button", { name: "Regenerate" }).click();
    await expect.poll(async () => (await current.count()) === 1 && (await current.getAttribute("data-reply")) !== firstId, { timeout: 10_000 }).toBe(true);
    await expect(current.innerText()).resolves.toContain('You said: "Answer me twice 🔁".');
    const previous = turn.locator("details.previous-answers");
    await expect(previous.locator("summary").innerText()).resolves.toBe("Previous answer");
    await expect(previous.locator(".bubble").getAttribute("data-reply")).resolves.toBe(firstId);
    await expect(conversation.locator("article.turn").count()).resolves.toBe(1);
    // The same after a reload, from the server.
    await page.reload();
    await current.waitFor();
    await expect(previous.locator(".bubble").getAttribute("data-reply")).resolves.toBe(firstId);
    await expect(conversation.locator("article.turn").count()).resolves.toBe(1);
    await tab.context.close();
  });
});
