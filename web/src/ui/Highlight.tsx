import { parseHighlight } from '../lib/highlight';

/** The server's highlighted excerpt as text and <mark> nodes (never as HTML). */
export function Highlight({ html }: { html: string }) {
  return (
    <>
      {parseHighlight(html).map((r, i) => (r.mark ? <mark key={i}>{r.text}</mark> : <span key={i}>{r.text}</span>))}
    </>
  );
}
