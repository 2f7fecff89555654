//! A post's plain text as the sanitised HTML `content` Mastodon apps render: paragraphs,
//! line breaks, links, mentions and hashtags; everything else escaped.
//!
//! (Skeleton: filled in by the statuses work.)

/// The HTML of `text`.
pub fn content(text: &str) -> String {
    super::super::public::escape(text)
}
