//! In-process stand-ins for TikTok and Twitch on 127.0.0.1, used by tests, benchmarks and
//! `tiktwitch demo`.

pub mod oauth;
pub mod tiktok;
pub mod twitch;
