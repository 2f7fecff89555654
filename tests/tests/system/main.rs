//! Black-box system tests: real `msmd` processes, driven through the command line, HTTP and
//! signals. One test binary with a module per area (it links once, which is faster).

mod api;
mod approval;
mod blocking;
mod browser;
mod cli;
mod config;
mod conversation;
mod durability;
mod federation;
mod firehose;
mod firehose_discover;
mod firehose_forged;
mod firehose_groups;
mod firehose_hub;
mod firehose_relay;
mod firehose_repair;
mod firehose_slow;
mod firehose_switch;
mod hostile_api;
mod hostile_conversation;
mod hostile_firehose;
mod hostile_http;
mod hostile_links;
mod lifecycle;
mod mastodon_accounts;
mod mastodon_api;
mod mastodon_clients;
mod mastodon_oauth;
mod mastodon_statuses;
mod mastodon_streaming;
mod pictures;
mod pictures_between;
mod public_pages;
mod search;
mod web;
