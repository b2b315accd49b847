import { useEffect, useRef, useState, type RefObject } from "react";

/**
 * Copy a message: as the Markdown it was written in, or (for a reply) as the text the page
 * shows. Says "Copied" for a moment, and why not when the browser refuses the clipboard.
 */
export function CopyButtons({ markdown, rendered }: { markdown: string; rendered?: RefObject<HTMLElement | null> }) {
  const [copied, setCopied] = useState<"markdown" | "text" | "failed" | undefined>(undefined);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = async (kind: "markdown" | "text") => {
    const text = kind === "text" ? (rendered?.current?.innerText ?? markdown) : markdown;
    try {
      await navigator.clipboard.writeText(text);
      setCopied(kind);
    } catch {
      setCopied("failed");
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setCopied(undefined), 2_000);
  };
  return (
    <span className="message-actions">
      <button type="button" className="message-action" onClick={() => void copy("markdown")} aria-label={copied !== "markdown" && rendered ? "Copy as Markdown" : undefined}>
        {copied === "markdown" ? "Copied" : "Copy"}
      </button>
      {rendered && (
        <button type="button" className="message-action" onClick={() => void copy("text")} aria-label={copied === "text" ? undefined : "Copy text, as shown"}>
          {copied === "text" ? "Copied" : "Copy text"}
        </button>
      )}
      {copied === "failed" && (
        <span className="message-action-failed" role="status">
          The browser did not allow copying.
        </span>
      )}
    </span>
  );
}
