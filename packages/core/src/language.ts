/** Japanese if the text has kana or kanji; azuchi's own notices follow the user's language. */
export type Language = "ja" | "en";

export function detectLanguage(text: string): Language {
  return /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(text) ? "ja" : "en";
}
