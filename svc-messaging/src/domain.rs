//! Messaging rules, free of IO: names, content limits, mentions, paging,
//! where a message lives and the thread rule, and svc-messaging's own typed
//! ids (`GroupId`, `BookmarkId`, `CategoryId`).

use ocomms_domain::{ChannelId, ConversationId};
use ocomms_runtime::{ServiceError, ServiceResult};

ocomms_runtime::typed_id! {
    /// A user group of a workspace, mentioned as @handle.
    GroupId;
    /// A bookmark, private to its owner.
    BookmarkId;
    /// A channel category (a sidebar section) of a workspace.
    CategoryId;
}

pub const MAX_CONTENT_CHARS: usize = 40_000;
/// History, threads, notes and channel lists: 50 by default, at most 200.
pub const PAGE: ocomms_runtime::paging::PageSize = ocomms_runtime::paging::PageSize::new(50, 200);
/// Search results: 20 by default, at most 100.
pub const SEARCH_PAGE: ocomms_runtime::paging::PageSize = ocomms_runtime::paging::PageSize::new(20, 100);
pub const MAX_CLIENT_MSG_ID: usize = 128;

/// A channel name as Slack shapes them: trimmed, lower-case, spaces become
/// `-`; 1 to 80 of letters, digits, `-` and `_`.
pub fn channel_name(raw: &str) -> ServiceResult<String> {
    let name: String = raw.trim().trim_start_matches('#').to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
    if name.is_empty() {
        return Err(ServiceError::validation("name", "is required"));
    }
    if name.chars().count() > 80 {
        return Err(ServiceError::validation("name", "must be at most 80 characters"));
    }
    if !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return Err(ServiceError::validation("name", "may contain only letters, digits, '-' and '_'"));
    }
    Ok(name)
}

