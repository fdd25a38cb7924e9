import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fire, json, until } from './dom';
import { msg } from './helpers';
import { channel, group, member, user, workspace } from './fixtures';

const fetchMock = vi.hoisted(() => {
  const f = vi.fn();
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
});

const { app } = await import('../src/state/app');
const { fromLatestPage } = await import('../src/lib/sync');
const { MembersDialog } = await import('../src/ui/MembersDialog');
const { SecurityDialog } = await import('../src/ui/SecurityDialog');
const { Composer } = await import('../src/ui/Composer');
const { PlaceView } = await import('../src/ui/PlaceView');

const path = (i: number) => new URL((fetchMock.mock.calls[i][0] as Request).url).pathname;
const req = (i: number) => fetchMock.mock.calls[i][0] as Request;

const members = {
  me: member({ userId: 'me', name: 'Me Myself', email: 'me@example.com', role: 'owner', isGuest: false, workspaceId: 'w1' }),
  u2: member({ userId: 'u2', name: 'Ann Brown', email: 'ann@example.com', role: 'member', isGuest: false, workspaceId: 'w1' }),
  u3: member({ userId: 'u3', name: 'Andy Anders', email: 'andy@example.com', role: 'admin', isGuest: false, workspaceId: 'w1' }),
};

let root: HTMLElement;
function setUp(role: 'owner' | 'admin' | 'member' = 'owner') {
  app.set({
    phase: 'ready',
    user: user({ id: 'me', name: 'Me Myself', email: 'me@example.com' }),
    wsId: 'w1',
    workspaces: [workspace({ id: 'w1', name: 'Team', slug: 'team', role })],
    channels: [channel({ id: 'c1', workspaceId: 'w1', name: 'general', isMember: true })],
    members: { ...members, me: { ...members.me, role } },
    groups: [group({ id: 'g1', handle: 'designers', name: 'Design', memberIds: ['u2'] })],
    places: { 'channel:c1': { ...fromLatestPage({ messages: [msg(1)], hasMore: false }), loading: false, unreadAtOpen: null } },
    current: 'channel:c1',
    pending: [],
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
});

describe('members and roles', () => {
  it('lists members with roles; an owner changes a role and removes someone', async () => {
    setUp('owner');
    const list = Object.values(members);
    fetchMock.mockImplementation(async (r: Request) => {
      const p = new URL(r.url).pathname;
      if (r.method === 'GET') return json({ members: list });
      if (r.method === 'PATCH') return json({ ...members.u2, role: (await r.clone().json()).role });
      if (r.method === 'DELETE' && p.endsWith('/u3')) return json({ success: true });
      return json({}, 404);
    });
    (globalThis as unknown as { confirm: () => boolean }).confirm = () => true;
    await act(() => render(<MembersDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelectorAll('.members li')).toHaveLength(3));
    expect(path(0)).toBe('/api/workspaces/w1/members');
    const names = [...document.querySelectorAll('.members li .name')].map((e) => e.textContent);
    expect(names).toEqual(['Me Myself', 'Andy Anders', 'Ann Brown']);
    // No control over oneself.
    expect(document.querySelector('li[data-member="me"] select')).toBeNull();
    const sel = document.querySelector<HTMLSelectElement>('select[aria-label="Role of Ann Brown"]')!;
    sel.value = 'admin';
    await fire(sel, new Event('change', { bubbles: true }));
    await until(() => expect(document.querySelector('[role="status"]')?.textContent).toBe('Ann Brown is now admin.'));
    expect(req(1).method).toBe('PATCH');
    expect(path(1)).toBe('/api/workspaces/w1/members/u2');
    expect(await req(1).clone().json()).toEqual({ role: 'admin' });
    expect(app.state.members.u2.role).toBe('admin');

    await fire(document.querySelector('button[aria-label="Remove Andy Anders"]')!, new MouseEvent('click', { bubbles: true }));
    await until(() => expect(document.querySelector('li[data-member="u3"]')).toBeNull());
    expect(req(2).method).toBe('DELETE');
    expect(path(2)).toBe('/api/workspaces/w1/members/u3');
  });

  it("shows the server's refusal and keeps the role", async () => {
    setUp('owner');
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'GET') return json({ members: Object.values(members) });
      return json({ error: { code: 'CONFLICT', message: 'a workspace needs an owner: make someone else owner first' } }, 409);
    });
    await act(() => render(<MembersDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelector('select[aria-label="Role of Ann Brown"]')).not.toBeNull());
    const sel = document.querySelector<HTMLSelectElement>('select[aria-label="Role of Ann Brown"]')!;
    sel.value = 'owner';
    await fire(sel, new Event('change', { bubbles: true }));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toBe('a workspace needs an owner: make someone else owner first'));
    expect(sel.value).toBe('member');
  });

  it('a plain member sees roles but no controls', async () => {
    setUp('member');
    fetchMock.mockImplementation(async () => json({ members: [{ ...members.me, role: 'member' }, members.u2, members.u3] }));
    await act(() => render(<MembersDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelectorAll('.members li')).toHaveLength(3));
    expect(document.querySelectorAll('.members select, .members button.danger')).toHaveLength(0);
    expect(document.querySelector('li[data-member="u3"] .tag.role')!.textContent).toBe('Admin');
  });

  it('member:updated changes a role live', () => {
    setUp('admin');
    app.onEvent('member:updated', { member: { ...members.me, role: 'owner' } });
    expect(app.state.members.me.role).toBe('owner');
    expect(app.state.workspaces[0].role).toBe('owner');
    expect(app.myRole()).toBe('owner');
  });
});

