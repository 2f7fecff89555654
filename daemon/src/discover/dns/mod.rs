//! A small stub resolver for discovery's few questions (SRV, TXT, A, AAAA): a sans-IO
//! message codec ([`message`]), the system's configuration read as text ([`system`]), and the
//! UDP/TCP exchange around them ([`Resolver`]). Answers are cached one level up, per domain
//! (`discover::Discovery`), for their TTL.

mod client;
pub mod message;
pub mod system;

pub use client::{Found, LookupError, Resolver};
pub use message::{Qtype, Record};
