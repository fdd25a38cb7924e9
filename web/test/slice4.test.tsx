import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { button, click, fire, json, type, until } from './dom';
import { msg } from './helpers';
import { channel, emoji, member, note, user, workspace } from './fixtures';

const fetchMock = vi.hoisted(() => {
  const f = vi.fn();
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
});

const { app } = await import('../src/state/app');
const { fromLatestPage } = await import('../src/lib/sync');
const notes = await import('../src/lib/notes');
const { emojiProblem, findCustom, shortcodeName } = await import('../src/lib/emoji');
const { NotesPanel } = await import('../src/ui/NotesPanel');
const { PlaceView } = await import('../src/ui/PlaceView');
const { TopBar } = await import('../src/ui/TopBar');
const { EmojiDialog } = await import('../src/ui/EmojiDialog');
const { InviteDialog } = await import('../src/ui/dialogs');

const reqs = () => fetchMock.mock.calls.map((c) => c[0] as Request);
const url = (r: Request) => {
  const u = new URL(r.url);
  return u.pathname + u.search;
};

const PARTY = emoji({ id: 'e1', name: 'party', url: '/api/files/f1', createdBy: 'me', workspaceId: 'w1' });

let root: HTMLElement;
function setUp(role: 'owner' | 'admin' | 'member' = 'owner', messages = [msg(1)]) {
  app.closeNotes();
  app.set({
    phase: 'ready',
    user: user({ id: 'me', name: 'Me Myself', email: 'me@example.com' }),
    wsId: 'w1',
    workspaces: [workspace({ id: 'w1', name: 'Team', slug: 'team', role })],
    channels: [channel({ id: 'c1', workspaceId: 'w1', name: 'general', isMember: true })],
    members: {
      me: member({ userId: 'me', name: 'Me Myself', role, isGuest: false }),
      u2: member({ userId: 'u2', name: 'Ann Brown', role: 'member', isGuest: false }),
    },
    places: { 'channel:c1': { ...fromLatestPage({ messages, hasMore: false }), loading: false, unreadAtOpen: null } },
    current: 'channel:c1',
    pending: [],
    connected: true,
    thread: null,
    search: null,
    notes: {},
    notesPanel: null,
    emoji: [],
  });
}
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  fetchMock.mockReset();
});
afterEach(() => {
  render(null, root);
  root.remove();
  document.body.innerHTML = '';
  (app as unknown as { socket: unknown }).socket = null;
});

describe('notes: versions and conflicts', () => {
  const n = (version: number, content: string, updatedBy = 'u2') => note({ content, version, updatedBy });

  it('while reading, newer versions show and older ones are ignored', () => {
    let v = notes.received(notes.emptyNoteView(), n(1, 'one'), 'me');
    v = notes.received(v, n(3, 'three'), 'me');
    v = notes.received(v, n(2, 'two'), 'me');
    expect(v.note!.content).toBe('three');
    expect(notes.hasConflict(v)).toBe(false);
  });

  it("while editing, someone else's save is a conflict; the echo of our own is not", () => {
    let v = notes.startEditing(notes.received(notes.emptyNoteView(), n(1, 'one'), 'me'));
    v = notes.typed(v, 'mine');
    expect(v.base).toBe(1);
    const sending = notes.savingStarted(v);
    const echoed = notes.received(sending, n(2, 'mine', 'me'), 'me');
    expect(notes.hasConflict(echoed)).toBe(false);
    expect(notes.saved(echoed, n(2, 'mine', 'me')).draft).toBeNull();

    const theirs = notes.received(v, n(2, 'theirs'), 'me');
    expect(notes.hasConflict(theirs)).toBe(true);
    expect(theirs.draft).toBe('mine');
    expect(theirs.note!.content).toBe('theirs');
    // Overwriting bases the draft on their version; a reload drops the draft.
    expect(notes.overwriting(theirs).base).toBe(2);
    expect(notes.hasConflict(notes.overwriting(theirs))).toBe(false);
    expect(notes.stopEditing(theirs).draft).toBeNull();
  });

  it('a refused save keeps the draft and learns the current version', () => {
    const v = notes.savingStarted(notes.typed(notes.startEditing(notes.received(notes.emptyNoteView(), n(1, 'one'), 'me')), 'mine'));
    const r = notes.refusedAsStale(v, n(4, 'four'), 4);
    expect(r).toMatchObject({ refused: true, saving: false, draft: 'mine', base: 1 });
    expect(notes.hasConflict(r)).toBe(true);
    // Without the current text, the version still says the draft is behind.
    const blind = notes.refusedAsStale(v, null, 4);
    expect(blind.note!.version).toBe(4);
    expect(notes.hasConflict(blind)).toBe(true);
  });

  it('text typed while a save was in flight stays as a draft on the new version', () => {
    const v = notes.typed(notes.savingStarted(notes.typed(notes.startEditing(notes.received(notes.emptyNoteView(), n(1, 'one'), 'me')), 'mine')), 'mine and more');
    const s = notes.saved(v, n(2, 'mine', 'me'), 'mine');
    expect(s).toMatchObject({ draft: 'mine and more', base: 2, saving: false });
  });
});

