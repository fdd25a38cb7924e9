import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../src/api/client';
import { fire } from './dom';
import { msg } from './helpers';
import { channel, member, user, workspace } from './fixtures';

// openapi-fetch takes `fetch` when the client is made: stub it before any import.
const fetchMock = vi.hoisted(() => {
  const f = vi.fn();
  globalThis.fetch = f as unknown as typeof fetch;
  return f;
});

const { app } = await import('../src/state/app');
const { fromLatestPage } = await import('../src/lib/sync');
const { PlaceView } = await import('../src/ui/PlaceView');

const tick = () => act(() => new Promise<void>((r) => setTimeout(r, 5)));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let root: HTMLElement;

function setUp(messages: Message[], unreadAtOpen: { count: number; upTo: number } | null) {
  app.set({
    phase: 'ready',
    user: user({ id: 'me', name: 'Me Myself', email: 'me@example.com' }),
    wsId: 'w1',
    workspaces: [workspace({ id: 'w1', name: 'Team', slug: 'team', role: 'owner' })],
    channels: [channel({ id: 'c1', workspaceId: 'w1', name: 'general', isMember: true })],
    members: { u2: member({ userId: 'u2', name: 'Ann Other', role: 'member', isGuest: false }) },
    places: { 'channel:c1': { ...fromLatestPage({ messages, hasMore: false }), loading: false, unreadAtOpen } },
    current: 'channel:c1',
    pending: [],
    connected: true,
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

describe('the channel view', () => {
  it('renders the log with authors, safe content and the new-messages divider', async () => {
    setUp([msg(1), msg(2, { authorId: 'me' }), msg(3, { content: '**hi** <img src=x onerror=alert(1)>' })], { count: 1, upTo: 3 });
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const log = root.querySelector('[role="log"]')!;
    expect(log.getAttribute('aria-label')).toBe('Messages in #general');
    const items = [...log.querySelectorAll('article.msg')];
    expect(items.map((a) => a.querySelector('.author')!.textContent)).toEqual(['Ann Other', 'Me Myself', 'Ann Other']);
    const divider = log.querySelector('[aria-label="New messages"]')!;
    expect(divider.nextElementSibling!.getAttribute('data-seq')).toBe('3');
    expect(log.querySelector('img')).toBeNull();
    expect(items[2].querySelector('strong')!.textContent).toBe('hi');
    // Only one's own messages can be edited.
    expect(items[0].querySelector('[aria-label="Edit message"]')).toBeNull();
    expect(items[1].querySelector('[aria-label="Edit message"]')).not.toBeNull();
  });

  it('Enter sends with a fresh clientMsgId, shows it pending, and shows it once when the server has it', async () => {
    setUp([msg(1)], null);
    let answer!: (r: Response) => void;
    fetchMock.mockImplementation(() => new Promise<Response>((r) => (answer = r)));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const box = root.querySelector('textarea')!;

    box.value = 'line one';
    await fire(box, new Event('input', { bubbles: true }));
    await fire(box, new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true }));
    expect(fetchMock).not.toHaveBeenCalled(); // Shift+Enter: a new line, not a send

    box.value = 'hello **world**';
    await fire(box, new Event('input', { bubbles: true }));
    await fire(box, new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await act(() => vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1)));
    const req = fetchMock.mock.calls[0][0] as Request;
    expect(new URL(req.url).pathname).toBe('/api/channels/c1/messages');
    const body = JSON.parse(await req.clone().text());
    expect(body.content).toBe('hello **world**');
    expect(body.clientMsgId).toMatch(UUID);
    expect(root.querySelector('article.pending')!.textContent).toContain('Sending…');
    expect(box.value).toBe('');

    // The socket delivers it before the POST answers: the pending copy gives way.
    const real = msg(2, { id: 'srv2', authorId: 'me', content: 'hello **world**', clientMsgId: body.clientMsgId });
    await act(() => app.onEvent('message:new', { message: real, channel: { id: 'c1', name: 'general', workspaceId: 'w1' } }));
    expect(root.querySelector('article.pending')).toBeNull();
    answer(new Response(JSON.stringify(real), { status: 201, headers: { 'content-type': 'application/json' } }));
    await act(() => vi.waitFor(async () => expect(await app.outbox.list('me')).toEqual([])));
    const shown = [...root.querySelectorAll('article.msg')].filter((a) => a.textContent!.includes('hello world'));
    expect(shown).toHaveLength(1);
    expect(await app.outbox.list('me')).toEqual([]);

    // A second send gets another id.
    fetchMock.mockResolvedValue(new Response(JSON.stringify(msg(3, { id: 'srv3', authorId: 'me' })), { status: 201, headers: { 'content-type': 'application/json' } }));
    box.value = 'again';
    await fire(box, new Event('input', { bubbles: true }));
    await fire(box, new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await act(() => vi.waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(2)));
    const second = JSON.parse(await (fetchMock.mock.calls[1][0] as Request).clone().text());
    expect(second.clientMsgId).toMatch(UUID);
    expect(second.clientMsgId).not.toBe(body.clientMsgId);
  });

  it('keeps a message written offline pending in the outbox', async () => {
    setUp([msg(1)], null);
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const box = root.querySelector('textarea')!;
    box.value = 'written offline';
    await fire(box, new Event('input', { bubbles: true }));
    await fire(box, new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await act(() => vi.waitFor(() => expect(fetchMock).toHaveBeenCalled()));
    await tick();
    expect(root.querySelector('article.pending')!.textContent).toContain('written offline');
    const queued = await app.outbox.list('me');
    expect(queued.map((e) => e.content)).toEqual(['written offline']);
    await app.discardPending(queued[0].clientMsgId);
  });

  it('Up in an empty composer edits your last message', async () => {
    setUp([msg(1, { authorId: 'me', content: 'mine' }), msg(2)], null);
    await act(() => render(<PlaceView placeKey="channel:c1" />, root));
    const box = root.querySelector('textarea[name="message"]')!;
    await fire(box, new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    const edit = root.querySelector<HTMLTextAreaElement>('textarea[aria-label="Edit message"]')!;
    expect(edit.value).toBe('mine');
    await fire(edit, new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(root.querySelector('textarea[aria-label="Edit message"]')).toBeNull();
  });
});
