DROP TABLE outbox, user_group_members, user_groups, channel_notes, personal_notes,
    conversation_read_state, channel_read_state, bookmarks, pins, reactions, messages,
    conversation_participants, conversations, channel_members, channels, channel_categories;
