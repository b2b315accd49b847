import { ConditionalCheckFailedException, DeleteItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface TtlTable {
  name: string;
  /** The key attributes (partition key, and sort key if any). */
  key: string[];
  /** The TTL attribute, epoch seconds. Default "expiresAt". */
  ttlAttribute?: string;
}

export interface TtlSweeperOptions {
  client: DynamoDBClient;
  tables: TtlTable[];
  /** The first sweep, this long after the start (default 60 s): what expired while the stack was stopped goes soon. */
  firstSweepMs?: number;
  /**
   * Between later sweeps; default 1 hour. DynamoDB itself deletes expired items within days,
   * and code must never rely on the timing; each sweep scans the whole tables (about 100 ms of
   * CPU for 10,000 messageId guards, which are kept 15 days), so an idle stack should not sweep often.
   */
  intervalMs?: number;
  /** Epoch seconds; default the wall clock. */
  now?: () => number;
  onError?: (error: unknown) => void;
}

export interface TtlSweeper {
  /** Deletes what has expired now; resolves with how many items it deleted. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * DynamoDB's TTL for dynalite, which has none: soon after the start and then every interval,
 * deletes the items whose TTL attribute is in the past. The delete is conditional on the item still being expired,
 * so an item refreshed meanwhile is kept.
 */
export function startTtlSweeper(options: TtlSweeperOptions): TtlSweeper {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const onError = options.onError ?? ((error: unknown) => console.error("[ttl-sweeper]", error));
  let running: Promise<number> | undefined;

  async function sweepTable(table: TtlTable, at: number): Promise<number> {
    const names = { "#ttl": table.ttlAttribute ?? "expiresAt", ...Object.fromEntries(table.key.map((name, i) => [`#k${i}`, name])) };
    const values = { ":now": { N: String(at) } };
    let deleted = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await options.client.send(
        new ScanCommand({
          TableName: table.name,
          FilterExpression: "#ttl < :now",
          ProjectionExpression: table.key.map((_, i) => `#k${i}`).join(", "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const key of page.Items ?? []) {
        try {
          await options.client.send(
            new DeleteItemCommand({
              TableName: table.name,
              Key: key,
              ConditionExpression: "#ttl < :now",
              ExpressionAttributeNames: { "#ttl": names["#ttl"] },
              ExpressionAttributeValues: values,
            }),
          );
          deleted++;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  function sweep(): Promise<number> {
    running ??= (async () => {
      try {
        const at = now();
        let deleted = 0;
        for (const table of options.tables) deleted += await sweepTable(table, at);
        return deleted;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const intervalMs = options.intervalMs ?? 3_600_000;
  const sweepNow = () => {
    void sweep().catch(onError);
    timer = setTimeout(sweepNow, intervalMs).unref();
  };
  let timer = setTimeout(sweepNow, options.firstSweepMs ?? 60_000).unref();
  return {
    sweep,
    async stop() {
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
