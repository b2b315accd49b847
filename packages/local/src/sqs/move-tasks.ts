import { randomUUID } from "node:crypto";
import { invalidParameterValue, resourceNotFound } from "./errors.ts";
import { optionalInteger, optionalString, requiredString } from "./input.ts";
import type { Operation } from "./queue-operations.ts";
import type { Queue } from "./queue.ts";

/**
 * Dead-letter queue redrive (StartMessageMoveTask and friends). SQS moves messages
 * asynchronously; here a task moves everything receivable at once and is COMPLETED when
 * StartMessageMoveTask returns, so there is never a running task to cancel.
 */
export const moveTaskOperations: Record<string, Operation> = {
  StartMessageMoveTask(input, { store }) {
    const sourceArn = requiredString(input, "SourceArn");
    const source = store.byArn(sourceArn);
    if (source === undefined) throw resourceNotFound(`The resource that you specified for the SourceArn parameter doesn't exist.`);
    if (!store.list().some((queue) => queue.settings.redrivePolicy?.deadLetterTargetArn === sourceArn)) {
      throw invalidParameterValue("Source queue must be configured as a Dead Letter Queue.");
    }
    const destinationArn = optionalString(input, "DestinationArn");
    const destination = destinationArn === undefined ? undefined : store.byArn(destinationArn);
    if (destinationArn !== undefined && destination === undefined) {
      throw resourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist.");
    }
    if (destination !== undefined && destination.fifo !== source.fifo) {
      throw invalidParameterValue("The source queue and the destination queue must be of the same queue type.");
    }
    optionalInteger(input, "MaxNumberOfMessagesPerSecond", 1, 500);
    const now = store.now();
    // Without a destination each message goes back to the queue it was dead-lettered from.
    const targetOf = (arn: string | undefined): Queue | undefined =>
      destination ?? (arn === undefined ? undefined : store.byArn(arn));
    const messages = source.takeForMove(now, (message) => targetOf(message.deadLetterSourceArn)?.fifo === source.fifo);
    for (const message of messages) {
      const target = targetOf(message.deadLetterSourceArn)!;
      // A moved message is a new message to its target: new MessageId, new retention period.
      target.send({
        body: message.body,
        messageAttributes: message.messageAttributes,
        systemAttributes: message.systemAttributes,
        groupId: message.groupId,
        deduplicationId: target.fifo ? message.deduplicationId ?? message.messageId : undefined,
        delaySeconds: target.settings.delaySeconds,
        senderId: message.senderId,
      }, now);
      store.notify(target);
    }
    const left = source.counts(now).visible;
    const taskHandle = Buffer.from(JSON.stringify({ task: randomUUID(), sourceArn })).toString("base64url");
    store.addMoveTask({
      taskHandle,
      sourceArn,
      destinationArn,
      moved: messages.length,
      toMove: messages.length,
      startedAt: now,
      failureReason: left > 0 ? `${left} message(s) have no original source queue to return to.` : undefined,
    });
    return { TaskHandle: taskHandle };
  },

  ListMessageMoveTasks(input, { store }) {
    const sourceArn = requiredString(input, "SourceArn");
    if (store.byArn(sourceArn) === undefined) throw resourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    const maxResults = optionalInteger(input, "MaxResults", 1, 10) ?? 1;
    const tasks = store.moveTasks.filter((task) => task.sourceArn === sourceArn).reverse().slice(0, maxResults);
    return {
      Results: tasks.map((task) => ({
        TaskHandle: task.taskHandle,
        Status: task.failureReason === undefined ? "COMPLETED" : "FAILED",
        SourceArn: task.sourceArn,
        ...(task.destinationArn === undefined ? {} : { DestinationArn: task.destinationArn }),
        ApproximateNumberOfMessagesMoved: task.moved,
        ApproximateNumberOfMessagesToMove: task.toMove,
        ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
        StartedTimestamp: task.startedAt,
      })),
    };
  },

  CancelMessageMoveTask(input) {
    requiredString(input, "TaskHandle");
    throw resourceNotFound("The message movement task is not running; only a RUNNING task can be cancelled.");
  },
};
