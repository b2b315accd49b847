/**
 * What the operator reads when a command cannot go on: one sentence, never a stack trace.
 * main.ts prints `azuchi-ops: <message>` and exits with `exitCode`.
 */
export class OpsError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "OpsError";
    this.exitCode = exitCode;
  }
}

/** A wrong command line: exit 2, as parseArgs' own errors. */
export class UsageError extends OpsError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/**
 * An SQS call's failure as the operator can act on it: the queue that does not exist, the IAM
 * action that is missing (`action` is the SQS operation, e.g. ReceiveMessage), the endpoint that
 * does not answer.
 */
export function explainSqsError(error: unknown, action: string, queue: string | undefined): OpsError {
  if (error instanceof OpsError) return error;
  const e = (error ?? {}) as AwsLikeError;
  const name = e.name ?? e.Code ?? "";
  const where = queue ? ` (${queue})` : "";
  if (/NonExistentQueue|QueueDoesNotExist/i.test(name) || /NonExistentQueue/.test(e.message ?? "")) {
    return new OpsError(`no such queue${where}: check --queue-url/--dlq-url, the stage, or that the stack is deployed`);
  }
  if (/AccessDenied|NotAuthorized|UnauthorizedOperation|InvalidClientTokenId|UnrecognizedClient|ExpiredToken/i.test(name) || e.$metadata?.httpStatusCode === 403) {
    return new OpsError(`missing permission: sqs:${action}${where} — grant it to the role you run azuchi-ops with (README "Operating azuchi" lists the actions)`);
  }
  const code = e.code ?? (e.cause as AwsLikeError | undefined)?.code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ECONNRESET" || /ECONNREFUSED/.test(e.message ?? "")) {
    return new OpsError(`SQS does not answer${where}: ${e.message ?? code} (is the local stack still running?)`);
  }
  if (/CredentialsProviderError|Could not load credentials/i.test(name + (e.message ?? ""))) {
    return new OpsError("no AWS credentials: run under `npx sst shell --stage <stage> -- npm run ops -- …`, or use --local");
  }
  return new OpsError(`sqs:${action} failed${where}: ${name ? `${name}: ` : ""}${e.message ?? String(error)}`);
}
