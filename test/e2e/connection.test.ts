import type { Page, WebSocketRoute } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { Message } from "@azuchi/core";
import { openChat, useChatBrowser, say, screenshot, setModel, type ChatTab } from "./browser.ts";

const env = useChatBrowser();

/**
 * The page's WebSocket, passed through Playwright so a test can cut it: `drop()` closes
 * both ends as a network failure would; while `refusing`, new sockets are closed at once.
 */
interface SocketControl {
  refusing: boolean;
  /** Called with each server frame; return false to keep it from the page. */
  filter?: (frame: string) => boolean;
  connections: number;
  /** Every frame the page sent, in order. */
  sent: string[];
  /** Every server frame let through to the page, in order. */
  delivered: string[];
  drop(): Promise<void>;
}

async function controlSockets(page: Page): Promise<SocketControl> {
  let live: { page: WebSocketRoute; server: WebSocketRoute } | undefined;
  const control: SocketControl = {
    refusing: false,
    connections: 0,
    sent: [],
    delivered: [],
    async drop() {
      const current = live;
      live = undefined;
      if (!current) return;
      await current.server.close();
      await current.page.close({ code: 4000, reason: "dropped by the test" });
    },
  };
  await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
    if (control.refusing) return void ws.close({ code: 4001, reason: "refused by the test" });
    const server = ws.connectToServer();
    const pair = { page: ws, server };
    live = pair;
    control.connections++;
    ws.onMessage((frame) => {
      control.sent.push(String(frame));
      server.send(frame);
    });
    server.onMessage((frame) => {
      if (live !== pair) return;
      if (control.filter && !control.filter(String(frame))) return;
      control.delivered.push(String(frame));
      ws.send(frame);
    });
  });
  return control;
}

/** A second client on the session, straight on the WebSocket API: what the server has. */
async function storedMessages(user: string, sessionId: string): Promise<Message[]> {
  const client = await env.stack.connect(user, sessionId);
  try {
    client.send({ action: "getSession", limit: 200 });
    const frame = await client.waitFor((f) => f.type === "session");
    return frame.type === "session" ? frame.messages : [];
  } finally {
    await client.close();
  }
}

const userBubbles = (tab: ChatTab) => tab.conversation.locator('.bubble[data-role="USER"]');
const replies = (tab: ChatTab) => tab.conversation.locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]');
const status = (page: Page) => page.getByRole("status").first();

