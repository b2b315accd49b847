/**
 * The chat's one WebSocket and its timers: performs the commands of the state machine
 * (state.ts) and feeds it what the socket, the timers and the browser report. React reads
 * the state through `subscribe`/`getState` (useSyncExternalStore).
 */
import type { AuthSession } from "../auth/session.ts";
import { initialState, update, type ChatEvent, type ChatState, type Command, type Timer } from "./state.ts";

export interface ChatConnectionOptions {
  webSocketUrl: string;
  auth: AuthSession;
  sessionId: string | undefined;
  /** The session to show in the address bar; `push` for a new history entry (the user switched). */
  showSession(sessionId: string | undefined, push: boolean): void;
}

const TIMER_EVENTS: Record<Timer, ChatEvent> = {
  reconnect: { type: "connect", now: 0 },
  pump: { type: "pump" },
  refreshSessions: { type: "refreshSessions" },
  stopTimeout: { type: "stopTimedOut" },
  ackTimeout: { type: "ackTimedOut" },
};

/** The browser's time zone and locale, as the bubbles use them (docs/architecture.md §5, putMessage). */
function userClock(): { timeZone?: string; locale?: string } {
  const { timeZone, locale } = Intl.DateTimeFormat().resolvedOptions();
  return { ...(timeZone && { timeZone }), ...(locale && { locale }) };
}

export class ChatConnection {
  private state: ChatState;
  private readonly options: ChatConnectionOptions;
  private socket: WebSocket | undefined;
  /** Bumped for every socket opened, so events of an abandoned one are ignored. */
  private generation = 0;
  private readonly timers = new Map<Timer, ReturnType<typeof setTimeout>>();
  private readonly listeners = new Set<() => void>();
  private running = false;

  constructor(options: ChatConnectionOptions) {
    this.options = options;
    this.state = initialState(options.sessionId, undefined, userClock());
  }

  readonly getState = (): ChatState => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  start(): void {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this.reconnectNow);
    document.addEventListener("visibilitychange", this.reconnectNow);
    this.dispatch({ type: "connect", now: Date.now() });
  }

  stop(): void {
    this.dispatch({ type: "suspend" });
    this.running = false;
    window.removeEventListener("online", this.reconnectNow);
    document.removeEventListener("visibilitychange", this.reconnectNow);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.closeSocket();
  }

  /** Queues a message; false when it was refused on the spot (too long), with a notice saying why. */
  send(text: string): boolean {
    const before = this.state.outbox.length;
    this.dispatch({ type: "send", text, clientMessageId: crypto.randomUUID(), now: Date.now() });
    return this.state.outbox.length > before;
  }

  readonly reconnectNow = (): void => {
    if (document.visibilityState === "hidden") return;
    if (this.state.connection.phase === "waiting") this.dispatch({ type: "connect", now: Date.now() });
  };

  dispatch(event: ChatEvent): void {
    if (!this.running) return;
    const [next, commands] = update(this.state, event);
    if (next !== this.state) {
      this.state = next;
      for (const listener of this.listeners) listener();
    }
    for (const command of commands) this.run(command);
  }

  private run(command: Command): void {
    switch (command.type) {
      case "open":
        void this.open(command.sessionId);
        return;
      case "send":
        if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(command.frame));
        return;
      case "later": {
        clearTimeout(this.timers.get(command.timer));
        const event = TIMER_EVENTS[command.timer];
        this.timers.set(
          command.timer,
          setTimeout(() => {
            this.timers.delete(command.timer);
            this.dispatch(event.type === "connect" ? { ...event, now: Date.now() } : event);
          }, command.delayMs),
        );
        return;
      }
      case "cancel":
        clearTimeout(this.timers.get(command.timer));
        this.timers.delete(command.timer);
        return;
      case "showSession":
        this.options.showSession(command.sessionId, command.push);
        return;
      case "dropSocket":
        this.closeSocket();
        this.dispatch({ type: "closed", now: Date.now(), random: Math.random() });
        return;
    }
  }

  private async open(sessionId: string | undefined): Promise<void> {
    this.closeSocket();
    const generation = ++this.generation;
    const current = () => this.running && generation === this.generation;
    let token: string | undefined;
    try {
      token = await this.options.auth.token();
    } catch {
      // The sign-in service is unreachable like the server itself: back off and retry.
      if (current()) this.dispatch({ type: "closed", now: Date.now(), random: Math.random() });
      return;
    }
    if (!current()) return;
    if (!token) return this.dispatch({ type: "signInRequired" });
    const url = new URL(this.options.webSocketUrl);
    url.searchParams.set("token", token);
    if (sessionId) url.searchParams.set("sessionId", sessionId);
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      if (current()) this.dispatch({ type: "opened", now: Date.now() });
    };
    socket.onmessage = (event: MessageEvent) => current() && typeof event.data === "string" && this.dispatch({ type: "frame", data: event.data, now: Date.now() });
    // A refused $connect shows only as a close without an open: no status reaches a browser.
    socket.onclose = () => {
      if (!current()) return;
      if (!opened) this.options.auth.refused?.();
      this.dispatch({ type: "closed", now: Date.now(), random: Math.random() });
    };
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.generation++;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000, "switching");
  }
}
