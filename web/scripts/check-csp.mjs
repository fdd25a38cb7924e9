// Fails the build when dist/index.html would break the gateway's CSP
// (script-src 'self'; style-src 'self'): no inline <script>, no <style>
// element, no style="" or on*="" attributes.
import { readFileSync } from 'node:fs';

const html = readFileSync(new URL('../dist/index.html', import.meta.url), 'utf8');
const problems = [];
for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  if (!/\bsrc=/.test(m[1]) || m[2].trim()) problems.push('inline <script>');
}
if (/<style\b/i.test(html)) problems.push('<style> element');
if (/\sstyle\s*=/i.test(html)) problems.push('style="" attribute');
if (/\son[a-z]+\s*=/i.test(html)) problems.push('inline event handler');
if (problems.length) {
  console.error('dist/index.html is not CSP-clean:', problems.join(', '));
  process.exit(1);
}
console.log('dist/index.html: CSP-clean (external scripts and styles only)');