describe('channel notes panel', () => {
  it('opens from the channel header, loads the note and follows saves live', async () => {
    setUp();
    fetchMock.mockImplementation(async () => json({ content: 'Agenda', version: 1, channelId: 'c1', updatedBy: 'u2' }));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    await click(button('Channel notes'));
    expect(app.state.notesPanel).toBe('channel:c1');
    await until(() => expect(button('Channel notes')!.getAttribute('aria-pressed')).toBe('true'));
    render(null, root);
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('Agenda'));
    expect(reqs().some((r) => url(r) === '/api/notes/channel?channelId=c1')).toBe(true);
    expect(document.querySelector('.note-meta')!.textContent).toContain('Ann Brown');

    await act(() => app.onEvent('note:updated', { channelId: 'c1', content: 'Agenda v2', version: 2, updatedBy: 'u2' }));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('Agenda v2'));
    // An older event (crossing a save) changes nothing.
    await act(() => app.onEvent('note:updated', { channelId: 'c1', content: 'old', version: 1, updatedBy: 'u2' }));
    expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('Agenda v2');
  });

  it('a change while editing shows theirs; a stale save is refused (409) and then saved over theirs', async () => {
    setUp();
    let serverVersion = 1;
    const posted: unknown[] = [];
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'GET') return json({ content: serverVersion === 1 ? 'Agenda' : 'Their agenda', version: serverVersion, channelId: 'c1', updatedBy: 'u2' });
      const body = await r.clone().json();
      posted.push(body);
      if (body.version !== serverVersion)
        return json({ error: { code: 'CONFLICT', message: 'the note changed since you loaded it; reload and reapply your edit', details: { currentVersion: serverVersion } } }, 409);
      serverVersion += 1;
      return json({ content: body.content, version: serverVersion, channelId: 'c1', updatedBy: 'me' });
    });
    await act(() => app.openNotes('channel:c1'));
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(button('Edit notes')).not.toBeNull());
    await click(button('Edit notes'));
    const box = document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!;
    expect(box.value).toBe('Agenda');
    expect(box.getAttribute('aria-label')).toBe('Notes for #general');
    await type(box, 'My agenda');

    // Ann saves meanwhile: live, so the panel says so before any save.
    serverVersion = 2;
    await act(() => app.onEvent('note:updated', { channelId: 'c1', content: 'Their agenda', version: 2, updatedBy: 'u2' }));
    await until(() => expect(document.querySelector('.conflict[role="alert"]')?.textContent).toContain('Ann Brown changed these notes while you were editing.'));
    expect(document.querySelector('.conflict .theirs')!.textContent).toBe('Their agenda');
    expect(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!.value).toBe('My agenda');

    // Saving anyway sends the version the edit started from: refused, nothing lost.
    await click(button('Save'));
    await until(() => expect(document.querySelector('.conflict')?.textContent).toContain('Your save was refused'));
    expect(posted[0]).toEqual({ content: 'My agenda', version: 1, channelId: 'c1' });
    expect(url(reqs().find((r) => r.method === 'POST')!)).toBe('/api/notes/channel');
    expect(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!.value).toBe('My agenda');

    await click(button('Save mine over theirs'));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('My agenda'));
    expect(posted[1]).toEqual({ content: 'My agenda', version: 2, channelId: 'c1' });
    expect(document.querySelector('.conflict')).toBeNull();
    expect(app.state.notes['channel:c1'].note!.version).toBe(3);
  });

  it('"Discard mine" drops the draft and shows their version', async () => {
    setUp();
    fetchMock.mockImplementation(async () => json({ content: 'Agenda', version: 1 }));
    await act(() => app.openNotes('channel:c1'));
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(button('Edit notes')).not.toBeNull());
    await click(button('Edit notes'));
    await type(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!, 'draft');
    await act(() => app.onEvent('note:updated', { channelId: 'c1', content: 'Theirs', version: 2, updatedBy: 'u2' }));
    await until(() => expect(button('Discard mine, show theirs')).not.toBeNull());
    await click(button('Discard mine, show theirs'));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('Theirs'));
    expect(document.querySelector('textarea[name="note"]')).toBeNull();
  });

  it('subscribes over the socket while open (the answer is the note) and unsubscribes on close', async () => {
    setUp();
    const sent: [string, unknown][] = [];
    (app as unknown as { socket: unknown }).socket = {
      state: 'open',
      canSend: true,
      emit: () => true,
      stop: () => undefined,
      request: async (event: string, data: unknown) => {
        sent.push([event, data]);
        return event === 'note:subscribe' ? { content: 'From the socket', version: 5, channelId: 'c1' } : { channelId: 'c1' };
      },
    };
    await act(() => app.openNotes('channel:c1'));
    expect(sent).toEqual([['note:subscribe', { channelId: 'c1' }]]);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(app.state.notes['channel:c1'].note).toMatchObject({ content: 'From the socket', version: 5 });
    app.closeNotes();
    expect(sent[1]).toEqual(['note:unsubscribe', { channelId: 'c1' }]);
    expect(app.state.notesPanel).toBeNull();
    // A thread takes the side panel's place.
    await act(() => app.openNotes('channel:c1'));
    fetchMock.mockImplementation(async () => json({ messages: [], hasMore: false }));
    await act(() => app.openThread('channel:c1', 'm1'));
    expect(app.state.notesPanel).toBeNull();
    expect(sent.at(-1)).toEqual(['note:unsubscribe', { channelId: 'c1' }]);
  });
});

