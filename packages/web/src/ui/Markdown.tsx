import type { ComponentProps } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import { safeUrl } from "./safe-url.ts";

/**
 * Agent text is untrusted. react-markdown builds React elements, never HTML strings; HTML
 * in the text is shown as the text it is (an agent quoting "<b>" shows "<b>"). Links
 * keep only http(s) and mailto targets; images are shown as links and never loaded, since
 * an image URL is how injected instructions leak a conversation to someone else's server.
 */
interface MdastNode {
  type: string;
  children?: MdastNode[];
}

/** Raw HTML becomes literal text: nothing in agent text is ever parsed as markup. */
function htmlAsText() {
  const walk = (node: MdastNode) => {
    if (node.type === "html") node.type = "text";
    node.children?.forEach(walk);
  };
  return walk;
}

const components: Components = {
  a: ({ href, children }: ComponentProps<"a">) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span className="dead-link">{children}</span>
    ),
  img: ({ src, alt }: ComponentProps<"img">) =>
    typeof src === "string" && src ? (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow" className="image-link">
        🖼 {alt || "image"}
      </a>
    ) : (
      <span>{alt}</span>
    ),
  table: ({ children }: ComponentProps<"table">) => (
    <div className="table-scroll">
      <table>{children}</table>
    </div>
  ),
};

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm, htmlAsText]} urlTransform={safeUrl} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
}
