// Diesel schema for svc-messaging, matching `migrations/` (generated
// columns such as `messages.search_vector` are read only through SQL).

diesel::table! {
    channels (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        topic -> Nullable<Text>,
        is_private -> Bool,
        is_archived -> Bool,
        category_id -> Nullable<Uuid>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        last_seq -> Int8,
    }
}

diesel::table! {
    channel_members (channel_id, user_id) {
        channel_id -> Uuid,
        user_id -> Uuid,
        workspace_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    messages (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        channel_id -> Nullable<Uuid>,
        conversation_id -> Nullable<Uuid>,
        author_id -> Uuid,
        content -> Text,
        parent_id -> Nullable<Uuid>,
        sequence -> Int8,
        reply_count -> Int4,
        is_deleted -> Bool,
        client_msg_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        attachments -> Jsonb,
        link_previews -> Jsonb,
    }
}

diesel::table! {
    channel_read_state (user_id, channel_id) {
        user_id -> Uuid,
        channel_id -> Uuid,
        last_read_sequence -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    guest_grants_used (user_id, channel_id) {
        user_id -> Uuid,
        channel_id -> Uuid,
        workspace_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(channel_members -> channels (channel_id));
diesel::allow_tables_to_appear_in_same_query!(channels, channel_members, messages, channel_read_state);

diesel::table! {
    conversations (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        participant_key -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_seq -> Int8,
    }
}

diesel::table! {
    conversation_participants (conversation_id, user_id) {
        conversation_id -> Uuid,
        user_id -> Uuid,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    conversation_read_state (user_id, conversation_id) {
        user_id -> Uuid,
        conversation_id -> Uuid,
        last_read_sequence -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reactions (message_id, emoji, user_id) {
        message_id -> Uuid,
        user_id -> Uuid,
        emoji -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    pins (channel_id, message_id) {
        channel_id -> Uuid,
        message_id -> Uuid,
        pinned_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(conversation_participants -> conversations (conversation_id));
diesel::joinable!(pins -> messages (message_id));
diesel::allow_tables_to_appear_in_same_query!(conversations, conversation_participants, conversation_read_state, reactions, pins, messages);

diesel::table! {
    user_groups (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        handle -> Text,
        name -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_group_members (group_id, user_id) {
        group_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    message_mentions (message_id, user_id) {
        message_id -> Uuid,
        user_id -> Uuid,
        channel_id -> Nullable<Uuid>,
        conversation_id -> Nullable<Uuid>,
        sequence -> Int8,
        kind -> Text,
    }
}

diesel::joinable!(user_group_members -> user_groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(user_groups, user_group_members);

diesel::table! {
    personal_notes (user_id, workspace_id) {
        user_id -> Uuid,
        workspace_id -> Uuid,
        content -> Text,
        version -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    channel_notes (channel_id) {
        channel_id -> Uuid,
        content -> Text,
        version -> Int4,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    bookmarks (id) {
        id -> Uuid,
        user_id -> Uuid,
        workspace_id -> Uuid,
        message_id -> Nullable<Uuid>,
        file_id -> Nullable<Uuid>,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    channel_categories (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
    }
}