pub fn description(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.chars().count() > 250 => Err(ServiceError::validation("description", "must be at most 250 characters")),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Message content: kept as sent (markdown is text), at most 40,000
/// characters, not blank unless files are attached.
pub fn content(raw: &str, has_attachments: bool) -> ServiceResult<String> {
    if raw.trim().is_empty() && !has_attachments {
        return Err(ServiceError::validation("content", "must not be empty"));
    }
    if raw.chars().count() > MAX_CONTENT_CHARS {
        return Err(ServiceError::validation("content", format!("must be at most {MAX_CONTENT_CHARS} characters")));
    }
    if raw.contains('\0') {
        return Err(ServiceError::validation("content", "must not contain NUL characters"));
    }
    Ok(raw.to_owned())
}

pub fn client_msg_id(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.len() > MAX_CLIENT_MSG_ID || s.chars().any(char::is_control) => {
            Err(ServiceError::validation("clientMsgId", format!("must be at most {MAX_CLIENT_MSG_ID} printable characters")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Links whose previews are fetched: the first three distinct http(s) URLs.
pub fn links(content: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in content.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`')) {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else { continue };
        let url = word[start..].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '*', '_']);
        if url.len() > 2048 || url.ends_with("://") || out.iter().any(|u| u == url) {
            continue;
        }
        out.push(url.to_owned());
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Which page of history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest `limit` messages.
    Latest { limit: u32 },
    /// Messages with sequence < `seq`, nearest first.
    Before { seq: i64, limit: u32 },
    /// Messages with sequence > `seq`, oldest first.
    After { seq: i64, limit: u32 },
}

pub fn page(before: Option<i64>, after: Option<i64>, limit: Option<u32>) -> ServiceResult<Page> {
    let limit = PAGE.of(limit)?;
    match (before, after) {
        (Some(_), Some(_)) => Err(ServiceError::validation("before", "give either before or after, not both")),
        (Some(b), None) if b < 1 => Err(ServiceError::validation("before", "must be a sequence of at least 1")),
        (None, Some(a)) if a < 0 => Err(ServiceError::validation("after", "must not be negative")),
        (Some(seq), None) => Ok(Page::Before { seq, limit }),
        (None, Some(seq)) => Ok(Page::After { seq, limit }),
        (None, None) => Ok(Page::Latest { limit }),
    }
}

/// Characters of the scripts written without spaces between words: Han
/// (CJK ideographs and their extensions), Hiragana, Katakana (half-width
/// too). Korean is written with spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x3134F) // CJK Extensions B to G
}

/// A search text only in those scripts (besides spaces and punctuation):
/// the `simple` parser sees each run as one token, so it matches by
/// substring alone and every match ranks alike.
pub fn only_cjk(text: &str) -> bool {
    text.chars().any(is_cjk) && text.chars().all(|c| is_cjk(c) || !c.is_alphanumeric())
}

/// A note's length at most (personal and channel notes).
pub const MAX_NOTE_CHARS: usize = 100_000;

/// A note's content and the version it was edited from.
pub fn check_note(content: &str, version: i32) -> ServiceResult<()> {
    if content.chars().count() > MAX_NOTE_CHARS {
        return Err(ServiceError::validation("content", format!("must be at most {MAX_NOTE_CHARS} characters")));
    }
    if version < 0 {
        return Err(ServiceError::validation("version", "must not be negative"));
    }
    Ok(())
}

/// Handles reserved for the special mentions.
const RESERVED_HANDLES: [&str; 3] = ["here", "channel", "everyone"];
/// A user group holds at most this many members.
pub const MAX_GROUP_MEMBERS: usize = 1000;

/// A group's handle, as `@handle` mentions it (seed 5.2): lower-cased, 1-64
/// letters, digits, '_', '.' or '-', not a special mention's.
pub fn group_handle(raw: &str) -> ServiceResult<String> {
    let handle = raw.trim().trim_start_matches('@').to_lowercase();
    if handle.is_empty() || handle.len() > 64 || !handle.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(ServiceError::validation("handle", "must be 1-64 letters, digits, '_', '.' or '-'"));
    }
    if RESERVED_HANDLES.contains(&handle.as_str()) {
        return Err(ServiceError::validation("handle", "is reserved"));
    }
    Ok(handle)
}

/// A group's display name: 1-80 characters once trimmed.
pub fn group_name(raw: &str) -> ServiceResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::validation("name", "must be 1-80 characters"));
    }
    Ok(name.to_owned())
}

/// Where messages live: a channel or a conversation (DM, group DM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Channel(ChannelId),
    Conversation(ConversationId),
}

impl Target {
    /// The channel's or conversation's id.
    pub fn place_id(self) -> uuid::Uuid {
        match self {
            Self::Channel(c) => c.0,
            Self::Conversation(c) => c.0,
        }
    }
}

/// One level of threads (seed 3.1): a reply's parent is a top-level
/// message of the same place. `parent` is the parent message as found
/// (where it lives, whether it is itself a reply), or None when there is
/// no such message.
pub fn check_reply_parent(target: Target, parent: Option<(Option<Target>, bool)>) -> ServiceResult<()> {
    match parent {
        Some((place, false)) if place == Some(target) => Ok(()),
        Some((place, true)) if place == Some(target) => {
            Err(ServiceError::validation("parentId", "replies cannot have replies; reply to the thread's parent"))
        }
        _ => Err(ServiceError::validation("parentId", "no such message here")),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn cjk_is_told_from_scripts_written_with_spaces() {
        assert!("会議".chars().all(super::is_cjk));
        assert!("かいぎ カイギ ｶｲｷﾞ 𠀋".chars().filter(|c| !c.is_whitespace()).all(super::is_cjk));
        assert!(!"deploy résumé Привет 회의 123 -".chars().any(super::is_cjk));
        assert!(super::only_cjk("会議") && super::only_cjk("「会議」 東京"));
        assert!(!super::only_cjk("API 設計") && !super::only_cjk("회의") && !super::only_cjk("deploy"));
    }
    use super::*;

    #[test]
    fn channel_names_are_shaped() {
        assert_eq!(channel_name("  #Team Chat ").expect("valid"), "team-chat");
        assert_eq!(channel_name("équipe_1").expect("valid"), "équipe_1");
        assert!(channel_name("   ").is_err());
        assert!(channel_name("a/b").is_err());
        assert!(channel_name(&"x".repeat(81)).is_err());
    }

    #[test]
    fn links_are_the_first_three_distinct_urls() {
        let text = "see https://a.example/x, (http://b.example/y) and <https://a.example/x> then https://c.example/ https://d.example/";
        assert_eq!(links(text), vec!["https://a.example/x", "http://b.example/y", "https://c.example/"]);
        assert!(links("no links here, just http:// and ftp://x").is_empty());
    }

    #[test]
    fn content_limits() {
        assert!(content("", false).is_err());
        assert!(content("  \n", false).is_err());
        assert!(content("", true).is_ok());
        assert!(content(&"é".repeat(MAX_CONTENT_CHARS), false).is_ok());
        assert!(content(&"é".repeat(MAX_CONTENT_CHARS + 1), false).is_err());
        assert_eq!(content("**bold** <b>", false).expect("kept"), "**bold** <b>");
    }

    #[test]
    fn pages() {
        assert_eq!(page(None, None, None).expect("ok"), Page::Latest { limit: 50 });
        assert_eq!(page(Some(10), None, Some(5)).expect("ok"), Page::Before { seq: 10, limit: 5 });
        assert_eq!(page(None, Some(0), None).expect("ok"), Page::After { seq: 0, limit: 50 });
        assert!(page(Some(1), Some(1), None).is_err());
        assert!(page(None, None, Some(201)).is_err());
        assert!(page(Some(0), None, None).is_err());
        assert!(page(None, Some(-1), None).is_err());
    }
}

/// A reaction: a Unicode emoji or a `:shortcode:`, 1 to 64 characters,
/// no spaces.
pub fn emoji(raw: &str) -> ServiceResult<String> {
    let e = raw.trim();
    if e.is_empty() || e.chars().count() > 64 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::validation("emoji", "must be an emoji or :shortcode: of at most 64 characters"));
    }
    Ok(e.to_owned())
}

#[cfg(test)]
mod emoji_tests {
    #[test]
    fn emoji_shapes() {
        assert_eq!(super::emoji(" 👍 ").expect("ok"), "👍");
        assert!(super::emoji(":party_parrot:").is_ok());
        assert!(super::emoji("").is_err());
        assert!(super::emoji("a b").is_err());
    }
}

/// The `@tokens` of a message, lower-cased, in order, without duplicates
/// (seed 5.2: `@(\w+)`, plus `.` and `-` inside handles). An `@` inside a
/// word (an email address) is not a mention.
pub fn mentions(content: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = content.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || matches!(chars[end], '_' | '.' | '-')) {
                end += 1;
            }
            let token: String = chars[start..end].iter().collect::<String>().trim_end_matches(['.', '-']).to_lowercase();
            if !token.is_empty() && token.len() <= 64 && !out.contains(&token) {
                out.push(token);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// How a member can be mentioned: their name without spaces or punctuation
/// (`@annbrown` for "Ann Brown"), their first name (`@ann`), and the local
/// part of their email (`@ann.brown`).
pub fn handles(name: &str, email: &str) -> Vec<String> {
    let squashed: String = name.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    let first: String =
        name.split_whitespace().next().unwrap_or_default().chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut h = vec![squashed, first, local];
    h.retain(|x| !x.is_empty());
    h.dedup();
    h
}

#[cfg(test)]
mod mention_tests {
    use super::*;

    #[test]
    fn finds_mentions_like_the_seed() {
        assert_eq!(mentions("Hey @john and @designers, check this out @here"), vec!["john", "designers", "here"]);
        assert_eq!(mentions("mail ann@example.com, not a mention; @Ann. @ann"), vec!["ann"]);
        assert_eq!(mentions("@ann.brown-"), vec!["ann.brown"]);
        assert!(mentions("no mentions @ here").is_empty());
    }

    #[test]
    fn member_handles() {
        assert_eq!(handles("Ann Brown", "ann.b@example.com"), vec!["annbrown", "ann", "ann.b"]);
        assert_eq!(handles("Zoë", "zoe@x.io"), vec!["zoë", "zoe"]);
    }
}

/// A parsed search query.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words to find (may be empty when only filters are given).
    pub text: String,
    pub from: Option<String>,
    pub in_channel: Option<String>,
    pub before: Option<chrono::NaiveDate>,
    pub after: Option<chrono::NaiveDate>,
}

/// Splits `q` into words and the `from:`, `in:`, `before:`, `after:`
/// filters; a malformed date is a validation error.
pub fn search_query(q: &str) -> ServiceResult<SearchQuery> {
    let mut out = SearchQuery::default();
    let mut words = Vec::new();
    for part in q.split_whitespace() {
        let lower = part.to_lowercase();
        let date = |field: &str, v: &str| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ServiceError::validation("q", format!("{field}: expects a date like 2026-01-31")))
        };
        if let Some(v) = lower.strip_prefix("from:") {
            out.from = Some(v.trim_start_matches('@').to_owned()).filter(|s| !s.is_empty());
        } else if let Some(v) = lower.strip_prefix("in:") {
            out.in_channel = Some(v.trim_start_matches('#').to_owned()).filter(|s| !s.is_empty());
        } else if let Some(v) = lower.strip_prefix("before:") {
            out.before = Some(date("before", v)?);
        } else if let Some(v) = lower.strip_prefix("after:") {
            out.after = Some(date("after", v)?);
        } else {
            words.push(part);
        }
    }
    out.text = words.join(" ");
    if out.text.chars().count() > 256 {
        return Err(ServiceError::validation("q", "must be at most 256 characters of text"));
    }
    if out.text.is_empty() && out.from.is_none() && out.in_channel.is_none() && out.before.is_none() && out.after.is_none() {
        return Err(ServiceError::validation("q", "give words to find or a filter"));
    }
    Ok(out)
}

/// An excerpt of `content` around the first match of any word, HTML-escaped,
/// with every match wrapped in `<mark>`. Matching is case-insensitive and
/// works inside words (and in scripts without spaces).
pub fn highlight(content: &str, text: &str) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let lower: Vec<char> = content.chars().flat_map(char::to_lowercase).collect();
    let chars: Vec<char> = content.chars().collect();
    if lower.len() != chars.len() {
        // Case folding changed lengths: fall back to an unmarked excerpt.
        return escape(&chars.iter().take(200).collect::<String>());
    }
    let words: Vec<Vec<char>> =
        text.split_whitespace().map(|w| w.trim_matches('"').to_lowercase().chars().collect::<Vec<_>>()).filter(|w| !w.is_empty()).collect();
    let mut marks = vec![false; chars.len()];
    for w in &words {
        let mut i = 0;
        while i + w.len() <= lower.len() {
            if lower[i..i + w.len()] == w[..] {
                marks[i..i + w.len()].iter_mut().for_each(|m| *m = true);
                i += w.len();
            } else {
                i += 1;
            }
        }
    }
    let first = marks.iter().position(|m| *m).unwrap_or(0);
    let start = first.saturating_sub(60);
    let end = (first + 140).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in start..end {
        if marks[i] && !open {
            out.push_str("<mark>");
            open = true;
        } else if !marks[i] && open {
            out.push_str("</mark>");
            open = false;
        }
        out.push_str(&escape(&chars[i].to_string()));
    }
    if open {
        out.push_str("</mark>");
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let q = search_query("deploy from:@Ann in:#general after:2026-01-01 plan").expect("ok");
        assert_eq!(q.text, "deploy plan");
        assert_eq!(q.from.as_deref(), Some("ann"));
        assert_eq!(q.in_channel.as_deref(), Some("general"));
        assert!(q.after.is_some() && q.before.is_none());
        assert!(search_query("before:yesterday").is_err());
        assert!(search_query("   ").is_err());
        assert!(search_query("from:ann").is_ok());
    }

    #[test]
    fn highlights_escape_and_mark() {
        assert_eq!(highlight("Ship <b>the</b> deploy", "DEPLOY"), "Ship &lt;b&gt;the&lt;/b&gt; <mark>deploy</mark>");
        assert_eq!(highlight("東京で会議があります", "会議"), "東京で<mark>会議</mark>があります");
        assert_eq!(highlight("redeployment", "deploy"), "re<mark>deploy</mark>ment");
    }

    #[test]
    fn replies_go_to_top_level_messages_of_the_same_place() {
        let here = Target::Channel(ChannelId::new());
        let elsewhere = Target::Conversation(ConversationId::new());
        assert!(check_reply_parent(here, Some((Some(here), false))).is_ok());
        let nested = check_reply_parent(here, Some((Some(here), true))).expect_err("a reply to a reply");
        assert!(nested.message.contains("replies cannot have replies"));
        // Another place's message, or none, is not there at all.
        for parent in [Some((Some(elsewhere), false)), Some((Some(elsewhere), true)), None] {
            assert!(check_reply_parent(here, parent).expect_err("not here").message.contains("no such message"));
        }
    }

    #[test]
    fn group_handles_and_notes() {
        assert_eq!(group_handle(" @Ops.Team ").expect("valid"), "ops.team");
        for bad in ["", "@", "here", "@Channel", "a b", &"x".repeat(65)] {
            assert!(group_handle(bad).is_err(), "{bad:?}");
        }
        assert_eq!(group_name("  Ops  ").expect("valid"), "Ops");
        assert!(group_name("   ").is_err());
        assert!(check_note(&"n".repeat(MAX_NOTE_CHARS), 0).is_ok());
        assert!(check_note(&"n".repeat(MAX_NOTE_CHARS + 1), 0).is_err());
        assert!(check_note("", -1).is_err());
    }
}
