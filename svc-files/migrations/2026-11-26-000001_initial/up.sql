-- svc-files: uploaded files, per-user storage accounting, custom emoji,
-- link previews (seed 4.1).
CREATE TABLE file_attachments (
    id           uuid PRIMARY KEY,
    workspace_id uuid,
    message_id   uuid,
    kind         text NOT NULL DEFAULT 'attachment' CHECK (kind IN ('attachment', 'avatar', 'emoji')),
    filename     text NOT NULL,
    mime_type    text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    storage_key  text NOT NULL,
    uploaded_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    orphaned_at  timestamptz
);
CREATE INDEX file_attachments_uploader_idx ON file_attachments (uploaded_by);
CREATE INDEX file_attachments_message_idx ON file_attachments (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE user_storage (
    user_id    uuid PRIMARY KEY,
    used_bytes bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE custom_emojis (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    name         text NOT NULL,
    file_id      uuid NOT NULL REFERENCES file_attachments(id) ON DELETE CASCADE,
    uploaded_by  uuid NOT NULL,
    is_animated  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, name)
);

CREATE TABLE link_previews (
    id          uuid PRIMARY KEY,
    url         text NOT NULL UNIQUE,
    title       text,
    description text,
    image_url   text,
    site_name   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE message_link_previews (
    message_id      uuid NOT NULL,
    link_preview_id uuid NOT NULL REFERENCES link_previews(id) ON DELETE CASCADE,
    position        integer NOT NULL,
    PRIMARY KEY (message_id, link_preview_id)
);