describe('sessions and two-factor', () => {
  const sessions = [
    { id: 's1', userId: 'me', current: true, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36', ipAddress: '10.0.0.1', createdAt: '2026-01-01T10:00:00Z', expiresAt: '2026-02-01T10:00:00Z' },
    { id: 's2', userId: 'me', current: false, userAgent: 'Mozilla/5.0 (Windows NT 10.0) Firefox/128.0', ipAddress: '10.0.0.2', createdAt: '2026-01-02T10:00:00Z', expiresAt: '2026-02-01T10:00:00Z' },
  ];

  it('lists sessions, the current one marked, and revokes another', async () => {
    setUp();
    let live = sessions.slice();
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'GET') return json({ sessions: live });
      const body = await r.clone().json();
      live = live.filter((s) => s.id !== body.sessionId);
      return json({ revoked: 1 });
    });
    await act(() => render(<SecurityDialog onClose={() => undefined} />, root));
    await until(() => expect(document.querySelectorAll('.sessions li')).toHaveLength(2));
    expect(document.querySelector('li[data-session="s1"]')!.textContent).toContain('This browser');
    expect(document.querySelector('li[data-session="s1"] button')).toBeNull();
    const revoke = document.querySelector<HTMLButtonElement>('li[data-session="s2"] button')!;
    expect(revoke.getAttribute('aria-label')).toMatch(/^Sign out Firefox on Windows at 10\.0\.0\.2/);
    await fire(revoke, new MouseEvent('click', { bubbles: true }));
    await until(() => expect(document.querySelectorAll('.sessions li')).toHaveLength(1));
    expect(path(1)).toBe('/api/sessions/revoke');
    expect(await req(1).clone().json()).toEqual({ sessionId: 's2' });
    expect(document.querySelector('section [role="status"]')!.textContent).toBe('One session was signed out.');
  });

  it('enables two-factor: password, secret and URI as text, a code, then the backup codes once', async () => {
    setUp();
    const setup = { secret: 'QGY5GCZEZEEZ4CBW', otpauthUrl: 'otpauth://totp/OComms:me%40example.com?secret=QGY5GCZEZEEZ4CBW&issuer=OComms', backupCodes: ['aaaa-1111', 'bbbb-2222'] };
    fetchMock.mockImplementation(async (r: Request) => {
      const p = new URL(r.url).pathname;
      if (p === '/api/sessions') return json({ sessions: [] });
      if (p === '/api/auth/two-factor/enable') return json(setup);
      const { code } = await r.clone().json();
      return code === '123456' ? json({ enabled: true }) : json({ error: { code: 'VALIDATION_ERROR', message: 'code: is not a valid current code' } }, 400);
    });
    await act(() => render(<SecurityDialog onClose={() => undefined} />, root));
    const click = (name: string) => fire([...document.querySelectorAll('button')].find((b) => b.textContent === name)!, new MouseEvent('click', { bubbles: true }));
    const type = (sel: string, v: string) => {
      const i = document.querySelector<HTMLInputElement>(sel)!;
      i.value = v;
      return fire(i, new Event('input', { bubbles: true }));
    };
    await click('Set up two-factor');
    await type('input[name="currentPassword"]', 'secret password');
    await fire(document.querySelector('form[aria-label="Set up two-factor"]')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[data-testid="totp-secret"]')?.textContent).toBe('QGY5 GCZE ZEEZ 4CBW'));
    const enable = fetchMock.mock.calls.map((c) => c[0] as Request).find((r) => r.url.endsWith('/enable'))!;
    expect(await enable.clone().json()).toEqual({ password: 'secret password' });
    expect(document.querySelector('[data-testid="otpauth"]')!.getAttribute('href')).toBe(setup.otpauthUrl);
    expect(document.body.textContent).toContain(setup.otpauthUrl);
    expect(document.querySelector('.codes')).toBeNull();

    await type('input[name="totpSetupCode"]', '000000');
    await fire(document.querySelector('form[aria-label="Verify two-factor"]')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelector('[role="alert"]')?.textContent).toBe('code: is not a valid current code'));
    await type('input[name="totpSetupCode"]', '123 456');
    await fire(document.querySelector('form[aria-label="Verify two-factor"]')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(document.querySelectorAll('.codes li')).toHaveLength(2));
    const verify = fetchMock.mock.calls.map((c) => c[0] as Request).filter((r) => r.url.endsWith('/verify')).pop()!;
    expect(await verify.clone().json()).toEqual({ code: '123456' });
    expect(document.body.textContent).toContain('Two-factor sign-in is on.');
    expect(document.body.textContent).toContain('shown only this once');
  });
});

