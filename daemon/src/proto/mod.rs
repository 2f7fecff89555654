//! Sans-IO protocol core.
//!
//! Everything here is deterministic: no sockets, no clock reads (callers pass `now`), no database,
//! no tokio. The I/O layers (`net`, `web`) and the store drive these types.
//!
//! - [`address`]: `user@domain` identities, IDNA domains, limits.
//! - [`attachment`]: picture references carried in messages (hash, type, size, alt text).
//! - [`message`]: signed messages, their canonical byte layout and verification.
//! - [`frame`]: length-prefixed frames for node links, checked before any allocation.
//! - [`seq`]: per-stream sequence tracking (author seqs, later the multicast stream).
//! - [`stream`]: the multicast firehose: signed datagrams, sender, receiver, path choice.
//! - [`keys`]: Ed25519 key pairs and their text form.
//! - [`link`]: node-to-node link handshake, control payloads, keep-alive.
//! - [`media_wire`]: picture bytes between nodes, a chunk at a time (link version 4).
//! - [`follow`]: follow requests and answers between nodes (link version 2).
//! - [`text`]: mentions, hashtags and URLs in post text.
//!
//! Invariants: every decoder bounds its input before it allocates, never panics on any input, and
//! accepts only the canonical encoding of a value (decode then encode gives the same bytes).

pub mod address;
pub mod attachment;
pub mod conversation;
pub mod error;
pub mod follow;
pub mod frame;
pub mod keys;
pub mod link;
pub mod media_wire;
pub mod message;
pub mod seq;
pub mod stream;
pub mod text;

pub use address::Address;
pub use error::ProtoError;
pub use frame::{Frame, FrameDecoder, FrameType};
pub use keys::{NodeKey, PublicKey};
pub use message::{Audience, Body, Limits, Message, MessageId, SignedMessage};
pub use seq::{Seen, SeqTracker};
