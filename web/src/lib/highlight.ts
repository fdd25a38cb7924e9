// Search highlights. The server answers an excerpt that is HTML-escaped
// (&amp; &lt; &gt;) with every match wrapped in <mark>…</mark>. It is never
// given to innerHTML: it is split into text runs, marked or not, and the
// entities decoded, so anything else that looks like a tag stays text.

export interface Run {
  text: string;
  mark: boolean;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#47': '/' };

export function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#39|#x27|#x2F|#47);/gi, (all, name: string) => ENTITIES[name] ?? ENTITIES[name.toLowerCase()] ?? all);
}

export function parseHighlight(h: string): Run[] {
  const out: Run[] = [];
  let mark = false;
  for (const part of h.split(/(<mark>|<\/mark>)/i)) {
    if (/^<mark>$/i.test(part)) mark = true;
    else if (/^<\/mark>$/i.test(part)) mark = false;
    else if (part) {
      const text = decodeEntities(part);
      const last = out[out.length - 1];
      if (last && last.mark === mark) last.text += text;
      else out.push({ text, mark });
    }
  }
  return out;
}
