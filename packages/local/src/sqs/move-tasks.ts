import { randomUUID } from "node:crypto";
import { invalidParameterValue, resourceNotFound } from "./errors.ts";
import { optionalInteger, optionalString, requiredString } from "./input.ts";
import type { Operation } from "./queue-operations.ts";
import type { StoredMessage, Queue } from "./queue.ts";
import type { MoveTask, QueueStore } from "./queue-store.ts";

/**
 * Dead-letter queue redrive (StartMessageMoveTask and friends), as SQS does it for standard and
 * FIFO queues: each message goes back to the queue it was dead-lettered from (or to
 * DestinationArn) as a new message in its group; on FIFO a group's messages keep their order (a
 * group with a message in flight waits, as a receive would). Without MaxNumberOfMessagesPerSecond
 * the task moves everything at once and is COMPLETED when StartMessageMoveTask returns; with it,
 * the task is RUNNING, moves that many messages a second, can be cancelled (CancelMessageMoveTask:
 * what is moved stays moved) and only one runs per source queue. A running task lives in memory: an
 * emulator stopped mid-task keeps the messages not yet moved in the dead-letter queue.
 */
interface RunningTask {
  task: MoveTask;
  timer: NodeJS.Timeout;
}

const running = new WeakMap<QueueStore, Map<string, RunningTask>>();
const runningOf = (store: QueueStore) => {
  let tasks = running.get(store);
  if (!tasks) running.set(store, (tasks = new Map()));
  return tasks;
};

/** Moves up to `limit` messages of `source`, oldest first, a FIFO group only from its head. */
function move(store: QueueStore, source: Queue, destination: Queue | undefined, limit: number): number {
  const now = store.now();
  const targetOf = (message: StoredMessage): Queue | undefined =>
    destination ?? (message.deadLetterSourceArn === undefined ? undefined : store.byArn(message.deadLetterSourceArn));
  // A group's later messages wait behind one in flight, and behind one with nowhere to go.
  const blocked = new Set<string>();
  let taken = 0;
  const messages = source.takeForMove(now, (message, inFlight) => {
    const group = message.groupId ?? "";
    const target = targetOf(message);
    const movable = taken < limit && !inFlight && target?.fifo === source.fifo && !(source.fifo && blocked.has(group));
    if (!movable && source.fifo) blocked.add(group);
    if (movable) taken += 1;
    return movable;
  });
  for (const message of messages) {
    const target = targetOf(message)!;
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
  return messages.length;
}

function finish(store: QueueStore, source: Queue, task: MoveTask): void {
  const left = source.counts(store.now()).visible;
  store.addMoveTask({
    ...task,
    failureReason: !task.cancelled && left > 0 ? `${left} message(s) have no original source queue to return to.` : undefined,
  });
}

function statusOf(task: MoveTask, isRunning: boolean): string {
  if (isRunning) return "RUNNING";
  if (task.cancelled) return "CANCELLED";
  return task.failureReason === undefined ? "COMPLETED" : "FAILED";
}

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
    const rate = optionalInteger(input, "MaxNumberOfMessagesPerSecond", 1, 500);
    const tasks = runningOf(store);
    if (tasks.has(sourceArn)) {
      throw invalidParameterValue("There is already a task running. Only one active task is allowed for a source queue arn at a given time.");
    }
    const now = store.now();
    const taskHandle = Buffer.from(JSON.stringify({ task: randomUUID(), sourceArn })).toString("base64url");
    const task: MoveTask = {
      taskHandle,
      sourceArn,
      destinationArn,
      moved: 0,
      toMove: source.counts(now).visible,
      startedAt: now,
      failureReason: undefined,
    };
    if (rate === undefined) {
      task.moved = move(store, source, destination, Number.POSITIVE_INFINITY);
      task.toMove = task.moved + source.counts(now).visible;
      finish(store, source, task);
      return { TaskHandle: taskHandle };
    }
    // A tick at most every 10 ms, moving rate/100 of a second's share when the rate is high.
    const tickMs = Math.max(10, Math.floor(1000 / rate));
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const timer = setInterval(() => {
      if (store.isClosed) return clearInterval(timer);
      const moved = move(store, source, destination, perTick);
      task.moved += moved;
      const left = source.counts(store.now());
      if ((moved === 0 && left.inFlight === 0) || task.moved >= task.toMove) {
        clearInterval(timer);
        tasks.delete(sourceArn);
        finish(store, source, task);
      }
      void store.commit().catch(() => undefined);
    }, tickMs);
    timer.unref();
    tasks.set(sourceArn, { task, timer });
    return { TaskHandle: taskHandle };
  },

  ListMessageMoveTasks(input, { store }) {
    const sourceArn = requiredString(input, "SourceArn");
    if (store.byArn(sourceArn) === undefined) throw resourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    const maxResults = optionalInteger(input, "MaxResults", 1, 10) ?? 1;
    const active = runningOf(store).get(sourceArn);
    const tasks = [
      ...(active ? [{ task: active.task, isRunning: true }] : []),
      ...store.moveTasks.filter((task) => task.sourceArn === sourceArn).reverse().map((task) => ({ task, isRunning: false })),
    ].slice(0, maxResults);
    return {
      Results: tasks.map(({ task, isRunning }) => ({
        ...(isRunning ? { TaskHandle: task.taskHandle } : {}),
        Status: statusOf(task, isRunning),
        SourceArn: task.sourceArn,
        ...(task.destinationArn === undefined ? {} : { DestinationArn: task.destinationArn }),
        ApproximateNumberOfMessagesMoved: task.moved,
        ApproximateNumberOfMessagesToMove: task.toMove,
        ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
        StartedTimestamp: task.startedAt,
      })),
    };
  },

  CancelMessageMoveTask(input, { store }) {
    const taskHandle = requiredString(input, "TaskHandle");
    const tasks = runningOf(store);
    const entry = [...tasks.values()].find((candidate) => candidate.task.taskHandle === taskHandle);
    if (entry === undefined) throw resourceNotFound("The message movement task is not running; only a RUNNING task can be cancelled.");
    clearInterval(entry.timer);
    tasks.delete(entry.task.sourceArn);
    entry.task.cancelled = true;
    const source = store.byArn(entry.task.sourceArn);
    if (source) finish(store, source, entry.task);
    else store.addMoveTask(entry.task);
    return { ApproximateNumberOfMessagesMoved: entry.task.moved };
  },
};
