import { CancelMessageMoveTaskCommand, ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, type ListMessageMoveTasksResultEntry } from "@aws-sdk/client-sqs";
import { OpsError } from "./errors.ts";
import { Progress } from "./format.ts";
import { call } from "./sqs-calls.ts";
import { queueArn, queueCounts, type Target } from "./target.ts";

export interface RedriveResult {
  status: "EMPTY" | "COMPLETED" | "RUNNING" | "CANCELLED" | "FAILED" | "CANCELLING";
  moved: number;
  toMove: number;
  failureReason?: string;
  taskHandle?: string;
}

/**
 * The whole dead-letter queue back to AgentJobs through SQS's own message move task
 * (StartMessageMoveTask; FIFO order and groups kept by SQS, at most 500 messages/s, one task per
 * queue), watched with ListMessageMoveTasks until it ends. No filter and no backup: `dlq replay`
 * is the tool for a choice of sessions; this is the bulk path.
 */
export async function redrive(target: Target, options: { rate: number | undefined; wait: boolean; signal: AbortSignal }): Promise<RedriveResult> {
  const counts = await queueCounts(target, target.dlq);
  if (counts.visible + counts.inFlight === 0) return { status: "EMPTY", moved: 0, toMove: 0 };
  // Refuses a destination that is not FIFO, as replay does.
  await queueCounts(target, target.jobs);
  const [sourceArn, destinationArn] = [await queueArn(target, target.dlq), await queueArn(target, target.jobs)];
  let taskHandle: string | undefined;
  try {
    ({ TaskHandle: taskHandle } = await target.sqs.send(new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(options.rate === undefined ? {} : { MaxNumberOfMessagesPerSecond: options.rate }),
    })));
  } catch (error) {
    const message = (error as Error).message ?? "";
    if (/already|active|running/i.test(message)) throw new OpsError(`a redrive task is already running on the dead-letter queue: watch it with \`dlq redrive --no-wait\`… or stop it with \`dlq redrive --cancel\` (${message})`);
    return call("StartMessageMoveTask", target.dlq.url, () => Promise.reject(error));
  }
  const progress = new Progress("redriving");
  for (;;) {
    const task = await latestTask(target, sourceArn);
    const result = toResult(task, taskHandle);
    progress.update(result.moved, result.toMove);
    if (result.status !== "RUNNING" || !options.wait || options.signal.aborted) {
      progress.done();
      return result;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Cancels the running move task of the dead-letter queue, if any. */
export async function cancelRedrive(target: Target): Promise<{ cancelled: boolean; moved: number }> {
  const sourceArn = await queueArn(target, target.dlq);
  const task = await latestTask(target, sourceArn);
  if (task?.Status !== "RUNNING" || !task.TaskHandle) return { cancelled: false, moved: 0 };
  const handle = task.TaskHandle;
  const { ApproximateNumberOfMessagesMoved = 0 } = await call("CancelMessageMoveTask", target.dlq.url, () =>
    target.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle })),
  );
  return { cancelled: true, moved: ApproximateNumberOfMessagesMoved };
}

async function latestTask(target: Target, sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results = [] } = await call("ListMessageMoveTasks", target.dlq.url, () =>
    target.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 })),
  );
  return Results[0];
}

function toResult(task: ListMessageMoveTasksResultEntry | undefined, taskHandle: string | undefined): RedriveResult {
  return {
    status: (task?.Status as RedriveResult["status"] | undefined) ?? "RUNNING",
    moved: task?.ApproximateNumberOfMessagesMoved ?? 0,
    toMove: task?.ApproximateNumberOfMessagesToMove ?? 0,
    ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
    ...(taskHandle ? { taskHandle } : {}),
  };
}
