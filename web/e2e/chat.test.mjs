// End-to-end: two people chat in real headless Chromium against a running
// gateway that serves the built client at `/`: messages, threads, reactions
// (custom emoji too), notes with live updates and conflicts, offline sending.
//
//   OCOMMS_BASE_URL=http://127.0.0.1:3000 npm run test:browser
//   OCOMMS_SCREENSHOTS=1 also saves PNGs to ../docs/screenshots/.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.OCOMMS_BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const SHOTS = process.env.OCOMMS_SCREENSHOTS === '1';
const SHOT_DIR = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const RUN = Math.random().toString(36).slice(2, 8);
const PASSWORD = 'correct horse battery staple';
const WAIT = 10_000;

let browser;
const problems = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  if (SHOTS) mkdirSync(SHOT_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
});

async function person(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  // A CSP violation or an uncaught error fails the run.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  return { name, context, page, email: `${name.toLowerCase()}-${RUN}-${Date.now()}@e2e.example.com` };
}

/** The RFC 6238 code of a base32 secret now. */
function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/** A small red PNG (made here: no fixture files). */
function png(size = 16) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3, Buffer.from([220, 30, 60]))]);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function shot(page, file) {
  if (SHOTS) await page.screenshot({ path: SHOT_DIR + file });
}

async function signUp(p) {
  await p.page.getByRole('button', { name: 'Create an account' }).click();
  await p.page.fill('input[name="name"]', `${p.name} ${RUN}`);
  await p.page.fill('input[name="email"]', p.email);
  await p.page.fill('input[name="password"]', PASSWORD);
  await p.page.getByRole('button', { name: 'Create account' }).click();
}

const log = (page) => page.locator('.place-view [role="log"]');
const messageIn = (page, text) => log(page).locator('article.msg', { hasText: text });
const wsIdOf = (page) => new URL(page.url()).pathname.split('/')[2];

async function say(page, text, where = '.place-view') {
  const box = page.locator(`${where} textarea[name="message"]`);
  await box.fill(text);
  await box.press('Enter');
}

