//! `tiktwitch demo`: a scripted TikTok live relayed into a local Twitch stand-in, through the
//! real `run` code path, with no accounts and no network.

pub mod show;
