//! `GET /api/openapi.json`: OpenAPI 3.1, generated from the route table
//! (`routes::table`) and the schemas below.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Map, Value, json};

use crate::routes;

fn s(t: &str) -> Value {
    json!({ "type": t })
}
fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}
fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}
fn arr(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}
/// An object that refuses properties it does not name (400).
fn closed(mut schema: Value) -> Value {
    schema["additionalProperties"] = json!(false);
    schema
}
fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let p: Map<String, Value> = props.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    json!({ "type": "object", "properties": p, "required": required })
}

/// Request fields that are `optional` in their proto (or `Option` in the
/// gateway's own body): JSON `null` is accepted there, as absent.
const NULLABLE: &[(&str, &[&str])] = &[
    ("SignIn", &["totpCode"]),
    ("CreateChannel", &["description", "categoryId"]),
    ("SendMessage", &["parentId", "clientMsgId"]),
    ("CreateReminder", &["messageId", "text", "recurrence", "timezone"]),
    ("CreateBookmark", &["note"]),
    ("SetChannelSettings", &["level", "muted"]),
    ("CreateGuestInvite", &["email"]),
    ("RevokeSession", &["sessionId"]),
    ("CreateScheduledMessage", &["channelId", "conversationId", "timezone"]),
    ("UpdateScheduledMessage", &["content", "scheduledFor", "timezone"]),
];

/// `schema` that also takes `null`.
fn or_null(mut schema: Value) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => schema["type"] = json!([t, "null"]),
        Some(Value::Array(mut ts)) if !ts.contains(&json!("null")) => {
            ts.push(json!("null"));
            schema["type"] = Value::Array(ts);
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    schema
}

fn schemas() -> Value {
    let mut all = written_schemas();
    for (name, fields) in NULLABLE {
        for field in *fields {
            let schema = all[*name]["properties"][*field].take();
            all[*name]["properties"][*field] = or_null(schema);
        }
    }
    all
}

