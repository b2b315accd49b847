import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveStatic } from "../../packages/local/src/static-files.ts";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { chatTab, DESKTOP, launchBrowser, say } from "./browser.ts";
import { buildWebWith } from "./web-build.ts";

/**
 * The deployed sign-in, end to end: the page built with VITE_OIDC_* against a real OpenID
 * provider (oidc-provider) started here and served from its own origin, as from a CDN; the
 * WebSocket API is the local stack's, whose authorizer verifies that provider's ID tokens
 * (its JWKS, issuer and audience), as a deployed stage does.
 */
const webDir = resolve(fileURLToPath(new URL("../../test-results/web-oidc", import.meta.url)));

let provider: TestOidcProvider;
let stack: TestStack;
let browser: Browser;
let site: Server;
/** Where the OIDC build of the page is served. */
let siteUrl: string;

beforeAll(async () => {
  provider = await startOidcProvider();
  stack = await startTestStack({ environment: { AZUCHI_AUTH_ISSUER: provider.issuer, AZUCHI_AUTH_AUDIENCE: provider.clientId, AZUCHI_AUTH_JWKS_URL: provider.jwksUrl } });
  site = createServer((req, res) => void serveStatic(webDir, new URL(req.url ?? "/", "http://x").pathname, res));
  await new Promise<void>((done) => site.listen(0, "127.0.0.1", done));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  provider.start(`${siteUrl}/`);
  buildWebWith({ VITE_OIDC_AUTHORITY: provider.issuer, VITE_OIDC_CLIENT_ID: provider.clientId, VITE_OIDC_REDIRECT_URI: `${siteUrl}/`, VITE_WEBSOCKET_URL: stack.webSocketUrl }, webDir);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  site?.closeAllConnections();
  await new Promise<void>((done) => (site ? site.close(() => done()) : done()));
  await stack?.stop();
  await provider?.stop();
  // The stack put its handlers' settings in process.env; this one no other stack sets.
  delete process.env.AZUCHI_AUTH_JWKS_URL;
});

function oidcContext(): Promise<BrowserContext> {
  // The provider's certificate was made by the test; the page trusts it as a browser trusts a real one.
  return browser.newContext({ viewport: DESKTOP, locale: "en-US", ignoreHTTPSErrors: true });
}

/**
 * Goes through the provider's pages (its development sign-in: any name, any password), or
 * none when it remembers the user, until the page is back on the chat with a callback beyond
 * the first `before` (counted before the click: the provider may answer before this looks).
 */
async function throughProvider(page: Page, login: string, callbacks: string[], before: number): Promise<void> {
  for (;;) {
    const onProvider = () => new URL(page.url()).origin === provider.issuer;
    await expect
      .poll(() => onProvider() || callbacks.length > before, { timeout: 30_000 })
      .toBe(true)
      .catch(async (error: unknown) => {
        console.error("not through the provider:", page.url(), callbacks, await page.locator("body").innerText());
        throw error;
      });
    if (!onProvider()) return;
    const loginBox = page.locator('input[name="login"]');
    const proceed = page.getByRole("button", { name: "Continue" });
    await loginBox.or(proceed).first().waitFor();
    if (await loginBox.isVisible()) {
      await loginBox.fill(login);
      await page.locator('input[name="password"]').fill("any password");
      await page.getByRole("button", { name: "Sign-in" }).click();
    } else {
      await proceed.click();
    }
    await page.waitForLoadState("domcontentloaded");
  }
}

const reply = (page: Page) => page.getByRole("region", { name: "Conversation" }).locator('.bubble[data-role="AGENT"][data-type="CONVERSATION"]').last();

/** Callback URLs (with a code) the page was sent back to. */
function recordCallbacks(page: Page): string[] {
  const callbacks: string[] = [];
  page.on("request", (request) => {
    if (request.isNavigationRequest() && new URL(request.url()).searchParams.has("code")) callbacks.push(request.url());
  });
  return callbacks;
}

let firstCallback: string | undefined;

/** What the page's alerts say now (without waiting for one), or what it shows instead. */
async function alertText(page: Page): Promise<string> {
  const alerts = await page.getByRole("alert").allInnerTexts();
  return alerts.length > 0 ? alerts.join(" | ") : `no alert on ${page.url()}: ${await page.locator("body").innerText()}`;
}

