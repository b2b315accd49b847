/**
 * The language of a piece of text, for `lang`: the page is `lang="en"`, and Japanese marked
 * as such is read by a screen reader with a Japanese voice and shaped with Japanese glyphs.
 * Text counts as Japanese when most of its letters are kana or kanji.
 */
const JAPANESE = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}ー]/u;
const LETTER = /\p{L}/u;

export function textLang(text: string): "ja" | undefined {
  let letters = 0;
  let japanese = 0;
  for (const char of text) {
    if (!LETTER.test(char) && char !== "ー") continue;
    letters++;
    if (JAPANESE.test(char)) japanese++;
  }
  // Kanji and kana carry more per character than Latin letters: a third already reads as Japanese.
  return letters > 0 && japanese * 3 >= letters ? "ja" : undefined;
}
