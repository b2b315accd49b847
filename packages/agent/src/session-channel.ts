import type { ConnectionsRepository, Message, Notifier, ServerFrame } from "@azuchi/core";
import type { Logger } from "@aws-lambda-powertools/logger";

/**
 * The turn's line to every open tab of its session. The tab list is read for each stored
 * message (a plain turn has two: "working on your message" and the reply) and reused for the
 * deltas in between (a query per delta would be most of a turn's DynamoDB reads). So a tab
 * that opens or reconnects mid-turn gets the turn's next stored message, its reply above all,
 * and the deltas after it; what it missed before it opened it reads with getSession. A gone
 * tab (410) is dropped from the list as found; one failing for another reason (throttled, an
 * API error) is skipped by the deltas until the next stored message, which tries it again.
 * Nothing one tab does fails the turn for the others.
 */
export class SessionChannel {
  private readonly notifier: Notifier;
  private readonly connections: ConnectionsRepository;
  readonly sessionId: string;
  private targets: Promise<string[]> | undefined;
  /** Tabs a frame failed to reach (not gone): the deltas skip them; the next stored message tries again. */
  private resting = new Set<string>();
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
    this.resting.clear();
    this.targets = undefined;
    await this.send({ type: "message", message });
  }

  async send(frame: ServerFrame): Promise<void> {
    // One read however many frames start at once; a failed read is tried again by the next frame.
    this.targets ??= this.connections.listBySession(this.sessionId).then(
      (records) => records.map((c) => c.connectionId),
      (error: unknown) => {
        this.targets = undefined;
        throw error;
      },
    );
    const targets = (await this.targets).filter((id) => !this.resting.has(id));
    this.posts += targets.length;
    const { gone, failed } = await this.notifier.postToConnections(targets, frame);
    for (const { connectionId, error } of failed) {
      this.logger.warn("a tab missed a frame", { connectionId, frame: frame.type, error: error as Error });
    }
    for (const { connectionId } of failed) this.resting.add(connectionId);
    if (gone.length > 0) {
      const left = new Set(gone);
      this.targets = this.targets?.then((ids) => ids.filter((id) => !left.has(id)));
    }
  }
}
