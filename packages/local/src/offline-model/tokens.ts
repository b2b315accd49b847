/**
 * The offline model's tokeniser. Not a BPE: a rule anyone can count by eye, so tests can
 * predict usage and the number of streamed deltas. A Latin word with the whitespace after it
 * is one token; each CJK character (kana, kanji, full-width punctuation) and each emoji (a
 * whole grapheme, so 🎌 or 👨‍👩‍👧 is one) is one token. Joined, the tokens are the text.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303f\uff00-\uffef\u30fc]/u;
const emoji = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
const space = /^\s+$/u;
/**
 * Text of ASCII alone, most of what the model reads: each character is a grapheme of its own
 * (CR LF is one, but whitespace joins the token before it either way) and none is CJK or an
 * emoji, so it is read character by character, without the segmenter (about 5× faster).
 */
const ascii = /^\p{ASCII}*$/u;

/** Kana or kanji: the reply is written in Japanese when the user's message contains them. */
export function containsJapanese(text: string): boolean {
  return /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(text);
}

export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = "";
  // A token stays open to more word characters until whitespace follows it or it is a
  // standalone (CJK or emoji) token; whitespace always joins the token before it.
  let open = true;
  const plain = ascii.test(text);
  for (const segment of plain ? text : Array.from(graphemes.segment(text), (piece) => piece.segment)) {
    if (space.test(segment)) {
      current += segment;
      if (current.trim() !== "") open = false;
    } else if (!plain && (cjk.test(segment) || emoji.test(segment))) {
      if (current.trim() !== "") {
        tokens.push(current);
        current = "";
      }
      current += segment;
      open = false;
    } else {
      if (!open) {
        tokens.push(current);
        current = "";
      }
      current += segment;
      open = true;
    }
  }
  if (current !== "") tokens.push(current);
  return tokens;
}

/**
 * Counts by text: a request chained on previous_response_id is counted with its whole
 * conversation, and every request with the same instructions, so most texts were counted
 * before. Emptied when full (a bound on memory, not a cache policy that needs to be clever).
 */
const counted = new Map<string, number>();
const MAX_COUNTED = 10_000;

export function countTokens(text: string): number {
  let count = counted.get(text);
  if (count === undefined) {
    if (counted.size >= MAX_COUNTED) counted.clear();
    count = tokenize(text).length;
    counted.set(text, count);
  }
  return count;
}
