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

/** The stream with one more delta in it; where pieces overlap, the newer text wins. */
export function addDelta(stream: ReplyStream | undefined, messageId: string, offset: number, delta: string, now: number): ReplyStream {
  let added: StreamChunk = { offset, text: delta };
  const kept: StreamChunk[] = [];
  for (const chunk of stream?.chunks ?? []) {
    const chunkEnd = chunk.offset + chunk.text.length;
    if (chunkEnd < added.offset || chunk.offset > added.offset + added.text.length) {
      kept.push(chunk);
      continue;
    }
    // Overlapping or touching: keep what this older piece has outside the new one.
    let { offset: start, text } = added;
    if (chunk.offset < start) {
      text = chunk.text.slice(0, start - chunk.offset) + text;
      start = chunk.offset;
    }
    if (chunkEnd > start + text.length) text += chunk.text.slice(start + text.length - chunk.offset);
    added = { offset: start, text };
  }
  return { messageId, chunks: [...kept, added].sort((a, b) => a.offset - b.offset), updatedAt: now };
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