describe('personal notes', () => {
  it('open from the top bar, load by workspace and save with the version', async () => {
    setUp();
    fetchMock.mockImplementation(async (r: Request) =>
      r.method === 'GET' ? json({ content: '', version: 0, workspaceId: 'w1' }) : json({ ...(await r.clone().json()), version: 1, workspaceId: 'w1', updatedBy: 'me' }),
    );
    await act(() => render(<TopBar navOpen={false} onMenu={() => undefined} />, root));
    await click(button('My notes'));
    expect(app.state.notesPanel).toBe('personal:w1');
    render(null, root);
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toContain('No notes yet.'));
    expect(url(reqs()[0])).toBe('/api/notes/personal?workspaceId=w1');
    expect(document.querySelector('aside')!.getAttribute('aria-label')).toBe('My notes');
    await click(button('Edit notes'));
    await type(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!, '- call Ann');
    await click(button('Save'));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('- call Ann'));
    expect(document.activeElement?.textContent).toBe('Edit notes');
    const post = reqs().find((r) => r.method === 'POST')!;
    expect(url(post)).toBe('/api/notes/personal');
    expect(await post.clone().json()).toEqual({ content: '- call Ann', version: 0, workspaceId: 'w1' });
  });

  it("follow saves made in the user's other windows live", async () => {
    setUp();
    fetchMock.mockImplementation(async () => json({ content: 'first', version: 1, workspaceId: 'w1' }));
    await act(() => app.openNotes('personal:w1'));
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('first'));
    await act(() => app.onEvent('note:updated', { workspaceId: 'w1', personal: true, content: 'from my phone', version: 2, updatedBy: 'me' }));
    await until(() => expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('from my phone'));
    // Another workspace's personal note is not this one.
    await act(() => app.onEvent('note:updated', { workspaceId: 'w2', personal: true, content: 'elsewhere', version: 3, updatedBy: 'me' }));
    expect(document.querySelector('[data-testid="note-content"]')?.textContent).toBe('from my phone');
  });

  it('a network failure keeps the draft and says so', async () => {
    setUp();
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'GET') return json({ content: 'x', version: 1 });
      throw new TypeError('Failed to fetch');
    });
    await act(() => app.openNotes('personal:w1'));
    await act(() => render(<NotesPanel />, root));
    await until(() => expect(button('Edit notes')).not.toBeNull());
    await click(button('Edit notes'));
    await type(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!, 'y');
    await click(button('Save'));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toMatch(/offline/i));
    expect(document.querySelector<HTMLTextAreaElement>('textarea[name="note"]')!.value).toBe('y');
  });
});

