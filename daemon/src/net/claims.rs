//! The authors this node is subscribing to at this moment. A follow made over HTTP subscribes
//! at once while the retry loop ([`super::Net::subscription_loop`]) may find the same fresh
//! subscription due; each takes a [`Claim`] first, so only one Subscribe goes out (a second
//! would make the author's node send its recent posts again, each answered Duplicate).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The set of authors being subscribed to.
#[derive(Default)]
pub struct Subscribing {
    authors: Mutex<HashSet<String>>,
}

/// Held while subscribing to one author; the author is free again when it drops (also on a
/// panic or a cancelled task).
pub struct Claim {
    set: Arc<Subscribing>,
    author: String,
}

impl Subscribing {
    /// Claims `author`, or `None` if someone else is subscribing to them now.
    pub fn claim(self: &Arc<Self>, author: &str) -> Option<Claim> {
        self.lock().insert(author.to_string()).then(|| Claim {
            set: self.clone(),
            author: author.to_string(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.authors.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.set.lock().remove(&self.author);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_author_until_it_drops() {
        let s = Arc::new(Subscribing::default());
        let a = s.claim("bob@b.test").expect("free");
        assert!(s.claim("bob@b.test").is_none(), "taken");
        let c = s.claim("carol@c.test").expect("another author is free");
        drop(a);
        assert!(s.claim("bob@b.test").is_some(), "free again once dropped");
        assert!(s.claim("carol@c.test").is_none(), "still taken");
        drop(c);
        assert!(s.claim("carol@c.test").is_some(), "free again once dropped");
    }

    #[test]
    fn a_claim_is_released_by_a_panic() {
        let s = Arc::new(Subscribing::default());
        let t = s.clone();
        let r = std::thread::spawn(move || {
            let _c = t.claim("bob@b.test").unwrap();
            panic!("in the middle of subscribing");
        })
        .join();
        assert!(r.is_err());
        assert!(s.claim("bob@b.test").is_some());
    }
}
