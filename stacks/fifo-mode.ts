/**
 * High-throughput FIFO: SQS partitions the queue by message group (our sessions) and lifts the
 * plain FIFO queue's 300 calls a second for the whole queue; deduplication is per group then,
 * which is all azuchi needs (a job's dedup id is its own jobId, in its session's group). Plain
 * data, read by stacks/pipeline.ts, the local stack's queues and the tests.
 */
export const highThroughputFifo = { deduplicationScope: "messageGroup", fifoThroughputLimit: "perMessageGroupId" } as const;