fn written_schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let id = json!({ "type": "string", "format": "uuid" });
    json!({
        "Error": obj(&[("error", obj(&[
            ("code", json!({ "type": "string", "enum": ["UNAUTHORIZED","FORBIDDEN","NOT_FOUND","VALIDATION_ERROR","CONFLICT","RATE_LIMIT_EXCEEDED","QUOTA_EXCEEDED","FILE_TOO_LARGE","INVALID_FILE_TYPE","ACCOUNT_LOCKED","GUEST_LOCKED","METHOD_NOT_ALLOWED","SERVICE_UNAVAILABLE","INTERNAL_ERROR"] })),
            ("message", s("string")),
            ("details", s("object")),
        ], &["code", "message"]))], &["error"]),
        "Success": obj(&[("success", s("boolean"))], &["success"]),
        "Object": s("object"),
        "SignUp": obj(&[("email", json!({ "type": "string", "format": "email" })), ("password", json!({ "type": "string", "minLength": 10 })), ("name", s("string"))], &["email", "password", "name"]),
        "SignIn": obj(&[("email", s("string")), ("password", s("string")), ("totpCode", s("string"))], &["email", "password"]),
        "User": obj(&[("id", id.clone()), ("email", s("string")), ("name", s("string")), ("emailVerified", s("boolean")), ("image", nullable("string")), ("createdAt", time.clone())], &["id", "email", "name"]),
        "Session": obj(&[("id", id.clone()), ("userId", id.clone()), ("expiresAt", time.clone()), ("ipAddress", nullable("string")), ("userAgent", nullable("string")), ("createdAt", time.clone()), ("current", s("boolean"))], &["id", "userId", "expiresAt"]),
        "AuthResponse": obj(&[("user", r("User")), ("token", s("string")), ("session", r("Session"))], &["user", "token"]),
        "SessionResponse": obj(&[("user", r("User")), ("session", r("Session"))], &["user", "session"]),
        "CreateWorkspace": obj(&[("name", json!({ "type": "string", "pattern": "\\S" })), ("slug", json!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$" })), ("joinPolicy", json!({ "type": "string", "enum": ["invite", "request", "open"] }))], &["name", "slug"]),
        "Workspace": obj(&[("id", id.clone()), ("name", s("string")), ("slug", s("string")), ("logo", nullable("string")), ("joinPolicy", s("string")), ("createdAt", time.clone()), ("role", json!({ "type": "string", "enum": ["owner", "admin", "member"] }))], &["id", "name", "slug", "role"]),
        "UpdateWorkspace": obj(&[("name", json!({ "type": ["string", "null"], "pattern": "\\S" })), ("joinPolicy", json!({ "type": ["string", "null"], "enum": ["invite", "request", "open", null] }))], &[]),
        "WorkspaceList": obj(&[("workspaces", arr(r("Workspace"))), ("lastVisitedWorkspaceId", nullable("string"))], &["workspaces"]),
        "Member": obj(&[("userId", id.clone()), ("workspaceId", id.clone()), ("role", s("string")), ("isGuest", s("boolean")), ("expiresAt", nullable("string")), ("createdAt", time.clone()), ("name", s("string")), ("email", s("string")), ("guestChannelIds", json!({ "type": "array", "items": { "type": "string", "format": "uuid" }, "description": "a guest's channels (told to the guest, admins and services)" }))], &["userId", "role", "isGuest"]),
        "MemberList": obj(&[("members", arr(r("Member")))], &["members"]),
        "CreateInvite": obj(&[("email", nullable("string")), ("role", json!({ "type": ["string", "null"], "enum": ["member", "admin", null] })), ("maxUses", json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 1000 })), ("expiresInHours", json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 720 }))], &[]),
        "Invite": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("token", s("string")), ("url", s("string")), ("email", nullable("string")), ("role", s("string")), ("expiresAt", time.clone()), ("createdAt", time.clone()), ("isGuest", s("boolean")), ("channelIds", arr(id.clone())), ("guestExpiresAt", nullable("string")), ("maxUses", nullable("integer"))], &["token", "url"]),
        "AcceptInvite": obj(&[("workspace", r("Workspace")), ("member", r("Member"))], &["workspace", "member"]),
        "CreateChannel": obj(&[("name", s("string")), ("description", s("string")), ("isPrivate", s("boolean")), ("categoryId", s("string"))], &["name"]),
        "Channel": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("name", s("string")), ("description", nullable("string")), ("isPrivate", s("boolean")), ("isArchived", s("boolean")), ("categoryId", nullable("string")), ("createdBy", id.clone()), ("createdAt", time.clone()), ("isMember", s("boolean")), ("memberCount", s("integer")), ("lastSequence", s("integer")), ("unreadCount", s("integer")), ("topic", nullable("string"))], &["id", "workspaceId", "name"]),
        "ChannelList": obj(&[("channels", arr(r("Channel")))], &["channels"]),
        "SendMessage": obj(&[("content", json!({ "type": "string", "maxLength": 40000 })), ("parentId", s("string")), ("attachmentIds", arr(s("string"))), ("clientMsgId", json!({ "type": "string", "maxLength": 128 }))], &["content"]),
        "Reaction": obj(&[("emoji", s("string")), ("count", s("integer")), ("userIds", arr(s("string")))], &["emoji", "count", "userIds"]),
        "Message": obj(&[("id", id.clone()), ("channelId", nullable("string")), ("conversationId", nullable("string")), ("authorId", id.clone()), ("content", s("string")), ("parentId", nullable("string")), ("sequence", s("integer")), ("replyCount", s("integer")), ("reactions", arr(r("Reaction"))), ("attachments", arr(r("Attachment"))), ("linkPreviews", arr(r("LinkPreview"))), ("isDeleted", s("boolean")), ("createdAt", time.clone()), ("updatedAt", time.clone()), ("editedAt", nullable("string")), ("clientMsgId", nullable("string"))], &["id", "authorId", "content", "sequence"]),
        "CreateScheduledMessage": obj(&[("channelId", id.clone()), ("conversationId", id.clone()), ("content", json!({ "type": "string", "minLength": 1, "maxLength": 40000 })), ("scheduledFor", time.clone()), ("timezone", json!({ "type": "string", "description": "IANA time zone, default UTC" })), ("attachmentIds", arr(id.clone()))], &["scheduledFor"]),
        "UpdateScheduledMessage": closed(obj(&[("content", json!({ "type": "string", "minLength": 1, "maxLength": 40000 })), ("scheduledFor", time.clone()), ("timezone", s("string"))], &[])),
        "ScheduledMessage": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("channelId", nullable("string")), ("conversationId", nullable("string")), ("content", s("string")), ("scheduledFor", time.clone()), ("timezone", s("string")), ("status", json!({ "type": "string", "enum": ["pending", "processing", "sent", "failed", "cancelled"] })), ("error", nullable("string")), ("messageId", nullable("string")), ("createdAt", time.clone()), ("updatedAt", time.clone()), ("attachmentIds", arr(id.clone()))], &["id", "content", "scheduledFor", "timezone", "status"]),
        "ScheduledMessageList": obj(&[("scheduledMessages", arr(r("ScheduledMessage")))], &["scheduledMessages"]),
        "CreateReminder": obj(&[("messageId", id.clone()), ("text", json!({ "type": "string", "maxLength": 1000 })), ("remindAt", time.clone()), ("recurrence", json!({ "type": "string", "enum": ["daily", "weekly"] })), ("timezone", json!({ "type": "string", "description": "IANA time zone, default UTC" }))], &["remindAt"]),
        "Snooze": closed(obj(&[("until", time.clone())], &["until"])),
        "Reminder": obj(&[("id", id.clone()), ("workspaceId", nullable("string")), ("messageId", nullable("string")), ("text", nullable("string")), ("remindAt", time.clone()), ("recurrence", nullable("string")), ("timezone", s("string")), ("status", json!({ "type": "string", "enum": ["pending", "fired", "snoozed", "completed", "cancelled"] })), ("snoozedUntil", nullable("string")), ("firedAt", nullable("string")), ("createdAt", time.clone())], &["id", "remindAt", "timezone", "status"]),
        "ReminderList": obj(&[("reminders", arr(r("Reminder")))], &["reminders"]),
        "Binary": json!({ "type": "string", "format": "binary" }),
        "Metrics": json!({ "type": "string", "description": "Prometheus text exposition format" }),
        "UploadAttachment": obj(&[("file", json!({ "type": "string", "format": "binary" }))], &["file"]),
        "UploadAvatar": obj(&[("workspaceId", id.clone()), ("file", json!({ "type": "string", "format": "binary" }))], &["file"]),
        "UploadEmoji": obj(&[("workspaceId", id.clone()), ("name", json!({ "type": "string", "pattern": "^[a-z0-9_-]{2,32}$" })), ("file", json!({ "type": "string", "format": "binary" }))], &["workspaceId", "name", "file"]),
        "File": obj(&[("id", id.clone()), ("url", s("string")), ("filename", s("string")), ("size", s("integer")), ("mimeType", s("string")), ("thumbnailUrl", nullable("string")), ("kind", json!({ "type": "string", "enum": ["attachment", "avatar", "emoji"] })), ("workspaceId", nullable("string")), ("createdAt", time.clone())], &["id", "url", "filename", "size", "mimeType"]),
        "Emoji": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("name", s("string")), ("url", s("string")), ("isAnimated", s("boolean")), ("createdBy", id.clone()), ("createdAt", time.clone()), ("fileId", id.clone())], &["id", "name", "url"]),
        "EmojiList": obj(&[("emoji", arr(r("Emoji")))], &["emoji"]),
        "LinkPreview": obj(&[("url", s("string")), ("title", nullable("string")), ("description", nullable("string")), ("imageUrl", nullable("string")), ("siteName", nullable("string"))], &["url"]),
        "Attachment": obj(&[("id", id.clone()), ("filename", s("string")), ("size", s("integer")), ("mimeType", s("string")), ("url", s("string")), ("thumbnailUrl", nullable("string"))], &["id", "filename", "size", "mimeType", "url"]),
        "ChangesPage": obj(&[("messages", arr(r("Message"))), ("version", json!({ "type": "integer", "description": "ask from this change version next time" })), ("hasMore", s("boolean"))], &["messages", "version", "hasMore"]),
        "MessagePage": obj(&[("messages", arr(r("Message"))), ("hasMore", s("boolean"))], &["messages", "hasMore"]),
        "UpdateChannel": obj(&[("name", nullable("string")), ("description", nullable("string")), ("isArchived", nullable("boolean")), ("topic", nullable("string")), ("categoryId", json!({ "type": ["string", "null"], "description": "a category's id, or \"\" to take the channel out of its category" }))], &[]),
        "Category": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("name", s("string")), ("position", s("integer"))], &["id", "name", "position"]),
        "CreateCategory": obj(&[("name", json!({ "type": "string", "minLength": 1, "maxLength": 80 })), ("position", json!({ "type": ["integer", "null"], "minimum": -2147483648, "maximum": 2147483647 }))], &["name"]),
        "CategoryList": obj(&[("categories", arr(r("Category")))], &["categories"]),
        "AddMember": obj(&[("userId", id.clone())], &["userId"]),
        "MarkRead": closed(obj(&[("sequence", json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX, "description": "at most the place's last sequence" }))], &["sequence"])),
        "UnreadCount": obj(&[("channelId", nullable("string")), ("conversationId", nullable("string")), ("count", json!({ "type": "integer", "maximum": 1000, "description": "unread among at most 1000 messages past the read mark (show 1000+ at the cap)" })), ("mentionCount", s("integer"))], &["count"]),
        "CreateGroup": obj(&[("handle", s("string")), ("name", s("string")), ("memberIds", arr(id.clone()))], &["handle", "name"]),
        "Group": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("handle", s("string")), ("name", s("string")), ("memberIds", arr(id.clone())), ("createdBy", id.clone()), ("createdAt", time.clone())], &["id", "handle", "memberIds"]),
        "SearchResult": obj(&[("message", r("Message")), ("highlight", s("string")), ("rank", s("number")), ("channelName", nullable("string"))], &["message", "highlight"]),
        "SearchResults": obj(&[("results", arr(r("SearchResult")))], &["results"]),
        "Note": obj(&[("content", s("string")), ("version", s("integer")), ("channelId", nullable("string")), ("workspaceId", nullable("string")), ("updatedAt", nullable("string")), ("updatedBy", nullable("string"))], &["content", "version"]),
        "SavePersonalNote": obj(&[("workspaceId", json!({ "type": "string", "format": "uuid", "description": "when not given as ?workspaceId=" })), ("content", json!({ "type": "string", "maxLength": 100000 })), ("version", json!({ "type": "integer", "minimum": 0, "maximum": i32::MAX, "description": "the version edited (0, the default, for a new note)" }))], &["content"]),
        "SaveChannelNote": obj(&[("channelId", json!({ "type": "string", "format": "uuid", "description": "when not given as ?channelId=" })), ("content", json!({ "type": "string", "maxLength": 100000 })), ("version", json!({ "type": "integer", "minimum": 0, "maximum": i32::MAX, "description": "the version edited (0, the default, for a new note)" }))], &["content"]),
        "CreateBookmark": obj(&[("messageId", id.clone()), ("note", s("string"))], &["messageId"]),
        "Bookmark": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("messageId", nullable("string")), ("note", nullable("string")), ("createdAt", time.clone()), ("message", r("Message"))], &["id"]),
        "BookmarkList": obj(&[("bookmarks", arr(r("Bookmark"))), ("hasMore", s("boolean"))], &["bookmarks", "hasMore"]),
        "ChannelSettings": obj(&[("channelId", id.clone()), ("level", json!({ "type": "string", "enum": ["all", "mentions", "none"] })), ("muted", s("boolean"))], &["channelId", "level", "muted"]),
        "SetChannelSettings": obj(&[("level", json!({ "type": "string", "enum": ["all", "mentions", "none"] })), ("muted", s("boolean"))], &[]),
        "GroupList": obj(&[("groups", arr(r("Group")))], &["groups"]),
        "WorkspaceUnread": obj(&[("channels", arr(r("UnreadCount"))), ("conversations", arr(r("UnreadCount"))), ("total", s("integer"))], &["channels", "conversations", "total"]),
        "SetPin": obj(&[("messageId", id.clone()), ("pinned", s("boolean"))], &["messageId", "pinned"]),
        "PinState": obj(&[("messageId", id.clone()), ("pinned", s("boolean"))], &["messageId", "pinned"]),
        "EditMessage": closed(obj(&[("content", json!({ "type": "string", "maxLength": 40000 }))], &["content"])),
        "ToggleReaction": closed(obj(&[("emoji", s("string"))], &["emoji"])),
        "OpenConversation": obj(&[("userIds", json!({ "type": "array", "items": { "type": "string", "format": "uuid" }, "description": "the other participants (none: a conversation with yourself)" }))], &[]),
        "Conversation": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("participantIds", arr(id.clone())), ("createdAt", time.clone()), ("lastSequence", s("integer")), ("unreadCount", s("integer"))], &["id", "participantIds"]),
        "ConversationList": obj(&[("conversations", arr(r("Conversation")))], &["conversations"]),
        "ForgetPassword": obj(&[("email", json!({ "type": "string", "format": "email" }))], &["email"]),
        "ResetPassword": obj(&[("token", s("string")), ("newPassword", json!({ "type": "string", "minLength": 10 }))], &["token", "newPassword"]),
        "Password": obj(&[("password", s("string"))], &["password"]),
        "TotpCode": obj(&[("code", s("string"))], &["code"]),
        "TwoFactorSetup": obj(&[("secret", s("string")), ("otpauthUrl", s("string")), ("backupCodes", arr(s("string")))], &["secret", "otpauthUrl", "backupCodes"]),
        "TwoFactorState": obj(&[("enabled", s("boolean"))], &["enabled"]),
        "CreateGuestInvite": obj(&[("channelIds", arr(id.clone())), ("expiresAt", time.clone()), ("email", s("string"))], &["channelIds", "expiresAt"]),
        "JoinRequest": obj(&[("id", id.clone()), ("workspaceId", id.clone()), ("userId", id.clone()), ("status", json!({ "type": "string", "enum": ["pending", "approved", "rejected"] })), ("createdAt", time.clone()), ("decidedAt", nullable("string")), ("name", s("string")), ("email", s("string"))], &["id", "status"]),
        "JoinRequestList": obj(&[("requests", arr(r("JoinRequest")))], &["requests"]),
        "Decision": closed(obj(&[("approve", s("boolean"))], &["approve"])),
        "SessionList": obj(&[("sessions", arr(r("Session")))], &["sessions"]),
        "RevokeSession": obj(&[("sessionId", id.clone()), ("allOthers", s("boolean"))], &[]),
        "Revoked": obj(&[("revoked", s("integer"))], &["revoked"]),
        "RoleChange": closed(obj(&[("role", json!({ "type": "string", "enum": ["owner", "admin", "member"] }))], &["role"])),
        "UserStatus": obj(&[("emoji", nullable("string")), ("text", nullable("string")), ("expiresAt", nullable("string")), ("dnd", s("boolean"))], &["dnd"]),
        "SetStatus": obj(&[("emoji", nullable("string")), ("text", json!({ "type": ["string", "null"], "maxLength": 100 })), ("expiresAt", json!({ "type": ["string", "null"], "format": "date-time" })), ("dnd", s("boolean"))], &[]),
        "Profile": obj(&[("userId", id.clone()), ("workspaceId", id.clone()), ("displayName", s("string")), ("title", nullable("string")), ("pronouns", nullable("string")), ("timezone", nullable("string")), ("avatarUrl", nullable("string")), ("bio", nullable("string")), ("status", json!({ "oneOf": [r("UserStatus"), { "type": "null" }] }))], &["userId", "displayName"]),
        "UpdateProfile": obj(&[("displayName", nullable("string")), ("title", nullable("string")), ("pronouns", nullable("string")), ("timezone", nullable("string")), ("avatarUrl", nullable("string")), ("bio", nullable("string"))], &[]),
        "LastVisited": closed(obj(&[("workspaceId", id.clone())], &["workspaceId"])),
        "AuditLog": obj(&[("id", id.clone()), ("workspaceId", nullable("string")), ("userId", nullable("string")), ("action", s("string")), ("ipAddress", nullable("string")), ("userAgent", nullable("string")), ("details", s("string")), ("createdAt", time.clone())], &["id", "action", "createdAt"]),
        "AuditLogList": obj(&[("logs", arr(r("AuditLog")))], &["logs"]),
        "StorageUsage": obj(&[("used", s("integer")), ("quota", s("integer"))], &["used", "quota"]),
        "Notification": obj(&[("id", id.clone()), ("type", s("string")), ("title", s("string")), ("body", nullable("string")), ("data", s("string")), ("isRead", s("boolean")), ("createdAt", time.clone())], &["id", "type", "title", "isRead"]),
        "NotificationList": obj(&[("notifications", arr(r("Notification"))), ("unreadCount", json!({ "type": "integer", "description": "all unread notifications of the caller, not only this page" }))], &["notifications", "unreadCount"]),
        "EmailSettings": obj(&[("digestMinutes", json!({ "type": "integer", "minimum": 0, "maximum": 1440, "description": "at most one email of unread mentions and DMs per this many minutes; 0: none" }))], &["digestMinutes"]),
        "ExportRequest": obj(&[("workspaceId", id.clone()), ("userId", id.clone())], &["workspaceId", "userId"]),
        "Export": obj(&[
            ("exportedAt", time.clone()),
            ("workspaceId", id.clone()),
            ("user", obj(&[("user", r("User")), ("profile", r("Profile")), ("member", r("Member"))], &["user", "profile", "member"])),
            ("messages", arr(r("Message"))),
            ("files", arr(r("File"))),
            ("settings", obj(&[("notifications", arr(r("ChannelSettings"))), ("email", r("EmailSettings"))], &["notifications", "email"])),
            ("notes", obj(&[("personal", r("Note"))], &["personal"])),
            ("reminders", arr(r("Reminder"))),
            ("scheduledMessages", arr(r("ScheduledMessage"))),
        ], &["user", "messages", "files", "settings", "notes", "reminders", "scheduledMessages"]),
        "MarkAllRead": obj(&[("updated", json!({ "type": "integer", "description": "how many were unread" }))], &["updated"]),
        "VapidPublicKey": obj(&[("publicKey", json!({ "type": "string", "description": "base64url, uncompressed P-256 point" }))], &["publicKey"]),
        "PushSubscribe": obj(&[("subscription", obj(&[
            ("endpoint", json!({ "type": "string", "format": "uri", "maxLength": 2048 })),
            ("keys", obj(&[("p256dh", s("string")), ("auth", s("string"))], &["p256dh", "auth"])),
            ("expirationTime", nullable("integer")),
        ], &["endpoint", "keys"]))], &["subscription"]),
        "PushUnsubscribe": obj(&[("endpoint", json!({ "type": "string", "maxLength": 2048 }))], &["endpoint"]),
        "CspReport": json!({ "description": "{\"csp-report\":{…}} (application/csp-report) or [{\"type\":\"csp-violation\",\"body\":{…}}] (application/reports+json)", "oneOf": [
            { "type": "object", "properties": { "csp-report": { "type": "object" } }, "required": ["csp-report"] },
            { "type": "array", "minItems": 1, "items": { "type": "object", "properties": { "type": { "const": "csp-violation" }, "body": { "type": "object" } }, "required": ["type", "body"] } },
        ] }),
        "Empty": json!({ "description": "no content" }),
        "Health": obj(&[("status", json!({ "type": "string", "enum": ["ok", "degraded"] })), ("services", s("object")), ("gateway", s("object"))], &["status", "services"]),
    })
}