describe("sign-in with an OpenID provider", () => {
  it("signs in, chats with the provider's ID token, and after the token expires signs in again keeping the draft", async () => {
    const context = await oidcContext();
    const page = await context.newPage();
    page.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
    page.on("console", (message) => message.type() === "error" && console.error(`[page console] ${message.text()}`));
    const callbacks = recordCallbacks(page);
    const sockets: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/ws(\?|$)/, (ws) => {
      sockets.push(ws);
      ws.connectToServer();
    });
    // The page's clock, to let its token expire without waiting for it.
    await page.clock.install();
    try {
      await page.goto(`${siteUrl}/`);
      await page.getByRole("button", { name: "Sign in" }).click();
      await throughProvider(page, "mei", callbacks, 0);
      firstCallback = callbacks[0];
      expect(firstCallback).toBeDefined();
      // Back on the chat, the code gone from the address bar, on a new session the server made for the provider's user.
      await page.waitForURL(/[?&]session=[0-9a-f-]{36}/, { timeout: 20_000 });
      expect(page.url()).not.toContain("code=");
      const tab = chatTab(context, page);
      await expect.poll(() => page.getByRole("status").first().innerText(), { timeout: 20_000 }).toBe("Connected");
      await expect(page.locator(".sidebar .user").innerText()).resolves.toBe("mei");
      await say(tab, "Hello from a real sign-in 🔐");
      await reply(page).waitFor({ timeout: 30_000 });
      await expect(reply(page).innerText()).resolves.toContain('You said: "Hello from a real sign-in 🔐".');
      const sessionId = tab.sessionId();

      // A draft is being typed when the token runs out; the next connection needs a new sign-in.
      const draft = "A draft I must not lose ✍️\nsecond line";
      await tab.message.fill(draft);
      provider.setIdTokenTtl(7_200);
      await page.clock.fastForward("15:00");
      await sockets.at(-1)!.close({ code: 4000, reason: "dropped by the test" });
      const expired = page.getByRole("alert").filter({ hasText: "Your sign-in has expired" });
      await expired.waitFor({ timeout: 20_000 });
      await expired.getByRole("button", { name: "Sign in again" }).click();
      await throughProvider(page, "mei", callbacks, 1);

      // The same chat, the draft still in the box, and the chat goes on with the new token.
      await page.waitForURL((url) => url.searchParams.get("session") === sessionId && !url.searchParams.has("code"), { timeout: 20_000 });
      await expect.poll(() => tab.message.inputValue(), { timeout: 10_000 }).toBe(draft);
      await expect.poll(() => page.getByRole("status").first().innerText(), { timeout: 20_000 }).toBe("Connected");
      await tab.message.press("Enter");
      await expect.poll(() => reply(page).innerText(), { timeout: 30_000 }).toContain("A draft I must not lose ✍️");
    } finally {
      await context.close();
    }
  }, 120_000);

  it("refuses a forged callback and a replayed one: nobody is signed in, the address bar is cleaned", async () => {
    expect(firstCallback, "the sign-in test ran first").toBeDefined();
    const context = await oidcContext();
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    try {
      // A made-up code and state: no sign-in was started in this tab.
      await page.goto(`${siteUrl}/?code=forged-code&state=forged-state&iss=${encodeURIComponent(provider.issuer)}`);
      await expect.poll(() => alertText(page), { timeout: 15_000 }).toContain("was not started here or was already used");
      expect(new URL(page.url()).search).toBe("");

      // The real callback of the sign-in above, replayed in another browser.
      await page.goto(firstCallback!);
      await expect.poll(() => alertText(page), { timeout: 15_000 }).toContain("was not started here or was already used");

      // A sign-in started here, answered with another sign-in's callback: its state does not match.
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((url) => url.origin === provider.issuer);
      await page.goto(firstCallback!);
      await expect.poll(() => alertText(page), { timeout: 15_000 }).toContain("does not belong to the sign-in started here");

      await expect(page.evaluate(() => sessionStorage.getItem("azuchi.oidc.idToken"))).resolves.toBeNull();
      await expect(page.getByRole("textbox", { name: "Message" }).count()).resolves.toBe(0);
      expect(sockets).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
