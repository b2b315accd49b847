import { explainSqsError } from "./errors.ts";

/** One SQS call, its failure turned into an OpsError naming the operation (= the IAM action sqs:<action>). */
export async function call<T>(action: string, queue: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw explainSqsError(error, action, queue);
  }
}
