import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fire, json, until } from './dom';
import { msg } from './helpers';
import { attachment, channel, member, searchResult, user, workspace } from './fixtures';

const fetchMock = vi.hoisted(() => {
  const f = vi.fn();
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
});

const { app } = await import('../src/state/app');
const { fromLatestPage } = await import('../src/lib/sync');
const { PlaceView } = await import('../src/ui/PlaceView');
const { TopBar } = await import('../src/ui/TopBar');
const { SearchPanel } = await import('../src/ui/SearchPanel');


let root: HTMLElement;


function setUp(messages = [msg(1)]) {
  app.set({
    phase: 'ready',
    user: user({ id: 'me', name: 'Me Myself', email: 'me@example.com' }),
    wsId: 'w1',
    workspaces: [workspace({ id: 'w1', name: 'Team', slug: 'team', role: 'owner' })],
    channels: [channel({ id: 'c1', workspaceId: 'w1', name: 'general', isMember: true })],
    members: { u2: member({ userId: 'u2', name: 'Ann Other', role: 'member', isGuest: false }) },
    places: { 'channel:c1': { ...fromLatestPage({ messages, hasMore: false }), loading: false, unreadAtOpen: null } },
    current: 'channel:c1',
    pending: [],
    connected: true,
    notifications: [],
    notifUnread: 0,
    search: null,
    focus: null,
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
});

function pick(input: HTMLInputElement, files: File[]) {
  Object.defineProperty(input, 'files', { value: files, configurable: true });
  return fire(input, new Event('change', { bubbles: true }));
}

describe('attachments', () => {
  it('uploads a picked file, then sends the message with its id', async () => {
    setUp();
    const uploaded = { id: 'f1', url: '/api/files/f1', filename: 'cat.png', size: 4, mimeType: 'image/png', thumbnailUrl: '/api/files/f1/thumbnail' };
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (path === '/api/upload/attachment') return json(uploaded);
      const body = JSON.parse(await req.clone().text());
      return json(msg(2, { id: 's2', authorId: 'me', content: body.content, clientMsgId: body.clientMsgId, attachments: [uploaded] }), 201);
    });
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    await pick(root.querySelector('input[type="file"]')!, [new File([new Uint8Array([1, 2, 3, 4])], 'cat.png', { type: 'image/png' })]);
    await until(() => expect(root.querySelector('.uploads li.done')).not.toBeNull());
    const up = fetchMock.mock.calls[0][0] as Request;
    expect(up.method).toBe('POST');
    expect(up.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(((await up.clone().formData()).get('file') as File).name).toBe('cat.png');

    // Only a file, no text: Send is enabled and the message goes with attachmentIds.
    const send = root.querySelector<HTMLButtonElement>('button[aria-label="Send"]')!;
    expect(send.disabled).toBe(false);
    await fire(root.querySelector('form.composer')!, new Event('submit', { bubbles: true, cancelable: true }));
    await until(() => expect(fetchMock).toHaveBeenCalledTimes(2));
    const body = JSON.parse(await (fetchMock.mock.calls[1][0] as Request).clone().text());
    expect(body).toMatchObject({ content: '', attachmentIds: ['f1'] });
    await until(() => expect(root.querySelector('article.msg[data-id="s2"] .attachments img')).not.toBeNull());
    const img = root.querySelector<HTMLImageElement>('article.msg[data-id="s2"] .attachments img')!;
    expect(img.getAttribute('src')).toBe('/api/files/f1/thumbnail');
    expect(img.getAttribute('alt')).toBe('cat.png');
    expect(root.querySelector('.uploads')).toBeNull();
  });

  it("shows the server's refusal and sends nothing", async () => {
    setUp();
    fetchMock.mockResolvedValue(json({ error: { code: 'FILE_TOO_LARGE', message: 'too large' } }, 413));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    await pick(root.querySelector('input[type="file"]')!, [new File(['x'], 'huge.pdf', { type: 'application/pdf' })]);
    await until(() => expect(root.querySelector('.composer [role="alert"]')).not.toBeNull());
    expect(root.querySelector('.composer [role="alert"]')!.textContent).toBe('huge.pdf is too large (at most 25 MB).');
    expect(root.querySelector('.uploads')).toBeNull();
    expect(root.querySelector<HTMLButtonElement>('button[aria-label="Send"]')!.disabled).toBe(true);
  });

  it('renders files as downloads and link previews as text cards, and applies linkPreview:ready', async () => {
    setUp([
      msg(1, { content: 'see https://example.com', attachments: [attachment({ id: 'f2', url: '/api/files/f2', filename: 'spec.pdf', size: 2048, mimeType: 'application/pdf' })] }),
    ]);
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const a = root.querySelector<HTMLAnchorElement>('.attachments .file a')!;
    expect(a.getAttribute('href')).toBe('/api/files/f2');
    expect(a.getAttribute('download')).toBe('spec.pdf');
    expect(root.querySelector('.attachments')!.textContent).toContain('2 KB');
    await act(() =>
      app.onEvent('linkPreview:ready', {
        messageId: 'm1',
        channelId: 'c1',
        preview: { url: 'https://example.com', title: 'Example <b>Domain</b>', description: 'For examples', siteName: 'Example', imageUrl: 'https://evil.example/x.png' },
      }),
    );
    const card = root.querySelector('.preview')!;
    expect(card.querySelector('.title')!.textContent).toBe('Example <b>Domain</b>');
    expect(card.querySelector('b')).toBeNull();
    expect(card.querySelector('img')).toBeNull(); // the CSP blocks external images: none asked for
    expect(card.querySelector('a')!.getAttribute('href')).toBe('https://example.com/');
  });
});

