/**
 * A browser tab as the drills drive it: a real WebSocket client speaking the chat protocol the
 * way the web client does — one putMessage at a time, each retried with its clientMessageId
 * until acked; after a dropped socket it reconnects to its session and asks getSession for
 * what came after the last message it holds.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { ServerFrame, type Message } from "@azuchi/core";

export interface SentMessage {
  clientMessageId: string;
  text: string;
  /** From the ack: the stored USER message's id (its job's id). */
  messageId: string;
  /** How many putMessage frames it took to be acked. */
  tries: number;
}

export class AckTimeoutError extends Error {
  constructor(text: string, ms: number) {
    super(`no ack for ${JSON.stringify(text)} within ${ms} ms of retries`);
    this.name = "AckTimeoutError";
  }
}

const ACK_WAIT_MS = 5_000;
const RECONNECT_PAUSE_MS = 200;
/** As the web client (packages/web/src/chat/state/catch-up.ts). */
const CATCH_UP_PAGE = 200;
const CATCH_UP_OVERLAP_MS = 5_000;

export class Tab {
  /** Every frame received, over every socket, in order (parts reassembled). */
  readonly frames: ServerFrame[] = [];
  /** The messages the tab shows, by messageId: the latest version of each. */
  readonly messages = new Map<string, Message>();
  /** messageIds in the order their first frame arrived. */
  readonly arrival: string[] = [];
  /** messageIds the tab first got from getSession (a catch-up), not from a live frame. */
  readonly caughtUp = new Set<string>();
  sessionId = "";
  reconnects = 0;
  private socket: WebSocket | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly parts = new Map<string, string[]>();
  private closed = false;

  private readonly webSocketUrl: string;
  private readonly token: string;

  private constructor(webSocketUrl: string, token: string) {
    this.webSocketUrl = webSocketUrl;
    this.token = token;
  }

  /** A tab of a new session (or of `sessionId`), with the session learnt from getSession. */
  static async open(webSocketUrl: string, token: string, sessionId?: string): Promise<Tab> {
    const tab = new Tab(webSocketUrl, token);
    if (sessionId) tab.sessionId = sessionId;
    await tab.connect();
    await tab.resume();
    return tab;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  private async connect(): Promise<void> {
    const url = new URL(this.webSocketUrl);
    url.searchParams.set("token", this.token);
    if (this.sessionId) url.searchParams.set("sessionId", this.sessionId);
    const socket = new WebSocket(url.toString());
    socket.on("message", (data) => this.receive(String(data)));
    socket.on("close", () => this.wake());
    socket.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", (_req, res) => reject(new Error(`the gateway refused the connection with HTTP ${res.statusCode ?? 0}`)));
      socket.once("error", reject);
    });
    this.socket = socket;
  }

  private receive(text: string): void {
    const parsed = ServerFrame.safeParse(JSON.parse(text));
    if (!parsed.success) return;
    const frame = parsed.data;
    if (frame.type === "part") {
      const chunks = this.parts.get(frame.partId) ?? new Array<string>(frame.count);
      chunks[frame.index] = frame.data;
      this.parts.set(frame.partId, chunks);
      if (chunks.filter((chunk) => chunk !== undefined).length < frame.count) return;
      this.parts.delete(frame.partId);
      return this.receive(chunks.join(""));
    }
    this.frames.push(frame);
    if (frame.type === "message") this.hold(frame.message, "live");
    // putMessage's ack carries the sender's own USER message: no message frame of it comes here.
    if (frame.type === "ack" && frame.message) this.hold(frame.message, "live");
    if (frame.type === "session") {
      this.sessionId = frame.session.sessionId;
      for (const message of frame.messages) this.hold(message, "caught up");
    }
    this.wake();
  }

  private hold(message: Message, how: "live" | "caught up"): void {
    if (!this.messages.has(message.messageId)) {
      this.arrival.push(message.messageId);
      if (how === "caught up") this.caughtUp.add(message.messageId);
    }
    this.messages.set(message.messageId, message);
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** The first frame from `from` on that matches, or undefined once the socket is closed or `ms` passed. */
  private next<T extends ServerFrame>(from: number, match: (frame: ServerFrame) => frame is T, ms: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      let seen = from;
      const done = (frame: T | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(frame);
      };
      const check = () => {
        for (; seen < this.frames.length; seen++) {
          const frame = this.frames[seen]!;
          if (match(frame)) return done(frame);
        }
        if (!this.connected) done(undefined);
      };
      const timer = setTimeout(() => done(undefined), ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a message and waits for its ack, retrying with the same clientMessageId (reconnecting if need be). */
  async send(text: string, withinMs = 60_000): Promise<SentMessage> {
    const clientMessageId = randomUUID();
    const deadline = Date.now() + withinMs;
    for (let tries = 1; Date.now() < deadline; tries++) {
      if (!this.connected) await this.reconnect(deadline);
      const from = this.frames.length;
      this.socket?.send(JSON.stringify({ action: "putMessage", message: text, clientMessageId }));
      const answer = await this.next(
        from,
        (frame): frame is Extract<ServerFrame, { type: "ack" | "error" }> =>
          (frame.type === "ack" && frame.clientMessageId === clientMessageId) || (frame.type === "error" && (frame as { clientMessageId?: string }).clientMessageId === clientMessageId),
        Math.min(ACK_WAIT_MS, Math.max(0, deadline - Date.now())),
      );
      if (answer?.type === "ack") return { clientMessageId, text, messageId: answer.messageId, tries };
      const retryAfterMs = answer?.type === "error" ? Number((answer as { retryAfterMs?: number }).retryAfterMs ?? 0) : 0;
      await sleep(Math.max(RECONNECT_PAUSE_MS, Math.min(retryAfterMs, 5_000)));
    }
    throw new AckTimeoutError(text, withinMs);
  }

  /**
   * Catches up as the web client does after a reconnect: getSession from a little before the
   * newest message held (createdAt orders the session, not the writes, so a message may land
   * just before one already seen), then page on from the newest of each full page.
   */
  async resume(): Promise<void> {
    const newest = Math.max(-1, ...[...this.messages.values()].map((message) => message.createdAt));
    let after: number | undefined = newest >= 0 ? Math.max(0, newest - CATCH_UP_OVERLAP_MS) : undefined;
    for (let page = 0; page < 50; page++) {
      const from = this.frames.length;
      this.socket?.send(JSON.stringify({ action: "getSession", ...(after !== undefined ? { after } : {}), limit: CATCH_UP_PAGE }));
      const frame = await this.next(from, (f): f is Extract<ServerFrame, { type: "session" }> => f.type === "session", ACK_WAIT_MS);
      if (!frame) throw new Error("getSession got no answer");
      if (frame.messages.length < CATCH_UP_PAGE) return;
      after = frame.messages.at(-1)!.createdAt;
    }
  }

  /** Cuts the socket without a close handshake, as a lost network does. */
  drop(): void {
    this.socket?.terminate();
  }

  /** Opens a new socket to the same session and catches up with getSession `after`. */
  async reconnect(deadline = Date.now() + 30_000): Promise<void> {
    while (!this.closed) {
      try {
        await this.connect();
        this.reconnects++;
        await this.resume();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(RECONNECT_PAUSE_MS);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close();
    });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
