// Complete API objects for tests. The server sends every field (nullable ones
// as null), so fixtures must too: each factory fills every required field with
// a neutral default (null, 0, '', false, [], a fixed date) and takes overrides.
// Defaults are chosen so that nothing a test did not set is noticeable: no
// category, no unread count, no description, not private, not archived.
import type {
  Attachment,
  Channel,
  Emoji,
  Group,
  Member,
  Note,
  Notification,
  SearchResult,
  UploadedFile,
  User,
  Workspace,
} from '../src/api/client';
import { msg } from './helpers';

/** The fixed timestamp used for every `createdAt` a test does not set. */
export const AT = '2026-01-01T00:00:00Z';

export function user(o: Partial<User> = {}): User {
  return { id: 'u1', name: '', email: '', emailVerified: false, image: null, createdAt: AT, ...o };
}

export function workspace(o: Partial<Workspace> = {}): Workspace {
  return { id: 'w1', name: '', slug: '', role: 'member', joinPolicy: 'invite', logo: null, createdAt: AT, ...o };
}

export function channel(o: Partial<Channel> = {}): Channel {
  return {
    id: 'c1',
    workspaceId: '',
    name: '',
    description: null,
    topic: null,
    categoryId: null,
    isPrivate: false,
    isArchived: false,
    isMember: false,
    memberCount: 0,
    lastSequence: 0,
    unreadCount: 0,
    createdBy: '',
    createdAt: AT,
    ...o,
  };
}

export function member(o: Partial<Member> = {}): Member {
  return {
    userId: 'u1',
    workspaceId: '',
    name: '',
    email: '',
    role: 'member',
    isGuest: false,
    guestChannelIds: [],
    expiresAt: null,
    createdAt: AT,
    ...o,
  };
}

export function group(o: Partial<Group> = {}): Group {
  return { id: 'g1', workspaceId: '', handle: '', name: '', memberIds: [], createdBy: '', createdAt: AT, ...o };
}

export function note(o: Partial<Note> = {}): Note {
  return { content: '', version: 0, updatedBy: null, updatedAt: null, channelId: null, workspaceId: null, ...o };
}

export function emoji(o: Partial<Emoji> = {}): Emoji {
  return { id: 'e1', workspaceId: '', name: '', url: '', fileId: '', isAnimated: false, createdBy: '', createdAt: AT, ...o };
}

export function notification(o: Partial<Notification> = {}): Notification {
  return { id: 'n1', type: 'mention', title: '', body: null, data: '', isRead: false, createdAt: AT, ...o };
}

export function attachment(o: Partial<Attachment> = {}): Attachment {
  return { id: 'f1', url: '', filename: '', size: 0, mimeType: '', thumbnailUrl: null, ...o };
}

export function uploadedFile(o: Partial<UploadedFile> = {}): UploadedFile {
  return { id: 'f1', url: '', filename: '', size: 0, mimeType: '', thumbnailUrl: null, kind: 'attachment', workspaceId: null, createdAt: AT, ...o };
}

export function searchResult(o: Partial<SearchResult> = {}): SearchResult {
  return { message: msg(1), channelName: null, highlight: '', rank: 0, ...o };
}
