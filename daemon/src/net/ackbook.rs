//! The deliveries a link waits to hear acknowledged, and the acks that came for them, without
//! an allocation or a hash per delivery: the delivery to the link's server registers each
//! message it sends ([`AckBook::expect`]), the link's reader matches each Ack against those
//! ([`AckBook::arrived`], usually the oldest: a server acks in the order it receives), and the
//! delivery takes the matched acks as one batch ([`AckBook::take`]).
//!
//! Bounded: at most [`MAX_AWAITED`] deliveries are waited for (the oldest is forgotten past
//! that: its ack is then ignored, and the delivery machine times it out and sends it again),
//! and an ack that nobody waits for is dropped, so a peer's acks cannot grow the book.

use crate::delivery::Machine;
use crate::proto::link::AckStatus;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most deliveries a link waits to hear acknowledged: a delivery keeps at most
/// [`Machine::WINDOW`] in flight; twice that leaves room for a window re-sent after a timeout
/// whose first acks are late.
pub const MAX_AWAITED: usize = 2 * Machine::WINDOW;

/// An acknowledgement matched to a delivery: author, seq, and what the server said.
pub type Arrived = (Arc<str>, u64, AckStatus);

/// See the module doc.
#[derive(Debug, Default)]
pub struct AckBook {
    waiting: VecDeque<(Arc<str>, u64)>,
    arrived: Vec<Arrived>,
}

impl AckBook {
    /// Registers a delivery of `(author, seq)` about to be sent.
    pub fn expect(&mut self, author: &Arc<str>, seq: u64) {
        if self.awaits(author, seq) {
            return;
        }
        if self.waiting.len() >= MAX_AWAITED {
            self.waiting.pop_front();
        }
        self.waiting.push_back((author.clone(), seq));
    }

    /// True if a delivery of `(author, seq)` waits for its ack.
    pub fn awaits(&self, author: &str, seq: u64) -> bool {
        self.position(author, seq).is_some()
    }

    /// An Ack came: true if a delivery waited for it (it is then kept for [`AckBook::take`]).
    pub fn arrived(&mut self, author: &str, seq: u64, status: AckStatus) -> bool {
        let Some(i) = self.position(author, seq) else {
            return false;
        };
        if let Some((author, seq)) = self.waiting.remove(i) {
            self.arrived.push((author, seq, status));
        }
        true
    }

    /// Moves the acks that arrived since the last call into `into`.
    pub fn take(&mut self, into: &mut Vec<Arrived>) {
        into.append(&mut self.arrived);
    }

    fn position(&self, author: &str, seq: u64) -> Option<usize> {
        self.waiting
            .iter()
            .position(|(a, s)| *s == seq && &**a == author)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(book: &mut AckBook) -> Vec<(String, u64, AckStatus)> {
        let mut v = Vec::new();
        book.take(&mut v);
        v.into_iter()
            .map(|(a, s, st)| (a.to_string(), s, st))
            .collect()
    }

    #[test]
    fn acks_are_matched_to_what_was_sent_in_any_order() {
        let (a, b): (Arc<str>, Arc<str>) = ("a@x.test".into(), "b@x.test".into());
        let mut book = AckBook::default();
        book.expect(&a, 1);
        book.expect(&b, 1);
        book.expect(&a, 2);
        assert!(book.awaits("a@x.test", 2) && book.awaits("b@x.test", 1));
        assert!(!book.awaits("b@x.test", 2));
        // the same seq of another author is not this one's ack
        assert!(!book.arrived("c@x.test", 1, AckStatus::Stored));
        assert!(book.arrived("a@x.test", 2, AckStatus::Duplicate));
        assert!(book.arrived("a@x.test", 1, AckStatus::Stored));
        // an ack comes once: a repeat is nobody's
        assert!(!book.arrived("a@x.test", 1, AckStatus::Stored));
        assert_eq!(
            taken(&mut book),
            vec![
                ("a@x.test".into(), 2, AckStatus::Duplicate),
                ("a@x.test".into(), 1, AckStatus::Stored),
            ]
        );
        assert!(taken(&mut book).is_empty());
        assert!(book.awaits("b@x.test", 1) && !book.awaits("a@x.test", 1));
    }

    #[test]
    fn a_peer_cannot_grow_the_book() {
        let a: Arc<str> = "a@x.test".into();
        let mut book = AckBook::default();
        // sending the same message again waits for one ack, not two
        book.expect(&a, 1);
        book.expect(&a, 1);
        assert!(book.arrived("a@x.test", 1, AckStatus::Stored));
        assert!(!book.arrived("a@x.test", 1, AckStatus::Stored));
        // past the bound the oldest is forgotten
        for seq in 0..(MAX_AWAITED as u64 + 10) {
            book.expect(&a, seq);
        }
        assert_eq!(book.waiting.len(), MAX_AWAITED);
        assert!(!book.awaits("a@x.test", 9) && book.awaits("a@x.test", 10));
        // unsolicited acks keep nothing
        for seq in 10_000..20_000 {
            assert!(!book.arrived("a@x.test", seq, AckStatus::Stored));
        }
        assert_eq!(taken(&mut book).len(), 1);
        assert!(book.arrived.is_empty() && book.waiting.len() == MAX_AWAITED);
    }
}