describe('custom emoji', () => {
  it('shortcodes, lookups and pre-checks', () => {
    expect(shortcodeName(':party_parrot:')).toBe('party_parrot');
    expect(shortcodeName('👍')).toBeNull();
    expect(shortcodeName(':a:')).toBeNull();
    expect(findCustom([PARTY], ':party:')).toBe(PARTY);
    expect(findCustom([PARTY], ':nope:')).toBeUndefined();
    expect(emojiProblem('x', null)).toMatch(/2 to 32/);
    expect(emojiProblem('ok_name', null)).toMatch(/PNG or GIF/);
    expect(emojiProblem('ok_name', { size: 10, type: 'image/jpeg' })).toMatch(/Only PNG or GIF/);
    expect(emojiProblem('ok_name', { size: 300 * 1024, type: 'image/png' })).toMatch(/256 KB/);
    expect(emojiProblem(':Ok_Name:', { size: 10, type: 'image/png' })).toBeNull();
  });

  it('the picker offers the workspace emoji and reacts with :name:', async () => {
    setUp();
    app.set({ emoji: [PARTY] });
    fetchMock.mockImplementation(async () => json({ ...msg(1), reactions: [{ emoji: ':party:', count: 1, userIds: ['me'] }] }));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    await click(document.querySelector('article.msg button[aria-label="Add reaction"]'));
    const pick = document.querySelector<HTMLButtonElement>('button[aria-label="React with :party:"]')!;
    expect(pick.querySelector('img')!.getAttribute('src')).toBe('/api/files/f1');
    await click(pick);
    await until(() => expect(document.querySelector('button.reaction img')).not.toBeNull());
    const post = reqs().find((r) => new URL(r.url).pathname === '/api/messages/m1/reactions')!;
    expect(await post.clone().json()).toEqual({ emoji: ':party:' });
    const img = document.querySelector('button.reaction img')!;
    expect(img.getAttribute('alt')).toBe(':party:');
    expect(img.getAttribute('src')).toBe('/api/files/f1');
  });

  it('a reaction with an emoji added since the list loaded fetches the list again', async () => {
    setUp('member', [msg(1, { reactions: [{ emoji: ':fresh:', count: 1, userIds: ['u2'] }] })]);
    fetchMock.mockImplementation(async () => json({ emoji: [{ id: 'e2', name: 'fresh', url: '/api/files/f2' }] }));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    expect(document.querySelector('button.reaction')!.textContent).toContain(':fresh:');
    await until(() => expect(document.querySelector('button.reaction img')?.getAttribute('src')).toBe('/api/files/f2'));
    expect(reqs().some((r) => new URL(r.url).pathname === '/api/workspaces/w1/emoji')).toBe(true);
  });

  it('an admin uploads one (workspaceId and name before the file); the server has the last word', async () => {
    setUp('admin');
    let n = 0;
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'GET') return json({ emoji: [PARTY] });
      n += 1;
      if (n === 1) return json({ id: 'e3', name: 'ship_it', url: '/api/files/f3', createdBy: 'me' }, 201);
      return json({ error: { code: 'CONFLICT', message: 'an emoji with this name exists' } }, 409);
    });
    await act(() => render(<EmojiDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelectorAll('.emoji-list li')).toHaveLength(1));
    const name = document.querySelector<HTMLInputElement>('input[name="emojiName"]')!;
    const file = document.querySelector<HTMLInputElement>('input[name="emojiFile"]')!;
    // Checked here first: no request for a bad name.
    await type(name, 'x');
    await fire(document.querySelector('form.emoji-upload')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toMatch(/2 to 32/));
    expect(reqs().filter((r) => r.method === 'POST')).toHaveLength(0);

    await type(name, ':Ship_It:');
    const png = new File([new Uint8Array([137, 80, 78, 71])], 'ship.png', { type: 'image/png' });
    Object.defineProperty(file, 'files', { value: [png], configurable: true });
    await fire(file, new Event('change', { bubbles: true }));
    await fire(document.querySelector('form.emoji-upload')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[role="status"]')?.textContent).toBe(':ship_it: added.'));
    const up = reqs().find((r) => r.method === 'POST')!;
    expect(new URL(up.url).pathname).toBe('/api/upload/emoji');
    const form = await up.clone().formData();
    expect([...form.keys()]).toEqual(['workspaceId', 'name', 'file']);
    expect(form.get('workspaceId')).toBe('w1');
    expect(form.get('name')).toBe('ship_it');
    expect((form.get('file') as File).name).toBe('ship.png');
    expect(app.state.emoji.map((e) => e.name)).toEqual(['party', 'ship_it']);

    await type(name, 'ship_it');
    Object.defineProperty(file, 'files', { value: [png], configurable: true });
    await fire(file, new Event('change', { bubbles: true }));
    await fire(document.querySelector('form.emoji-upload')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toBe('an emoji with this name exists'));
  });

  it('members see the list without the upload form', async () => {
    setUp('member');
    fetchMock.mockImplementation(async () => json({ emoji: [{ ...PARTY, createdBy: 'u2' }] }));
    await act(() => render(<EmojiDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelectorAll('.emoji-list li')).toHaveLength(1));
    expect(document.querySelector('form.emoji-upload')).toBeNull();
    expect(button('Remove :party:')).toBeNull();
  });
});