/// Routes that can answer 409 CONFLICT, and why.
const CONFLICTS: &[(&str, &str, &str)] = &[
    ("post", "/api/auth/sign-up/email", "an account with this email exists"),
    ("post", "/api/auth/two-factor/enable", "two-factor authentication is already on"),
    ("post", "/api/workspaces", "the slug is taken"),
    ("patch", "/api/workspaces/{workspaceId}/members/{userId}", "the last owner cannot be demoted"),
    ("delete", "/api/workspaces/{workspaceId}/members/{userId}", "the last owner cannot leave"),
    ("post", "/api/workspaces/{workspaceId}/channels", "a channel with this name exists"),
    ("post", "/api/channels/{channelId}/messages", "the clientMsgId was used for a message elsewhere"),
    ("post", "/api/conversations/{conversationId}/messages", "the clientMsgId was used for a message elsewhere"),
    ("get", "/api/channels/{channelId}/changes", "since is ahead of the place's changes: reload"),
    ("get", "/api/conversations/{conversationId}/changes", "since is ahead of the place's changes: reload"),
    ("post", "/api/workspaces/{workspaceId}/groups", "a group with this handle exists"),
    ("post", "/api/notes/personal", "the note changed since this version (details.currentVersion)"),
    ("post", "/api/notes/channel", "the note changed since this version (details.currentVersion)"),
    ("post", "/api/upload/emoji", "the workspace has an emoji with this name"),
    ("post", "/api/push/subscribe", "the endpoint is registered with other keys"),
    ("patch", "/api/scheduled-messages/{scheduledMessageId}", "it is no longer pending"),
    ("delete", "/api/scheduled-messages/{scheduledMessageId}", "it is no longer pending"),
    ("post", "/api/reminders/{reminderId}/snooze", "it is completed or cancelled"),
    ("post", "/api/reminders/{reminderId}/complete", "it is completed or cancelled"),
    ("delete", "/api/reminders/{reminderId}", "it is completed or cancelled"),
];