test('two people chat: live messages, threads, reactions, notes, custom emoji, offline sending', async () => {
  const a = await person('Alice');
  const b = await person('Bob');
  try {
    await scenario(a, b);
  } catch (e) {
    // What each person saw when it failed.
    for (const p of [a, b]) await p.page.screenshot({ path: `${tmpdir()}/ocomms-e2e-${p.name}.png` }).catch(() => undefined);
    console.error(`screenshots of the failure: ${tmpdir()}/ocomms-e2e-{Alice,Bob}.png`);
    throw e;
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

async function scenario(a, b) {
  const channel = `e2e-${RUN}`;

  // Alice signs up and makes a workspace, a channel and an invite link.
  const res = await a.page.goto(BASE + '/');
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, 'the gateway serves the client with its CSP');
  await a.page.getByRole('heading', { name: 'Sign in to OComms' }).waitFor();
  await shot(a.page, 'sign-in.png');
  await signUp(a);
  await a.page.fill('input[name="workspaceName"]', `E2E ${RUN}`);
  await a.page.getByRole('button', { name: 'Create workspace' }).click();
  await a.page.getByRole('button', { name: '+ Create channel' }).click();
  await a.page.fill('input[name="channelName"]', channel);
  await a.page.locator('.dialog').getByRole('button', { name: 'Create' }).click();
  await a.page.getByRole('heading', { name: `#${channel}` }).waitFor();
  await a.page.getByRole('button', { name: 'Invite people' }).click();
  const invite = a.page.locator('input[name="inviteLink"]');
  await invite.waitFor();
  const inviteUrl = await invite.inputValue();
  assert.match(inviteUrl, /\/invite\/[^/]+$/);
  // An invitation by email too (the server mails the link; it works once, for that address).
  const carol = `carol-${RUN}@e2e.example.com`;
  await a.page.locator('input[name="inviteEmail"]').fill(carol);
  await a.page.getByRole('button', { name: 'Send invitation' }).click();
  await a.page.getByRole('status').filter({ hasText: `Invitation sent to ${carol}` }).waitFor();
  await a.page.getByRole('button', { name: 'Close' }).click();

  // Bob follows the link, signs up, accepts, and joins the channel.
  await b.page.goto(BASE + new URL(inviteUrl).pathname);
  await b.page.getByText('Sign in or create an account to accept your invitation.').waitFor();
  await signUp(b);
  await b.page.getByRole('button', { name: 'Accept invitation' }).click();
  await b.page.getByRole('button', { name: 'Browse channels' }).click();
  await b.page.getByRole('button', { name: `Join #${channel}` }).click();
  await b.page.getByRole('heading', { name: `#${channel}` }).waitFor();
  await b.page.locator('.place-view textarea[name="message"]').waitFor();

  // Bob starts typing: Alice sees it.
  await b.page.locator('.place-view textarea[name="message"]').pressSequentially('hm');
  await a.page.locator('.typing', { hasText: `Bob ${RUN} is typing` }).waitFor();
  await b.page.locator('.place-view textarea[name="message"]').fill('');

  // Alice's message appears live for Bob.
  const hello = `Hello from Alice ${RUN} with **markdown** and <script>alert(1)</script>`;
  await say(a.page, hello);
  const bobSees = messageIn(b.page, `Hello from Alice ${RUN}`);
  await bobSees.waitFor();
  assert.equal(await bobSees.locator('strong').innerText(), 'markdown');
  assert.equal(await b.page.locator('.body script').count(), 0);

  // Bob replies in a thread; Alice sees the reply count and opens the thread.
  await bobSees.hover();
  await bobSees.getByRole('button', { name: 'Reply in thread' }).click();
  const thread = b.page.locator('aside.thread');
  await thread.waitFor();
  await say(b.page, `Reply from Bob ${RUN}`, 'aside.thread');
  await thread.locator('article.msg', { hasText: `Reply from Bob ${RUN}` }).waitFor();
  const aliceMsg = messageIn(a.page, `Hello from Alice ${RUN}`);
  await aliceMsg.getByRole('button', { name: '1 reply' }).click();
  await a.page.locator('aside.thread article.msg', { hasText: `Reply from Bob ${RUN}` }).waitFor();
  await b.page.getByRole('button', { name: 'Close thread' }).click();

  // Bob reacts; Alice sees the reaction.
  await bobSees.hover();
  await bobSees.getByRole('button', { name: 'Add reaction' }).click();
  await b.page.getByRole('button', { name: 'React with 👍' }).click();
  await aliceMsg.locator('button.reaction', { hasText: '👍' }).filter({ hasText: '1' }).first().waitFor();
  await shot(a.page, 'thread-panel.png');
  await a.page.getByRole('button', { name: 'Close thread' }).click();

  // Two messages Bob holds, which Alice changes while he is away.
  await say(a.page, `Edit me ${RUN}`);
  await say(a.page, `Delete me ${RUN}`);
  await messageIn(b.page, `Edit me ${RUN}`).waitFor();
  await messageIn(b.page, `Delete me ${RUN}`).waitFor();

  // Bob goes offline and writes: pending. Back online: delivered exactly once.
  await b.context.setOffline(true);
  await b.page.getByText('You are offline.').first().waitFor();
  const offline = `Written offline by Bob ${RUN}`;
  await say(b.page, offline);
  const pending = b.page.locator('.place-view article.pending', { hasText: offline });
  await pending.waitFor();
  assert.match(await pending.innerText(), /Sending/);
  await shot(b.page, 'offline-pending.png');
  // Alice speaks while Bob is away: he gets it by resuming from his last sequence.
  await say(a.page, `While Bob was away ${RUN}`);
  await messageIn(a.page, `While Bob was away ${RUN}`).waitFor();
  // Alice edits one message Bob holds and deletes another: he learns of both
  // from the channel's change feed when he is back (no reload).
  const editId = await messageIn(a.page, `Edit me ${RUN}`).getAttribute('data-id');
  const toEdit = log(a.page).locator(`article.msg[data-id="${editId}"]`);
  await toEdit.hover();
  await toEdit.getByRole('button', { name: 'Edit message' }).click();
  await toEdit.getByRole('textbox', { name: 'Edit message' }).fill(`Changed in the meantime ${RUN}`);
  await toEdit.getByRole('textbox', { name: 'Edit message' }).press('Enter');
  await messageIn(a.page, `Changed in the meantime ${RUN}`).locator('text=(edited)').waitFor();
  const toDelete = messageIn(a.page, `Delete me ${RUN}`);
  a.page.once('dialog', (d) => void d.accept());
  await toDelete.hover();
  await toDelete.getByRole('button', { name: 'Delete message' }).click();
  await toDelete.waitFor({ state: 'detached' });
  await b.page.waitForTimeout(300);
  assert.equal(await messageIn(a.page, offline).count(), 0, 'nothing leaves while offline');
  assert.equal(await messageIn(b.page, `While Bob was away ${RUN}`).count(), 0, 'nothing arrives while offline');
  await b.context.setOffline(false);
  await messageIn(a.page, offline).waitFor();
  await b.page.locator('.place-view article.msg:not(.pending)', { hasText: offline }).waitFor();
  await pending.waitFor({ state: 'detached' });
  // Let the resume and any retries settle, then count.
  await b.page.waitForTimeout(1500);
  assert.equal(await messageIn(a.page, offline).count(), 1, "once in Alice's view");
  assert.equal(await messageIn(a.page, offline).locator('.author').innerText(), `Bob ${RUN}`, 'a new member has a name');
  assert.equal(await messageIn(b.page, offline).count(), 1, "once in Bob's view");
  assert.equal(await messageIn(b.page, `While Bob was away ${RUN}`).count(), 1, 'caught up once after the reconnect');
  const edited = messageIn(b.page, `Changed in the meantime ${RUN}`);
  await edited.waitFor();
  assert.match(await edited.innerText(), /\(edited\)/, 'the edit made while away shows');
  assert.equal(await messageIn(b.page, `Edit me ${RUN}`).count(), 0, 'the old text is gone');
  assert.equal(await messageIn(b.page, `Delete me ${RUN}`).count(), 0, 'the deleted text is gone');
  assert.ok((await log(b.page).locator('article.msg.deleted', { hasText: 'This message was deleted.' }).count()) >= 1, 'the deletion shows');
  const order = await log(b.page).locator('article.msg').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(order, [...order].sort((x, y) => x - y), "Bob's view is in sequence order");

  // And Alice's next message still reaches Bob live after his reconnect.
  await say(a.page, `After the reconnect ${RUN}`);
  await messageIn(b.page, `After the reconnect ${RUN}`).waitFor();
  assert.equal(await messageIn(b.page, `Hello from Alice ${RUN}`).count(), 1, 'no duplicates after resume');
  await shot(a.page, 'channel.png');

  // A direct message: Bob's sidebar shows the new conversation with an unread badge, live.
  await a.page.getByRole('button', { name: '+ New message' }).click();
  await a.page.locator('.dialog li', { hasText: `Bob ${RUN}` }).getByRole('button', { name: 'Message' }).click();
  await a.page.getByRole('heading', { name: `Bob ${RUN}` }).waitFor();
  await say(a.page, `Psst, Bob ${RUN}`);
  await messageIn(a.page, `Psst, Bob ${RUN}`).waitFor();
  const dm = b.page.locator('nav.sidebar a.place', { hasText: `Alice ${RUN}` });
  await dm.locator('.badge', { hasText: '1' }).waitFor();
  await dm.click();
  await messageIn(b.page, `Psst, Bob ${RUN}`).waitFor();
  await dm.locator('.badge').waitFor({ state: 'detached' });

  // Attachments. Both go back to the channel.
  await a.page.locator('nav.sidebar a.place', { hasText: channel }).click();
  await a.page.getByRole('heading', { name: `#${channel}` }).waitFor();
  await b.page.locator('nav.sidebar a.place', { hasText: channel }).click();
  await b.page.getByRole('heading', { name: `#${channel}` }).waitFor();
  const fileInput = a.page.locator('.place-view input[type="file"]');
  // Not really a PNG: the server looks at the bytes and refuses; Alice reads why.
  await fileInput.setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('just some text') });
  await a.page.locator('.place-view .composer [role="alert"]', { hasText: 'fake.png: only images' }).waitFor();
  // A real picture: uploaded, sent with the caption, and Bob sees its thumbnail load.
  await fileInput.setInputFiles({ name: `pixel-${RUN}.png`, mimeType: 'image/png', buffer: png() });
  await a.page.locator('.place-view .uploads li.done').waitFor();
  await say(a.page, `A picture ${RUN}`);
  const pic = messageIn(b.page, `A picture ${RUN}`).locator('.attachments img');
  await pic.waitFor();
  assert.match(await pic.getAttribute('src'), /^\/api\/files\/[^/]+\/thumbnail$/);
  assert.equal(await pic.getAttribute('alt'), `pixel-${RUN}.png`);
  await b.page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await pic.elementHandle());

  // Alice pins the picture; Bob sees it pinned live and in the channel's pins.
  const alicePic = messageIn(a.page, `A picture ${RUN}`);
  await alicePic.hover();
  await alicePic.getByRole('button', { name: 'Pin message' }).click();
  await alicePic.getByRole('button', { name: 'Unpin message' }).waitFor();
  await messageIn(b.page, `A picture ${RUN}`).locator('.tag.pinned').waitFor();
  await b.page.getByRole('button', { name: 'Pinned messages, 1' }).click();
  await b.page.getByRole('list', { name: 'Pinned messages' }).locator('li', { hasText: `A picture ${RUN}` }).waitFor();
  await b.page.getByRole('button', { name: 'Close' }).click();

  // Channel notes, live: both open them; Alice saves, Bob's panel follows. Then Bob
  // edits while Alice saves again: Bob sees her change, his stale save is refused
  // (409), and he saves his text over hers, which Alice's panel shows live.
  await a.page.getByRole('button', { name: 'Channel notes' }).click();
  await b.page.getByRole('button', { name: 'Channel notes' }).click();
  const aNotes = a.page.locator('aside.notes-panel');
  const bNotes = b.page.locator('aside.notes-panel');
  await aNotes.getByText('No notes yet.').waitFor();
  await bNotes.getByText('No notes yet.').waitFor();
  await aNotes.getByRole('button', { name: 'Edit notes' }).click();
  await aNotes.locator('textarea[name="note"]').fill(`Agenda ${RUN}: ship the notes`);
  await aNotes.getByRole('button', { name: 'Save', exact: true }).click();
  await aNotes.locator('[data-testid="note-content"]', { hasText: `Agenda ${RUN}` }).waitFor();
  await bNotes.locator('[data-testid="note-content"]', { hasText: `Agenda ${RUN}` }).waitFor();
  await bNotes.getByRole('button', { name: 'Edit notes' }).click();
  await bNotes.locator('textarea[name="note"]').fill(`Bob's plan ${RUN}`);
  await aNotes.getByRole('button', { name: 'Edit notes' }).click();
  await aNotes.locator('textarea[name="note"]').fill(`Agenda v2 ${RUN}`);
  await aNotes.getByRole('button', { name: 'Save', exact: true }).click();
  await aNotes.locator('[data-testid="note-content"]', { hasText: `Agenda v2 ${RUN}` }).waitFor();
  const conflict = bNotes.locator('.conflict[role="alert"]');
  await conflict.getByText(`Alice ${RUN} changed these notes while you were editing`).waitFor();
  await conflict.locator('.theirs', { hasText: `Agenda v2 ${RUN}` }).waitFor();
  const refused = b.page.waitForResponse((r) => r.url().includes('/api/notes/channel') && r.request().method() === 'POST');
  await bNotes.getByRole('button', { name: 'Save', exact: true }).click();
  assert.equal((await refused).status(), 409, 'a save from the stale version is refused');
  await conflict.getByText('Your save was refused').waitFor();
  assert.equal(await bNotes.locator('textarea[name="note"]').inputValue(), `Bob's plan ${RUN}`, 'the draft is kept');
  await shot(b.page, 'notes-conflict.png');
  await conflict.getByRole('button', { name: 'Save mine over theirs' }).click();
  await bNotes.locator('[data-testid="note-content"]', { hasText: `Bob's plan ${RUN}` }).waitFor();
  await aNotes.locator('[data-testid="note-content"]', { hasText: `Bob's plan ${RUN}` }).waitFor();
  await a.page.getByRole('button', { name: 'Close notes' }).click();
  await b.page.getByRole('button', { name: 'Close notes' }).click();
  // Personal notes: Alice's own, kept by the server.
  await a.page.getByRole('button', { name: 'My notes' }).click();
  const mine = a.page.locator('aside.notes-panel');
  await mine.getByRole('button', { name: 'Edit notes' }).click();
  await mine.locator('textarea[name="note"]').fill(`Only for me ${RUN}`);
  await mine.getByRole('button', { name: 'Save', exact: true }).click();
  await mine.locator('[data-testid="note-content"]', { hasText: `Only for me ${RUN}` }).waitFor();
  await a.page.getByRole('button', { name: 'Close notes' }).click();
  const personal = await a.context.request.get(`${BASE}/api/notes/personal?workspaceId=${wsIdOf(a.page)}`);
  assert.equal((await personal.json()).content, `Only for me ${RUN}`);

  // Custom emoji: Alice adds one and reacts with it; Bob, whose list is older, sees the image.
  const emojiName = `e2e_${RUN}`;
  await a.page.getByRole('button', { name: 'Custom emoji' }).click();
  const emojiDialog = a.page.getByRole('dialog', { name: 'Custom emoji' });
  await emojiDialog.locator('input[name="emojiName"]').fill(emojiName);
  await emojiDialog.locator('input[name="emojiFile"]').setInputFiles({ name: 'e.png', mimeType: 'image/png', buffer: png(32) });
  await emojiDialog.getByRole('button', { name: 'Add emoji' }).click();
  await emojiDialog.getByRole('status').filter({ hasText: `:${emojiName}: added.` }).waitFor();
  await emojiDialog.getByRole('button', { name: 'Close' }).click();
  const target = messageIn(a.page, `After the reconnect ${RUN}`);
  await target.hover();
  await target.getByRole('button', { name: 'Add reaction' }).click();
  await a.page.getByRole('button', { name: `React with :${emojiName}:` }).click();
  const custom = messageIn(b.page, `After the reconnect ${RUN}`).locator(`button.reaction img[alt=":${emojiName}:"]`);
  await custom.waitFor();
  await b.page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await custom.elementHandle());
  await shot(b.page, 'custom-emoji.png');

  // Notifications. Bob's bell already counts Alice's DM: he clears it with "Mark all read".
  const bobBell = b.page.locator('button.bell');
  const bobCount = b.page.locator('[data-testid="bell-count"]');
  await bobCount.waitFor();
  await bobBell.click();
  const panel = b.page.getByRole('dialog', { name: 'Notifications' });
  await panel.locator('li.unread', { hasText: 'Direct message' }).first().waitFor();
  await panel.getByRole('button', { name: 'Mark all read' }).click();
  await bobCount.waitFor({ state: 'detached' });
  await b.page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  // Alice mentions Bob, picking him from the @ suggestions with the keyboard: his bell
  // counts it live; clicking it opens the message and marks it read.
  const box = a.page.locator('.place-view textarea[name="message"]');
  await box.fill('Have a look @bo');
  const option = a.page.getByRole('option', { name: `Bob ${RUN}` });
  await option.waitFor();
  await shot(a.page, 'mention-autocomplete.png');
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await option.getAttribute('id'));
  await box.press('Enter');
  assert.equal(await box.inputValue(), `Have a look @bob${RUN} `, 'Enter picks the suggestion, it does not send');
  await box.pressSequentially('please');
  await box.press('Enter');
  await bobCount.filter({ hasText: '1' }).waitFor();
  await bobBell.click();
  const mention = panel.locator('li.unread', { hasText: 'Have a look' });
  await mention.waitFor();
  await shot(b.page, 'notifications-panel.png');
  await mention.locator('button.open').click();
  await bobCount.waitFor({ state: 'detached' });
  await b.page.locator('.place-view article.msg.focused', { hasText: `Have a look @bob${RUN}` }).waitFor();
  const listed = await b.context.request.get(BASE + '/api/notifications?unreadOnly=true');
  assert.equal((await listed.json()).unreadCount, 0, 'the server has it read too');

  // Search: Alice finds a message by a word; highlights are <mark> nodes, markup stays text.
  await a.page.getByRole('searchbox', { name: 'Search messages' }).fill(`away ${RUN}`);
  await a.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  const results = a.page.locator('aside.search-panel');
  const hit = results.locator('button.result', { hasText: `While Bob was away ${RUN}` });
  await hit.waitFor();
  assert.ok((await hit.locator('mark').allInnerTexts()).some((t) => t.toLowerCase() === 'away'), 'the match is marked');
  await a.page.getByRole('searchbox', { name: 'Search messages' }).fill(`alice ${RUN}`);
  await a.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  await results.locator('button.result', { hasText: '<script>alert(1)</script>' }).waitFor();
  assert.equal(await results.locator('script').count(), 0, 'no markup from a highlight');
  await a.page.getByRole('searchbox', { name: 'Search messages' }).fill(`away ${RUN}`);
  await a.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
  await hit.waitFor();
  await shot(a.page, 'search-results.png');
  await hit.click();
  await a.page.locator('.place-view article.msg.focused', { hasText: `While Bob was away ${RUN}` }).waitFor();
  await a.page.getByRole('button', { name: 'Close search' }).click();

  // Members: Alice (the owner) makes Bob an admin.
  await a.page.getByRole('button', { name: 'Members', exact: true }).click();
  const roleOfBob = a.page.getByRole('combobox', { name: `Role of Bob ${RUN}` });
  await roleOfBob.selectOption('admin');
  await a.page.getByRole('status').filter({ hasText: `Bob ${RUN} is now admin.` }).waitFor();
  await shot(a.page, 'members.png');
  await a.page.getByRole('button', { name: 'Close' }).click();

  // Alice sees her sessions and turns on two-factor in the app: the key as text, a
  // code from it, then the backup codes once. She signs out and in again: the code
  // field appears, a backup code works, and she lands in her last workspace.
  await a.page.getByRole('button', { name: 'Sessions and security' }).click();
  const security = a.page.getByRole('dialog', { name: 'Sessions and security' });
  await security.locator('.sessions li', { hasText: 'This browser' }).waitFor();
  await security.getByRole('button', { name: 'Set up two-factor' }).click();
  await security.locator('input[name="currentPassword"]').fill(PASSWORD);
  await security.getByRole('button', { name: 'Continue' }).click();
  const secret = (await security.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
  await security.locator('input[name="totpSetupCode"]').fill(totp(secret));
  await security.getByRole('button', { name: 'Verify and turn on' }).click();
  const codes = security.getByRole('list', { name: 'Backup codes' }).locator('li');
  await codes.first().waitFor();
  const setup = { backupCodes: await codes.allInnerTexts() };
  assert.equal(setup.backupCodes.length, 10);
  await shot(a.page, 'security.png');
  await security.getByRole('button', { name: 'Close' }).click();
  await a.page.getByRole('button', { name: 'Sign out' }).click();
  await a.page.getByRole('heading', { name: 'Sign in to OComms' }).waitFor();
  await a.page.fill('input[name="email"]', a.email);
  await a.page.fill('input[name="password"]', PASSWORD);
  await a.page.getByRole('button', { name: 'Sign in' }).click();
  await a.page.locator('input[name="totpCode"]').fill(setup.backupCodes[0]);
  await a.page.getByRole('button', { name: 'Sign in' }).click();
  await a.page.locator('.ws-header h1', { hasText: `E2E ${RUN}` }).waitFor();
  await a.page.locator('.place-view h2').waitFor();

  // The session lives only in the HttpOnly cookie.
  const stored = await a.page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
  assert.deepEqual(stored, { local: 0, session: 0, cookie: '' });

  assert.deepEqual(problems, [], 'no CSP violations or page errors');
}
