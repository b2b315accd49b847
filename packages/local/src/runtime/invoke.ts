import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/** A Lambda handler as Lambda calls it: an event and a context, a promise of the result. */
export type LambdaHandler<E = unknown, R = unknown> = (event: E, context: Context) => Promise<R>;

export interface InvokeOptions {
  functionName: string;
  /** The function's configured timeout; the handler sees the time left through the context. */
  timeoutMs?: number;
}

/**
 * Calls a handler the way the Lambda runtime does: with a context whose
 * getRemainingTimeInMillis counts down from the function's timeout, and fails
 * the invocation when the timeout passes (as Lambda does), without waiting for it.
 */
export async function invokeLambda<E, R>(handler: LambdaHandler<E, R>, event: E, options: InvokeOptions): Promise<R> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: options.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${options.functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdaTimeoutError(options.functionName, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([handler(event, context), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class LambdaTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} timed out after ${timeoutMs} ms`);
    this.name = "LambdaTimeoutError";
  }
}

/** The invocation's instance died under it (a crash, an out-of-memory kill): Lambda reports it as failed. */
export class LambdaCrashedError extends Error {
  constructor(functionName: string) {
    super(`${functionName}: the instance running this invocation crashed`);
    this.name = "LambdaCrashedError";
  }
}
