const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** A link target from agent text if it is an absolute http(s) or mailto URL, else "" (no link). */
export function safeUrl(url: string): string {
  try {
    return SAFE_PROTOCOLS.has(new URL(url).protocol) ? url : "";
  } catch {
    // Relative and fragment links would point into this app; they mean nothing in agent text.
    return "";
  }
}
