import type { ConnectionsRepository, Message, Notifier, ServerFrame } from "@azuchi/core";

/**
 * The turn's line to every open tab of its session. The tab list is read when a stored
 * message is sent (so a tab that joins mid-turn is picked up) and reused for the deltas
 * in between, which would otherwise cost a query each.
 */
export class SessionChannel {
  private readonly notifier: Notifier;
  private readonly connections: ConnectionsRepository;
  readonly sessionId: string;
  private targets: string[] | undefined;
  /** PostToConnection calls made, for measurement. */
  posts = 0;

  constructor(notifier: Notifier, connections: ConnectionsRepository, sessionId: string) {
    this.notifier = notifier;
    this.connections = connections;
    this.sessionId = sessionId;
  }

  async sendMessage(message: Message): Promise<void> {
    this.targets = (await this.connections.listBySession(this.sessionId)).map((c) => c.connectionId);
    await this.send({ type: "message", message });
  }

  async send(frame: ServerFrame): Promise<void> {
    this.targets ??= (await this.connections.listBySession(this.sessionId)).map((c) => c.connectionId);
    this.posts += this.targets.length;
    const { gone } = await this.notifier.postToConnections(this.targets, frame);
    if (gone.length > 0) this.targets = this.targets.filter((id) => !gone.includes(id));
  }
}
