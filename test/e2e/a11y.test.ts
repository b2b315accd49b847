import { createRequire } from "node:module";
import type { Page, WebSocketRoute } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DESKTOP, openChat, PHONE, say, setModel, useChatBrowser, type ChatTab } from "./browser.ts";

const env = useChatBrowser();
const AXE_SCRIPT = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** axe-core's violations on the page as it is now, one line each (rule, impact, where, why). */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE_SCRIPT });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations;
  });
  return violations.map((v) => `${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary ?? ""}`).join(" | ")}`);
}

/** The page's own polite live region (not the connection status). */
const announcer = (page: Page) => page.locator("[data-announcer]");
const activeElement = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement;
    return element ? { tag: element.tagName.toLowerCase(), id: element.id, label: element.getAttribute("aria-label"), inMain: element.closest("main") !== null, inSidebar: element.closest("#sidebar") !== null } : undefined;
  });
const reply = (tab: ChatTab) => tab.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]').last();

/** A tab on a page whose scripts may be added (axe-core) in the given colour scheme. */
const open = (user: string, colorScheme: "light" | "dark", viewport = DESKTOP, sessionId?: string) =>
  openChat(env.browser, env.stack.url, user, { viewport, sessionId, context: { bypassCSP: true, colorScheme } });

describe("accessibility", () => {
  for (const scheme of ["light", "dark"] as const) {
    it(`finds no axe-core violations in any state of the chat (${scheme})`, async () => {
      const tab = await open(`axe-${scheme}`, scheme);
      const { page, conversation } = tab;
      try {
        await conversation.getByText("What can azuchi do for you?").waitFor();
        expect(await axeViolations(page), "empty chat").toEqual([]);

        await setModel(env.stack.url, { tokenMs: 40 });
        await say(tab, "京都で週末を過ごす計画を立てて 🍵 and write a long answer, one two three four five six seven eight nine ten");
        await conversation.locator("[data-streaming]").waitFor({ timeout: 20_000 });
        await conversation.locator(".activity[data-live]").waitFor();
        expect(await axeViolations(page), "streaming").toEqual([]);
        await setModel(env.stack.url, { tokenMs: 2 });
        await reply(tab).waitFor({ timeout: 30_000 });
        await expect.poll(() => conversation.locator("[data-streaming]").count(), { timeout: 10_000 }).toBe(0);
        expect(await axeViolations(page), "after a reply").toEqual([]);

        await tab.message.fill("あ".repeat(8_001));
        await tab.message.press("Enter");
        await page.getByRole("alert").waitFor();
        expect(await axeViolations(page), "a notice of the page").toEqual([]);
        await page.getByRole("button", { name: "Dismiss" }).click();

        await setModel(env.stack.url, { mode: "fail" });
        try {
          await say(tab, "Are you there?");
          await conversation.getByRole("note").first().waitFor({ timeout: 30_000 });
          expect(await axeViolations(page), "a failure notice in the conversation").toEqual([]);
        } finally {
          await setModel(env.stack.url, { mode: "ok" });
        }

        const phone = await open(`axe-${scheme}`, scheme, PHONE, tab.sessionId());
        try {
          await reply(phone).waitFor({ timeout: 15_000 });
          expect(await axeViolations(phone.page), "phone").toEqual([]);
          await phone.page.getByRole("button", { name: "Chats" }).click();
          await phone.page.getByRole("dialog", { name: "Chats" }).waitFor();
          expect(await axeViolations(phone.page), "drawer open").toEqual([]);
        } finally {
          await phone.context.close();
        }
      } finally {
        await setModel(env.stack.url, { tokenMs: 2, mode: "ok" });
        await tab.context.close();
      }
    }, 240_000);
  }

  for (const [name, viewport] of [
    ["a phone", PHONE],
    ["a desktop at 200 % zoom", { width: DESKTOP.width / 2, height: DESKTOP.height / 2 }],
  ] as const) {
    it(`makes the chats drawer a modal dialog on ${name}: the focus moves in, the page behind is inert, Escape returns to ☰`, async () => {
      const tab = await open("drawer", "light", viewport);
      const { page } = tab;
      try {
        const menu = page.getByRole("button", { name: "Chats" });
        await menu.focus();
        await page.keyboard.press("Enter");
        const dialog = page.getByRole("dialog", { name: "Chats" });
        await dialog.waitFor();
        await expect.poll(() => activeElement(page)).toMatchObject({ inSidebar: true });
        await expect(page.locator("main").evaluate((main) => (main as HTMLElement).inert)).resolves.toBe(true);
        // Tab does not walk into the page behind.
        for (let i = 0; i < 8; i++) {
          await page.keyboard.press("Tab");
          expect(await activeElement(page)).not.toMatchObject({ inMain: true });
        }
        await page.keyboard.press("Escape");
        await expect.poll(() => dialog.count()).toBe(0);
        await expect.poll(() => activeElement(page)).toMatchObject({ label: "Chats", inMain: true });
        await expect(page.locator("main").evaluate((main) => (main as HTMLElement).inert)).resolves.toBe(false);
      } finally {
        await tab.context.close();
      }
    }, 60_000);
  }

  it("announces a failed answer, then the answer, in the live region; labels who speaks and marks Japanese", async () => {
    const tab = await open("announce", "light");
    const { page, conversation } = tab;
    try {
      await setModel(env.stack.url, { mode: "fail" });
      try {
        await say(tab, "今何時ですか？");
        await expect.poll(() => announcer(page).innerText(), { timeout: 30_000 }).toMatch(/^azuchi could not answer: /);
      } finally {
        await setModel(env.stack.url, { mode: "ok" });
      }
      await reply(tab).waitFor({ timeout: 60_000 });
      await expect.poll(() => announcer(page).innerText()).toBe("azuchi answered.");

      const question = conversation.locator('.bubble[data-role="USER"]').first();
      await expect(question.evaluate((bubble) => bubble.textContent)).resolves.toMatch(/^You: /);
      await expect(reply(tab).evaluate((bubble) => bubble.textContent)).resolves.toMatch(/^azuchi: /);
      await expect(question.locator('[lang="ja"]').innerText()).resolves.toBe("今何時ですか？");
    } finally {
      await setModel(env.stack.url, { mode: "ok" });
      await tab.context.close();
    }
  }, 120_000);

  it("says once that it is reconnecting, not every second of the countdown", async () => {
    const sockets: WebSocketRoute[] = [];
    let refusing = false;
    const tab = await openChat(env.browser, env.stack.url, "countdown", {
      beforeLoad: (page) =>
        page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
          sockets.push(ws);
          if (refusing) return void ws.close({ code: 4001, reason: "refused by the test" });
          ws.connectToServer();
        }),
    });
    const { page } = tab;
    try {
      await expect.poll(() => page.getByRole("status").first().innerText()).toBe("Connected");
      await page.evaluate(() => {
        const record = (selector: string, into: string[]) =>
          new MutationObserver(() => into.push(document.querySelector(selector)?.textContent ?? "")).observe(document.querySelector(".connection")!, { subtree: true, childList: true, characterData: true });
        const seen = { status: [] as string[], countdown: [] as string[] };
        (window as unknown as { seen: typeof seen }).seen = seen;
        record('.connection [role="status"]', seen.status);
        record(".connection .countdown", seen.countdown);
      });
      refusing = true;
      await sockets.at(-1)!.close({ code: 4000, reason: "dropped by the test" });
      const seen = () => page.evaluate(() => (window as unknown as { seen: { status: string[]; countdown: string[] } }).seen);
      // Wait until the countdown has ticked through several seconds (the backoff grows with each refusal).
      await expect.poll(async () => new Set((await seen()).countdown.filter(Boolean)).size, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
      const { status } = await seen();
      const changes = status.filter((text, i) => text !== status[i - 1]);
      expect(changes.every((text) => !/\d/.test(text)), `the live region said: ${JSON.stringify(changes)}`).toBe(true);
    } finally {
      await tab.context.close();
    }
  }, 60_000);

  it("keeps the focus in the chat after Stop, a suggestion and Dismiss", async () => {
    const tab = await open("focus", "light");
    const { page, conversation } = tab;
    try {
      const chip = conversation.getByRole("button", { name: /Make a plan for a weekend in Kyoto/ });
      await chip.focus();
      await page.keyboard.press("Enter");
      await conversation.locator('.bubble[data-role="USER"]').waitFor();
      await expect.poll(() => activeElement(page)).toMatchObject({ id: "message" });
      await reply(tab).waitFor({ timeout: 30_000 });

      await setModel(env.stack.url, { tokenMs: 60 });
      await say(tab, "Write a long answer that I will stop, one two three four five six seven eight nine ten eleven twelve");
      await conversation.locator("[data-streaming]").waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Stop", exact: true }).focus();
      await page.keyboard.press("Enter");
      await conversation.locator('.badge[data-status="stopped"]').waitFor({ timeout: 20_000 });
      await expect.poll(() => page.getByRole("button", { name: "Stop", exact: true }).count()).toBe(0);
      await expect.poll(() => activeElement(page)).toMatchObject({ id: "message" });
      await setModel(env.stack.url, { tokenMs: 2 });

      await tab.message.fill("x".repeat(8_001));
      await tab.message.press("Enter");
      await page.getByRole("alert").waitFor();
      await page.getByRole("button", { name: "Dismiss" }).focus();
      await page.keyboard.press("Enter");
      await expect.poll(() => page.getByRole("alert").count()).toBe(0);
      await expect.poll(() => activeElement(page)).toMatchObject({ id: "message" });
    } finally {
      await setModel(env.stack.url, { tokenMs: 2 });
      await tab.context.close();
    }
  }, 120_000);

  for (const [name, viewport] of [
    ["a phone on its side", { width: PHONE.height, height: PHONE.width }],
    ["a desktop at 400 % zoom", { width: DESKTOP.width / 4, height: DESKTOP.height / 4 }],
  ] as const) {
    it(`leaves most of the height to the conversation on ${name}, with a notice shown`, async () => {
      const tab = await open("short", "light", viewport);
      const { page } = tab;
      try {
        await tab.message.fill("あ".repeat(8_001));
        await tab.message.press("Enter");
        await page.getByRole("alert").waitFor();
        const height = (await tab.conversation.boundingBox())!.height;
        expect(height, `conversation ${height}px of ${viewport.height}px`).toBeGreaterThanOrEqual(viewport.height / 3);
      } finally {
        await tab.context.close();
      }
    }, 60_000);
  }
});
