// Diesel schema for svc-auth, matching `migrations/` (what
// `diesel print-schema` prints for them). Do not edit by hand without a
// migration.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        email_normalized -> Text,
        name -> Text,
        email_verified -> Bool,
        image -> Nullable<Text>,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Text,
        expires_at -> Timestamptz,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
    }
}

diesel::table! {
    lockouts (user_id) {
        user_id -> Uuid,
        failed_attempts -> Int4,
        lockout_count -> Int4,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    password_history (id) {
        id -> Uuid,
        user_id -> Uuid,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        logo -> Nullable<Text>,
        join_policy -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    members (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        is_guest -> Bool,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invites (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        token_hash -> Text,
        email -> Nullable<Text>,
        role -> Text,
        is_guest -> Bool,
        channel_ids -> Array<Uuid>,
        guest_expires_at -> Nullable<Timestamptz>,
        max_uses -> Nullable<Int4>,
        uses -> Int4,
        expires_at -> Timestamptz,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_logs (id) {
        id -> Uuid,
        workspace_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        action -> Text,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(members -> users (user_id));
diesel::joinable!(members -> workspaces (workspace_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, members, workspaces, invites, lockouts);

diesel::table! {
    profiles (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        display_name -> Nullable<Text>,
        title -> Nullable<Text>,
        pronouns -> Nullable<Text>,
        timezone -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        bio -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    user_statuses (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        emoji -> Nullable<Text>,
        text -> Nullable<Text>,
        expires_at -> Nullable<Timestamptz>,
        dnd -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    last_visited_workspace (user_id) {
        user_id -> Uuid,
        workspace_id -> Uuid,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    two_factor (user_id) {
        user_id -> Uuid,
        secret_encrypted -> Bytea,
        backup_code_hashes -> Array<Text>,
        enabled -> Bool,
        created_at -> Timestamptz,
        last_used_step -> Int8,
    }
}

diesel::table! {
    guest_channel_access (workspace_id, user_id, channel_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        channel_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    join_requests (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        user_id -> Uuid,
        status -> Text,
        decided_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(join_requests -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(join_requests, users);