/// Routes without a session that can answer 401, and why.
const UNAUTHENTICATED: &[(&str, &str, &str)] = &[(
    "post",
    "/api/auth/sign-in/email",
    "Invalid credentials (whether or not the email exists), a two-factor code required (details), or a wrong one",
)];

/// Routes that check the password and so answer 423 while the account is locked.
const LOCKED: &[(&str, &str)] =
    &[("post", "/api/auth/sign-in/email"), ("post", "/api/auth/two-factor/enable"), ("post", "/api/auth/two-factor/disable")];

/// A query parameter's schema, and whether it is required, from its kind
/// in the route table.
pub fn query_schema(kind: &str) -> (Value, bool) {
    let (kind, required) = match kind.strip_suffix('!') {
        Some(k) => (k, true),
        None => (kind, false),
    };
    // `limitN`: a page size, at most N (0 or absent: the default).
    if let Some(max) = kind.strip_prefix("limit").and_then(|n| n.parse::<u32>().ok()) {
        return (json!({ "type": "integer", "minimum": 0, "maximum": max }), required);
    }
    let schema = match kind {
        "integer" => json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX }),
        "i64>=0" => json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX }),
        "i64>=1" => json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX }),
        "u32" => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
        "uuid" => json!({ "type": "string", "format": "uuid" }),
        other => s(other),
    };
    (schema, required)
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": r("Error") } } })
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": s("string") }))
        .collect()
}

