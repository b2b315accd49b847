import { describe, expect, it } from "vitest";
import { openChat, PHONE, useChatBrowser } from "./browser.ts";

const env = useChatBrowser();

describe("on a phone", () => {
  it("closes the chats drawer with Escape, wherever the focus is", async () => {
    const tab = await openChat(env.browser, env.stack.url, "haru", { viewport: PHONE, touch: true });
    const menu = tab.page.getByRole("button", { name: "Chats" });
    for (const focusOnMenu of [false, true]) {
      await menu.click();
      await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("true");
      if (focusOnMenu) await menu.focus();
      await tab.page.keyboard.press("Escape");
      await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("false");
      await expect(tab.page.locator(".app[data-drawer]").count()).resolves.toBe(0);
    }
    await tab.context.close();
  });

  it("has a message box whose hint fits a touch keyboard: one short line, Return for a new line, Send to send", async () => {
    const tab = await openChat(env.browser, env.stack.url, "natsu", { viewport: PHONE, touch: true });
    const box = tab.message;
    await expect(box.getAttribute("placeholder")).resolves.toBe("Message azuchi");
    await expect(box.evaluate((element) => element.scrollHeight <= element.clientHeight + 1)).resolves.toBe(true);
    await expect(box.getAttribute("enterkeyhint")).resolves.toBe("enter");
    await box.pressSequentially("one");
    await box.press("Enter");
    await box.pressSequentially("two");
    expect(await box.inputValue()).toBe("one\ntwo");
    await expect(tab.conversation.locator('[data-role="USER"]').count()).resolves.toBe(0);
    await tab.send.tap();
    await expect.poll(() => tab.conversation.locator('.bubble[data-role="USER"]').innerText()).toContain("one\ntwo");
    await tab.context.close();
  });
});
