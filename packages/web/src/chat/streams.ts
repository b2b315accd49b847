/**
 * A reply being streamed: the pieces of its text this tab has seen, placed by `offset`.
 * A tab that joins mid-stream, or misses deltas during a drop, holds pieces with gaps
 * between them; the final `message` replaces the whole stream.
 */
export interface StreamChunk {
  /** Where this text starts in the reply, in JavaScript string units. */
  offset: number;
  text: string;
}

export interface ReplyStream {
  messageId: string;
  /** Sorted, non-overlapping, never adjacent (adjacent pieces are merged). */
  chunks: StreamChunk[];
  /** When this tab last received a delta of it (epoch ms). */
  updatedAt: number;
}

/**
 * The stream with one more delta in it. Deltas never overlap within one attempt: one that
 * falls in a gap fills it; one that overlaps what is held means the turn was retried and
 * streams again from that offset (under the same messageId), so the old text from there on
 * is dropped.
 */
export function addDelta(stream: ReplyStream | undefined, messageId: string, offset: number, delta: string, now: number): ReplyStream {
  const end = offset + delta.length;
  const held = stream?.chunks ?? [];
  const overlaps = held.some((chunk) => chunk.offset < end && offset < chunk.offset + chunk.text.length);
  const pieces = overlaps
    ? held.filter((chunk) => chunk.offset < offset).map((chunk) => ({ offset: chunk.offset, text: chunk.text.slice(0, offset - chunk.offset) }))
    : [...held];
  pieces.push({ offset, text: delta });
  pieces.sort((a, b) => a.offset - b.offset);
  // Touching pieces become one, so a reply with no gap is one piece.
  const chunks: StreamChunk[] = [];
  for (const piece of pieces) {
    const last = chunks.at(-1);
    if (last && last.offset + last.text.length === piece.offset) chunks[chunks.length - 1] = { offset: last.offset, text: last.text + piece.text };
    else chunks.push(piece);
  }
  return { messageId, chunks, updatedAt: now };
}

/** Whether text is missing before, between or (unknowably) after the pieces seen. */
export function hasGap(stream: ReplyStream): boolean {
  return stream.chunks.length > 1 || (stream.chunks[0]?.offset ?? 0) > 0;
}

/** The length of text known from the start without a gap. */
export function contiguousLength(stream: ReplyStream): number {
  const first = stream.chunks[0];
  return first && first.offset === 0 ? first.text.length : 0;
}
