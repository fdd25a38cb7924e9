// The real-time stream over gRPC-web, through the TypeScript client
// generated from the protos (connect-es, `src/gen/`): from Node, and in
// headless Chromium when the page's WebSockets cannot get through.
//
//   OCOMMS_BASE_URL=http://127.0.0.1:3000 npm run test:browser
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const BASE = (process.env.OCOMMS_BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const RUN = Math.random().toString(36).slice(2, 8);
const WAIT = 10_000;

let eventStream;
let browser;
/** Alice's workspace and channel, with Bob in both (made once: sign-ups are few). */
let shared;
const bundle = join(tmpdir(), `ocomms-stream-${process.pid}.mjs`);

before(async () => {
  // The app's own module (src/api/stream.ts and the generated client),
  // bundled for Node as Vite bundles it for the browser.
  await build({
    entryPoints: [fileURLToPath(new URL('../src/api/stream.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: bundle,
    logLevel: 'silent',
  });
  ({ eventStream } = await import(pathToFileURL(bundle).href));
  shared = await room();
});

after(async () => {
  await browser?.close();
  rmSync(bundle, { force: true });
});

async function rest(method, path, token, body) {
  const res = await fetch(BASE + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = res.status === 204 ? null : await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function signUp(name) {
  const email = `${name.toLowerCase()}-${RUN}-${Date.now()}@e2e.example.com`;
  const r = await rest('POST', '/api/auth/sign-up/email', null, { email, password: 'correct horse battery staple', name: `${name} ${RUN}` });
  return { id: r.user.id, token: r.token };
}

/** Alice's workspace and channel, with Bob in both. */
async function room() {
  const alice = await signUp('Alice');
  const bob = await signUp('Bob');
  const ws = await rest('POST', '/api/workspaces', alice.token, { name: `Stream ${RUN}`, slug: `stream-${RUN}-${Date.now() % 100000}` });
  const channel = await rest('POST', `/api/workspaces/${ws.id}/channels`, alice.token, { name: `stream-${RUN}` });
  const invite = await rest('POST', `/api/workspaces/${ws.id}/invites`, alice.token, {});
  await rest('POST', `/api/invites/${invite.token}/accept`, bob.token);
  await rest('POST', `/api/channels/${channel.id}/join`, bob.token);
  return { alice, bob, ws, channel };
}

/** fetch with these headers added (what a browser adds on its own). */
const fetchWith = (extra) => (input, init = {}) => {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  return fetch(input, { ...init, headers });
};

/** Opens the stream; resolves once the gateway accepted it. */
function follow(open) {
  const ctl = new AbortController();
  const events = [];
  let waiters = [];
  let opened;
  const isOpen = new Promise((resolve) => (opened = resolve));
  const ended = open(ctl.signal, () => opened(), (name, data) => {
    events.push({ name, data });
    waiters = waiters.filter((w) => !w());
  });
  // Closing it ends the call with "canceled": expected, not a failure.
  ended.catch(() => undefined);
  const next = (pred) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no such event in ${WAIT} ms; got ${JSON.stringify(events)}`)), WAIT);
      const check = () => {
        const hit = events.find(pred);
        if (hit) {
          clearTimeout(t);
          resolve(hit);
        }
        return Boolean(hit);
      };
      if (!check()) waiters.push(check);
    });
  return { isOpen, ended, next, close: () => ctl.abort() };
}

test('the client generated from the protos follows the event stream from Node', async () => {
  const { alice, bob, channel } = shared;
  const stream = follow(eventStream(BASE, fetchWith({ authorization: `Bearer ${bob.token}` })));
  await stream.isOpen;
  const text = `over grpc-web ${RUN}`;
  await rest('POST', `/api/channels/${channel.id}/messages`, alice.token, { content: text });
  const ev = await stream.next((e) => e.name === 'message:new' && e.data.message.content === text);
  assert.equal(ev.data.message.channelId, channel.id);
  assert.equal(ev.data.message.authorId, alice.id);
  stream.close();

  // A browser's session cookie counts from the gateway's own page, as for
  // the WebSocket, and not from another site's.
  const own = follow(eventStream(BASE, fetchWith({ cookie: `ocomms_session=${bob.token}`, origin: BASE })));
  await own.isOpen;
  await rest('POST', `/api/channels/${channel.id}/messages`, alice.token, { content: `${text} again` });
  await own.next((e) => e.name === 'message:new' && e.data.message.content === `${text} again`);
  own.close();
  const foreign = follow(eventStream(BASE, fetchWith({ cookie: `ocomms_session=${bob.token}`, origin: 'https://evil.example' })));
  await assert.rejects(foreign.ended, (e) => /unauthenticated/i.test(String(e?.code ?? '')) || /unauthenticated|authentication/i.test(String(e?.message)));
});

test('a browser whose WebSockets cannot get through gets its events over gRPC-web', async () => {
  const { alice, bob, ws, channel } = shared;
  browser ??= await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const problems = [];
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => problems.push(e.message));
    // A proxy that refuses WebSockets: every socket closes without opening.
    await page.addInitScript(() => {
      window.__sockets = 0;
      window.WebSocket = class {
        constructor() {
          window.__sockets++;
          setTimeout(() => this.onclose?.({ code: 1006 }), 20);
        }
        send() {}
        close() {}
      };
    });
    await context.addCookies([{ name: 'ocomms_session', value: bob.token, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
    await page.goto(`${BASE}/w/${ws.id}/c/${channel.id}`);
    await page.getByRole('heading', { name: `#${channel.name}` }).waitFor();
    // Connected (over the stream) after the WebSocket attempts failed.
    await page.locator('.dot.on').first().waitFor({ state: 'attached' });
    assert.ok((await page.evaluate(() => window.__sockets)) >= 3, 'the WebSocket was tried first');

    const text = `live without websockets ${RUN}`;
    await rest('POST', `/api/channels/${channel.id}/messages`, alice.token, { content: text });
    await page.locator('.place-view [role="log"] article.msg', { hasText: text }).waitFor();
    // And Bob can still send (over REST): Alice's history has it.
    const reply = `sent while streaming ${RUN}`;
    const box = page.locator('.place-view textarea[name="message"]');
    await box.fill(reply);
    await box.press('Enter');
    await page.locator('.place-view [role="log"] article.msg', { hasText: reply }).waitFor();
    const deadline = Date.now() + WAIT;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      const page1 = await rest('GET', `/api/channels/${channel.id}/messages`, alice.token);
      seen = page1.messages.some((m) => m.content === reply);
      if (!seen) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(seen, 'the reply reached the server');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
