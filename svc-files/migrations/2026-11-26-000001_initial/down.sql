DROP TABLE message_link_previews, link_previews, custom_emojis, user_storage, file_attachments;
