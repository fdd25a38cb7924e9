// The application's state and everything that changes it: REST calls, socket
// events, the outbox. Components read the state through `useApp` and call the
// methods of `app`.
import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  call,
  type Attachment,
  type Category,
  type Channel,
  type ChannelSettings,
  type Notification,
  type Profile,
  type Reminder,
  type Bookmark,
  type Emoji,
  type Invite,
  type Note,
  type Group,
  type Session,
  type TwoFactorSetup,
  type ScheduledMessage,
  type SearchResult,
  type UpdateProfile,
  type UploadedFile,
  type UserStatus,
  type Conversation,
  type Member,
  type Message,
  type MessagePage,
  type User,
  type Workspace,
} from '../api/client';
import type { PlaceRef, PresenceAnswer, ServerEvents } from '../api/events';
import { findCustom, shortcodeName } from '../lib/emoji';
import {
  emptyNoteView,
  failed as noteFailed,
  overwriting,
  received as noteReceived,
  refusedAsStale,
  saved as noteSaved,
  savingStarted,
  startEditing,
  stopEditing,
  typed as noteTyped,
  type NoteKey,
  type NoteView,
} from '../lib/notes';
import { notificationTarget, withNew, withRead, type NotificationTarget } from '../lib/notifications';
import { Outbox, type OutboxEntry, type SendOutcome } from '../lib/outbox';
import { base64UrlToBytes } from '../lib/push';
import { browserTimeZone } from '../lib/time';
import { Socket } from '../lib/socket';
import { eventStream } from '../api/stream';
import {
  applyChanges,
  applyLive,
  emptyPlace,
  fetchChanges,
  replaceChanged,
  type ChangesPage,
  fromLatestPage,
  lastSequence,
  mergeMessages,
  resume,
  updateHeld,
  withOlderPage,
  type PlaceMessages,
} from '../lib/sync';
import { uuid } from '../lib/uuid';
import { parseRoute, routePath, type Route } from './route';

export type PlaceKind = 'channel' | 'conversation';
/** `channel:<id>` or `conversation:<id>`. */
export type PlaceKey = string;
export const keyOf = (kind: PlaceKind, id: string): PlaceKey => `${kind}:${id}`;
export function splitKey(key: PlaceKey): { kind: PlaceKind; id: string } {
  const i = key.indexOf(':');
  return { kind: key.slice(0, i) as PlaceKind, id: key.slice(i + 1) };
}
export function keyOfMessage(m: Pick<Message, 'channelId' | 'conversationId'>): PlaceKey | null {
  if (m.channelId) return keyOf('channel', m.channelId);
  if (m.conversationId) return keyOf('conversation', m.conversationId);
  return null;
}
function keyOfRef(r: PlaceRef): PlaceKey | null {
  return keyOfMessage({ channelId: r.channelId ?? null, conversationId: r.conversationId ?? null });
}

export interface Place extends PlaceMessages {
  loading: boolean;
  /** How many messages were unread when the place was opened, among those up to `upTo` (for the divider). */
  unreadAtOpen: { count: number; upTo: number } | null;
}

export interface Thread {
  messages: Message[];
  loading: boolean;
}

export interface SearchState {
  query: string;
  loading: boolean;
  results: SearchResult[];
  error: string | null;
}

export interface AppState {
  phase: 'booting' | 'signedOut' | 'ready';
  route: Route;
  user: User | null;
  workspaces: Workspace[];
  lastVisitedWorkspaceId: string | null;
  wsId: string | null;
  channels: Channel[];
  categories: Category[];
  conversations: Conversation[];
  members: Record<string, Member>;
  /** Pinned messages per channel id, most recently pinned first (loaded with the channel). */
  pins: Record<string, Message[]>;
  /** The caller's bookmarks in this workspace, newest first; null until loaded. */
  bookmarks: Bookmark[] | null;
  /** The workspace's user groups (for @ autocomplete). */
  groups: Group[];
  unread: Record<PlaceKey, { count: number; mentions: number }>;
  places: Record<PlaceKey, Place>;
  current: PlaceKey | null;
  thread: { key: PlaceKey; parentId: string } | null;
  threads: Record<string, Thread>;
  pending: OutboxEntry[];
  typing: Record<PlaceKey, Record<string, number>>;
  presence: Record<string, string>;
  connected: boolean;
  /** The socket was open at least once (so a closed one is reconnecting, not connecting). */
  wasConnected: boolean;
  online: boolean;
  editing: string | null;
  notice: string | null;
  /** The newest notifications (one page) and the count of all unread ones. */
  notifications: Notification[];
  notifUnread: number;
  search: SearchState | null;
  /** Custom statuses by user, in the open workspace (the user's own too). */
  statuses: Record<string, UserStatus>;
  /** A message to bring into view and mark (opened from search or a notification). */
  focus: string | null;
  /** Channel notes and the personal note, by `channel:<id>` / `personal:<workspaceId>`. */
  notes: Record<NoteKey, NoteView>;
  /** Which notes the side panel shows. */
  notesPanel: NoteKey | null;
  /** The workspace's custom emoji. */
  emoji: Emoji[];
}

const initial = (route: Route): AppState => ({
  phase: 'booting',
  route,
  user: null,
  workspaces: [],
  lastVisitedWorkspaceId: null,
  wsId: null,
  channels: [],
  categories: [],
  conversations: [],
  members: {},
  groups: [],
  pins: {},
  bookmarks: null,
  unread: {},
  places: {},
  current: null,
  thread: null,
  threads: {},
  pending: [],
  typing: {},
  presence: {},
  connected: false,
  wasConnected: false,
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  editing: null,
  notice: null,
  notifications: [],
  notifUnread: 0,
  search: null,
  statuses: {},
  focus: null,
  notes: {},
  notesPanel: null,
  emoji: [],
});

const PAGE = 50;

export class App {
  state: AppState;
  private listeners = new Set<() => void>();
  readonly outbox: Outbox;
  private socket: Socket | null = null;
  /** Live messages that arrived while a place was catching up. */
  private buffers = new Map<PlaceKey, Message[]>();
  private readSent = new Map<PlaceKey, number>();
  /** Each loaded place's change version (memory only; replaced with the places on a workspace switch). */
  private versions = new Map<PlaceKey, number>();
  private changesRunning = new Set<PlaceKey>();
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setInterval> | null = null;
  private typingSent = new Map<PlaceKey, number>();
  private typingStop = new Map<PlaceKey, ReturnType<typeof setTimeout>>();
  /** Whether the message list of the current place is scrolled to its end. */
  atBottom = true;

  constructor(outbox = new Outbox()) {
    this.outbox = outbox;
    this.state = initial(typeof location === 'undefined' ? { name: 'home' } : parseRoute(location.pathname, location.search));
  }

