import WebSocket from "ws";
import type { ServerFrame } from "../../packages/core/src/frames.ts";

export interface TestClient {
  socket: WebSocket;
  /** Every frame received so far, in order. */
  frames: ServerFrame[];
  send(frame: unknown): void;
  sendRaw(data: string): void;
  /** Resolves with the first frame (already received or coming) that matches. */
  waitFor<T extends ServerFrame>(match: (frame: ServerFrame) => frame is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  close(): Promise<void>;
}

export class ConnectionRefusedError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`connection refused with HTTP ${status}`);
    this.name = "ConnectionRefusedError";
    this.status = status;
  }
}

/** Opens a WebSocket like a browser tab; rejects with ConnectionRefusedError when $connect refuses. */
export async function openClient(url: string): Promise<TestClient> {
  const socket = new WebSocket(url);
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (data) => {
    frames.push(JSON.parse(String(data)) as ServerFrame);
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("unexpected-response", (_req, res) => reject(new ConnectionRefusedError(res.statusCode ?? 0)));
    socket.once("error", reject);
  });
  return {
    socket,
    frames,
    send: (frame) => socket.send(JSON.stringify(frame)),
    sendRaw: (data) => socket.send(data),
    waitFor: (match: (frame: ServerFrame) => boolean, timeoutMs = 10_000) =>
      new Promise<ServerFrame>((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < frames.length; seen++) {
            const frame = frames[seen]!;
            if (match(frame)) {
              cleanup();
              resolve(frame);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(-2000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }) as never,
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        socket.close();
      }),
  };
}