describe('the bell', () => {
  it('counts live notifications, lists them, marks one and all read', async () => {
    setUp();
    fetchMock.mockImplementation(async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (path === '/api/notifications' && req.method === 'GET') return json({ notifications: app.state.notifications, unreadCount: app.state.notifUnread });
      if (path.endsWith('/read')) return json({ id: 'n1', type: 'mention', title: 'x', isRead: true });
      return json({ updated: 1 });
    });
    await act(() => render(<TopBar navOpen={false} onMenu={() => undefined} />, root));
    expect(root.querySelector('[data-testid="bell-count"]')).toBeNull();
    const data = JSON.stringify({ workspaceId: 'w1', channelId: 'c1', messageId: 'm1', parentId: null });
    await act(() => app.onEvent('notification:new', { notification: { id: 'n1', type: 'mention', title: 'Ann mentioned you', body: 'hi @me', data, isRead: false, createdAt: '2026-01-01T00:00:00Z' } }));
    await act(() => app.onEvent('notification:new', { notification: { id: 'n2', type: 'dm', title: 'Ann wrote', body: 'psst', data, isRead: false, createdAt: '2026-01-01T00:00:01Z' } }));
    expect(root.querySelector('[data-testid="bell-count"]')!.textContent).toBe('2');
    const bell = root.querySelector<HTMLButtonElement>('button.bell')!;
    expect(bell.getAttribute('aria-label')).toBe('Notifications, 2 unread');
    await fire(bell, new MouseEvent('click', { bubbles: true }));
    const panel = root.querySelector('[role="dialog"][aria-label="Notifications"]')!;
    expect([...panel.querySelectorAll('li')].map((l) => l.querySelector('.title')!.textContent)).toEqual(['Ann wrote', 'Ann mentioned you']);
    await fire(panel.querySelector('button[aria-label="Mark read: Ann mentioned you"]')!, new MouseEvent('click', { bubbles: true }));
    expect(root.querySelector('[data-testid="bell-count"]')!.textContent).toBe('1');
    const posted = fetchMock.mock.calls.map((c) => new URL((c[0] as Request).url).pathname);
    expect(posted).toContain('/api/notifications/n1/read');
    // Another tab marks all read: the socket says so.
    await act(() => app.onEvent('notification:read', { allRead: true }));
    expect(root.querySelector('[data-testid="bell-count"]')).toBeNull();
    expect(panel.querySelectorAll('li.unread')).toHaveLength(0);
  });
});

describe('search results', () => {
  it('renders highlights as <mark> nodes and the rest as text', async () => {
    setUp();
    app.set({
      search: {
        query: 'deploy',
        loading: false,
        error: null,
        results: [searchResult({ message: msg(7, { content: 'x' }), channelName: 'general', highlight: 'a &lt;img src=x onerror=alert(1)&gt; <mark>deploy</mark> <script>alert(2)</script>' })],
      },
    });
    await act(() => render(<SearchPanel />, root));
    const ex = root.querySelector('.excerpt')!;
    expect(ex.querySelector('mark')!.textContent).toBe('deploy');
    expect(ex.querySelector('img')).toBeNull();
    expect(ex.querySelector('script')).toBeNull();
    expect(ex.textContent).toBe('a <img src=x onerror=alert(1)> deploy <script>alert(2)</script>');
    expect(root.querySelector('.where')!.textContent).toBe('#general');
    expect(root.textContent).toContain('1 result for');
  });

  it('passes the filters through to the server as typed', async () => {
    setUp();
    fetchMock.mockResolvedValue(json({ results: [] }));
    await app.search('  deploy from:@ann in:#general after:2026-01-01 ');
    const url = new URL((fetchMock.mock.calls[0][0] as Request).url);
    expect(url.pathname).toBe('/api/workspaces/w1/search');
    expect(url.searchParams.get('q')).toBe('deploy from:@ann in:#general after:2026-01-01');
    expect(app.state.search).toMatchObject({ loading: false, results: [], error: null });
  });
});
