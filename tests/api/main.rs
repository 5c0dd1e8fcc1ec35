//! Parley's integration tests: the real server over HTTP, on SQLite and on
//! PostgreSQL (set `PARLEY_TEST_POSTGRES_URL`).

// Test code may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod limits;

mod answer_size;
mod auth;
mod browser;
mod caching;
mod cli;
mod connections;
mod counts;
mod cross_origin;
mod data_at_rest;
mod email_history;
mod embedding;
mod fan_out;
mod flood;
mod import;
mod mail;
mod moderation;
mod moderation_rules;
mod moderation_tools;
mod observability;
mod outage;
mod overload;
mod posting;
mod process;
mod reading;
mod readme;
mod retention;
mod schema;
mod sessions;
mod statements;
mod storage;
mod subscriptions;
mod tokens;
mod transport;
