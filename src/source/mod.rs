//! Sources of events. Today: TikTok LIVE.

pub mod tiktok;
