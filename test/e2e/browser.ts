import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import type { LocalStackOptions } from "@azuchi/local/stack";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { ensureWebBuild } from "./web-build.ts";

/** Debian's Chromium (installed with Japanese and emoji fonts by ensure-system); never a downloaded browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// The README shows the committed ones; a normal run writes to test-results/ so the working tree stays clean.
const screenshots = resolve(
  fileURLToPath(new URL(process.env.AZUCHI_UPDATE_SCREENSHOTS ? "../../packages/web/screenshots" : "../../test-results/screenshots", import.meta.url)),
);

/**
 * A test file's web build, local stack and browser, started in beforeAll and stopped in
 * afterAll; the fields are filled in beforeAll.
 */
export function useChatBrowser(options: LocalStackOptions = {}) {
  const context = { stack: undefined as unknown as TestStack, browser: undefined as unknown as Browser };
  beforeAll(async () => {
    await ensureWebBuild();
    // Both are kept even when the other fails to start, so afterAll stops what did start (its redis-server too).
    const [stack, browser] = await Promise.allSettled([startTestStack(options), launchBrowser()]);
    if (stack.status === "fulfilled") context.stack = stack.value;
    if (browser.status === "fulfilled") context.browser = browser.value;
    for (const result of [stack, browser]) if (result.status === "rejected") throw result.reason;
  });
  afterAll(async () => {
    await context.browser?.close();
    await context.stack?.stop();
  });
  return context;
}

/** One browser per test file; each test opens its own contexts (separate storage, like separate people). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

export interface ChatTab {
  context: BrowserContext;
  page: Page;
  conversation: Locator;
  message: Locator;
  send: Locator;
  /** The session in the address bar. */
  sessionId(): string | undefined;
}

/**
 * A new browser context on the chat as `user`. The page remembers who signed in (localStorage);
 * setting that up front skips the sign-in form, which one test exercises on its own.
 */
export async function openChat(
  browser: Browser,
  baseUrl: string,
  user: string,
  options: { sessionId?: string; viewport?: { width: number; height: number }; beforeLoad?: (page: Page) => Promise<void>; timezoneId?: string; locale?: string; touch?: boolean; context?: BrowserContextOptions } = {},
): Promise<ChatTab> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    locale: options.locale ?? "en-US",
    timezoneId: options.timezoneId ?? "Asia/Tokyo",
    deviceScaleFactor: 1,
    ...(options.touch && { hasTouch: true, isMobile: true }),
    ...options.context,
  });
  await context.addInitScript((name) => localStorage.setItem("azuchi.devUser", name), user);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
  await options.beforeLoad?.(page);
  await page.goto(options.sessionId ? `${baseUrl}/?session=${options.sessionId}` : `${baseUrl}/`, { waitUntil: "domcontentloaded" });
  await page.waitForURL(/[?&]session=[0-9a-f-]{36}/, { timeout: 10_000 });
  return chatTab(context, page);
}

export function chatTab(context: BrowserContext, page: Page): ChatTab {
  return {
    context,
    page,
    conversation: page.getByRole("region", { name: "Conversation" }),
    message: page.getByRole("textbox", { name: "Message" }),
    send: page.getByRole("button", { name: "Send", exact: true }),
    sessionId: () => new URL(page.url()).searchParams.get("session") ?? undefined,
  };
}

/** Types a message and sends it with Enter, as a person would. */
export async function say(tab: ChatTab, text: string): Promise<void> {
  await tab.message.fill(text);
  await tab.message.press("Enter");
}

/** Saves <name>.png: under packages/web/screenshots (linked from the README) with AZUCHI_UPDATE_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), animations: "disabled", caret: "hide" });
}

/** Changes the offline model's timing (POST /dev/model), e.g. to watch a reply stream in. */
export async function setModel(baseUrl: string, settings: { mode?: "ok" | "fail"; firstTokenMs?: number; tokenMs?: number; faultRequests?: number | null }): Promise<void> {
  const response = await fetch(`${baseUrl}/dev/model`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(settings) });
  if (!response.ok) throw new Error(`POST /dev/model: HTTP ${response.status} ${await response.text()}`);
}
