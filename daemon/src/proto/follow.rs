//! Follow requests between nodes: which person follows, and whether the author accepted.
//!
//! A subscription (`Subscribe`, see [`super::link`]) is per server: the follower's node
//! subscribes once for all its people, and every public post goes to each subscribed server.
//! A followers-only post goes only to a server where at least one person is an *accepted*
//! follower of its author, so the follower's node names each of its followers:
//!
//! ```text
//! follower's node                          author's node
//!   FollowRequest{follower, author}  ──▶     keeps (author, follower, server, state)
//!                                    ◀──   FollowAnswer{follower, author, accepted|pending|rejected}
//!   ... the author decides later     ◀──   FollowAnswer{..., accepted|rejected}
//!   FollowUndo{follower, author}     ──▶     forgets the follower (unfollow)
//!   Backfill (after a gap)           ──▶
//!                                    ◀──   the public messages in range, then Withheld{author, from, to}
//! ```
//!
//! `Withheld` says "every seq of `author` in `from..=to` that you were not sent is not for you"
//! (followers-only, and none of your people is an accepted follower), so the follower's node
//! moves its contiguous seq over those gaps instead of asking for them again.
//!
//! These are link protocol version 2 (frame types 21..=24, [`super::link::LINK_VERSION`]);
//! version 1 frames are unchanged. A link speaks the lower of the two versions in the Hellos,
//! and none of these frames goes over a version 1 link: a version 1 follower server never
//! names its followers, so it gets public posts only (and followers-only ones where it was
//! subscribed before schema 6, see `store::approvals`).

use super::Address;
use serde::{Deserialize, Serialize};

/// A person of the sending node asks to follow an author of the receiving node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowRequest {
    /// The follower, a user of the sending node (its domain is the link's peer domain).
    pub follower: Address,
    /// The author, a user of the receiving node.
    pub author: Address,
}

/// Where a follow request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowAnswerState {
    /// The follower reads followers-only posts.
    Accepted,
    /// The author has not decided yet (their account requires approval).
    Pending,
    /// Refused (by the author, or over a limit): the follower's node drops the follow.
    Rejected,
}

/// The author's node answers a [`FollowRequest`], at once or when the author decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowAnswer {
    /// The follower, a user of the receiving node.
    pub follower: Address,
    /// The author, a user of the sending node.
    pub author: Address,
    /// The decision.
    pub state: FollowAnswerState,
}

/// A person of the sending node stops following an author of the receiving node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUndo {
    /// The follower, a user of the sending node.
    pub follower: Address,
    /// The author, a user of the receiving node.
    pub author: Address,
}

/// After a backfill: the author's messages up to `to` that were not sent are not for the
/// receiving server (followers-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    /// The author, a user of the sending node.
    pub author: Address,
    /// First seq the statement covers.
    pub from: u64,
    /// Last seq the statement covers.
    pub to: u64,
}

#[cfg(test)]
mod tests {
    use super::super::link::{decode, encode};
    use super::*;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn payloads_round_trip_and_refuse_trailing_bytes() {
        let r = FollowRequest {
            follower: addr("bob@b.test"),
            author: addr("alice@a.test"),
        };
        let bytes = encode(&r);
        assert_eq!(
            decode::<FollowRequest>("follow request", &bytes).unwrap(),
            r
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<FollowRequest>("follow request", &long).is_err());
        for state in [
            FollowAnswerState::Accepted,
            FollowAnswerState::Pending,
            FollowAnswerState::Rejected,
        ] {
            let a = FollowAnswer {
                follower: addr("bob@b.test"),
                author: addr("alice@a.test"),
                state,
            };
            assert_eq!(decode::<FollowAnswer>("answer", &encode(&a)).unwrap(), a);
        }
        let w = Withheld {
            author: addr("alice@a.test"),
            from: 3,
            to: 7,
        };
        assert_eq!(decode::<Withheld>("withheld", &encode(&w)).unwrap(), w);
        // an address that is not canonical is refused by Address's own decoding
        let bad = encode(&("Bob@B.test", "alice@a.test"));
        assert!(decode::<FollowUndo>("undo", &bad).is_err());
    }
}
