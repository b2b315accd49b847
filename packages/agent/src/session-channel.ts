import type { ConnectionsRepository, Message, Notifier, ServerFrame } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";

/**
 * The turn's line to every open tab of its session. The tab list is read when a stored
 * message is sent (so a tab that joins mid-turn is picked up) and reused for the deltas
 * in between, which would otherwise cost a query each. A tab that cannot be reached (gone, or
 * failing for another reason) is left out until the next stored message; nothing one tab
 * does fails the turn for the others.
 */
export class SessionChannel {
  private readonly notifier: Notifier;
  private readonly connections: ConnectionsRepository;
  readonly sessionId: string;
  private targets: string[] | undefined;
  /** PostToConnection calls made, for measurement. */
  posts = 0;

  private readonly logger: Logger;

  constructor(notifier: Notifier, connections: ConnectionsRepository, sessionId: string, logger: Logger) {
    this.notifier = notifier;
    this.connections = connections;
    this.sessionId = sessionId;
    this.logger = logger;
  }

  async sendMessage(message: Message): Promise<void> {
    this.targets = (await this.connections.listBySession(this.sessionId)).map((c) => c.connectionId);
    await this.send({ type: "message", message });
  }

  async send(frame: ServerFrame): Promise<void> {
    this.targets ??= (await this.connections.listBySession(this.sessionId)).map((c) => c.connectionId);
    this.posts += this.targets.length;
    const { gone, failed } = await this.notifier.postToConnections(this.targets, frame);
    for (const { connectionId, error } of failed) {
      this.logger.warn("a tab missed a frame", { connectionId, frame: frame.type, error: error as Error });
    }
    const unreachable = new Set([...gone, ...failed.map((f) => f.connectionId)]);
    if (unreachable.size > 0) this.targets = this.targets.filter((id) => !unreachable.has(id));
  }
}