describe('@ autocomplete in the composer', () => {
  async function typeIn(box: HTMLTextAreaElement, value: string) {
    box.value = value;
    box.setSelectionRange(value.length, value.length);
    await fire(box, new Event('input', { bubbles: true }));
  }
  const key = (box: Element, k: string) => fire(box, new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));

  it('is a combobox: suggestions as a listbox, Up/Down, Enter picks, Tab picks, Escape closes', async () => {
    setUp();
    await act(() => render(<Composer placeKey="channel:c1" label="Message #general" />, root));
    const box = root.querySelector<HTMLTextAreaElement>('textarea[name="message"]')!;
    expect(box.getAttribute('role')).toBe('combobox');
    expect(box.getAttribute('aria-expanded')).toBe('false');
    await typeIn(box, 'hi @an');
    const list = root.querySelector('[role="listbox"]')!;
    expect(box.getAttribute('aria-expanded')).toBe('true');
    expect(box.getAttribute('aria-controls')).toBe(list.id);
    const options = () => [...root.querySelectorAll('[role="option"]')];
    expect(options().map((o) => o.querySelector('span')!.textContent)).toEqual(['Andy Anders', 'Ann Brown']);
    expect(box.getAttribute('aria-activedescendant')).toBe(options()[0].id);
    await key(box, 'ArrowDown');
    expect(options()[1].getAttribute('aria-selected')).toBe('true');
    expect(box.getAttribute('aria-activedescendant')).toBe(options()[1].id);
    await key(box, 'ArrowDown'); // wraps
    expect(options()[0].getAttribute('aria-selected')).toBe('true');
    await key(box, 'ArrowUp');
    await key(box, 'Enter');
    expect(box.value).toBe('hi @annbrown ');
    expect(root.querySelector('[role="listbox"]')).toBeNull();
    expect(fetchMock).not.toHaveBeenCalled(); // Enter picked; it did not send

    await typeIn(box, 'hi @annbrown and @de');
    expect(options().map((o) => o.querySelector('span')!.textContent)).toEqual(['@designers']);
    await key(box, 'Tab');
    expect(box.value).toBe('hi @annbrown and @designers ');

    await typeIn(box, 'ping @h');
    expect(options().map((o) => o.querySelector('span')!.textContent)).toEqual(['@here']);
    await key(box, 'Escape');
    expect(root.querySelector('[role="listbox"]')).toBeNull();
    expect(box.getAttribute('aria-expanded')).toBe('false');
    // Hidden for that token while it is typed on; a new token asks again.
    await typeIn(box, 'ping @he');
    expect(root.querySelector('[role="listbox"]')).toBeNull();
    await typeIn(box, 'ping @he and @c');
    expect(options().map((o) => o.querySelector('span')!.textContent)).toEqual(['@channel']);
  });

  it('a click on a suggestion picks it', async () => {
    setUp();
    await act(() => render(<Composer placeKey="channel:c1" label="Message #general" />, root));
    const box = root.querySelector<HTMLTextAreaElement>('textarea[name="message"]')!;
    await typeIn(box, '@ann');
    await fire(root.querySelector('[role="option"]')!, new MouseEvent('mousedown', { bubbles: true, cancelable: true }));
    expect(box.value).toBe('@annbrown ');
  });
});