describe("the browser chat's connection", () => {
  it("reconnects after the socket drops mid-reply, catches up, and sends what was typed offline — nothing lost, nothing twice", async () => {
    let control!: SocketControl;
    const tab = await openChat(env.browser, env.stack.url, "ren", { beforeLoad: async (page) => void (control = await controlSockets(page)) });
    const sessionId = tab.sessionId()!;
    await expect.poll(() => status(tab.page).innerText()).toContain("Connected");
    // A second tab on the session, to know when the server has stored the reply.
    const watcher = await env.stack.connect("ren", sessionId);
    await setModel(env.stack.url, { tokenMs: 20 });
    try {
      await say(tab, "Make a plan and write a long answer while I lose my connection 🔌");
      // The answer has begun: its first delta reached the session (how soon is the machine's to
      // say: beside a heavy job it took over 10 s), then this page shows it streaming.
      await watcher.waitFor((f) => f.type === "delta", 25_000);
      await tab.conversation.locator("[data-streaming]").waitFor();

      // The network goes: the socket drops, new ones are refused, the browser knows it is offline.
      control.refusing = true;
      await tab.context.setOffline(true);
      await control.drop();
      await expect.poll(() => status(tab.page).innerText()).toMatch(/Offline — retrying|Reconnecting/);
      await say(tab, "Typed while offline 📴");
      const queued = userBubbles(tab).filter({ hasText: "Typed while offline 📴" });
      await expect.poll(() => queued.locator(".badge").innerText()).toContain("Queued");
      await screenshot(tab.page, "offline-desktop");

      // The first reply finishes on the server while this tab is away.
      await watcher.waitFor((f) => f.type === "message" && f.message.role === "AGENT" && f.message.messageType === "CONVERSATION", 15_000);
      // Back online: the page reconnects at once rather than at its next backoff step.
      control.refusing = false;
      await tab.context.setOffline(false);
      await expect.poll(() => status(tab.page).innerText(), { timeout: 5_000 }).toBe("Connected");

      await expect.poll(() => replies(tab).count(), { timeout: 15_000 }).toBe(2);
      await expect(replies(tab).first().innerText()).resolves.toContain("while I lose my connection 🔌");
      await expect(replies(tab).last().innerText()).resolves.toContain("Typed while offline 📴");
      await expect(userBubbles(tab).allInnerTexts()).resolves.toEqual([expect.stringContaining("lose my connection"), expect.stringContaining("Typed while offline")]);
      await expect(tab.conversation.locator("[data-streaming], .bubble[data-pending]").count()).resolves.toBe(0);
      expect(control.connections).toBeGreaterThanOrEqual(2);

      const stored = await storedMessages("ren", sessionId);
      expect(stored.filter((m) => m.role === "USER").map((m) => m.message)).toEqual([
        "Make a plan and write a long answer while I lose my connection 🔌",
        "Typed while offline 📴",
      ]);
    } finally {
      await setModel(env.stack.url, { tokenMs: 2 });
      await watcher.close();
      await tab.context.close();
    }
  });

  it("sends a message again after losing its ack, and the server keeps it once (same clientMessageId)", async () => {
    let control!: SocketControl;
    const tab = await openChat(env.browser, env.stack.url, "aoi", { beforeLoad: async (page) => void (control = await controlSockets(page)) });
    await expect.poll(() => status(tab.page).innerText()).toContain("Connected");
    control.filter = (frame) => {
      if (!frame.includes('"type":"ack"')) return true;
      // Lose the ack and the socket with it: the page cannot know the message arrived.
      control.filter = undefined;
      void control.drop();
      return false;
    };
    await say(tab, "Did this arrive? 📨");
    await expect
      .poll(() => replies(tab).count(), { timeout: 20_000 })
      .toBe(1)
      .catch(async (error: unknown) => {
        // What the server kept and what the page says, to tell a server-side race from a client bug.
        const stored = await storedMessages("aoi", tab.sessionId()!);
        console.error("stored:", stored.map((m) => `${m.role}/${m.messageType}${m.enqueuedAt ? " enqueued" : ""}: ${m.message}`), "page:", await tab.page.locator("main").innerText());
        throw error;
      });
    // Caught up after the reconnect, the stored message shows; the resent one's ack then retires the pending copy.
    // The resend goes out once the tab is in sync again: wait for its ack to reach the page, however slow the machine.
    const isAck = (frame: string) => frame.includes('"type":"ack"');
    await expect.poll(() => control.delivered.filter(isAck).length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => tab.conversation.locator(".bubble[data-pending]").count()).toBe(0);
    await expect(userBubbles(tab).count()).resolves.toBe(1);

    const puts = control.sent.filter((frame) => frame.includes('"putMessage"')).map((frame) => JSON.parse(frame) as { clientMessageId: string });
    expect(puts.length).toBe(2);
    expect(puts[1]!.clientMessageId).toBe(puts[0]!.clientMessageId);
    const stored = await storedMessages("aoi", tab.sessionId()!);
    expect(stored.filter((m) => m.role === "USER")).toHaveLength(1);
    expect(stored.filter((m) => m.role === "AGENT" && m.messageType === "CONVERSATION")).toHaveLength(1);
    await tab.context.close();
  });

  it("stops the answer with the Stop button and keeps the partial reply, marked as stopped", async () => {
    const tab = await openChat(env.browser, env.stack.url, "nao");
    await setModel(env.stack.url, { tokenMs: 60 });
    try {
      await say(tab, "Write a long answer that I will stop halfway, one two three four five six seven eight nine ten eleven twelve");
      // Streaming has begun, however long the first token took on a loaded machine.
      await tab.conversation.locator("[data-streaming]").waitFor();
      await tab.page.getByRole("button", { name: "Stop", exact: true }).click();
      const stopped = replies(tab).filter({ has: tab.page.locator('.badge[data-status="stopped"]') });
      await stopped.waitFor({ timeout: 10_000 });
      const text = await stopped.locator(".markdown").innerText();
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain("twelve\".");
      await expect(tab.page.getByRole("button", { name: "Stop", exact: true }).count()).resolves.toBe(0);
    } finally {
      await setModel(env.stack.url, { tokenMs: 2 });
      await tab.context.close();
    }
  });

  it("shows the system's notice when the agent fails, then the reply of the retry", async () => {
    const tab = await openChat(env.browser, env.stack.url, "riku");
    await setModel(env.stack.url, { mode: "fail" });
    try {
      await say(tab, "Are you there?");
      const notice = tab.conversation.getByRole("note");
      await notice.first().waitFor({ timeout: 15_000 });
      await expect(notice.first().innerText()).resolves.toMatch(/retrying|could not answer/i);
    } finally {
      await setModel(env.stack.url, { mode: "ok" });
    }
    await expect.poll(() => replies(tab).count(), { timeout: 30_000 }).toBe(1);
    await tab.context.close();
  });
});
