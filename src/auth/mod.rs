//! Twitch OAuth.
