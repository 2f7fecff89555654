//! ActivityPub, the parts that need no I/O: the fediverse's protocol mapped onto msm's
//! messages, and HTTP signatures (draft-cavage-12 and RFC 9421, built and checked as pure
//! functions of a request view and `now`) with the keys they use. The I/O that drives them
//! lives at the edges.
//!
//! - [`activity`]: an incoming activity checked and read into what the inbox acts on.
//! - [`collection`]: an account's outbox, followers and following, paged as Mastodon pages them.
//! - [`actor_doc`]: a remote actor document read into its inboxes and keys.
//! - [`html_text`]: a remote post's HTML reduced to msm's plain text with links.
//! - [`note`]: a remote post object read into what msm keeps of a post.
//! - [`outbound`]: msm's posts and acts written as ActivityStreams, as Mastodon writes them.
//! - [`sig`]: the request view, signing strings and signature bases, verification with the
//!   policy Mastodon applies, and signing of outgoing GETs and POSTs.
//! - [`keys`]: RSA and Ed25519 public keys from `publicKeyPem` / `publicKeyMultibase`, RSA
//!   signing keys (PKCS#8).
//! - [`keygen`]: one 2048-bit RSA key per user, as PKCS#8 DER.
//! - [`SigError`]: the error type of the signature layer ([`html_text::HtmlError`] and
//!   [`note::NoteError`] are those of the mapping).

pub mod activity;
pub mod actor_doc;
pub mod collection;
mod der;
mod error;
pub mod html_text;
pub mod keygen;
pub mod keys;
pub mod note;
pub mod outbound;
pub mod sig;

pub use error::SigError;

#[cfg(test)]
mod activity_tests;
#[cfg(test)]
mod collection_tests;
#[cfg(test)]
mod html_text_tests;
#[cfg(test)]
mod note_tests;
#[cfg(test)]
mod outbound_tests;
