//! Tests of the Mastodon views.
