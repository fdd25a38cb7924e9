// Notifications: where one points (its `data` is a JSON string with the
// message, place and thread it is about) and how the list and the unread
// count change with the socket's notification:new and notification:read.
import type { Notification } from '../api/client';

export interface NotificationTarget {
  workspaceId: string | null;
  kind: 'channel' | 'conversation';
  id: string;
  messageId: string | null;
  parentId: string | null;
}

export function notificationData(n: Pick<Notification, 'data'>): Record<string, unknown> {
  const d: unknown = n.data;
  if (d && typeof d === 'object') return d as Record<string, unknown>;
  if (typeof d !== 'string' || !d) return {};
  try {
    const v: unknown = JSON.parse(d);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** The place (and thread) a notification is about, or null (a reminder about a text). */
export function notificationTarget(n: Pick<Notification, 'data'>): NotificationTarget | null {
  const d = notificationData(n);
  const channelId = str(d.channelId);
  const conversationId = str(d.conversationId);
  const id = channelId ?? conversationId;
  if (!id) return null;
  return {
    workspaceId: str(d.workspaceId),
    kind: channelId ? 'channel' : 'conversation',
    id,
    messageId: str(d.messageId),
    parentId: str(d.parentId),
  };
}

export interface NotificationsState {
  list: Notification[];
  unread: number;
}

/** A new notification: first in the list, counted once. */
export function withNew(s: NotificationsState, n: Notification): NotificationsState {
  if (s.list.some((x) => x.id === n.id)) return s;
  return { list: [n, ...s.list], unread: s.unread + (n.isRead ? 0 : 1) };
}

/**
 * notification:read: `{notificationId}` for one (from this or another of the
 * user's sockets), `{allRead: true}` for all. Only a notification known to
 * be unread lowers the count (the event may repeat our own POST's answer).
 */
export function withRead(s: NotificationsState, ev: { notificationId?: string | null; allRead?: boolean | null }): NotificationsState {
  if (ev.allRead) return { list: s.list.map((n) => (n.isRead ? n : { ...n, isRead: true })), unread: 0 };
  const id = ev.notificationId;
  if (!id) return s;
  const n = s.list.find((x) => x.id === id);
  if (!n || n.isRead) return s;
  return { list: s.list.map((x) => (x.id === id ? { ...x, isRead: true } : x)), unread: Math.max(0, s.unread - 1) };
}

/** "mention" → a short label for the list. */
export function kindLabel(type: string): string {
  switch (type) {
    case 'mention':
      return 'Mention';
    case 'here':
      return '@here';
    case 'channel':
      return '@channel';
    case 'thread_reply':
      return 'Thread reply';
    case 'dm':
      return 'Direct message';
    case 'reminder':
      return 'Reminder';
    default:
      return type.replace(/_/g, ' ');
  }
}