/// The document, built once.
pub fn build() -> Value {
    let mut paths = Map::new();
    for route in routes::table() {
        let mut params = path_params(route.path);
        params.extend(route.query.iter().map(|(n, kind, d)| {
            let (schema, required) = query_schema(kind);
            json!({ "name": n, "in": "query", "required": required, "schema": schema, "description": d })
        }));
        let mut responses = Map::new();
        let media = match route.ok.1 {
            // Files keep the type told by their bytes (image/png, application/pdf, …).
            "Binary" => "*/*",
            "Metrics" => "text/plain; version=0.0.4",
            _ => "application/json",
        };
        let ok = match route.ok.0 {
            204 => json!({ "description": "success, no content" }),
            _ => json!({ "description": "success", "content": { media: { "schema": r(route.ok.1) } } }),
        };
        responses.insert(route.ok.0.to_string(), ok);
        if let Some((_, _, why)) = UNAUTHENTICATED.iter().find(|(m, p, _)| *m == route.method && *p == route.path) {
            responses.insert("401".into(), error_response(&format!("UNAUTHORIZED: {why}")));
        }
        if LOCKED.iter().any(|(m, p)| *m == route.method && *p == route.path) {
            responses.insert(
                "423".into(),
                error_response("the account is locked after repeated failed sign-ins (ACCOUNT_LOCKED, details.lockedUntil)"),
            );
        }
        responses.insert("400".into(), error_response("invalid input (VALIDATION_ERROR)"));
        if route.auth {
            responses.insert("401".into(), error_response("no valid session (UNAUTHORIZED)"));
            responses.insert("403".into(), error_response("not allowed (FORBIDDEN, GUEST_LOCKED)"));
            responses.insert("404".into(), error_response("not found, or not visible to the caller (NOT_FOUND)"));
        }
        responses.insert("429".into(), error_response("rate limited (RATE_LIMIT_EXCEEDED, with Retry-After)"));
        responses.insert(
            "503".into(),
            error_response(
                "busy or a dependency unavailable (SERVICE_UNAVAILABLE); with Retry-After when the request was refused before anything was done",
            ),
        );
        if let Some((_, _, why)) = CONFLICTS.iter().find(|(m, p, _)| *m == route.method && *p == route.path) {
            responses.insert("409".into(), error_response(&format!("conflict (CONFLICT): {why}")));
        }
        let mut op = json!({
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": format!("{}_{}", route.method, route.path.trim_start_matches("/api/").replace(['/', '{', '}', '-', '.'], "_")),
            "parameters": params,
            "responses": responses,
        });
        if route.auth {
            op["security"] = json!([{ "bearer": [] }, { "cookie": [] }]);
        }
        if let Some(body) = route.body {
            let (media, schema) = match body.strip_prefix("multipart:") {
                Some(name) => ("multipart/form-data", name),
                None => ("application/json", body),
            };
            op["requestBody"] = json!({ "required": true, "content": { media: { "schema": r(schema) } } });
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OComms API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The OComms gateway: REST over JSON, a WebSocket at /api/ws, and gRPC services behind it. Errors: {\"error\":{\"code\",\"message\",\"details\"}}. A resource in another workspace, or one the caller may not see, answers 404.",
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "ocomms_session" },
            },
        },
        "x-grpc-web": {
            "path": "/ocomms.<domain>.v1.<Service>/<Method>",
            "contentTypes": ["application/grpc-web+proto", "application/grpc-web-text+proto"],
            "description": "Every service's gRPC API (proto/ocomms/*/v1/*.proto) through the gateway's port; authenticate with the authorization: Bearer header. Rate limits are those of the matching REST routes (AuthService/SignIn, SignUp, ForgetPassword, ResetPassword per client address; MessagingService/SendMessage per account); over a limit the call answers RESOURCE_EXHAUSTED with x-ocomms-code: RATE_LIMIT_EXCEEDED and x-ocomms-details {retryAfter}. Addresses and user agents recorded by SignUp, SignIn and ForgetPassword come from the connection, never from the request's fields or metadata.",
        },
        "x-websocket": {
            "path": "/api/ws",
            "clientFrame": "{\"event\":\"message:send\",\"data\":{…},\"ack\":7}",
            "ackFrame": "{\"ack\":7,\"ok\":true,\"data\":{…}} or {\"ack\":7,\"ok\":false,\"error\":{\"code\",\"message\",\"details\"}}",
            "backlog": "A socket handles up to 64 of its frames at once (frames about one channel or conversation in the order written, others side by side). A frame is refused at once with SERVICE_UNAVAILABLE and details {retryAfter (seconds), event} in its ack (or an error event when it asked for no ack) past 64 frames in flight, and when its channel or conversation already has 4 in flight, the oldest read more than 0.25 s ago; that place then refuses its next frames too until its frames in flight are done. Nothing of a refused frame was done: resend it then, in order (with the same clientMsgId for message:send).",
            "serverFrame": "{\"event\":\"message:new\",\"data\":{\"message\":{…},\"channel\":{…}}}",
            "clientEvents": ["typing:start", "typing:stop", "note:subscribe", "note:unsubscribe", "note:broadcast", "message:send", "message:edit", "message:delete", "reaction:toggle", "presence:setActive", "presence:setAway", "presence:fetch", "notification:markRead"],
            "serverEvents": ["typing:update", "note:updated", "notification:new", "workspace:updated", "guest:locked", "workspace:joinRequest", "workspace:joinDecision", "member:updated", "workspace:removed", "profile:update", "status:update", "message:new", "message:edited", "message:deleted", "reaction:update", "thread:newReply", "unread:update", "workspace:unreadUpdate", "channel:updated", "channel:joined", "channel:left", "pin:update", "presence:update", "notification:read", "reminder:fired", "linkPreview:ready"],
            "resume": "Events are best-effort; history is durable and ordered. Every channel and conversation numbers its messages 1, 2, 3, … without gaps. A client remembers, per place, the highest sequence it has applied. After any reconnect (network loss, a gateway restart, or a close with code 1013 sent to a socket that fell behind), it first reopens the socket (so nothing new is missed), then for each place fetches GET /api/channels/{channelId}/messages?after=<last applied> (or /api/conversations/{conversationId}/messages) and repeats with the last sequence received until hasMore is false, applying messages in order; meanwhile it buffers live message:new events and afterwards applies only those whose sequence is greater than the last applied. The result has no gap and no duplicate. Edits, deletions and reactions carry the full message or its id and are idempotent to apply; GET /api/workspaces/{workspaceId}/unread refreshes the counts.",
        },
    })
}

