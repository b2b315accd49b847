import { randomUUID } from "node:crypto";
import type { EventBridgeEvent } from "aws-lambda";

/** PutEvents limits: 10 entries, 256 KB of entries per request. */
export const MAX_ENTRIES = 10;
export const MAX_ENTRIES_BYTES = 256 * 1024;

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface PutEventsOutput {
  Entries: PutEventsResultEntry[];
  FailedEntryCount: number;
}

/** An event EventBridge took in, and the bus it was sent to. */
export interface AcceptedEvent {
  busName: string;
  event: EventBridgeEvent<string, unknown>;
}

/** A request-level failure: the whole call fails with HTTP 400. */
export class ValidationException extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValidationException";
  }
}

interface RequestEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
}

/**
 * PutEvents as EventBridge answers it: a malformed request fails whole, a bad
 * entry fails alone (ErrorCode/ErrorMessage in its place, counted in
 * FailedEntryCount) and the others are accepted.
 */
export function putEvents(body: unknown, where: { region: string; accountId: string }): { output: PutEventsOutput; accepted: AcceptedEvent[] } {
  const entries = (body as { Entries?: unknown } | null)?.Entries;
  if (!Array.isArray(entries)) throw new ValidationException("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  if (entries.length === 0) {
    throw new ValidationException("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1");
  }
  if (entries.length > MAX_ENTRIES) {
    throw new ValidationException(
      "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
  }
  const requestEntries = entries as RequestEntry[];
  if (requestEntries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_ENTRIES_BYTES) {
    throw new ValidationException("Total size of the entries in the request is over the limit.");
  }
  const results: PutEventsResultEntry[] = [];
  const accepted: AcceptedEvent[] = [];
  for (const entry of requestEntries) {
    const failure = entryFailure(entry);
    if (failure !== undefined) {
      results.push(failure);
      continue;
    }
    const event: EventBridgeEvent<string, unknown> = {
      version: "0",
      id: randomUUID(),
      "detail-type": entry.DetailType as string,
      source: entry.Source as string,
      account: where.accountId,
      time: eventTime(entry.Time),
      region: where.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail: JSON.parse(entry.Detail as string),
    };
    results.push({ EventId: event.id });
    accepted.push({ busName: busNameOf(entry.EventBusName), event });
  }
  return { output: { Entries: results, FailedEntryCount: results.filter((r) => r.ErrorCode !== undefined).length }, accepted };
}

/** The per-entry errors EventBridge documents for a missing field or a Detail that is not a JSON object. */
function entryFailure(entry: RequestEntry): PutEventsResultEntry | undefined {
  for (const field of ["Source", "DetailType", "Detail"] as const) {
    const value = entry[field];
    if (typeof value !== "string" || value === "") {
      return { ErrorCode: "InvalidArgument", ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` };
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail as string);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== "object" || detail === null || Array.isArray(detail)) return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
  return undefined;
}

/** A bus is named by its name or its ARN (`arn:aws:events:…:event-bus/{name}`); none means "default". */
export function busNameOf(value: unknown): string {
  if (typeof value !== "string" || value === "") return "default";
  const marker = ":event-bus/";
  const at = value.indexOf(marker);
  return value.startsWith("arn:") && at >= 0 ? value.slice(at + marker.length) : value;
}

/** EventBridge's documented entry size: 14 bytes for Time, plus the UTF-8 bytes of Source, DetailType, Detail and Resources. */
function entrySize(entry: RequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail]) if (typeof text === "string") size += Buffer.byteLength(text);
  if (Array.isArray(entry.Resources)) for (const resource of entry.Resources) size += Buffer.byteLength(String(resource));
  return size;
}

/** ISO 8601 without milliseconds, as EventBridge writes `time`; the SDK sends Time as epoch seconds. */
function eventTime(time: unknown): string {
  const date = typeof time === "number" ? new Date(time * 1000) : typeof time === "string" ? new Date(time) : new Date();
  const valid = Number.isNaN(date.getTime()) ? new Date() : date;
  return valid.toISOString().replace(/\.\d{3}Z$/, "Z");
}
