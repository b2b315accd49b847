import { randomUUID } from "node:crypto";
import { GoneException, PostToConnectionCommand, type ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import type { ConnectionsRepository } from "./connections-repository.ts";
import type { PartFrame, ServerFrame } from "./frames.ts";

/** API Gateway refuses a server message over 128 KB. */
export const MAX_SERVER_MESSAGE_BYTES = 128 * 1024;
/** Part data in string units: even if every unit escaped to 6 bytes, a part stays under the limit. */
const PART_DATA_UNITS = 20_000;

export interface PostResult {
  delivered: number;
  /**
   * Connections that answered 410: removed from the connections table, except one still in
   * its handshake (ConnectionsRepository.deleteGone), which will open and must keep its row.
   */
  gone: string[];
  /** Connections the frame did not reach for another reason (throttled, an API error): kept, reported. */
  failed: { connectionId: string; error: unknown }[];
}

/** Fan-out of server frames to WebSocket connections through the management API. */
export class Notifier {
  private readonly client: ApiGatewayManagementApiClient;
  private readonly connections: ConnectionsRepository;

  constructor(client: ApiGatewayManagementApiClient, connections: ConnectionsRepository) {
    this.client = client;
    this.connections = connections;
  }

  /** Sends a frame to one connection; false when it is gone (410), which the caller decides about. */
  async postToConnection(connectionId: string, frame: ServerFrame): Promise<boolean> {
    try {
      for (const data of encodeFrame(frame)) {
        await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      }
      return true;
    } catch (error) {
      if (error instanceof GoneException) return false;
      throw error;
    }
  }

  /**
   * Sends a frame to every open tab of the session but `except` (a tab that already has what
   * the frame shows). A gone connection is deleted (unless it
   * is younger than its handshake) and the others still get the frame; only the gone one is
   * removed, never the sender's. One tab's
   * failure is reported in the result, not thrown: the frame shows something already stored,
   * so a tab that missed it finds it on reload.
   */
  async postToSession(sessionId: string, frame: ServerFrame, except?: string): Promise<PostResult> {
    const targets = await this.connections.listBySession(sessionId);
    return this.postToConnections(targets.flatMap(({ connectionId }) => (connectionId === except ? [] : [connectionId])), frame);
  }

  /** Sends a frame to every open tab of the user, whatever chat each shows (a change to one of their chats). */
  async postToUser(userId: string, frame: ServerFrame): Promise<PostResult> {
    const targets = await this.connections.listByUser(userId);
    return this.postToConnections(targets.map((target) => target.connectionId), frame);
  }

  /** Sends a frame to the given connections at once, deleting those that are gone. */
  async postToConnections(connectionIds: readonly string[], frame: ServerFrame): Promise<PostResult> {
    const gone: string[] = [];
    const failed: PostResult["failed"] = [];
    await Promise.all(
      connectionIds.map(async (connectionId) => {
        try {
          if (await this.postToConnection(connectionId, frame)) return;
          gone.push(connectionId);
          await this.connections.deleteGone(connectionId);
        } catch (error) {
          failed.push({ connectionId, error });
        }
      }),
    );
    return { delivered: connectionIds.length - gone.length - failed.length, gone, failed };
  }
}

/** The frame as one message, or as `part` frames when it is over API Gateway's limit. */
export function encodeFrame(frame: ServerFrame): string[] {
  const json = JSON.stringify(frame);
  if (Buffer.byteLength(json) <= MAX_SERVER_MESSAGE_BYTES) return [json];
  const partId = randomUUID();
  const chunks: string[] = [];
  for (let start = 0; start < json.length; start += PART_DATA_UNITS) chunks.push(json.slice(start, start + PART_DATA_UNITS));
  return chunks.map((data, index) => JSON.stringify({ type: "part", partId, index, count: chunks.length, data } satisfies PartFrame));
}