  // ---- the store -------------------------------------------------------

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(change: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void {
    const part = typeof change === 'function' ? change(this.state) : change;
    this.state = { ...this.state, ...part };
    for (const l of this.listeners) l();
  }

  private setPlace(key: PlaceKey, f: (p: Place) => Place): void {
    this.set((s) => {
      const p = s.places[key];
      return p ? { places: { ...s.places, [key]: f(p) } } : {};
    });
  }

  notify(text: string | null): void {
    this.set({ notice: text });
  }

  // ---- routing ---------------------------------------------------------

  navigate(route: Route, replace = false): Promise<void> {
    const path = routePath(route);
    if (typeof history !== 'undefined' && location.pathname !== path) {
      if (replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    this.set({ route });
    return this.follow(route);
  }

  onPopState(): void {
    const route = parseRoute(location.pathname, location.search);
    this.set({ route });
    void this.follow(route);
  }

  /** Brings the state in line with a route once signed in. */
  private async follow(route: Route): Promise<void> {
    if (this.state.phase !== 'ready') return;
    if (route.name === 'invite') return;
    const { workspaces } = this.state;
    if (workspaces.length === 0) return;
    const wanted = route.name === 'workspace' || route.name === 'place' ? route.wsId : null;
    const known = (id: string | null) => (id && workspaces.some((w) => w.id === id) ? id : null);
    const wsId = known(wanted) ?? known(this.state.wsId) ?? known(this.state.lastVisitedWorkspaceId) ?? workspaces[0].id;
    if (wsId !== this.state.wsId) {
      try {
        await this.openWorkspace(wsId);
      } catch (e) {
        this.reportError(e);
        return;
      }
    }
    if (route.name === 'place' && route.wsId === wsId) {
      await this.openPlace(keyOf(route.kind, route.id));
    } else {
      const first = this.state.channels.find((c) => c.isMember && !c.isArchived);
      if (first) await this.navigate({ name: 'place', wsId, kind: 'channel', id: first.id }, true);
      else this.set({ current: null });
    }
  }

  // ---- start, sign-in, sign-out ------------------------------------------

  async boot(): Promise<void> {
    if (typeof window !== 'undefined') {
      window.addEventListener('popstate', () => this.onPopState());
      window.addEventListener('online', () => this.wentOnline());
      window.addEventListener('offline', () => this.wentOffline());
      document.addEventListener('visibilitychange', () => this.visibilityChanged());
    }
    try {
      const s = await call(api.GET('/api/auth/session'));
      await this.signedIn(s.user);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.set({ phase: 'signedOut' });
      else {
        this.set({ phase: 'signedOut', notice: 'Cannot reach the server. Check your connection and reload.' });
      }
    }
  }

  async signIn(email: string, password: string, totpCode?: string): Promise<void> {
    const r = await call(api.POST('/api/auth/sign-in/email', { body: { email, password, ...(totpCode ? { totpCode } : {}) } }));
    await this.signedIn(r.user);
  }

  async signUp(name: string, email: string, password: string): Promise<void> {
    const r = await call(api.POST('/api/auth/sign-up/email', { body: { name, email, password } }));
    await this.signedIn(r.user);
  }

  private async signedIn(user: User): Promise<void> {
    this.set({ user, notice: null });
    const list = await call(api.GET('/api/workspaces'));
    const pending = await this.outbox.list(user.id).catch(() => [] as OutboxEntry[]);
    this.set({
      phase: 'ready',
      workspaces: list.workspaces,
      lastVisitedWorkspaceId: list.lastVisitedWorkspaceId ?? null,
      pending,
    });
    this.startSocket();
    if (!this.retryTimer && typeof setInterval !== 'undefined') {
      this.retryTimer = setInterval(() => {
        if (this.state.pending.some((p) => p.status === 'pending')) void this.flushOutbox();
      }, 5000);
    }
    await this.follow(this.state.route);
    void this.flushOutbox();
    void this.loadNotifications();
  }

  async signOut(): Promise<void> {
    try {
      await call(api.POST('/api/auth/sign-out'));
    } catch {
      // The session may be gone already; the page forgets it either way.
    }
    this.socket?.stop();
    this.socket = null;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.readSent.clear();
    this.buffers.clear();
    this.versions = new Map();
    this.noteSubscribed = null;
    this.state = { ...initial({ name: 'home' }), phase: 'signedOut' };
    if (typeof history !== 'undefined') history.pushState(null, '', '/');
    this.set({});
  }

  // ---- sessions and two-factor --------------------------------------------

  async listSessions(): Promise<Session[]> {
    return (await call(api.GET('/api/sessions'))).sessions;
  }

  /** Ends one session, or (no id) every session but this one; answers how many ended. */
  async revokeSessions(sessionId?: string): Promise<number> {
    const body = sessionId ? { sessionId } : { allOthers: true };
    return (await call(api.POST('/api/sessions/revoke', { body }))).revoked;
  }

  /** Starts TOTP setup: secret, otpauth URL, backup codes; two-factor is on once a code verifies. */
  enableTwoFactor(password: string): Promise<TwoFactorSetup> {
    return call(api.POST('/api/auth/two-factor/enable', { body: { password } }));
  }

  async verifyTwoFactor(code: string): Promise<boolean> {
    return (await call(api.POST('/api/auth/two-factor/verify', { body: { code } }))).enabled;
  }

  async disableTwoFactor(password: string): Promise<void> {
    await call(api.POST('/api/auth/two-factor/disable', { body: { password } }));
  }

  // ---- workspaces ------------------------------------------------------

  async createWorkspace(name: string, slug: string): Promise<void> {
    const w = await call(api.POST('/api/workspaces', { body: { name, slug } }));
    this.set((s) => ({ workspaces: [...s.workspaces, w] }));
    this.navigate({ name: 'workspace', wsId: w.id });
  }

  async openWorkspace(wsId: string): Promise<void> {
    const path = { params: { path: { workspaceId: wsId } } };
    const [channels, categories, conversations, members, unread] = await Promise.all([
      call(api.GET('/api/workspaces/{workspaceId}/channels', path)),
      call(api.GET('/api/workspaces/{workspaceId}/categories', path)).catch(() => ({ categories: [] as Category[] })),
      call(api.GET('/api/workspaces/{workspaceId}/conversations', path)),
      call(api.GET('/api/workspaces/{workspaceId}/members', path)),
      call(api.GET('/api/workspaces/{workspaceId}/unread', path)),
    ]);
    const byUser: Record<string, Member> = {};
    for (const m of members.members) byUser[m.userId] = m;
    this.closeNotes();
    this.set({
      wsId,
      channels: channels.channels,
      categories: categories.categories,
      conversations: conversations.conversations,
      members: byUser,
      groups: [],
      pins: {},
      bookmarks: null,
      unread: unreadMap(unread),
      places: {},
      threads: {},
      thread: null,
      current: null,
      typing: {},
      lastVisitedWorkspaceId: wsId,
      search: null,
      statuses: {},
      focus: null,
      notes: {},
      notesPanel: null,
      emoji: [],
    });
    this.emojiLoadedAt = 0;
    this.readSent.clear();
    this.buffers.clear();
    this.versions = new Map();
    void call(api.POST('/api/workspace/last-visited', { body: { workspaceId: wsId } })).catch(() => undefined);
    this.presenceActive();
    void this.fetchPresence();
    void this.loadOwnStatus();
    void this.loadGroups();
    void this.loadBookmarks();
    void this.loadEmoji().catch(() => undefined);
  }

  // ---- pins and bookmarks ------------------------------------------------

  /** GET /api/channels/{id}/pins (up to 200: pins are few). */
  async loadPins(channelId: string): Promise<Message[]> {
    const wsId = this.state.wsId;
    const r = await call(api.GET('/api/channels/{channelId}/pins', { params: { path: { channelId }, query: { limit: 200 } } }));
    if (this.state.wsId === wsId) this.set((s) => ({ pins: { ...s.pins, [channelId]: r.messages } }));
    this.ensureMembers(r.messages.map((m) => m.authorId));
    return r.messages;
  }

  isPinned(channelId: string, messageId: string): boolean {
    return !!this.state.pins[channelId]?.some((m) => m.id === messageId);
  }

  async setPinned(channelId: string, messageId: string, pinned: boolean): Promise<void> {
    const r = await call(api.POST('/api/channels/{channelId}/pins', { params: { path: { channelId } }, body: { messageId, pinned } }));
    this.pinChanged(channelId, r.messageId, r.pinned);
  }

  private pinChanged(channelId: string, messageId: string, pinned: boolean): void {
    const list = this.state.pins[channelId];
    if (!list) return; // not loaded: it will be when the channel opens
    if (!pinned) {
      this.set((s) => ({ pins: { ...s.pins, [channelId]: (s.pins[channelId] ?? []).filter((m) => m.id !== messageId) } }));
      return;
    }
    if (list.some((m) => m.id === messageId)) return;
    const held = this.state.places[keyOf('channel', channelId)]?.messages.find((m) => m.id === messageId);
    if (held) this.set((s) => ({ pins: { ...s.pins, [channelId]: [held, ...(s.pins[channelId] ?? [])] } }));
    else void this.loadPins(channelId).catch(() => undefined);
  }

  async loadBookmarks(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return;
    try {
      const r = await call(api.GET('/api/bookmarks', { params: { query: { workspaceId: wsId, limit: 200 } } }));
      if (this.state.wsId === wsId) this.set({ bookmarks: r.bookmarks });
    } catch {
      // The save buttons show as not saved; the list retries when opened.
    }
  }

  bookmarkOf(messageId: string): Bookmark | undefined {
    return this.state.bookmarks?.find((b) => (b.messageId ?? b.message?.id) === messageId);
  }

  /** Saves the message for later, or removes it from the saved list. */
  async toggleBookmark(messageId: string): Promise<void> {
    const held = this.bookmarkOf(messageId);
    if (held) {
      await call(api.DELETE('/api/bookmarks/{bookmarkId}', { params: { path: { bookmarkId: held.id } } }));
      this.set((s) => ({ bookmarks: (s.bookmarks ?? []).filter((b) => b.id !== held.id) }));
    } else {
      const b = await call(api.POST('/api/bookmarks', { body: { messageId } }));
      this.set((s) => ({ bookmarks: [b, ...(s.bookmarks ?? []).filter((x) => x.id !== b.id)] }));
    }
  }

  private async loadGroups(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return;
    try {
      const r = await call(api.GET('/api/workspaces/{workspaceId}/groups', { params: { path: { workspaceId: wsId } } }));
      if (this.state.wsId === wsId) this.set({ groups: r.groups });
    } catch {
      // Groups only feed the @ suggestions.
    }
  }

  // ---- members and roles ----------------------------------------------

  /** GET …/members: the list (also refreshing the names the app knows). */
  async loadMembers(): Promise<Member[]> {
    const wsId = this.state.wsId!;
    const r = await call(api.GET('/api/workspaces/{workspaceId}/members', { params: { path: { workspaceId: wsId } } }));
    if (this.state.wsId === wsId) {
      const members: Record<string, Member> = {};
      for (const m of r.members) members[m.userId] = m;
      this.set({ members });
    }
    return r.members;
  }

  /** The caller's role in the open workspace. */
  myRole(): string | undefined {
    const s = this.state;
    return (s.user && s.members[s.user.id]?.role) ?? s.workspaces.find((w) => w.id === s.wsId)?.role;
  }

  async setMemberRole(userId: string, role: 'owner' | 'admin' | 'member'): Promise<Member> {
    const wsId = this.state.wsId!;
    const m = await call(api.PATCH('/api/workspaces/{workspaceId}/members/{userId}', { params: { path: { workspaceId: wsId, userId } }, body: { role } }));
    this.memberChanged({ ...this.state.members[userId], ...m });
    return m;
  }

  async removeMember(userId: string): Promise<void> {
    const wsId = this.state.wsId!;
    await call(api.DELETE('/api/workspaces/{workspaceId}/members/{userId}', { params: { path: { workspaceId: wsId, userId } } }));
    if (this.state.wsId !== wsId) return;
    this.set((s) => {
      const members = { ...s.members };
      delete members[userId];
      return { members };
    });
  }

  private memberChanged(m: Member): void {
    const role = (['owner', 'admin', 'member'].includes(m.role) ? m.role : 'member') as Workspace['role'];
    if (m.workspaceId && m.workspaceId !== this.state.wsId) {
      if (m.userId === this.state.user?.id) this.set((s) => ({ workspaces: s.workspaces.map((w) => (w.id === m.workspaceId ? { ...w, role } : w)) }));
      return;
    }
    this.set((s) => ({
      members: { ...s.members, [m.userId]: { ...s.members[m.userId], ...m } },
      workspaces: m.userId === s.user?.id ? s.workspaces.map((w) => (w.id === s.wsId ? { ...w, role } : w)) : s.workspaces,
    }));
  }

  async createInvite(): Promise<string> {
    const wsId = this.state.wsId!;
    const inv = await call(api.POST('/api/workspaces/{workspaceId}/invites', { params: { path: { workspaceId: wsId } }, body: {} }));
    return `${location.origin}/invite/${encodeURIComponent(inv.token)}`;
  }

  /** An invitation for one address (single use; the server emails the link). */
  inviteByEmail(email: string, role: 'member' | 'admin' = 'member'): Promise<Invite> {
    const wsId = this.state.wsId!;
    return call(api.POST('/api/workspaces/{workspaceId}/invites', { params: { path: { workspaceId: wsId } }, body: { email, role } }));
  }

  async acceptInvite(token: string): Promise<void> {
    const r = await call(api.POST('/api/invites/{token}/accept', { params: { path: { token } } }));
    const list = await call(api.GET('/api/workspaces'));
    this.set({ workspaces: list.workspaces });
    this.navigate({ name: 'workspace', wsId: r.workspace.id });
  }

  // ---- channels and conversations ---------------------------------------------

  async createChannel(name: string, isPrivate: boolean, description?: string): Promise<void> {
    const wsId = this.state.wsId!;
    const c = await call(
      api.POST('/api/workspaces/{workspaceId}/channels', {
        params: { path: { workspaceId: wsId } },
        body: { name, isPrivate, ...(description ? { description } : {}) },
      }),
    );
    this.upsertChannel(c);
    this.navigate({ name: 'place', wsId, kind: 'channel', id: c.id });
  }

  async joinChannel(id: string): Promise<void> {
    const c = await call(api.POST('/api/channels/{channelId}/join', { params: { path: { channelId: id } } }));
    this.upsertChannel(c);
    this.navigate({ name: 'place', wsId: this.state.wsId!, kind: 'channel', id });
  }

  async refreshChannels(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return;
    const r = await call(api.GET('/api/workspaces/{workspaceId}/channels', { params: { path: { workspaceId: wsId } } }));
    if (this.state.wsId === wsId) this.set({ channels: r.channels });
  }

  private upsertChannel(c: Channel): void {
    if (c.workspaceId !== this.state.wsId) return;
    this.set((s) => {
      const i = s.channels.findIndex((x) => x.id === c.id);
      const channels = s.channels.slice();
      if (i >= 0) channels[i] = { ...channels[i], ...c };
      else channels.push(c);
      return { channels };
    });
  }

  async openConversation(userId: string): Promise<void> {
    const wsId = this.state.wsId!;
    const c = await call(
      api.POST('/api/workspaces/{workspaceId}/conversations', { params: { path: { workspaceId: wsId } }, body: { userIds: [userId] } }),
    );
    this.set((s) => ({ conversations: s.conversations.some((x) => x.id === c.id) ? s.conversations : [c, ...s.conversations] }));
    this.navigate({ name: 'place', wsId, kind: 'conversation', id: c.id });
  }

  private async refreshConversations(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return;
    const r = await call(api.GET('/api/workspaces/{workspaceId}/conversations', { params: { path: { workspaceId: wsId } } }));
    if (this.state.wsId === wsId) this.set({ conversations: r.conversations });
  }

  private membersLoading: Promise<void> | null = null;

  /** Someone we have no name for wrote: they joined after the member list was loaded. */
  private ensureMembers(userIds: Iterable<string>): void {
    const s = this.state;
    if (!s.wsId || this.membersLoading) return;
    const missing = [...userIds].some((u) => u !== s.user?.id && !s.members[u]);
    if (!missing) return;
    const wsId = s.wsId;
    this.membersLoading = call(api.GET('/api/workspaces/{workspaceId}/members', { params: { path: { workspaceId: wsId } } }))
      .then((r) => {
        if (this.state.wsId !== wsId) return;
        const members: Record<string, Member> = {};
        for (const m of r.members) members[m.userId] = m;
        this.set({ members });
      })
      .catch(() => undefined)
      .finally(() => {
        this.membersLoading = null;
      });
  }

  private async refreshUnread(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return;
    const r = await call(api.GET('/api/workspaces/{workspaceId}/unread', { params: { path: { workspaceId: wsId } } }));
    if (this.state.wsId !== wsId) return;
    const unread = unreadMap(r);
    // The open place is being read: its count is whatever marking it answers.
    if (this.state.current && this.isReading()) unread[this.state.current] = { count: 0, mentions: 0 };
    this.set({ unread });
  }

  // ---- messages --------------------------------------------------------

  private fetchPage(key: PlaceKey, q: { before?: number; after?: number; limit?: number }): Promise<MessagePage> {
    const { kind, id } = splitKey(key);
    const query = { limit: q.limit ?? PAGE, ...(q.before !== undefined ? { before: q.before } : {}), ...(q.after !== undefined ? { after: q.after } : {}) };
    if (kind === 'channel') return call(api.GET('/api/channels/{channelId}/messages', { params: { path: { channelId: id }, query } }));
    return call(api.GET('/api/conversations/{conversationId}/messages', { params: { path: { conversationId: id }, query } }));
  }

  /** GET …/changes: without `since`, only the place's current change version. */
  private fetchChangesPage(key: PlaceKey, since?: number): Promise<ChangesPage> {
    const { kind, id } = splitKey(key);
    const query = since === undefined ? {} : { since, limit: 200 };
    if (kind === 'channel') return call(api.GET('/api/channels/{channelId}/changes', { params: { path: { channelId: id }, query } }));
    return call(api.GET('/api/conversations/{conversationId}/changes', { params: { path: { conversationId: id }, query } }));
  }

  /** The change version of a place held now (tests and diagnostics). */
  changeVersion(key: PlaceKey): number | undefined {
    return this.versions.get(key);
  }

  /**
   * Pages the place's change feed from its recorded version and replaces
   * every changed message it (or an open thread) holds with its current
   * state: edits, deletions, reactions, pins, replies made while away.
   * A place without a version (the feed was unreachable when it loaded)
   * records the current one for next time.
   */
  async syncChanges(key: PlaceKey): Promise<void> {
    if (!this.state.places[key] || this.changesRunning.has(key)) return;
    const versions = this.versions;
    const since = versions.get(key);
    this.changesRunning.add(key);
    try {
      if (since === undefined) {
        const r = await this.fetchChangesPage(key);
        if (this.versions === versions && this.state.places[key]) versions.set(key, r.version);
        return;
      }
      const { changed, version } = await fetchChanges(since, (v) => this.fetchChangesPage(key, v));
      // The workspace was switched (or signed out) meanwhile: these places are gone.
      if (this.versions !== versions || !this.state.places[key]) return;
      if (changed.length) this.applyChanged(key, changed);
      versions.set(key, version);
    } catch {
      // Offline again: the next reconnect asks from the same version.
    } finally {
      this.changesRunning.delete(key);
    }
  }

  private applyChanged(key: PlaceKey, changed: Message[]): void {
    this.set((s) => {
      const places = { ...s.places };
      const p = places[key];
      if (p) places[key] = { ...p, ...applyChanges(p, changed) };
      const threads = { ...s.threads };
      for (const [pid, t] of Object.entries(threads)) {
        const messages = replaceChanged(t.messages, changed);
        if (messages !== t.messages) threads[pid] = { ...t, messages };
      }
      return { places, threads };
    });
    this.ensureMembers(changed.map((m) => m.authorId));
  }

  /** After a reconnect: every loaded place catches up by sequence, then through its change feed. */
  resumeAll(): Promise<void> {
    return Promise.all(
      Object.keys(this.state.places).map(async (key) => {
        await this.catchUp(key);
        await this.syncChanges(key);
        // Messages carry no pin flag: what was (un)pinned while away comes from the list.
        if (key.startsWith('channel:') && this.state.pins[splitKey(key).id]) await this.loadPins(splitKey(key).id).catch(() => undefined);
      }),
    ).then(() => undefined);
  }

  async openPlace(key: PlaceKey): Promise<void> {
    const changed = this.state.current !== key;
    if (changed) {
      this.set((s) => ({ current: key, editing: null, focus: null, thread: s.thread && s.thread.key === key ? s.thread : null }));
      // A channel's notes panel belongs to that channel (its draft stays in memory).
      if (this.state.notesPanel?.startsWith('channel:') && this.state.notesPanel !== key) this.closeNotes();
      this.atBottom = true;
    }
    if (this.state.places[key]) {
      this.scheduleRead();
      return;
    }
    this.set((s) => ({ places: { ...s.places, [key]: { ...emptyPlace(), loading: true, unreadAtOpen: null } } }));
    // Live messages that arrive while the page loads wait here.
    this.buffers.set(key, []);
    const versions = this.versions;
    try {
      // The change version first, then the page: a change between the two is
      // fetched again later (harmless), never missed.
      const version = await this.fetchChangesPage(key)
        .then((r) => r.version)
        .catch((e) => {
          if (e instanceof ApiError && e.status === 0) throw e;
          return null; // a server without the change feed: resume by sequence only
        });
      const page = await this.fetchPage(key, {});
      if (version !== null && this.versions === versions) versions.set(key, version);
      const unread = this.state.unread[key]?.count ?? 0;
      const loaded = fromLatestPage(page);
      const buffered = this.buffers.get(key) ?? [];
      this.buffers.delete(key);
      let place: PlaceMessages = loaded;
      let gap = false;
      for (const m of buffered) {
        const r = applyLive(place, m);
        place = r.place;
        gap ||= r.result === 'gap';
      }
      this.set((s) => ({
        places: {
          ...s.places,
          [key]: { ...place, loading: false, unreadAtOpen: unread > 0 ? { count: unread, upTo: lastSequence(loaded) } : null },
        },
      }));
      this.scheduleRead();
      this.ensureMembers(place.messages.map((m) => m.authorId));
      if (gap) void this.catchUp(key);
      if (key.startsWith('channel:')) void this.loadPins(splitKey(key).id).catch(() => undefined);
    } catch (e) {
      this.buffers.delete(key);
      this.set((s) => {
        const places = { ...s.places };
        delete places[key];
        return { places };
      });
      this.reportError(e);
    }
  }

  async loadOlder(key: PlaceKey): Promise<boolean> {
    const p = this.state.places[key];
    if (!p || p.loading || !p.hasMoreBefore || p.messages.length === 0) return false;
    this.setPlace(key, (x) => ({ ...x, loading: true }));
    try {
      const page = await this.fetchPage(key, { before: p.messages[0].sequence });
      this.setPlace(key, (x) => ({ ...withOlderPage(x, page), loading: false, unreadAtOpen: x.unreadAtOpen }));
      return page.messages.length > 0;
    } catch (e) {
      this.setPlace(key, (x) => ({ ...x, loading: false }));
      this.reportError(e);
      return false;
    }
  }

  /** Catches a loaded place up from its tip (after a reconnect or a gap). */
  async catchUp(key: PlaceKey): Promise<void> {
    const p = this.state.places[key];
    if (!p || this.buffers.has(key)) return;
    this.buffers.set(key, []);
    try {
      const caughtUp = await resume(p, (after) => this.fetchPage(key, { after, limit: 200 }), () => this.buffers.get(key) ?? []);
      this.buffers.delete(key);
      this.setPlace(key, (x) => {
        // Edits and reactions that arrived meanwhile were applied to x: keep those copies.
        const merged = mergeMessages(caughtUp.messages, x.messages.filter((m) => m.sequence <= caughtUp.tip && isNewer(m, caughtUp.messages)));
        return { ...x, ...caughtUp, messages: merged, hasMoreBefore: x.hasMoreBefore, loading: x.loading, unreadAtOpen: x.unreadAtOpen };
      });
      this.scheduleRead();
    } catch {
      // Offline again: the next reconnect tries once more.
      this.buffers.delete(key);
    }
  }

  /** A message the server reports (live, or the answer to our send) in its place and thread. */
  private receive(m: Message, fromSocket: boolean): void {
    const key = keyOfMessage(m);
    if (!key) return;
    this.ensureMembers([m.authorId]);
    const buffer = this.buffers.get(key);
    if (buffer) buffer.push(m);
    const p = this.state.places[key];
    let fresh = !p || !p.messages.some((x) => x.id === m.id);
    if (p && !buffer) {
      const { place, result } = applyLive(p, m);
      fresh = result !== 'duplicate';
      let next = place;
      if (fresh && m.parentId) next = updateHeld(next, m.parentId, (x) => ({ ...x, replyCount: (x.replyCount ?? 0) + 1 }));
      this.set((s) => ({ places: { ...s.places, [key]: { ...(next as Place), loading: s.places[key].loading, unreadAtOpen: s.places[key].unreadAtOpen } } }));
      if (result === 'gap') void this.catchUp(key);
    }
    if (m.parentId && this.state.threads[m.parentId]) {
      const t = this.state.threads[m.parentId];
      this.set((s) => ({ threads: { ...s.threads, [m.parentId!]: { ...t, messages: mergeMessages(t.messages, [m]) } } }));
    }
    if (m.clientMsgId) {
      this.set((s) => ({ pending: s.pending.filter((e) => e.clientMsgId !== m.clientMsgId) }));
    }
    // Unread: count others' new messages in places not being read now.
    if (fromSocket && fresh && m.authorId !== this.state.user?.id) {
      if (key === this.state.current && this.isReading()) this.scheduleRead();
      else
        this.set((s) => {
          const u = s.unread[key] ?? { count: 0, mentions: 0 };
          return { unread: { ...s.unread, [key]: { ...u, count: u.count + 1 } } };
        });
      if (key.startsWith('conversation:') && !this.state.conversations.some((c) => keyOf('conversation', c.id) === key)) {
        void this.refreshConversations();
      }
    }
  }

  /** Applies a changed message (edit, deletion, reactions) wherever it is held. */
  private changeMessage(id: string, change: (m: Message) => Message, key?: PlaceKey | null): void {
    this.set((s) => {
      const places = { ...s.places };
      for (const k of key ? [key] : Object.keys(places)) {
        const p = places[k];
        if (p) places[k] = { ...p, ...updateHeld(p, id, change) };
      }
      const threads = { ...s.threads };
      for (const [pid, t] of Object.entries(threads)) {
        const i = t.messages.findIndex((m) => m.id === id);
        if (i >= 0) {
          const messages = t.messages.slice();
          messages[i] = change(messages[i]);
          threads[pid] = { ...t, messages };
        }
      }
      return { places, threads };
    });
  }

  // ---- sending: always through the outbox -------------------------------------------

  async send(key: PlaceKey, content: string, parentId?: string | null, attachments: Attachment[] = []): Promise<void> {
    const text = content.trim();
    if ((!text && attachments.length === 0) || !this.state.user) return;
    const { kind, id } = splitKey(key);
    const entry: OutboxEntry = {
      clientMsgId: uuid(),
      userId: this.state.user.id,
      place: { kind, id },
      content: text,
      parentId: parentId ?? null,
      ...(attachments.length ? { attachments } : {}),
      createdAt: new Date().toISOString(),
      status: 'pending',
    };
    this.set((s) => ({ pending: [...s.pending, entry] }));
    this.stopTyping(key);
    try {
      await this.outbox.add(entry);
    } catch {
      // Without IndexedDB (private mode) the message still goes; it just does not survive a reload.
    }
    await this.flushOutbox();
  }

  private async sendEntry(e: OutboxEntry): Promise<SendOutcome> {
    if (typeof navigator !== 'undefined' && navigator.onLine === false) return { ok: false, retry: true };
    const body = {
      content: e.content,
      clientMsgId: e.clientMsgId,
      ...(e.parentId ? { parentId: e.parentId } : {}),
      ...(e.attachments?.length ? { attachmentIds: e.attachments.map((a) => a.id) } : {}),
    };
    try {
      const message =
        e.place.kind === 'channel'
          ? await call(api.POST('/api/channels/{channelId}/messages', { params: { path: { channelId: e.place.id } }, body }))
          : await call(api.POST('/api/conversations/{conversationId}/messages', { params: { path: { conversationId: e.place.id } }, body }));
      return { ok: true, message };
    } catch (err) {
      if (err instanceof ApiError && !err.transient) return { ok: false, retry: false, error: err.message };
      return { ok: false, retry: true };
    }
  }

  flushOutbox(): Promise<number> {
    const user = this.state.user;
    if (!user) return Promise.resolve(0);
    return this.outbox.flush(
      user.id,
      (e) => this.sendEntry(e),
      (e, m) => {
        this.set((s) => ({ pending: s.pending.filter((p) => p.clientMsgId !== e.clientMsgId) }));
        this.receive({ ...m, clientMsgId: m.clientMsgId ?? e.clientMsgId }, false);
      },
      (e) => this.set((s) => ({ pending: s.pending.map((p) => (p.clientMsgId === e.clientMsgId ? e : p)) })),
    );
  }

  async retryPending(clientMsgId: string): Promise<void> {
    const e = this.state.pending.find((p) => p.clientMsgId === clientMsgId);
    if (!e) return;
    const again: OutboxEntry = { ...e, status: 'pending', error: undefined };
    this.set((s) => ({ pending: s.pending.map((p) => (p.clientMsgId === clientMsgId ? again : p)) }));
    await this.outbox.update(again).catch(() => undefined);
    await this.flushOutbox();
  }

  async discardPending(clientMsgId: string): Promise<void> {
    this.set((s) => ({ pending: s.pending.filter((p) => p.clientMsgId !== clientMsgId) }));
    await this.outbox.remove(clientMsgId).catch(() => undefined);
  }

  async edit(id: string, content: string): Promise<void> {
    const m = await call(api.PATCH('/api/messages/{messageId}', { params: { path: { messageId: id } }, body: { content } }));
    this.changeMessage(id, () => m);
    this.set({ editing: null });
  }

  async remove(id: string): Promise<void> {
    const m = await call(api.DELETE('/api/messages/{messageId}', { params: { path: { messageId: id } } }));
    this.deleted(m.id, keyOfMessage(m));
  }

  private deleted(id: string, key: PlaceKey | null): void {
    let parentId: string | null | undefined;
    let wasDeleted = true;
    for (const p of Object.values(this.state.places)) {
      const m = p.messages.find((x) => x.id === id);
      if (m) {
        parentId = m.parentId;
        wasDeleted = !!m.isDeleted;
      }
    }
    this.changeMessage(id, (m) => ({ ...m, isDeleted: true, content: '[deleted]', reactions: [] }), key);
    if (parentId && !wasDeleted) this.changeMessage(parentId, (m) => ({ ...m, replyCount: Math.max(0, (m.replyCount ?? 0) - 1) }));
  }

  async react(id: string, emoji: string): Promise<void> {
    const m = await call(api.POST('/api/messages/{messageId}/reactions', { params: { path: { messageId: id } }, body: { emoji } }));
    this.changeMessage(id, (x) => ({ ...x, reactions: m.reactions }));
  }

  setEditing(id: string | null): void {
    this.set({ editing: id });
  }

  // ---- threads ---------------------------------------------------------

  async openThread(key: PlaceKey, parentId: string): Promise<void> {
    this.closeNotes();
    this.set((s) => ({ thread: { key, parentId }, threads: { ...s.threads, [parentId]: s.threads[parentId] ?? { messages: [], loading: true } } }));
    try {
      let after = 0;
      let all: Message[] = [];
      for (let i = 0; i < 20; i++) {
        const page = await call(api.GET('/api/messages/{messageId}/replies', { params: { path: { messageId: parentId }, query: { after, limit: 200 } } }));
        all = mergeMessages(all, page.messages);
        if (!page.hasMore || page.messages.length === 0) break;
        after = page.messages[page.messages.length - 1].sequence;
      }
      this.set((s) => ({ threads: { ...s.threads, [parentId]: { messages: mergeMessages(s.threads[parentId]?.messages ?? [], all), loading: false } } }));
      this.ensureMembers(all.map((m) => m.authorId));
    } catch (e) {
      this.set((s) => ({ threads: { ...s.threads, [parentId]: { messages: s.threads[parentId]?.messages ?? [], loading: false } } }));
      this.reportError(e);
    }
  }

  closeThread(): void {
    this.set({ thread: null });
  }

  // ---- attachments -----------------------------------------------------

  /** POST /api/upload/attachment (multipart `file`); the id then goes out with the message. */
  async uploadAttachment(file: File): Promise<UploadedFile> {
    return call(
      api.POST('/api/upload/attachment', {
        body: { file: '' },
        bodySerializer: () => {
          const fd = new FormData();
          fd.append('file', file, file.name);
          return fd;
        },
      }),
    );
  }

  // ---- notifications ---------------------------------------------------

  async loadNotifications(): Promise<void> {
    try {
      const r = await call(api.GET('/api/notifications', { params: { query: { limit: 50 } } }));
      this.set({ notifications: r.notifications, notifUnread: r.unreadCount });
    } catch {
      // The bell stays as it was; the next reconnect tries again.
    }
  }

  async markNotificationRead(id: string): Promise<void> {
    const before = { list: this.state.notifications, unread: this.state.notifUnread };
    const after = withRead(before, { notificationId: id });
    this.set({ notifications: after.list, notifUnread: after.unread });
    try {
      await call(api.POST('/api/notifications/{notificationId}/read', { params: { path: { notificationId: id } } }));
    } catch (e) {
      void this.loadNotifications();
      this.reportError(e);
    }
  }

  async markAllNotificationsRead(): Promise<void> {
    const after = withRead({ list: this.state.notifications, unread: this.state.notifUnread }, { allRead: true });
    this.set({ notifications: after.list, notifUnread: 0 });
    try {
      await call(api.POST('/api/notifications/read-all'));
    } catch (e) {
      void this.loadNotifications();
      this.reportError(e);
    }
  }

  /** Marks it read and opens what it is about. */
  async openNotification(n: Notification): Promise<void> {
    if (!n.isRead) void this.markNotificationRead(n.id);
    const t = notificationTarget(n);
    if (t) await this.openTarget(t);
  }

  /** Opens a place (in its workspace), then the thread or the message. */
  async openTarget(t: NotificationTarget): Promise<void> {
    const wsId = t.workspaceId ?? this.state.wsId;
    if (!wsId) return;
    await this.navigate({ name: 'place', wsId, kind: t.kind, id: t.id });
    const key = keyOf(t.kind, t.id);
    if (this.state.current !== key) return;
    if (t.parentId) {
      await this.openThread(key, t.parentId);
    } else if (t.messageId) {
      await this.focusMessage(key, t.messageId);
    }
  }

  /** Loads older pages until the message is there (a few at most), then marks it for the list to show. */
  async focusMessage(key: PlaceKey, messageId: string): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const p = this.state.places[key];
      if (!p) return;
      if (p.messages.some((m) => m.id === messageId)) break;
      if (p.loading) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (!p.hasMoreBefore) break;
      if (!(await this.loadOlder(key))) break;
    }
    this.atBottom = false;
    this.set({ focus: messageId });
  }

  clearFocus(): void {
    if (this.state.focus) this.set({ focus: null });
  }

  // ---- search ----------------------------------------------------------

  /** GET /api/workspaces/{id}/search; `from:`, `in:`, `before:`, `after:` go to the server as typed. */
  async search(query: string): Promise<void> {
    const q = query.trim();
    const wsId = this.state.wsId;
    if (!q || !wsId) return;
    this.closeNotes();
    this.set({ search: { query: q, loading: true, results: [], error: null }, thread: null });
    try {
      const r = await call(api.GET('/api/workspaces/{workspaceId}/search', { params: { path: { workspaceId: wsId }, query: { q, limit: 50 } } }));
      if (this.state.search?.query !== q) return;
      this.set({ search: { query: q, loading: false, results: r.results, error: null } });
      this.ensureMembers(r.results.map((x) => x.message.authorId));
    } catch (e) {
      if (this.state.search?.query !== q) return;
      const error = e instanceof ApiError ? (e.status === 0 ? 'You are offline.' : e.message) : 'Search failed.';
      this.set({ search: { query: q, loading: false, results: [], error } });
    }
  }

  closeSearch(): void {
    this.set({ search: null });
  }

  async openSearchResult(r: SearchResult): Promise<void> {
    const m = r.message;
    const kind: PlaceKind = m.channelId ? 'channel' : 'conversation';
    const id = m.channelId ?? m.conversationId;
    if (!id) return;
    if (m.parentId) this.closeSearch();
    await this.openTarget({ workspaceId: this.state.wsId, kind, id, messageId: m.id, parentId: m.parentId ?? null });
  }

  // ---- settings, profile, status -------------------------------------------

  getChannelSettings(channelId: string): Promise<ChannelSettings> {
    return call(api.GET('/api/channels/{channelId}/notifications', { params: { path: { channelId } } }));
  }

  setChannelSettings(channelId: string, body: { level?: ChannelSettings['level']; muted?: boolean }): Promise<ChannelSettings> {
    return call(api.POST('/api/channels/{channelId}/notifications', { params: { path: { channelId } }, body }));
  }

  /** The email digest interval in minutes (0: none), or null when this server has no such setting. */
  async getEmailDigest(): Promise<number | null> {
    try {
      return (await call(api.GET('/api/notifications/email-settings'))).digestMinutes;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  async setEmailDigest(digestMinutes: number): Promise<number> {
    return (await call(api.PUT('/api/notifications/email-settings', { body: { digestMinutes } }))).digestMinutes;
  }

  private async loadOwnStatus(): Promise<void> {
    const wsId = this.state.wsId;
    const me = this.state.user?.id;
    if (!wsId || !me) return;
    try {
      const p = await this.getProfile();
      if (this.state.wsId === wsId && p.status) this.set((s) => ({ statuses: { ...s.statuses, [me]: p.status! } }));
    } catch {
      // The status line is a nicety.
    }
  }

  getProfile(): Promise<Profile> {
    return call(api.GET('/api/workspaces/{workspaceId}/profile', { params: { path: { workspaceId: this.state.wsId! } } }));
  }

  async updateProfile(body: UpdateProfile): Promise<Profile> {
    const p = await call(api.PATCH('/api/workspaces/{workspaceId}/profile', { params: { path: { workspaceId: this.state.wsId! } }, body }));
    const me = this.state.user?.id;
    if (me && p.displayName) {
      this.set((s) => ({ members: s.members[me] ? { ...s.members, [me]: { ...s.members[me], name: p.displayName } } : s.members }));
    }
    return p;
  }

  /** PUT /api/workspaces/{id}/status: text, emoji, Do Not Disturb; an empty body clears it. */
  async setStatus(body: { text?: string; emoji?: string; dnd?: boolean; expiresAt?: string }): Promise<UserStatus> {
    const st = await call(api.PUT('/api/workspaces/{workspaceId}/status', { params: { path: { workspaceId: this.state.wsId! } }, body }));
    const me = this.state.user!.id;
    this.set((s) => ({ statuses: { ...s.statuses, [me]: st } }));
    return st;
  }

  // ---- scheduled messages and reminders ------------------------------------------

  async scheduleMessage(key: PlaceKey, content: string, scheduledFor: string, attachments: Attachment[] = []): Promise<ScheduledMessage> {
    const { kind, id } = splitKey(key);
    return call(
      api.POST('/api/scheduled-messages', {
        body: {
          ...(kind === 'channel' ? { channelId: id } : { conversationId: id }),
          content,
          scheduledFor,
          timezone: browserTimeZone(),
          ...(attachments.length ? { attachmentIds: attachments.map((a) => a.id) } : {}),
        },
      }),
    );
  }

  async listScheduled(): Promise<ScheduledMessage[]> {
    return (await call(api.GET('/api/scheduled-messages'))).scheduledMessages;
  }

  cancelScheduled(id: string): Promise<ScheduledMessage> {
    return call(api.DELETE('/api/scheduled-messages/{scheduledMessageId}', { params: { path: { scheduledMessageId: id } } }));
  }

  async listReminders(): Promise<Reminder[]> {
    return (await call(api.GET('/api/reminders'))).reminders;
  }

  createReminder(body: { text?: string; messageId?: string; remindAt: string }): Promise<Reminder> {
    return call(api.POST('/api/reminders', { body: { ...body, timezone: browserTimeZone() } }));
  }

  completeReminder(id: string): Promise<Reminder> {
    return call(api.POST('/api/reminders/{reminderId}/complete', { params: { path: { reminderId: id } } }));
  }

  cancelReminder(id: string): Promise<Reminder> {
    return call(api.DELETE('/api/reminders/{reminderId}', { params: { path: { reminderId: id } } }));
  }

  // ---- web push --------------------------------------------------------

  /** The server's VAPID key, or null when push is off there (404) or the browser cannot. */
  async pushKey(): Promise<string | null> {
    if (typeof navigator === 'undefined' || !('serviceWorker' in navigator) || typeof PushManager === 'undefined') return null;
    try {
      return (await call(api.GET('/api/push/vapid-public'))).publicKey;
    } catch {
      return null;
    }
  }

  async pushSubscribed(): Promise<boolean> {
    const reg = await navigator.serviceWorker.getRegistration();
    return !!(await reg?.pushManager.getSubscription());
  }

  async enablePush(publicKey: string): Promise<void> {
    if ((await globalThis.Notification.requestPermission()) !== 'granted') throw new Error('Notifications are blocked for this site in the browser.');
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) });
    const j = sub.toJSON();
    await call(
      api.POST('/api/push/subscribe', {
        body: { subscription: { endpoint: j.endpoint!, expirationTime: j.expirationTime ?? null, keys: { p256dh: j.keys!.p256dh, auth: j.keys!.auth } } },
      }),
    );
  }

