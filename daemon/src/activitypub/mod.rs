//! ActivityPub: the fediverse's protocol, mapped onto msm's messages.
//!
//! Pure layers only (no sockets, no clock): the I/O that drives them lives at the edges.
//! - [`html_text`]: a remote post's HTML reduced to msm's plain text with links.
//! - [`note`]: a remote post object read into what msm keeps of a post.
//! - [`outbound`]: msm's posts and acts written as ActivityStreams, as Mastodon writes them.

pub mod html_text;
pub mod note;
pub mod outbound;

#[cfg(test)]
mod html_text_tests;
#[cfg(test)]
mod note_tests;
#[cfg(test)]
mod outbound_tests;
