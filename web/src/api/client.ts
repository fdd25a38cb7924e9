// The typed REST client. Every path, body and answer type comes from the
// generated `schema.d.ts` (npm run gen, from ../docs/openapi.json).
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Workspace = Schemas['Workspace'];
export type Channel = Schemas['Channel'];
export type Category = Schemas['Category'];
export type Conversation = Schemas['Conversation'];
export type Member = Schemas['Member'];
export type Message = Schemas['Message'];
export type Reaction = Schemas['Reaction'];
export type UnreadCount = Schemas['UnreadCount'];
export type MessagePage = Schemas['ListMessagesResponse'];
export type Invite = Schemas['Invite'];
export type ApiErrorBody = Schemas['Error'];
export type Attachment = Schemas['Attachment'];
export type LinkPreview = Schemas['LinkPreview'];
export type UploadedFile = Schemas['File'];
export type Notification = Schemas['Notification'];
export type SearchResult = Schemas['SearchResult'];
export type ChannelSettings = Schemas['ChannelSettings'];
export type UserStatus = Schemas['UserStatus'];
export type Profile = Schemas['Profile'];
export type UpdateProfile = Schemas['UpdateProfileRequest'];
export type ScheduledMessage = Schemas['ScheduledMessage'];
export type Reminder = Schemas['Reminder'];
export type Session = Schemas['Session'];
export type TwoFactorSetup = Schemas['EnableTwoFactorResponse'];
export type Group = Schemas['Group'];
export type Bookmark = Schemas['Bookmark'];
export type Note = Schemas['Note'];
export type Emoji = Schemas['Emoji'];

/** Same-origin requests carry the HttpOnly session cookie; no token is ever stored. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

/** A failed API call: the server's error code and details, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth retrying later (no answer, server trouble, rate limit), as opposed to a refusal. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * Unwraps an openapi-fetch call: the data, or an `ApiError`. A network
 * failure (offline, connection refused) becomes status 0, code NETWORK.
 */
export async function call<T>(p: Promise<FetchResult<T>>): Promise<T> {
  let r: FetchResult<T>;
  try {
    r = await p;
  } catch (e) {
    throw new ApiError(0, 'NETWORK', e instanceof Error ? e.message : 'network error');
  }
  if (r.error !== undefined || !r.response.ok) {
    const body = r.error as Partial<ApiErrorBody> | undefined;
    const err = body?.error;
    throw new ApiError(
      r.response.status,
      err?.code ?? 'HTTP_' + r.response.status,
      err?.message ?? r.response.statusText ?? 'request failed',
      err?.details as Record<string, unknown> | undefined,
    );
  }
  return r.data as T;
}
