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
  for (const { segment } of graphemes.segment(text)) {
    if (space.test(segment)) {
      current += segment;
      if (current.trim() !== "") open = false;
    } else if (cjk.test(segment) || emoji.test(segment)) {
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

export function countTokens(text: string): number {
  return tokenize(text).length;
}