  async disablePush(): Promise<void> {
    const reg = await navigator.serviceWorker.getRegistration();
    const sub = await reg?.pushManager.getSubscription();
    if (!sub) return;
    await call(api.POST('/api/push/unsubscribe', { body: { endpoint: sub.endpoint } })).catch(() => undefined);
    await sub.unsubscribe();
  }

  // ---- read marks ------------------------------------------------------

  /** Whether the user is looking at the end of the current place. */
  isReading(): boolean {
    const visible = typeof document === 'undefined' || document.visibilityState !== 'hidden';
    return visible && this.atBottom;
  }

  scheduleRead(): void {
    if (this.readTimer) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      void this.markRead();
    }, 250);
  }

  private async markRead(): Promise<void> {
    const key = this.state.current;
    if (!key || !this.isReading()) return;
    const p = this.state.places[key];
    if (!p || p.loading) return;
    const { kind, id } = splitKey(key);
    if (kind === 'channel' && !this.state.channels.find((c) => c.id === id)?.isMember) return;
    const seq = lastSequence(p);
    if (seq <= (this.readSent.get(key) ?? 0)) {
      if (this.state.unread[key]?.count) this.set((s) => ({ unread: { ...s.unread, [key]: { count: 0, mentions: 0 } } }));
      return;
    }
    this.readSent.set(key, seq);
    this.set((s) => ({ unread: { ...s.unread, [key]: { count: 0, mentions: 0 } } }));
    try {
      const body = { sequence: seq };
      const r =
        kind === 'channel'
          ? await call(api.POST('/api/channels/{channelId}/read', { params: { path: { channelId: id } }, body }))
          : await call(api.POST('/api/conversations/{conversationId}/read', { params: { path: { conversationId: id } }, body }));
      this.set((s) => ({ unread: { ...s.unread, [key]: { count: r.count, mentions: r.mentionCount ?? 0 } } }));
    } catch {
      this.readSent.delete(key);
    }
  }

  // ---- typing and presence ---------------------------------------------------

  typing(key: PlaceKey): void {
    const now = Date.now();
    const ref = placeRef(key);
    if (now - (this.typingSent.get(key) ?? 0) > 3000) {
      this.typingSent.set(key, now);
      this.socket?.emit('typing:start', ref);
    }
    clearTimeout(this.typingStop.get(key));
    this.typingStop.set(
      key,
      setTimeout(() => this.stopTyping(key), 4000),
    );
  }

  stopTyping(key: PlaceKey): void {
    clearTimeout(this.typingStop.get(key));
    this.typingStop.delete(key);
    if (this.typingSent.has(key)) {
      this.typingSent.delete(key);
      this.socket?.emit('typing:stop', placeRef(key));
    }
  }

  private presenceActive(): void {
    const wsId = this.state.wsId;
    if (!wsId) return;
    const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
    this.socket?.emit(hidden ? 'presence:setAway' : 'presence:setActive', { workspaceId: wsId });
  }

  private async fetchPresence(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId || !this.socket?.canSend) return;
    const userIds = Object.keys(this.state.members).slice(0, 500);
    if (userIds.length === 0) return;
    try {
      const r = await this.socket.request<PresenceAnswer>('presence:fetch', { workspaceId: wsId, userIds });
      const presence: Record<string, string> = {};
      for (const p of r.presences ?? []) presence[p.userId] = p.status;
      this.set((s) => ({ presence: { ...s.presence, ...presence } }));
    } catch {
      // Presence is a nicety.
    }
  }

  private visibilityChanged(): void {
    this.presenceActive();
    if (document.visibilityState === 'visible') this.scheduleRead();
  }

  // ---- notes -------------------------------------------------------------

  /** The channel whose note this socket subscribed to (`note:subscribe`). */
  private noteSubscribed: string | null = null;

  private setNote(key: NoteKey, f: (v: NoteView) => NoteView): void {
    this.set((s) => ({ notes: { ...s.notes, [key]: f(s.notes[key] ?? emptyNoteView()) } }));
  }

  /** Shows a channel's notes or the personal notes beside the messages (instead of a thread or search). */
  async openNotes(key: NoteKey): Promise<void> {
    if (this.state.notesPanel !== key) this.closeNotes();
    this.set({ notesPanel: key, thread: null, search: null });
    await this.loadNote(key);
  }

  closeNotes(): void {
    const c = this.noteSubscribed;
    this.noteSubscribed = null;
    if (c && this.socket?.canSend) void this.socket.request('note:unsubscribe', { channelId: c }).catch(() => undefined);
    if (this.state.notesPanel) this.set({ notesPanel: null });
  }

  private fetchNote(key: NoteKey): Promise<Note> {
    const { kind, id } = splitNoteKey(key);
    return kind === 'channel'
      ? call(api.GET('/api/notes/channel', { params: { query: { channelId: id } } }))
      : call(api.GET('/api/notes/personal', { params: { query: { workspaceId: id } } }));
  }

  /**
   * Loads the note. A channel's is subscribed to over the socket when it is
   * open (its answer is the note; `note:updated` follows every save), else
   * read by REST and subscribed to once the socket opens.
   */
  async loadNote(key: NoteKey): Promise<void> {
    const { kind, id } = splitNoteKey(key);
    try {
      let note: Note | null = null;
      if (kind === 'channel' && this.socket?.canSend) {
        try {
          note = await this.socket.request<Note>('note:subscribe', { channelId: id });
          if (this.state.notesPanel === key) this.noteSubscribed = id;
          else void this.socket?.request('note:unsubscribe', { channelId: id }).catch(() => undefined);
        } catch {
          note = null; // answered by REST below (with the server's reason if it refuses)
        }
      }
      note ??= await this.fetchNote(key);
      const me = this.state.user?.id ?? null;
      this.setNote(key, (v) => ({ ...noteReceived(v, note!, me), error: v.draft === null ? null : v.error }));
    } catch (e) {
      this.setNote(key, (v) => noteFailed(v, errorText(e)));
    }
  }

  editNote(key: NoteKey): void {
    this.setNote(key, startEditing);
  }

  typeNote(key: NoteKey, text: string): void {
    this.setNote(key, (v) => noteTyped(v, text));
  }

  /** Cancel, or drop the draft for the version someone else saved. */
  discardNoteDraft(key: NoteKey): void {
    this.setNote(key, stopEditing);
  }

  /**
   * Saves the draft with the version it started from (or, `overwrite`, with
   * the newest version known: the draft replaces what someone else saved).
   * A stale version is refused (409): the draft stays, and the note as it is
   * now is fetched to show beside it.
   */
  async saveNote(key: NoteKey, overwrite = false): Promise<void> {
    const before = this.state.notes[key];
    if (!before || before.draft === null || before.saving) return;
    if (overwrite) this.setNote(key, overwriting);
    this.setNote(key, savingStarted);
    const v = this.state.notes[key];
    const content = v.draft!;
    const body = { content, version: v.base };
    const { kind, id } = splitNoteKey(key);
    try {
      const note =
        kind === 'channel'
          ? await call(api.POST('/api/notes/channel', { body: { ...body, channelId: id } }))
          : await call(api.POST('/api/notes/personal', { body: { ...body, workspaceId: id } }));
      this.setNote(key, (x) => noteSaved(x, note, content));
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        const cv = e.details?.currentVersion;
        const current = await this.fetchNote(key).catch(() => null);
        this.setNote(key, (x) => refusedAsStale(x, current, typeof cv === 'number' ? cv : undefined));
      } else {
        this.setNote(key, (x) => noteFailed(x, e instanceof ApiError && e.status === 0 ? 'You are offline: the notes were not saved. Save again when you are back.' : errorText(e)));
      }
    }
  }

  // ---- custom emoji --------------------------------------------------------

  private emojiLoadedAt = 0;
  private emojiLoading: Promise<void> | null = null;
  private emojiRetry: ReturnType<typeof setTimeout> | null = null;

  /** GET /api/workspaces/{id}/emoji. */
  loadEmoji(): Promise<void> {
    const wsId = this.state.wsId;
    if (!wsId) return Promise.resolve();
    if (this.emojiLoading) return this.emojiLoading;
    this.emojiLoadedAt = Date.now();
    this.emojiLoading = call(api.GET('/api/workspaces/{workspaceId}/emoji', { params: { path: { workspaceId: wsId } } }))
      .then((r) => {
        if (this.state.wsId === wsId) this.set({ emoji: r.emoji });
      })
      .finally(() => {
        this.emojiLoading = null;
      });
    return this.emojiLoading;
  }

  /**
   * A reaction names a custom emoji we do not have: probably added since the
   * list was loaded. Loads it again, at most every 3 s (later, not never).
   */
  unknownEmoji(emoji: string): void {
    if (!shortcodeName(emoji) || findCustom(this.state.emoji, emoji) || this.emojiLoading || this.emojiRetry) return;
    const wait = this.emojiLoadedAt + 3000 - Date.now();
    if (wait <= 0) {
      void this.loadEmoji().catch(() => undefined);
      return;
    }
    this.emojiRetry = setTimeout(() => {
      this.emojiRetry = null;
      if (!findCustom(this.state.emoji, emoji)) void this.loadEmoji().catch(() => undefined);
    }, wait);
  }

  /** POST /api/upload/emoji (admins): `workspaceId` and `name` before `file`, as the gateway wants. */
  async uploadEmoji(name: string, file: File): Promise<Emoji> {
    const wsId = this.state.wsId!;
    const e = await call(
      api.POST('/api/upload/emoji', {
        body: { workspaceId: wsId, name, file: '' },
        bodySerializer: () => {
          const fd = new FormData();
          fd.append('workspaceId', wsId);
          fd.append('name', name);
          fd.append('file', file, file.name);
          return fd;
        },
      }),
    );
    if (this.state.wsId === wsId) this.set((s) => ({ emoji: [...s.emoji.filter((x) => x.name !== e.name), e] }));
    return e;
  }

  async deleteEmoji(name: string): Promise<void> {
    const wsId = this.state.wsId!;
    await call(api.DELETE('/api/workspaces/{workspaceId}/emoji/{name}', { params: { path: { workspaceId: wsId, name } } }));
    if (this.state.wsId === wsId) this.set((s) => ({ emoji: s.emoji.filter((x) => x.name !== name) }));
  }


  // ---- the socket and connectivity --------------------------------------------------

  private startSocket(): void {
    if (this.socket || typeof WebSocket === 'undefined') return;
    this.socket = new Socket(
      Socket.sameOrigin(),
      {
        onOpen: (reconnect) => {
          this.set({ connected: true, wasConnected: true });
          this.presenceActive();
          // A new socket has no note subscription: subscribe again (the answer is the note now).
          this.noteSubscribed = null;
          if (this.state.notesPanel) void this.loadNote(this.state.notesPanel);
          void this.fetchPresence();
          if (reconnect) {
            // Anything said while we were away: from history, by sequence; and
            // whatever changed in what we hold, from each place's change feed.
            void this.resumeAll();
            void this.refreshUnread().catch(() => undefined);
            void this.refreshChannels().catch(() => undefined);
            void this.loadNotifications();
            void this.loadEmoji().catch(() => undefined);
          }
          void this.flushOutbox();
        },
        onClose: () => this.set({ connected: false }),
        onEvent: (name, data) => this.onEvent(name, data),
      },
      eventStream(location.origin),
    );
    this.socket.start();
  }

  private wentOnline(): void {
    this.set({ online: true });
    this.socket?.reconnectNow();
    void this.flushOutbox();
  }

  private wentOffline(): void {
    this.set({ online: false });
    this.socket?.drop();
  }

  onEvent(name: string, data: unknown): void {
    const ev = data as ServerEvents[keyof ServerEvents];
    switch (name as keyof ServerEvents) {
      case 'message:new': {
        const d = ev as ServerEvents['message:new'];
        this.receive(d.message, true);
        break;
      }
      case 'thread:newReply': {
        const d = ev as ServerEvents['thread:newReply'];
        this.receive({ ...d.reply, parentId: d.reply.parentId ?? d.parentId }, true);
        break;
      }
      case 'message:edited': {
        const d = ev as ServerEvents['message:edited'];
        this.changeMessage(d.message.id, (m) => ({ ...m, ...d.message }), keyOfMessage(d.message));
        break;
      }
      case 'message:deleted': {
        const d = ev as ServerEvents['message:deleted'];
        this.deleted(d.messageId, keyOfRef(d));
        break;
      }
      case 'reaction:update': {
        const d = ev as ServerEvents['reaction:update'];
        this.changeMessage(d.messageId, (m) => ({ ...m, reactions: d.reactions }));
        break;
      }
      case 'typing:update': {
        const d = ev as ServerEvents['typing:update'];
        const key = keyOfRef(d);
        if (!key || d.userId === this.state.user?.id) break;
        this.ensureMembers([d.userId]);
        this.set((s) => {
          const t = { ...(s.typing[key] ?? {}) };
          if (d.isTyping) t[d.userId] = Date.now() + 6000;
          else delete t[d.userId];
          return { typing: { ...s.typing, [key]: t } };
        });
        break;
      }
      case 'unread:update': {
        const d = ev as ServerEvents['unread:update'];
        const key = keyOfRef(d);
        if (!key) break;
        if (key === this.state.current && this.isReading()) {
          if (d.count > 0) this.scheduleRead();
          break;
        }
        this.set((s) => ({ unread: { ...s.unread, [key]: { count: d.count, mentions: d.mentionCount ?? 0 } } }));
        break;
      }
      case 'presence:update': {
        const d = ev as ServerEvents['presence:update'];
        if (d.workspaceId && d.workspaceId !== this.state.wsId) break;
        this.set((s) => ({ presence: { ...s.presence, [d.userId]: d.status } }));
        break;
      }
      case 'channel:joined':
      case 'channel:updated': {
        const d = ev as ServerEvents['channel:joined'];
        if (d.channel) this.upsertChannel(d.channel);
        break;
      }
      case 'channel:left': {
        void this.refreshChannels().catch(() => undefined);
        break;
      }
      case 'notification:new': {
        const d = ev as ServerEvents['notification:new'];
        if (!d.notification?.id) break;
        const next = withNew({ list: this.state.notifications, unread: this.state.notifUnread }, d.notification);
        this.set({ notifications: next.list, notifUnread: next.unread });
        break;
      }
      case 'notification:read': {
        const d = ev as ServerEvents['notification:read'];
        const known = d.allRead || this.state.notifications.some((n) => n.id === d.notificationId);
        if (!known) {
          // Older than the page we hold: the count comes from the server.
          void this.loadNotifications();
          break;
        }
        const next = withRead({ list: this.state.notifications, unread: this.state.notifUnread }, d);
        this.set({ notifications: next.list, notifUnread: next.unread });
        break;
      }
      case 'linkPreview:ready': {
        const d = ev as ServerEvents['linkPreview:ready'];
        if (!d.preview?.url) break;
        this.changeMessage(
          d.messageId,
          (m) => {
            const list = m.linkPreviews ?? [];
            const i = list.findIndex((p) => p.url === d.preview.url);
            return { ...m, linkPreviews: i >= 0 ? list.map((p, j) => (j === i ? d.preview : p)) : [...list, d.preview] };
          },
          keyOfRef(d),
        );
        break;
      }
      case 'pin:update': {
        const d = ev as ServerEvents['pin:update'];
        if (d.channelId && d.messageId) this.pinChanged(d.channelId, d.messageId, !!d.pinned);
        break;
      }
      case 'member:updated': {
        const d = ev as ServerEvents['member:updated'];
        if (d.member?.userId) this.memberChanged(d.member);
        break;
      }
      case 'note:updated': {
        const d = ev as ServerEvents['note:updated'];
        const key = d.channelId
          ? noteKey('channel', d.channelId)
          : d.personal && d.workspaceId
            ? noteKey('personal', d.workspaceId)
            : null;
        if (!key || !this.state.notes[key] || typeof d.version !== 'number') break;
        const note: Note = {
          channelId: d.channelId ?? null,
          workspaceId: d.workspaceId ?? null,
          content: d.content ?? '',
          version: d.version,
          updatedBy: d.updatedBy ?? null,
          updatedAt: d.updatedAt ?? new Date().toISOString(),
        };
        this.setNote(key, (v) => noteReceived(v, note, this.state.user?.id ?? null));
        break;
      }
      case 'status:update': {
        const d = ev as ServerEvents['status:update'];
        if (d.workspaceId && d.workspaceId !== this.state.wsId) break;
        this.set((s) => {
          const statuses = { ...s.statuses };
          if (d.status) statuses[d.userId] = d.status;
          else delete statuses[d.userId];
          return { statuses };
        });
        break;
      }
      default:
        break;
    }
  }

  reportError(e: unknown): void {
    if (e instanceof ApiError) this.notify(e.status === 0 ? 'You are offline.' : e.message);
    else if (e instanceof Error) this.notify(e.message);
  }
}

