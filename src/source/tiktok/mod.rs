//! The TikTok LIVE source: WebCast decoding, and (later) room lookup, signing and the socket.

pub mod capture;
pub mod decode;