describe('invite by email', () => {
  it('sends an invitation to an address', async () => {
    setUp('owner');
    fetchMock.mockImplementation(async (r: Request) => {
      const body = await r.clone().json();
      return json({ token: body.email ? 'tok2' : 'tok1', url: 'x', email: body.email ?? null, role: body.role ?? 'member' }, 201);
    });
    await act(() => render(<InviteDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelector<HTMLInputElement>('input[name="inviteLink"]')?.value).toMatch(/\/invite\/tok1$/));
    await type(document.querySelector<HTMLInputElement>('input[name="inviteEmail"]')!, 'carol@example.com');
    const role = document.querySelector<HTMLSelectElement>('select[name="inviteRole"]')!;
    role.value = 'admin';
    await fire(role, new Event('change', { bubbles: true }));
    await fire(document.querySelector('form.invite-email')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[role="status"]')?.textContent).toContain('Invitation sent to carol@example.com'));
    const post = reqs()[1];
    expect(new URL(post.url).pathname).toBe('/api/workspaces/w1/invites');
    expect(await post.clone().json()).toEqual({ email: 'carol@example.com', role: 'admin' });
    expect(document.querySelector<HTMLInputElement>('input[name="inviteEmail"]')!.value).toBe('');
  });

  it('admins cannot invite admins; members see no email form', async () => {
    setUp('admin');
    fetchMock.mockImplementation(async () => json({ token: 't', url: 'x' }, 201));
    await act(() => render(<InviteDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelector('input[name="inviteEmail"]')).not.toBeNull());
    expect(document.querySelector('select[name="inviteRole"]')).toBeNull();
    render(null, root);
    setUp('member');
    fetchMock.mockImplementation(async () => json({ error: { code: 'FORBIDDEN', message: 'only admins and owners can invite' } }, 403));
    await act(() => render(<InviteDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toBe('only admins and owners can invite'));
    expect(document.querySelector('input[name="inviteEmail"]')).toBeNull();
  });
});
