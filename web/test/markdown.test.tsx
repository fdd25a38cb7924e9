import { render } from 'preact';
import { describe, expect, it } from 'vitest';
import { Markdown, safeHref } from '../src/lib/markdown';

function html(content: string): HTMLElement {
  const el = document.createElement('div');
  render(<Markdown content={content} />, el);
  return el;
}

describe('markdown is safe', () => {
  it('shows <script> as text and runs nothing', () => {
    const el = html('<script>window.pwned = 1</script>');
    expect(el.querySelector('script')).toBeNull();
    expect(el.textContent).toBe('<script>window.pwned = 1</script>');
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('shows <img onerror> as text: no element, no handler', () => {
    const el = html('hi <img src=x onerror="alert(1)"> **bold <img src=y onerror=alert(2)>**');
    expect(el.querySelector('img')).toBeNull();
    expect(el.querySelector('[onerror]')).toBeNull();
    expect(el.textContent).toContain('<img src=x onerror="alert(1)">');
    expect(el.querySelector('strong')!.textContent).toBe('bold <img src=y onerror=alert(2)>');
  });

  it('refuses javascript: and data: links', () => {
    const el = html('[click](javascript:alert(1)) [x](data:text/html,<b>) javascript:alert(1)');
    expect(el.querySelector('a')).toBeNull();
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('JAVASCRIPT:alert(1)')).toBeNull();
    expect(safeHref('https://example.com/a')).toBe('https://example.com/a');
  });

  it('keeps HTML inside code as text', () => {
    const el = html('`<b>x</b>` and ```\n<iframe src="https://evil.example"></iframe>\n```');
    expect(el.querySelector('b')).toBeNull();
    expect(el.querySelector('iframe')).toBeNull();
    expect(el.querySelector('code')!.textContent).toBe('<b>x</b>');
    expect(el.querySelector('pre code')!.textContent).toBe('<iframe src="https://evil.example"></iframe>');
  });
});

describe('markdown formatting', () => {
  it('renders bold, italic, inline code and code blocks', () => {
    const el = html('**bold** _italic_ *also* `code`\n```\nline 1\nline 2\n```\nafter');
    expect(el.querySelector('strong')!.textContent).toBe('bold');
    expect([...el.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['italic', 'also']);
    expect(el.querySelector('p code, span code')!.textContent).toBe('code');
    expect(el.querySelector('pre code')!.textContent).toBe('line 1\nline 2');
    expect(el.textContent).toContain('after');
  });

  it('links open safely in a new tab', () => {
    const el = html('see https://example.com/x, and [docs](https://docs.example.com)');
    const links = [...el.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com/x', 'https://docs.example.com/']);
    for (const a of links) {
      expect(a.getAttribute('rel')).toContain('noopener');
      expect(a.getAttribute('target')).toBe('_blank');
    }
  });

  it('leaves snake_case and lone markers alone, keeps line breaks', () => {
    const el = html('a_b_c and 2 * 3 * 4\nnext line');
    expect(el.querySelector('em')).toBeNull();
    expect(el.querySelectorAll('br')).toHaveLength(1);
    expect(el.textContent).toBe('a_b_c and 2 * 3 * 4next line');
  });

  it('highlights mentions but not emails', () => {
    const el = html('hey @ann, mail bob@example.com');
    expect([...el.querySelectorAll('.mention')].map((e) => e.textContent)).toEqual(['@ann']);
  });
});
