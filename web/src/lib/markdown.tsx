// A small, safe subset of Markdown rendered straight to Preact nodes.
//
// Nothing here ever produces HTML text: every piece of the message becomes a
// text node or an element we create ourselves, so `<script>` or `<img
// onerror>` in a message is shown as the characters it is. Links only get
// http(s) and mailto targets, and open with rel="noopener noreferrer".
import type { ComponentChildren, VNode } from 'preact';

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The URL if it is absolute and uses a safe protocol, else null. */
export function safeHref(raw: string): string | null {
  try {
    const u = new URL(raw);
    return SAFE_PROTOCOLS.has(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

// Inline tokens, leftmost first: `code`, **bold**, __bold__, *italic*,
// _italic_, [text](url), bare URLs, @mentions.
const INLINE =
  /`([^`\n]+)`|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"\]])|(?<![\w.])@([\w][\w.-]*\w|\w)/g;

function link(href: string, text: ComponentChildren, key: number): VNode {
  return (
    <a key={key} href={href} target="_blank" rel="noopener noreferrer">
      {text}
    </a>
  );
}

/** Inline markdown of one text run (no code blocks inside). */
export function renderInline(text: string, depth = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  let key = 0;
  const re = new RegExp(INLINE.source, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(...lines(text.slice(last, m.index)));
    const [whole, code, b1, b2, i1, i2, ltext, lurl, bare, mention] = m;
    if (code !== undefined) out.push(<code key={key++}>{code}</code>);
    else if ((b1 ?? b2) !== undefined && depth < 4) out.push(<strong key={key++}>{renderInline((b1 ?? b2)!, depth + 1)}</strong>);
    else if ((i1 ?? i2) !== undefined && depth < 4) out.push(<em key={key++}>{renderInline((i1 ?? i2)!, depth + 1)}</em>);
    else if (ltext !== undefined) {
      const href = safeHref(lurl!);
      out.push(href ? link(href, renderInline(ltext, depth + 1), key++) : whole);
    } else if (bare !== undefined) {
      const href = safeHref(bare);
      out.push(href ? link(href, bare, key++) : bare);
    } else if (mention !== undefined) out.push(<span key={key++} class="mention">@{mention}</span>);
    else out.push(whole);
    last = m.index + whole.length;
  }
  if (last < text.length) out.push(...lines(text.slice(last)));
  return out;
}

/** Text with its line breaks as <br>. */
function lines(text: string): ComponentChildren[] {
  const parts = text.split('\n');
  const out: ComponentChildren[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(<br />);
    if (p) out.push(p);
  });
  return out;
}

/** A whole message: ```fenced code blocks``` first, inline markdown around them. */
export function renderMarkdown(content: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const fence = /```(?:[\w+-]*\n)?([\s\S]*?)```/g;
  let last = 0;
  let key = 0;
  for (let m = fence.exec(content); m; m = fence.exec(content)) {
    if (m.index > last) out.push(<span key={key++}>{renderInline(trimBlockEdges(content.slice(last, m.index)))}</span>);
    out.push(
      <pre key={key++}>
        <code>{m[1].replace(/\n$/, '')}</code>
      </pre>,
    );
    last = m.index + m[0].length;
  }
  if (last < content.length) out.push(<span key={key++}>{renderInline(last > 0 ? trimBlockEdges(content.slice(last)) : content)}</span>);
  return out;
}

/** Drops the line break that separates text from a neighbouring code block. */
function trimBlockEdges(s: string): string {
  return s.replace(/^\n/, '').replace(/\n$/, '');
}

export function Markdown({ content }: { content: string }) {
  return <>{renderMarkdown(content)}</>;
}