describe('pins and saved messages', () => {
  it('pins from the message actions, lists pins, and follows pin:update', async () => {
    setUp();
    app.set({ pins: { c1: [] }, bookmarks: [] });
    fetchMock.mockImplementation(async (r: Request) => {
      const p = new URL(r.url).pathname;
      if (p === '/api/channels/c1/pins' && r.method === 'POST') return json(await r.clone().json());
      if (p === '/api/channels/c1/pins') return json({ messages: app.state.pins.c1 ?? [], hasMore: false });
      return json({}, 404);
    });
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const pinBtn = () => root.querySelector<HTMLButtonElement>('article.msg[data-id="m1"] button[title*="the channel"]')!;
    expect(pinBtn().getAttribute('aria-label')).toBe('Pin message');
    expect(pinBtn().getAttribute('aria-pressed')).toBe('false');
    await fire(pinBtn(), new MouseEvent('click', { bubbles: true }));
    await until(() => expect(pinBtn().getAttribute('aria-label')).toBe('Unpin message'));
    expect(await req(0).clone().json()).toEqual({ messageId: 'm1', pinned: true });
    expect(root.querySelector('article.msg[data-id="m1"] .tag.pinned')).not.toBeNull();
    expect(root.querySelector('.pins-button')!.getAttribute('aria-label')).toBe('Pinned messages, 1');

    // The pins panel lists it and unpins it.
    await fire(root.querySelector('.pins-button')!, new MouseEvent('click', { bubbles: true }));
    await until(() => expect(document.querySelectorAll('ul[aria-label="Pinned messages"] li')).toHaveLength(1));
    await fire(document.querySelector('button[aria-label="Unpin: message 1"]')!, new MouseEvent('click', { bubbles: true }));
    await until(() => expect(document.querySelectorAll('ul[aria-label="Pinned messages"] li')).toHaveLength(0));
    expect(pinBtn().getAttribute('aria-label')).toBe('Pin message');

    // Someone else pins it: live.
    await act(() => app.onEvent('pin:update', { channelId: 'c1', messageId: 'm1', pinned: true, by: 'u2' }));
    expect(pinBtn().getAttribute('aria-pressed')).toBe('true');
    await act(() => app.onEvent('pin:update', { channelId: 'c1', messageId: 'm1', pinned: false, by: 'u2' }));
    expect(pinBtn().getAttribute('aria-pressed')).toBe('false');
  });

  it('saves a message and removes it again', async () => {
    setUp();
    app.set({ pins: { c1: [] }, bookmarks: [] });
    fetchMock.mockImplementation(async (r: Request) => {
      if (r.method === 'POST') return json({ id: 'b1', messageId: 'm1', workspaceId: 'w1', message: msg(1) }, 201);
      if (r.method === 'DELETE') return json({ success: true });
      return json({}, 404);
    });
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const save = () => root.querySelector<HTMLButtonElement>('article.msg[data-id="m1"] button[title="Save for later"], article.msg[data-id="m1"] button[title="Remove from saved messages"]')!;
    expect(save().getAttribute('aria-label')).toBe('Save message');
    await fire(save(), new MouseEvent('click', { bubbles: true }));
    await until(() => expect(save().getAttribute('aria-label')).toBe('Remove from saved'));
    expect(await req(0).clone().json()).toEqual({ messageId: 'm1' });
    await fire(save(), new MouseEvent('click', { bubbles: true }));
    await until(() => expect(save().getAttribute('aria-label')).toBe('Save message'));
    expect(req(1).method).toBe('DELETE');
    expect(path(1)).toBe('/api/bookmarks/b1');
  });
});
