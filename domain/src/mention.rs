//! Why someone is told of a message: the vocabulary of the
//! `message.mentioned` job, written by svc-messaging (and into its
//! `message_mentions` rows) and read by svc-notify.

ocomms_runtime::text_enum!(
    /// How a message reaches someone, most specific first: a mention by
    /// name, through a user group, `@here`, `@channel`; a reply in a thread
    /// they took part in; a message in their DM.
    MentionKind {
        Mention = "mention",
        Group = "group",
        Here = "here",
        Channel = "channel",
        ThreadReply = "thread_reply",
        Dm = "dm",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in MentionKind::ALL {
            assert_eq!(MentionKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(MentionKind::parse("shout"), None);
    }
}
