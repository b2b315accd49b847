import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

export type RecordOutcome =
  | { record: SQSRecord; status: "succeeded" }
  | { record: SQSRecord; status: "failed"; error: unknown }
  /** Not started: an earlier record of its group failed, so it must not overtake it. */
  | { record: SQSRecord; status: "after-failure"; blockedBy: SQSRecord }
  /** Not started: the invocation had too little time left for another turn. */
  | { record: SQSRecord; status: "out-of-time" };

export interface FifoBatchOptions {
  /** Asked before each record; false leaves the record and the rest of its group for a later delivery. */
  canStart?: () => boolean;
}

/**
 * Processes a FIFO batch: the message groups (sessions) concurrently, each group strictly in
 * order. When a record fails, it and every later record of its group are reported failed so
 * SQS returns them in order; the other groups go on. Powertools' SqsFifoPartialProcessor has
 * the same failure rule but runs records one at a time, so one session's LLM turn would
 * hold up every other session of the batch.
 */
export async function processFifoBatch(
  records: SQSRecord[],
  processRecord: (record: SQSRecord) => Promise<void>,
  options: FifoBatchOptions = {},
): Promise<RecordOutcome[]> {
  const canStart = options.canStart ?? (() => true);
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const outcomes = new Map<string, RecordOutcome>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      let failed: SQSRecord | undefined;
      let outOfTime = false;
      for (const record of group) {
        if (failed) {
          outcomes.set(record.messageId, { record, status: "after-failure", blockedBy: failed });
        } else if (outOfTime || !canStart()) {
          outOfTime = true;
          outcomes.set(record.messageId, { record, status: "out-of-time" });
        } else {
          try {
            await processRecord(record);
            outcomes.set(record.messageId, { record, status: "succeeded" });
          } catch (error) {
            failed = record;
            outcomes.set(record.messageId, { record, status: "failed", error });
          }
        }
      }
    }),
  );
  return records.map((record) => outcomes.get(record.messageId)!);
}

/** The partial batch response: every record that did not succeed goes back to the queue. */
export function toBatchResponse(outcomes: RecordOutcome[]): SQSBatchResponse {
  return {
    batchItemFailures: outcomes.filter((o) => o.status !== "succeeded").map((o) => ({ itemIdentifier: o.record.messageId })),
  };
}
