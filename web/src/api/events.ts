// WebSocket event payloads (seed 3.2). The OpenAPI document lists the event
// names (`x-websocket`) but has no schemas for their payloads, so these are
// written here, reusing the generated types for everything they carry.
import type { Channel, LinkPreview, Member, Message, Notification, Reaction, UnreadCount, UserStatus } from './client';

/** Where an event happened: a channel or a conversation. */
export interface PlaceRef {
  channelId?: string | null;
  conversationId?: string | null;
}

export interface ServerEvents {
  'message:new': {
    message: Message;
    channel?: Pick<Channel, 'id' | 'name' | 'workspaceId'> | null;
    conversation?: { id: string; workspaceId?: string } | null;
  };
  'message:edited': { message: Message };
  'message:deleted': { messageId: string } & PlaceRef;
  'reaction:update': { messageId: string; reactions: Reaction[] };
  'thread:newReply': { parentId: string; reply: Message };
  'typing:update': { userId: string; isTyping: boolean } & PlaceRef;
  'unread:update': UnreadCount;
  'workspace:unreadUpdate': { workspaceId?: string; total: number };
  'presence:update': { userId: string; status: string; workspaceId?: string };
  'channel:joined': { channel: Channel };
  'channel:left': { channelId?: string; channel?: Channel };
  'channel:updated': { channel: Channel };
  'notification:new': { notification: Notification };
  /** One notification read (on another socket, or this one), or `allRead`. */
  'notification:read': { notificationId?: string; allRead?: boolean };
  'linkPreview:ready': { messageId: string; preview: LinkPreview } & PlaceRef;
  'status:update': { userId: string; workspaceId?: string; status: UserStatus | null };
  'pin:update': { channelId: string; messageId: string; pinned: boolean; by?: string };
  /** Sent to the member whose role changed. */
  'member:updated': { member: Member };
  /** A channel's note was saved; only to sockets that sent `note:subscribe` for it (no `updatedAt`). */
  // A channel's note (to sockets subscribed to it), or the user's own
  // personal note of a workspace (to all their sockets).
  'note:updated': {
    channelId?: string;
    workspaceId?: string;
    personal?: boolean;
    content: string;
    version: number;
    updatedBy?: string | null;
    updatedAt?: string | null;
  };
}

export type ServerEventName = keyof ServerEvents;

export interface ClientEvents {
  'typing:start': PlaceRef;
  'typing:stop': PlaceRef;
  'presence:setActive': { workspaceId: string };
  'presence:setAway': { workspaceId: string };
  'presence:fetch': { workspaceId: string; userIds: string[] };
  'reaction:toggle': { messageId: string; emoji: string };
  /** Answered with the channel's note as it is now. */
  'note:subscribe': { channelId: string };
  'note:unsubscribe': { channelId: string };
}

export interface PresenceAnswer {
  presences?: { userId: string; status: string; updatedAt?: string | null }[];
}

/** `{"event","data"}` from the server, or `{"ack","ok","data"|"error"}`. */
export type ServerFrame =
  | { event: string; data: unknown }
  | { ack: number; ok: boolean; data?: unknown; error?: { code: string; message: string } };
