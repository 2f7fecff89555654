//! Hub side of `firehose.publish`: a small node names its authors in its relay session's
//! [`Open`](super::session::Open), and the hub subscribes to them at their node like any
//! follower server would. What they post then arrives by ordinary per-server delivery, is
//! stored, and, being public, goes into the hub's stream with everything else it stores
//! (the seed's "ask another site which does [multicast] to do it").
//!
//! Only authors of the session's own domain are taken, and only when the node the hub reaches
//! for that domain (through discovery, with its pin or remembered key) proves the same key as
//! the session: a session cannot make the hub stream another domain's people. The request is
//! kept (table `streamed`), so it holds across restarts of either side.

use super::session::MAX_PUBLISH_AUTHORS;
use crate::net::Net;
use crate::proto::{Address, PublicKey};
use std::sync::Arc;

/// Subscribes to `authors` of `domain` in the background, if `domain`'s node has `key`.
pub fn spawn(net: Arc<Net>, domain: String, key: PublicKey, authors: Vec<Address>) {
    tokio::spawn(async move {
        let link = match net.link_to(&domain).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(%domain, error = %e, "publish: cannot reach the node; not streaming its authors");
                return;
            }
        };
        if link.peer_key != key {
            tracing::warn!(%domain, "publish: the session's key is not the domain's node key; refused");
            return;
        }
        for author in authors
            .into_iter()
            .filter(|a| a.domain() == domain)
            .take(MAX_PUBLISH_AUTHORS)
        {
            tracing::info!(%author, "publish: streaming the author's public posts");
            if let Err(e) = net.stream_author(author.clone()).await {
                tracing::warn!(%author, error = %e, "publish: not recorded");
            }
        }
    });
}
