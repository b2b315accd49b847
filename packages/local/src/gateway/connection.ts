import { WebSocket } from "ws";
import type { ConnectionIdentity } from "./websocket-events.ts";

export interface ConnectionLimits {
  idleTimeoutMs: number;
  maxConnectionMs: number;
}

/** Why a socket closed, as `$disconnect` reports it. */
export interface CloseCause {
  statusCode: number;
  reason: string;
}

/** How long a peer may take to answer our close frame before the socket is cut. */
const CLOSE_HANDSHAKE_MS = 1_000;

/**
 * One open WebSocket connection: its identity, its limits (idle timeout, maximum
 * lifetime) and the frames its routes are handling. Frames are handled concurrently, as API
 * Gateway may invoke a connection's routes (it promises no order between them): code that
 * relies on one frame finishing before the next starts fails here as it would on AWS.
 */
export class Connection {
  readonly identity: ConnectionIdentity;
  lastActiveAt: number;
  private readonly socket: WebSocket;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly lifetimeTimer: NodeJS.Timeout;
  private closeTimer: NodeJS.Timeout | undefined;
  private serverCause: CloseCause | undefined;
  private readonly handling = new Set<Promise<void>>();

  constructor(identity: ConnectionIdentity, socket: WebSocket, limits: ConnectionLimits) {
    this.identity = identity;
    this.socket = socket;
    this.lastActiveAt = identity.connectedAt;
    this.idleTimer = setTimeout(() => this.close({ statusCode: 1001, reason: "Going away" }), limits.idleTimeoutMs);
    this.lifetimeTimer = setTimeout(() => this.close({ statusCode: 1001, reason: "Going away" }), limits.maxConnectionMs);
  }

  get id(): string {
    return this.identity.connectionId;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** A frame from the client: the connection is active, the idle clock restarts. */
  touch(): void {
    this.lastActiveAt = Date.now();
    this.idleTimer.refresh();
  }

  /** Starts handling a frame at once, whatever the frames before it are still doing. */
  handle(task: () => Promise<void>): Promise<void> {
    const work = task().catch(() => undefined);
    this.handling.add(work);
    void work.finally(() => this.handling.delete(work));
    return work;
  }

  /** Resolves once every frame received so far has been handled. */
  async drained(): Promise<void> {
    while (this.handling.size > 0) await Promise.allSettled([...this.handling]);
  }

  send(data: Buffer | string): void {
    if (this.isOpen) this.socket.send(data, { binary: false });
  }

  /** Closes from the server side; `$disconnect` then reports this cause rather than the peer's echo. */
  close(cause: CloseCause): void {
    if (this.serverCause !== undefined || this.socket.readyState >= WebSocket.CLOSING) return;
    this.serverCause = cause;
    this.socket.close(cause.statusCode, cause.reason);
    // A peer that never answers the close frame must not hold the gateway open.
    this.closeTimer = setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_MS);
  }

  /** Records a close the ws library started itself (e.g. 1009 for a frame over maxPayload). */
  noteProtocolClose(cause: CloseCause): void {
    this.serverCause ??= cause;
  }

  /** Stops the timers and says why the socket closed; call once, on the socket's close event. */
  closed(peerCode: number, peerReason: string): CloseCause {
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.closeTimer);
    if (this.serverCause !== undefined) return this.serverCause;
    if (peerCode === 1005) return { statusCode: 1005, reason: "Client-side close frame status not set" };
    return { statusCode: peerCode, reason: peerReason };
  }
}
