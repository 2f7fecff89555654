//! Link frames for messages addressed to a node that does not follow their author.
//!
//! A post that mentions `bob@b.test`, a reply to one of bob's posts or a like of it goes to
//! b.test's node even if nobody there follows the author (`store::messages`). That node keeps
//! it only if it is addressed to one of its people (`Store::addressed_here`), and it can check
//! the signature only with the author's key, which it learns from a subscription — or, for an
//! author nobody there follows, by asking the author's node:
//!
//! ```text
//! receiving node                               author's node
//!   (a Message from alice@a.test, key unknown: Ack Refused, the outbox retries)
//!   AuthorKeyQuery{alice@a.test}     ──▶
//!                                    ◀──   AuthorKey{alice@a.test, key}   (empty: no such user)
//!   (the retried Message verifies and is kept)
//! ```
//!
//! The answer is believed only from a link that proved it speaks for the author's domain (a
//! dialled link, or an accepted one verified by dial-back). Link version 3.

use super::Address;
use serde::{Deserialize, Serialize};

/// Asks the peer for the key of one of its authors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorKeyQuery {
    /// The author, a user of the receiving node.
    pub author: Address,
}

/// An author's public key, from the author's own node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorKey {
    /// The author, a user of the sending node.
    pub author: Address,
    /// The author's public key (32 bytes); empty if there is no such user.
    pub key: Vec<u8>,
    /// The author's newest seq.
    pub last_seq: u64,
}