function unreadMap(r: { channels: { channelId?: string | null; count: number; mentionCount?: number }[]; conversations: { conversationId?: string | null; count: number; mentionCount?: number }[] }) {
  const out: Record<PlaceKey, { count: number; mentions: number }> = {};
  for (const u of r.channels) if (u.channelId) out[keyOf('channel', u.channelId)] = { count: u.count, mentions: u.mentionCount ?? 0 };
  for (const u of r.conversations) if (u.conversationId) out[keyOf('conversation', u.conversationId)] = { count: u.count, mentions: u.mentionCount ?? 0 };
  return out;
}

export const noteKey = (kind: 'channel' | 'personal', id: string): NoteKey => `${kind}:${id}`;
export function splitNoteKey(key: NoteKey): { kind: 'channel' | 'personal'; id: string } {
  const i = key.indexOf(':');
  return { kind: key.slice(0, i) as 'channel' | 'personal', id: key.slice(i + 1) };
}

function placeRef(key: PlaceKey): PlaceRef {
  const { kind, id } = splitKey(key);
  return kind === 'channel' ? { channelId: id } : { conversationId: id };
}

/** Whether `m` is a later state than the copy of it in `list` (edited or reacted to since). */
function isNewer(m: Message, list: readonly Message[]): boolean {
  const other = list.find((x) => x.id === m.id);
  if (!other) return false;
  return (m.updatedAt ?? '') > (other.updatedAt ?? '') || (!!m.isDeleted && !other.isDeleted);
}

