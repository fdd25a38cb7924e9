//! Every route the gateway serves, in one table: the router is built from
//! it and so is `GET /api/openapi.json`, so the document describes exactly
//! the routes that exist.

pub mod auth;
pub mod channels;
pub mod export;
pub mod files;
pub mod messages;
pub mod misc;
pub mod scheduling;
pub mod workspaces;

use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::AppState;

/// One route and what the OpenAPI document says of it.
pub struct Route {
    pub method: &'static str,
    /// axum syntax: `/api/channels/{channelId}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether a session is required.
    pub auth: bool,
    /// The request body schema (a name in `components.schemas`), if any.
    pub body: Option<&'static str>,
    /// Success status and the response schema name.
    pub ok: (u16, &'static str),
    /// Query parameters: (name, kind, description); the kinds are
    /// `openapi::query_schema`'s (`string`, `integer`, `limit200`, `uuid!`, …);
    /// a `!` marks a required one.
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($m:literal $p:literal, $tag:literal, $summary:literal, auth: $auth:expr, body: $body:expr, ok: ($st:literal, $schema:literal), query: $q:expr, $h:expr) => {
        Route {
            method: $m,
            path: $p,
            summary: $summary,
            tag: $tag,
            auth: $auth,
            body: $body,
            ok: ($st, $schema),
            query: $q,
            handler: || $h,
        }
    };
}

const AUDIT_QUERY: &[(&str, &str, &str)] = &[
    ("workspaceId", "uuid!", "the workspace"),
    ("startDate", "string", "YYYY-MM-DD or RFC 3339, inclusive"),
    ("endDate", "string", "YYYY-MM-DD or RFC 3339, inclusive"),
    ("action", "string", "e.g. login_success, login_failure, account_locked, role_changed"),
    ("limit", "limit500", "default 100, at most 500"),
    ("offset", "u32", "rows to skip"),
];

const CHANGES_QUERY: &[(&str, &str, &str)] = &[
    ("since", "i64>=0", "the change version the client has applied; omit it to learn the current one"),
    ("limit", "limit200", "default 50, at most 200"),
];
const HISTORY_QUERY: &[(&str, &str, &str)] = &[
    ("before", "i64>=1", "page backwards: messages with a smaller sequence"),
    ("after", "i64>=0", "page forwards (and resume): messages with a greater sequence"),
    ("limit", "limit200", "page size, default 50, at most 200"),
];

pub fn table() -> Vec<Route> {
    vec![
        route!("post" "/api/auth/sign-up/email", "auth", "Create an account and sign in", auth: false, body: Some("SignUp"), ok: (200, "AuthResponse"), query: &[], post(auth::sign_up)),
        route!("post" "/api/auth/sign-in/email", "auth", "Sign in with email and password (401 `Invalid credentials` whether or not the email exists; 423 while locked)", auth: false, body: Some("SignIn"), ok: (200, "AuthResponse"), query: &[], post(auth::sign_in)),
        route!("post" "/api/auth/sign-out", "auth", "End the current session", auth: true, body: None, ok: (200, "Success"), query: &[], post(auth::sign_out)),
        route!("post" "/api/auth/forget-password", "auth", "Start a password reset: 200 for any well-formed address (400 for a malformed one); an account with this email gets a single-use link (60 minutes)", auth: false, body: Some("ForgetPassword"), ok: (200, "Success"), query: &[], post(auth::forget_password)),
        route!("post" "/api/auth/reset-password", "auth", "Set a new password with a reset token; ends every session of the account", auth: false, body: Some("ResetPassword"), ok: (200, "Success"), query: &[], post(auth::reset_password)),
        route!("post" "/api/auth/two-factor/enable", "auth", "Start TOTP two-factor setup (password required): secret, otpauth URL, ten backup codes; on once a code verifies", auth: true, body: Some("Password"), ok: (200, "TwoFactorSetup"), query: &[], post(auth::two_factor_enable)),
        route!("post" "/api/auth/two-factor/verify", "auth", "Verify a TOTP code (turns two-factor on after enable)", auth: true, body: Some("TotpCode"), ok: (200, "TwoFactorState"), query: &[], post(auth::two_factor_verify)),
        route!("post" "/api/auth/two-factor/disable", "auth", "Turn two-factor off (password required)", auth: true, body: Some("Password"), ok: (200, "Success"), query: &[], post(auth::two_factor_disable)),
        route!("get" "/api/auth/session", "auth", "The current user and session", auth: true, body: None, ok: (200, "SessionResponse"), query: &[], get(auth::session)),
        route!("get" "/api/sessions", "auth", "The caller's live sessions, the current one marked", auth: true, body: None, ok: (200, "SessionList"), query: &[], get(auth::sessions)),
        route!("post" "/api/sessions/revoke", "auth", "End one of the caller's sessions ({sessionId}) or all but the current one ({allOthers: true}); takes effect at once everywhere", auth: true, body: Some("RevokeSession"), ok: (200, "Revoked"), query: &[], post(auth::revoke)),
        route!("post" "/api/workspaces", "workspaces", "Create a workspace; the caller becomes its owner", auth: true, body: Some("CreateWorkspace"), ok: (201, "Workspace"), query: &[], post(workspaces::create)),
        route!("get" "/api/workspaces", "workspaces", "The caller's workspaces", auth: true, body: None, ok: (200, "WorkspaceList"), query: &[], get(workspaces::list)),
        route!("get" "/api/workspaces/{workspaceId}", "workspaces", "One workspace the caller belongs to", auth: true, body: None, ok: (200, "Workspace"), query: &[], get(workspaces::get)),
        route!("patch" "/api/workspaces/{workspaceId}", "workspaces", "Rename a workspace or change its join policy (admins, owners)", auth: true, body: Some("UpdateWorkspace"), ok: (200, "Workspace"), query: &[], patch(workspaces::update)),
        route!("get" "/api/workspaces/{workspaceId}/members", "workspaces", "Members with role, isGuest, expiresAt", auth: true, body: None, ok: (200, "MemberList"), query: &[], get(workspaces::members)),
        route!("patch" "/api/workspaces/{workspaceId}/members/{userId}", "workspaces", "Change a member's role (admins: member and admin; owners: any). The last owner cannot be demoted", auth: true, body: Some("RoleChange"), ok: (200, "Member"), query: &[], patch(workspaces::update_member)),
        route!("delete" "/api/workspaces/{workspaceId}/members/{userId}", "workspaces", "Remove a member (admins: members; owners: anyone), or leave (your own id). The last owner cannot leave", auth: true, body: None, ok: (200, "Success"), query: &[], delete(workspaces::remove_member)),
        route!("get" "/api/workspaces/{workspaceId}/members/{userId}/profile", "workspaces", "A member's profile and status", auth: true, body: None, ok: (200, "Profile"), query: &[], get(workspaces::member_profile)),
        route!("get" "/api/workspaces/{workspaceId}/profile", "workspaces", "The caller's profile there", auth: true, body: None, ok: (200, "Profile"), query: &[], get(workspaces::profile)),
        route!("patch" "/api/workspaces/{workspaceId}/profile", "workspaces", "Update the caller's profile; omitted fields stay, empty strings clear", auth: true, body: Some("UpdateProfile"), ok: (200, "Profile"), query: &[], patch(workspaces::update_profile)),
        route!("put" "/api/workspaces/{workspaceId}/status", "workspaces", "Set the caller's custom status; an empty body clears it", auth: true, body: Some("SetStatus"), ok: (200, "UserStatus"), query: &[], put(workspaces::set_status)),
        route!("post" "/api/workspace/last-visited", "workspaces", "Remember the workspace the caller opened last (returned by GET /api/workspaces)", auth: true, body: Some("LastVisited"), ok: (200, "Success"), query: &[], post(workspaces::last_visited)),
        route!("post" "/api/admin/export", "admin", "GDPR export of a member's data in a workspace (the member themselves, or an owner; other members 403, outsiders 404): account, profile and status, the messages they wrote, files they uploaded with download URLs, notification settings, notes, reminders and scheduled messages, as one JSON document streamed as an attachment", auth: true, body: Some("ExportRequest"), ok: (200, "Export"), query: &[], post(export::export)),
        route!("get" "/api/admin/audit-logs", "admin", "Security events of a workspace and its members' accounts (owners)", auth: true, body: None, ok: (200, "AuditLogList"), query: AUDIT_QUERY, get(workspaces::audit_logs)),
        route!("post" "/api/workspaces/{workspaceId}/invites", "workspaces", "Invite by email (single use) or by link (multi-use); admins and owners", auth: true, body: Some("CreateInvite"), ok: (201, "Invite"), query: &[], post(workspaces::create_invite)),
        route!("post" "/api/invites/{token}/accept", "workspaces", "Join a workspace through an invite", auth: true, body: None, ok: (200, "AcceptInvite"), query: &[], post(workspaces::accept_invite)),
        route!("post" "/api/workspaces/{workspaceId}/join", "workspaces", "Join an open workspace (200, the membership), or ask to join one that takes requests (202, {request})", auth: true, body: None, ok: (200, "Member"), query: &[], post(workspaces::join)),
        route!("post" "/api/workspaces/{workspaceId}/guest-invites", "workspaces", "Invite a guest to some channels until expiresAt (admins); afterwards they can read but not post", auth: true, body: Some("CreateGuestInvite"), ok: (201, "Invite"), query: &[], post(workspaces::create_guest_invite)),
        route!("get" "/api/workspaces/{workspaceId}/join-requests", "workspaces", "Pending join requests (admins)", auth: true, body: None, ok: (200, "JoinRequestList"), query: &[], get(workspaces::join_requests)),
        route!("post" "/api/workspaces/{workspaceId}/join-requests/{requestId}", "workspaces", "Approve or reject a join request (admins)", auth: true, body: Some("Decision"), ok: (200, "JoinRequest"), query: &[], post(workspaces::decide_join_request)),
        route!("post" "/api/workspaces/{workspaceId}/channels", "channels", "Create a channel; the creator joins it", auth: true, body: Some("CreateChannel"), ok: (201, "Channel"), query: &[], post(channels::create)),
        route!("get" "/api/workspaces/{workspaceId}/channels", "channels", "Channels the caller can see, with unreadCount", auth: true, body: None, ok: (200, "ChannelList"), query: &[], get(channels::list)),
        route!("post" "/api/workspaces/{workspaceId}/categories", "channels", "Create a channel category (admins)", auth: true, body: Some("CreateCategory"), ok: (201, "Category"), query: &[], post(channels::create_category)),
        route!("get" "/api/workspaces/{workspaceId}/categories", "channels", "The workspace's channel categories, in order", auth: true, body: None, ok: (200, "CategoryList"), query: &[], get(channels::categories)),
        route!("get" "/api/channels/{channelId}", "channels", "One channel", auth: true, body: None, ok: (200, "Channel"), query: &[], get(channels::get)),
        route!("post" "/api/channels/{channelId}/join", "channels", "Join a public channel", auth: true, body: None, ok: (200, "Channel"), query: &[], post(channels::join)),
        route!("post" "/api/channels/{channelId}/leave", "channels", "Leave a channel", auth: true, body: None, ok: (200, "Success"), query: &[], post(channels::leave)),
        route!("get" "/api/channels/{channelId}/messages", "messages", "History by sequence, ascending; `before` pages back, `after` forward (resume after a disconnect with after=<last sequence seen>)", auth: true, body: None, ok: (200, "MessagePage"), query: HISTORY_QUERY, get(channels::history)),
        route!("post" "/api/channels/{channelId}/messages", "messages", "Send a message; a retry with the same clientMsgId returns the first message instead of creating another", auth: true, body: Some("SendMessage"), ok: (201, "Message"), query: &[], post(channels::send)),
        route!("patch" "/api/channels/{channelId}", "channels", "Rename, describe, set the topic or category, archive or unarchive (the channel's creator, admins)", auth: true, body: Some("UpdateChannel"), ok: (200, "Channel"), query: &[], patch(channels::update)),
        route!("post" "/api/channels/{channelId}/members", "channels", "Add a workspace member to the channel (members of the channel)", auth: true, body: Some("AddMember"), ok: (200, "Channel"), query: &[], post(channels::add_member)),
        route!("delete" "/api/channels/{channelId}/members/{userId}", "channels", "Remove someone from the channel (the channel's creator, admins; anyone for themselves)", auth: true, body: None, ok: (200, "Channel"), query: &[], delete(channels::remove_member)),
        route!("post" "/api/channels/{channelId}/read", "read state", "Move the caller's read mark to a sequence; answers the channel's unread count", auth: true, body: Some("MarkRead"), ok: (200, "UnreadCount"), query: &[], post(channels::read)),
        route!("get" "/api/channels/{channelId}/pins", "channels", "Pinned messages, most recently pinned first, a page at a time", auth: true, body: None, ok: (200, "MessagePage"), query: &[("before", "string", "the id of the last message of the previous page"), ("limit", "limit200", "default 50, at most 200")], get(channels::pins)),
        route!("post" "/api/channels/{channelId}/pins", "channels", "Pin or unpin a message of the channel", auth: true, body: Some("SetPin"), ok: (200, "PinState"), query: &[], post(channels::set_pin)),
        route!("get" "/api/workspaces/{workspaceId}/unread", "read state", "Unread counts per channel and conversation, and the total", auth: true, body: None, ok: (200, "WorkspaceUnread"), query: &[], get(channels::unread)),
        route!("patch" "/api/messages/{messageId}", "messages", "Edit a message (its author)", auth: true, body: Some("EditMessage"), ok: (200, "Message"), query: &[], patch(messages::edit)),
        route!("delete" "/api/messages/{messageId}", "messages", "Delete a message (its author, admins); it keeps its place as [deleted], its replies stay", auth: true, body: None, ok: (200, "Message"), query: &[], delete(messages::delete)),
        route!("get" "/api/messages/{messageId}/replies", "messages", "A thread's replies, oldest first, a page at a time", auth: true, body: None, ok: (200, "MessagePage"), query: &[("after", "integer", "the sequence of the last reply of the previous page"), ("limit", "limit200", "default 50, at most 200")], get(messages::replies)),
        route!("post" "/api/messages/{messageId}/reactions", "messages", "Toggle the caller's reaction", auth: true, body: Some("ToggleReaction"), ok: (200, "Message"), query: &[], post(messages::react)),
        route!("post" "/api/workspaces/{workspaceId}/conversations", "conversations", "The DM or group DM of exactly these users and the caller (same set, same conversation)", auth: true, body: Some("OpenConversation"), ok: (200, "Conversation"), query: &[], post(messages::open_conversation)),
        route!("get" "/api/workspaces/{workspaceId}/conversations", "conversations", "The caller's DMs and group DMs, most recent first", auth: true, body: None, ok: (200, "ConversationList"), query: &[], get(messages::conversations)),
        route!("get" "/api/channels/{channelId}/changes", "messages", "Catching up after a long absence: the channel's messages edited, deleted, reacted to, (un)pinned, replied to or given link previews after change version `since`, each in its current state, in order; ask again from `version` while `hasMore`. Without `since`: the current version only (record it when you load the channel)", auth: true, body: None, ok: (200, "ChangesPage"), query: CHANGES_QUERY, get(channels::changes)),
        route!("get" "/api/conversations/{conversationId}/changes", "conversations", "The change feed of a conversation, as for channels", auth: true, body: None, ok: (200, "ChangesPage"), query: CHANGES_QUERY, get(channels::conversation_changes)),
        route!("get" "/api/conversations/{conversationId}/messages", "conversations", "History by sequence, as for channels", auth: true, body: None, ok: (200, "MessagePage"), query: HISTORY_QUERY, get(messages::history)),
        route!("post" "/api/conversations/{conversationId}/messages", "conversations", "Send a message in a conversation", auth: true, body: Some("SendMessage"), ok: (201, "Message"), query: &[], post(messages::send)),
        route!("post" "/api/conversations/{conversationId}/read", "read state", "Move the caller's read mark in a conversation", auth: true, body: Some("MarkRead"), ok: (200, "UnreadCount"), query: &[], post(messages::read)),
        route!("post" "/api/workspaces/{workspaceId}/groups", "groups", "Create a user group, mentioned as @handle", auth: true, body: Some("CreateGroup"), ok: (201, "Group"), query: &[], post(messages::create_group)),
        route!("get" "/api/workspaces/{workspaceId}/groups", "groups", "The workspace's user groups", auth: true, body: None, ok: (200, "GroupList"), query: &[], get(messages::groups)),
        route!("get" "/api/workspaces/{workspaceId}/search", "messages", "Search what the caller can see: words plus from:@handle, in:#channel, before:YYYY-MM-DD, after:YYYY-MM-DD; full-text with a substring fallback (partial words, CJK); ranked, with <mark> highlights", auth: true, body: None, ok: (200, "SearchResults"), query: &[("q", "string", "words and filters"), ("limit", "limit100", "default 20, at most 100")], get(messages::search)),
        route!("get" "/api/notes/personal", "notes", "The caller's personal note in a workspace ({content, version})", auth: true, body: None, ok: (200, "Note"), query: &[("workspaceId", "uuid!", "the workspace")], get(messages::personal_note)),
        route!("post" "/api/notes/personal", "notes", "Save the personal note; `version` is the one the edit started from (409 with the current note when stale)", auth: true, body: Some("SavePersonalNote"), ok: (200, "Note"), query: &[("workspaceId", "string", "the workspace (the seed's form; or workspaceId in the body)")], post(messages::save_personal_note)),
        route!("get" "/api/notes/channel", "notes", "A channel's shared note", auth: true, body: None, ok: (200, "Note"), query: &[("channelId", "uuid!", "the channel")], get(messages::channel_note)),
        route!("post" "/api/notes/channel", "notes", "Save a channel's note (optimistic version); subscribers receive note:updated", auth: true, body: Some("SaveChannelNote"), ok: (200, "Note"), query: &[("channelId", "string", "the channel (the seed's form; or channelId in the body)")], post(messages::save_channel_note)),
        route!("post" "/api/bookmarks", "bookmarks", "Bookmark a message the caller can see", auth: true, body: Some("CreateBookmark"), ok: (201, "Bookmark"), query: &[], post(messages::create_bookmark)),
        route!("get" "/api/bookmarks", "bookmarks", "The caller's bookmarks, newest first, a page at a time", auth: true, body: None, ok: (200, "BookmarkList"), query: &[("workspaceId", "string", "only this workspace's"), ("before", "string", "the id of the last bookmark of the previous page"), ("limit", "limit200", "default 50, at most 200")], get(messages::bookmarks)),
        route!("delete" "/api/bookmarks/{bookmarkId}", "bookmarks", "Remove a bookmark", auth: true, body: None, ok: (200, "Success"), query: &[], delete(messages::delete_bookmark)),
        route!("get" "/api/channels/{channelId}/notifications", "notifications", "The caller's notification settings for the channel (level all | mentions | none, muted)", auth: true, body: None, ok: (200, "ChannelSettings"), query: &[], get(misc::channel_settings)),
        route!("post" "/api/channels/{channelId}/notifications", "notifications", "Change them; muted or level none: no notifications from this channel", auth: true, body: Some("SetChannelSettings"), ok: (200, "ChannelSettings"), query: &[], post(misc::set_channel_settings)),
        route!("post" "/api/upload/attachment", "files", "Upload a file to attach to a message (multipart `file`): 25 MB of JPEG, PNG, GIF, WebP or PDF, told by its bytes (400 INVALID_FILE_TYPE otherwise; 413 FILE_TOO_LARGE; 413 QUOTA_EXCEEDED). Send its id in attachmentIds; unattached uploads are removed after 7 days", auth: true, body: Some("multipart:UploadAttachment"), ok: (200, "File"), query: &[], post(files::upload_attachment).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("post" "/api/upload/avatar", "files", "Upload an avatar (multipart: optional `workspaceId` first, then `file`): 5 MB of JPEG, PNG or WebP, re-encoded (EXIF dropped); that workspace's profile, or every profile, points at it", auth: true, body: Some("multipart:UploadAvatar"), ok: (200, "File"), query: &[], post(files::upload_avatar).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("post" "/api/upload/emoji", "files", "Add a custom emoji (admins; multipart: `workspaceId` and `name` first, then `file`): 256 KB of PNG or GIF; names unique per workspace (409)", auth: true, body: Some("multipart:UploadEmoji"), ok: (201, "Emoji"), query: &[], post(files::upload_emoji).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("get" "/api/files/{fileId}", "files", "Download a file: its uploader, anyone who can see the message it is attached to (not after the message is deleted), members of an avatar's or emoji's workspace; 404 for everyone else. Range requests (206, 416); nosniff; images inline, everything else as an attachment", auth: true, body: None, ok: (200, "Binary"), query: &[], get(files::download)),
        route!("get" "/api/files/{fileId}/thumbnail", "files", "An image attachment's thumbnail (at most 400 px; the image itself until it is made), same access as the file", auth: true, body: None, ok: (200, "Binary"), query: &[], get(files::thumbnail)),
        route!("get" "/api/workspaces/{workspaceId}/emoji", "files", "The workspace's custom emoji (members)", auth: true, body: None, ok: (200, "EmojiList"), query: &[], get(files::emoji)),
        route!("delete" "/api/workspaces/{workspaceId}/emoji/{name}", "files", "Remove a custom emoji (admins, or who added it)", auth: true, body: None, ok: (200, "Success"), query: &[], delete(files::delete_emoji)),
        route!("get" "/api/user/storage", "files", "The caller's storage use and quota in bytes", auth: true, body: None, ok: (200, "StorageUsage"), query: &[], get(misc::storage)),
        route!("get" "/api/notifications", "notifications", "The caller's notifications, newest first", auth: true, body: None, ok: (200, "NotificationList"), query: &[("unreadOnly", "boolean", "only unread ones"), ("limit", "limit200", "default 50, at most 200")], get(misc::notifications)),
        route!("post" "/api/notifications/{notificationId}/read", "notifications", "Mark a notification read", auth: true, body: None, ok: (200, "Notification"), query: &[], post(misc::notification_read)),
        route!("post" "/api/notifications/read-all", "notifications", "Mark every notification of the caller read; their sockets get notification:read with allRead", auth: true, body: None, ok: (200, "MarkAllRead"), query: &[], post(misc::notifications_read_all)),
        route!("get" "/api/notifications/email-settings", "notifications", "How often the caller's unread mentions and DMs may be emailed (digestMinutes, default 15; 0: never)", auth: true, body: None, ok: (200, "EmailSettings"), query: &[], get(misc::email_settings)),
        route!("put" "/api/notifications/email-settings", "notifications", "Change it: 0 turns the emails off, at most 1440", auth: true, body: Some("EmailSettings"), ok: (200, "EmailSettings"), query: &[], put(misc::set_email_settings)),
        route!("get" "/api/push/vapid-public", "notifications", "The VAPID public key to subscribe browsers with (404 when web push is not configured)", auth: true, body: None, ok: (200, "VapidPublicKey"), query: &[], get(misc::vapid_public)),
        route!("post" "/api/push/subscribe", "notifications", "Register the caller's browser for web push (PushSubscription.toJSON()); the endpoint must be https on a public host. Pushes go out for notifications while the user is not active", auth: true, body: Some("PushSubscribe"), ok: (200, "Success"), query: &[], post(misc::push_subscribe)),
        route!("post" "/api/push/unsubscribe", "notifications", "Remove the caller's subscription with this endpoint", auth: true, body: Some("PushUnsubscribe"), ok: (200, "Success"), query: &[], post(misc::push_unsubscribe)),
        route!("post" "/api/csp-report", "ops", "A browser's Content-Security-Policy violation report (application/csp-report or application/reports+json, at most 16 KB): counted in metrics and logged", auth: false, body: Some("CspReport"), ok: (204, "Empty"), query: &[], post(misc::csp_report)),
        route!("post" "/api/scheduled-messages", "scheduling", "Schedule a message as the caller in a channel or conversation they may post in (404 if they cannot see it, 403 if they may not post); scheduledFor in the future and within a year, timezone an IANA zone. At that time it is sent exactly once, and members receive it live", auth: true, body: Some("CreateScheduledMessage"), ok: (201, "ScheduledMessage"), query: &[], post(scheduling::create)),
        route!("get" "/api/scheduled-messages", "scheduling", "The caller's scheduled messages (pending, processing, sent, failed with error), soonest first", auth: true, body: None, ok: (200, "ScheduledMessageList"), query: &[], get(scheduling::list)),
        route!("patch" "/api/scheduled-messages/{scheduledMessageId}", "scheduling", "Change a pending scheduled message (content, scheduledFor, timezone); 409 once it is being sent or done", auth: true, body: Some("UpdateScheduledMessage"), ok: (200, "ScheduledMessage"), query: &[], patch(scheduling::update)),
        route!("delete" "/api/scheduled-messages/{scheduledMessageId}", "scheduling", "Cancel a pending scheduled message (status cancelled); 409 once it is being sent or done", auth: true, body: None, ok: (200, "ScheduledMessage"), query: &[], delete(scheduling::cancel)),
        route!("post" "/api/reminders", "scheduling", "A reminder for the caller about a message they can see, or a text; daily or weekly recurrence keeps the local time in timezone. When due: reminder:fired and a notification", auth: true, body: Some("CreateReminder"), ok: (201, "Reminder"), query: &[], post(scheduling::create_reminder)),
        route!("get" "/api/reminders", "scheduling", "The caller's reminders that are pending, snoozed or fired, soonest first", auth: true, body: None, ok: (200, "ReminderList"), query: &[], get(scheduling::reminders)),
        route!("post" "/api/reminders/{reminderId}/snooze", "scheduling", "Fire again at `until`", auth: true, body: Some("Snooze"), ok: (200, "Reminder"), query: &[], post(scheduling::snooze)),
        route!("post" "/api/reminders/{reminderId}/complete", "scheduling", "Mark a reminder done: it never fires again", auth: true, body: None, ok: (200, "Reminder"), query: &[], post(scheduling::complete)),
        route!("delete" "/api/reminders/{reminderId}", "scheduling", "Cancel a reminder", auth: true, body: None, ok: (200, "Reminder"), query: &[], delete(scheduling::cancel_reminder)),
        route!("get" "/api/health", "operations", "Health of the gateway and every service (503 when any is down)", auth: false, body: None, ok: (200, "Health"), query: &[], get(misc::health)),
        route!("get" "/metrics", "operations", "Prometheus metrics of this gateway (requests by route and status, sockets, events)", auth: false, body: None, ok: (200, "Metrics"), query: &[], get(crate::metrics::render)),
        route!("get" "/api/openapi.json", "operations", "This document", auth: false, body: None, ok: (200, "Object"), query: &[], get(crate::openapi::document)),
        route!("get" "/api/ws", "realtime", "The WebSocket (upgrade); token by bearer header, ?token= or cookie. With the cookie alone, the page's Origin must be the gateway's own or one of ALLOWED_ORIGINS (else 403). See the `x-websocket` section", auth: true, body: None, ok: (101, "Object"), query: &[("token", "string", "the session token, for clients that cannot set headers")], get(crate::ws::upgrade)),
    ]
}
