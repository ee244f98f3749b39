//! Any bytes as a WebSocket binary message: the push-frame decoder (envelope, gunzip with
//! its size cap, fetch result, every message) must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tiktwitch::source::tiktok::decode::decode_frame(bytes::Bytes::copy_from_slice(data));
});
