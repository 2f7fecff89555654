//! OAuth scopes as Mastodon names them (sans-IO).
//!
//! The top-level scopes `read`, `write`, `follow`, `push` and `profile`, and every granular
//! scope Mastodon has (`read:statuses`, `write:media`, ...; `config/initializers/doorkeeper.rb`).
//! `read` covers every `read:*`, `write` every `write:*`, and the old `follow` covers reading
//! and changing follows, blocks and mutes. Admin scopes (`admin:*`) are refused: this node's
//! administration is its own web page's. An unknown scope is refused where it is asked for
//! (app registration, authorization, token), never silently dropped.
//!
//! A scope set is at most [`MAX_SCOPES`] names of at most [`MAX_SCOPE_LEN`] bytes.

/// Most scopes one set may name (there are 30 distinct ones).
pub const MAX_SCOPES: usize = 40;
/// Longest scope name.
pub const MAX_SCOPE_LEN: usize = 32;
/// The scopes of an app or a token that asks for none (as Mastodon's default).
pub const DEFAULT: &str = "read";

/// Every scope this node grants, top-level first.
pub const KNOWN: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// What the old `follow` scope covers.
const FOLLOW_COVERS: &[&str] = &[
    "read:follows",
    "write:follows",
    "read:blocks",
    "write:blocks",
    "read:mutes",
    "write:mutes",
];

/// Why a scope set is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    /// A name this node does not know (or an admin scope), quoted.
    Unknown(String),
    /// More than [`MAX_SCOPES`] names.
    TooMany,
}

impl std::fmt::Display for ScopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScopeError::Unknown(s) => write!(f, "unknown or refused scope {s:?}"),
            ScopeError::TooMany => write!(f, "more than {MAX_SCOPES} scopes"),
        }
    }
}

/// Parses a scope set written with spaces (or `+`, as some clients send it); empty gives
/// [`DEFAULT`]. Duplicates are dropped; the order is kept.
pub fn parse(s: &str) -> Result<Vec<&'static str>, ScopeError> {
    let mut out: Vec<&'static str> = Vec::new();
    let words = s
        .split([' ', '+', '\t', '\n', '\r'])
        .filter(|w| !w.is_empty());
    for (i, w) in words.enumerate() {
        if i >= MAX_SCOPES {
            return Err(ScopeError::TooMany);
        }
        let known = KNOWN.iter().find(|k| **k == w).ok_or_else(|| {
            ScopeError::Unknown(w.chars().take(MAX_SCOPE_LEN).collect::<String>())
        })?;
        if !out.contains(known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        out.push(DEFAULT);
    }
    Ok(out)
}

/// A parsed set written back as Mastodon writes it.
pub fn join(scopes: &[&str]) -> String {
    scopes.join(" ")
}

/// Does the granted scope `g` cover the single scope `wanted`?
fn one_covers(g: &str, wanted: &str) -> bool {
    g == wanted
        || (g == "read" && wanted.starts_with("read:"))
        || (g == "write" && wanted.starts_with("write:"))
        || (g == "follow" && FOLLOW_COVERS.contains(&wanted))
}

/// Does the granted set (space-separated, as stored) cover what an endpoint asks for?
/// `wanted` is one scope, or several separated by spaces of which any one suffices (as
/// Mastodon's `doorkeeper_authorize! :read, :'read:accounts', :profile`).
pub fn covers(granted: &str, wanted: &str) -> bool {
    wanted.split(' ').filter(|w| !w.is_empty()).any(|w| {
        granted
            .split(' ')
            .filter(|g| !g.is_empty())
            .any(|g| one_covers(g, w))
    })
}

/// Does the granted set cover every scope of `asked` (asking for no more than an app may)?
pub fn covers_all(granted: &str, asked: &[&str]) -> bool {
    asked.iter().all(|a| covers(granted, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_scopes_cover_their_granular_ones() {
        assert!(covers("read", "read:statuses"));
        assert!(covers("read write", "write:media"));
        assert!(!covers("read", "write:statuses"));
        assert!(!covers("write", "read:accounts"));
        assert!(covers("follow", "write:blocks"));
        assert!(covers("follow", "read:mutes"));
        assert!(!covers("follow", "read:statuses"));
        assert!(!covers("follow", "write:statuses"));
        assert!(covers("read:statuses", "read:statuses"));
        assert!(
            !covers("read:statuses", "read"),
            "a part never covers the whole"
        );
        assert!(!covers("read:statuses", "read:accounts"));
        assert!(covers("push", "push"));
        assert!(!covers("read write follow", "push"));
        assert!(covers("profile", "read:accounts profile"), "any of several");
        assert!(!covers("", "read:statuses"));
        assert!(!covers("read", ""));
    }

    #[test]
    fn parsing_refuses_unknown_and_admin_scopes() {
        assert_eq!(
            parse("read write follow push").unwrap(),
            vec!["read", "write", "follow", "push"]
        );
        assert_eq!(
            parse("read+write:statuses").unwrap(),
            vec!["read", "write:statuses"]
        );
        assert_eq!(parse("").unwrap(), vec!["read"]);
        assert_eq!(parse("  read read ").unwrap(), vec!["read"]);
        assert!(matches!(parse("admin:read"), Err(ScopeError::Unknown(_))));
        assert!(matches!(parse("read crypto"), Err(ScopeError::Unknown(_))));
        assert!(matches!(parse("READ"), Err(ScopeError::Unknown(_))));
        let long = "x".repeat(10_000);
        match parse(&long) {
            Err(ScopeError::Unknown(s)) => assert_eq!(s.len(), MAX_SCOPE_LEN),
            other => panic!("{other:?}"),
        }
        let many = vec!["read"; MAX_SCOPES + 1].join(" ");
        assert_eq!(parse(&many), Err(ScopeError::TooMany));
        assert!(KNOWN.iter().all(|k| !k.starts_with("admin")));
    }

    #[test]
    fn a_request_within_an_apps_scopes() {
        let app = "read write follow";
        assert!(covers_all(app, &parse("read write").unwrap()));
        assert!(covers_all(
            app,
            &parse("read:statuses write:blocks").unwrap()
        ));
        assert!(!covers_all(app, &parse("read push").unwrap()));
    }
}
