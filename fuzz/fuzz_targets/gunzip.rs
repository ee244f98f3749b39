//! Any bytes as a gzip batch: the inflater (libdeflate fast path, zlib-rs exact path, one
//! reused and dirty output buffer) agrees with flate2's `MultiGzDecoder`, except for the one
//! documented difference (`decode/inflate.rs`): deflate data, junk, then a trailer that
//! matches the output, which we decode and flate2 refuses.
#![no_main]

use std::cell::RefCell;
use std::io::Read;

use flate2::Crc;
use libfuzzer_sys::fuzz_target;
use tiktwitch::limits::MAX_INFLATED_BYTES;
use tiktwitch::source::tiktok::decode::Inflater;

thread_local! {
    static STATE: RefCell<(Inflater, Vec<u8>)> =
        RefCell::new((Inflater::new(), b"stale".repeat(4096)));
}

/// flate2's answer, with our size limit.
fn reference(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= MAX_INFLATED_BYTES).then_some(out)
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|state| {
        let (inflater, out) = &mut *state.borrow_mut();
        let ours = inflater.gunzip_into(data, out).is_ok();
        match (ours, reference(data)) {
            (true, Some(theirs)) => assert_eq!(*out, theirs, "different output"),
            (false, None) => {}
            (false, Some(_)) => panic!("we refuse a stream flate2 accepts"),
            (true, None) => {
                // Only the documented case: the final trailer matches our output, and the
                // deflate data really decodes to it (flate2's single-member decoder stops
                // with an error at the junk, after producing the whole output).
                let mut crc = Crc::new();
                crc.update(out);
                let mut trailer = crc.sum().to_le_bytes().to_vec();
                trailer.extend_from_slice(&(out.len() as u32).to_le_bytes());
                assert!(
                    data.ends_with(&trailer),
                    "accepted without a matching trailer"
                );
                let mut first = Vec::new();
                let _ = flate2::read::GzDecoder::new(data)
                    .take(MAX_INFLATED_BYTES as u64 + 1)
                    .read_to_end(&mut first);
                assert_eq!(
                    *out, first,
                    "accepted something the deflate data does not say"
                );
            }
        }
    });
});
