/**
 * SQS errors as the JSON protocol returns them. `code` is the Smithy shape name that goes in
 * `__type`; `queryCode` goes in the `x-amzn-query-error` header, which the SDK (awsQueryCompatible)
 * reads first to pick the error class. Codes and statuses follow the SDK's own model
 * (@aws-sdk/client-sqs schemas), so e.g. `QueueDoesNotExist` surfaces as that class.
 */
export class SqsError extends Error {
  readonly code: string;
  readonly queryCode: string;
  readonly status: number;

  constructor(code: string, message: string, options: { queryCode?: string; status?: number } = {}) {
    super(message);
    this.name = "SqsError";
    this.code = code;
    this.queryCode = options.queryCode ?? code;
    this.status = options.status ?? 400;
  }
}

export const queueDoesNotExist = () =>
  new SqsError("QueueDoesNotExist", "The specified queue does not exist.", {
    queryCode: "AWS.SimpleQueueService.NonExistentQueue",
  });

export const queueNameExists = (attribute: string) =>
  new SqsError("QueueNameExists", `A queue already exists with the same name and a different value for attribute ${attribute}`, {
    queryCode: "QueueAlreadyExists",
  });

export const invalidParameterValue = (message: string) => new SqsError("InvalidParameterValue", message);

export const missingParameter = (name: string) =>
  new SqsError("MissingParameter", `The request must contain the parameter ${name}.`);

export const invalidAttributeName = (name: string) =>
  new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);

export const invalidAttributeValue = (message: string) => new SqsError("InvalidAttributeValue", message);

export const invalidMessageContents = () =>
  new SqsError("InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");

export const receiptHandleIsInvalid = (handle: string) =>
  new SqsError("ReceiptHandleIsInvalid", `The input receipt handle "${handle}" is not a valid receipt handle.`, {
    status: 404,
  });

/** What SQS answers for a FIFO receipt handle that is not the current receive's, or whose visibility ran out. */
export const receiptHandleExpired = (handle: string) =>
  invalidParameterValue(`Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);

export const messageNotInflight = () =>
  new SqsError("MessageNotInflight", "The message referred to isn't in flight.", {
    queryCode: "AWS.SimpleQueueService.MessageNotInflight",
  });

export const emptyBatchRequest = () =>
  new SqsError("EmptyBatchRequest", "There should be at least one entry in the request.", {
    queryCode: "AWS.SimpleQueueService.EmptyBatchRequest",
  });

export const tooManyEntriesInBatchRequest = (count: number) =>
  new SqsError("TooManyEntriesInBatchRequest", `Maximum number of entries per request are 10. You have sent ${count}.`, {
    queryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
  });

export const batchEntryIdsNotDistinct = (id: string) =>
  new SqsError("BatchEntryIdsNotDistinct", `Id ${id} repeated.`, {
    queryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
  });

export const invalidBatchEntryId = () =>
  new SqsError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.", {
    queryCode: "AWS.SimpleQueueService.InvalidBatchEntryId",
  });

export const batchRequestTooLong = (limit: number) =>
  new SqsError("BatchRequestTooLong", `Batch requests cannot be longer than ${limit} bytes.`, {
    queryCode: "AWS.SimpleQueueService.BatchRequestTooLong",
  });

export const unsupportedOperation = (operation: string) =>
  new SqsError("UnsupportedOperation", `${operation} is not supported by the local SQS emulator.`, {
    queryCode: "AWS.SimpleQueueService.UnsupportedOperation",
  });

export const resourceNotFound = (message: string) => new SqsError("ResourceNotFoundException", message, { status: 404 });