pub async fn document() -> Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    Json(DOC.get_or_init(build).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is the document as served, so every change to the
    /// contract shows in review (and the web client's types are generated
    /// from it). `UPDATE_OPENAPI=1 cargo test -p ocomms-gateway openapi`
    /// rewrites it.
    #[test]
    fn the_checked_in_document_is_the_served_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let mut text = serde_json::to_string_pretty(&build()).expect("json");
        text.push('\n');
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &text).expect("write docs/openapi.json");
        }
        let saved = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            saved == text,
            "docs/openapi.json differs from the served document: run UPDATE_OPENAPI=1 cargo test -p ocomms-gateway openapi, and review the diff"
        );
    }

    #[test]
    fn every_listed_status_names_a_route_that_exists() {
        let listed = CONFLICTS.iter().chain(UNAUTHENTICATED).map(|(m, p, _)| (*m, *p)).chain(LOCKED.iter().copied());
        for (m, p) in listed {
            assert!(routes::table().iter().any(|r| r.method == m && r.path == p), "{m} {p}");
        }
    }

    #[test]
    fn every_nullable_field_is_documented() {
        let written = written_schemas();
        for (name, fields) in NULLABLE {
            for field in *fields {
                assert!(written[*name]["properties"][*field].is_object(), "{name}.{field} is not documented");
            }
        }
    }

    #[test]
    fn every_query_kind_is_known() {
        for route in routes::table() {
            for (name, kind, _) in route.query {
                let (schema, _) = query_schema(kind);
                let t = schema["type"].as_str().unwrap_or_default();
                assert!(["integer", "string", "boolean"].contains(&t), "{} {} ?{name}: unknown kind {kind}", route.method, route.path);
            }
        }
    }

    #[test]
    fn every_route_is_documented_with_known_schemas() {
        let doc = build();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for route in routes::table() {
            let op = &doc["paths"][route.path][route.method];
            assert!(op.is_object(), "{} {} missing", route.method, route.path);
            assert!(schemas.contains_key(route.ok.1), "unknown schema {}", route.ok.1);
            if let Some(b) = route.body {
                let b = b.strip_prefix("multipart:").unwrap_or(b);
                assert!(schemas.contains_key(b), "unknown schema {b}");
            }
        }
        let text = doc.to_string();
        for name in text.split("#/components/schemas/").skip(1).map(|s| s.split('"').next().unwrap_or_default()) {
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }
}
