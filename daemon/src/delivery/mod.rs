//! Delivery, sans IO: what a node owes each server that follows its authors, as cursors.
//!
//! A subscribed server has, for each local author it follows, a durable *acknowledged-up-to*
//! seq in that author's log (`subscribers.acked_seq`). Everything after it that the server may
//! read is owed; a post therefore costs no write per server, and an ack batch one cursor
//! update per (server, author). Deliveries addressed to a server that follows nobody here (a
//! mention, a reply) are the only ones kept as rows. [`Machine`] is one server's delivery as a
//! state machine: its inputs are what the store owes ([`Input::Loaded`]), posts as they are
//! stored ([`Input::Live`]), acks, the link going down and the clock; its outputs are frames to
//! send, cursors to store and rows to delete ([`Output`]). `net::outbox` drives one per server
//! with a live link; the tests drive it on a virtual clock with loss and restarts.

mod machine;

pub use machine::{Entry, Input, Machine, Output, Status, Subscription};

#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod sim_tests;