export const app = new App();

/** The state, re-rendering the component on every change. */
export function useApp(): AppState {
  const [, tick] = useState(0);
  useEffect(() => app.subscribe(() => tick((n) => n + 1)), []);
  return app.state;
}

/** The workspace's custom emoji, re-rendering only when the list changes. */
export function useEmojiList(): Emoji[] {
  const [list, setList] = useState(app.state.emoji);
  useEffect(() => app.subscribe(() => setList(app.state.emoji)), []);
  return list;
}

export function placeName(s: AppState, key: PlaceKey): string {
  const { kind, id } = splitKey(key);
  if (kind === 'channel') return '#' + (s.channels.find((c) => c.id === id)?.name ?? 'channel');
  const c = s.conversations.find((x) => x.id === id);
  return c ? conversationName(s, c) : 'Direct message';
}

export function conversationName(s: AppState, c: Conversation): string {
  const others = c.participantIds.filter((u) => u !== s.user?.id);
  if (others.length === 0) return (s.user?.name ?? 'You') + ' (you)';
  return others.map((u) => s.members[u]?.name ?? 'Someone').join(', ');
}

export function authorName(s: AppState, userId: string): string {
  if (userId === s.user?.id) return s.user.name;
  return s.members[userId]?.name ?? 'Unknown user';
}

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status === 0 ? 'You are offline.' : e.message;
  return e instanceof Error ? e.message : 'Something went wrong.';
}
