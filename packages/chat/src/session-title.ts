/** Titles are this many characters (graphemes: an emoji or a kanji is one) at most. */
export const MAX_TITLE_CHARS = 60;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * A session's title from its first USER message: the first line that has text, with runs
 * of white space made one space, cut to MAX_TITLE_CHARS graphemes with "…" when longer.
 * Cutting by grapheme never splits an emoji (a flag, a family, a skin tone) or a kana
 * with its combining mark.
 */
export function titleFromMessage(text: string, maxChars = MAX_TITLE_CHARS): string {
  const line = text.split(/\r\n|\r|\n/).find((candidate) => candidate.trim() !== "") ?? "";
  const flat = line.replace(/\s+/gu, " ").trim();
  const graphemes = Array.from(segmenter.segment(flat), (part) => part.segment);
  if (graphemes.length <= maxChars) return flat;
  return `${graphemes.slice(0, maxChars - 1).join("").trimEnd()}…`;
}
