//! Gzip inflation: libdeflate for the usual single-member batch, a reusable zlib-rs state
//! for everything else.
//!
//! The fast path. A TikTok batch is one gzip member of ~13 KiB inflated. libdeflate
//! inflates a whole buffer about twice as fast as zlib-rs (`BENCHMARKS.md`), but its safe
//! binding does not say where the member ended, so it is only used when that cannot
//! matter: the trailer's ISIZE is within [`MAX_INFLATED_BYTES`] and possible for the
//! compressed size, no second gzip header (`1f 8b 08`) appears after the first, and the
//! deflate data inflates to exactly what the final trailer says (CRC-32 and size).
//! Anything else, including every error, goes to the exact path below, so errors and
//! multi-member streams behave as before. The one input the fast path treats differently
//! is deflate data followed by junk and then a trailer that matches the output: it is
//! decoded (the junk ignored) where the exact path refuses it. Nothing is lost either way.
//!
//! The exact path. `flate2::read::MultiGzDecoder` allocates and zeroes a fresh inflate
//! state (~40 KB with its window) for every member and zero-fills the output buffer
//! through `Read`; on ~13 KiB batches that setup cost a quarter of the inflation time.
//! [`Inflater`] keeps one raw deflate state and resets it per member, frames the gzip
//! members itself (RFC 1952: header, optional fields, CRC-32 and ISIZE trailer), and
//! inflates straight into the spare capacity of the output `Vec` (which then becomes the
//! batch's `Bytes` without a copy). It accepts and rejects exactly what `MultiGzDecoder`
//! does: concatenated members, and nothing after the last one.

use std::cell::RefCell;
use std::io::{Error, ErrorKind};

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::FrameError;
use crate::limits::MAX_INFLATED_BYTES;

/// Header flag bits (RFC 1952, 2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;
/// Longest file name or comment accepted in a header (as flate2).
const MAX_HEADER_FIELD: usize = 0xffff;
/// First growth step when the size hint was too small.
const MIN_GROWTH: usize = 4096;
/// The most DEFLATE can expand: 258 bytes from every 2 bits of a block (~1032:1). A
/// trailer claiming more than this times the compressed size is a lie.
const MAX_DEFLATE_RATIO: usize = 1032;
/// The bytes a gzip member starts with (magic and the deflate method).
const MEMBER_START: [u8; 3] = [0x1f, 0x8b, 8];
/// The per-thread output buffer is kept for the next batch up to this size (batches are
/// ~13 KiB; a rare huge one should not pin megabytes per thread).
const SCRATCH_KEEP_BYTES: usize = 1024 * 1024;

thread_local! {
    /// One inflater and one output buffer per thread, for [`with_shared`] and
    /// [`super::gunzip`].
    static SHARED: RefCell<(Inflater, Vec<u8>)> = RefCell::new((Inflater::new(), Vec::new()));
}

/// Inflates with this thread's shared [`Inflater`] into a fresh `Vec`.
pub(super) fn gunzip_shared(compressed: &[u8]) -> Result<Vec<u8>, FrameError> {
    with_shared_state(|inflater, _| inflater.gunzip(compressed))
}

/// Inflates into this thread's reused output buffer and hands the bytes to `parse`: a
/// batch is parsed into owned events and then dropped, so its buffer can serve the next
/// one (no allocation, no zero-filling, no fresh pages per frame). A buffer grown past
/// [`SCRATCH_KEEP_BYTES`] by an unusual batch is released afterwards.
pub(super) fn with_shared<T>(
    compressed: &[u8],
    parse: impl FnOnce(&[u8]) -> T,
) -> Result<T, FrameError> {
    with_shared_state(|inflater, scratch| {
        let parsed = inflater
            .gunzip_into(compressed, scratch)
            .map(|()| parse(scratch));
        // Whatever the outcome: a refused bomb grows the buffer too.
        if scratch.capacity() > SCRATCH_KEEP_BYTES {
            *scratch = Vec::new();
        }
        parsed
    })
}

/// Runs `f` with this thread's shared [`Inflater`] and output buffer (fresh ones if they
/// are busy).
fn with_shared_state<T>(f: impl FnOnce(&mut Inflater, &mut Vec<u8>) -> T) -> T {
    SHARED.with(|shared| match shared.try_borrow_mut() {
        Ok(mut state) => {
            let (inflater, scratch) = &mut *state;
            f(inflater, scratch)
        }
        Err(_) => f(&mut Inflater::new(), &mut Vec::new()),
    })
}

/// A reusable gzip inflater: a libdeflate decompressor for whole single-member batches and
/// one zlib-rs raw-deflate state, reset for each member, for the rest.
pub struct Inflater {
    whole: libdeflater::Decompressor,
    raw: Decompress,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").finish_non_exhaustive()
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A new inflater (allocates its state once).
    pub fn new() -> Self {
        Self {
            whole: libdeflater::Decompressor::new(),
            raw: Decompress::new(false),
        }
    }

    /// Inflates a (possibly multi-member) gzip stream, refusing to grow past
    /// [`MAX_INFLATED_BYTES`].
    pub fn gunzip(&mut self, compressed: &[u8]) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::new();
        self.gunzip_into(compressed, &mut out)?;
        Ok(out)
    }

    /// [`gunzip`](Self::gunzip) into `out`, replacing what it held. Reusing one `out` for
    /// many batches saves an allocation and, on the usual path, the zero-filling of the
    /// output; on error `out` holds garbage.
    pub fn gunzip_into(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if self.single_member(compressed, out).is_some() {
            return Ok(());
        }
        out.clear();
        self.members(compressed, out)
    }

    /// The fast path (module docs): libdeflate over the whole buffer, when the buffer is
    /// surely one member; `None` sends it to the exact path.
    fn single_member(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let (crc, size) = trailer(compressed)?;
        if size > MAX_INFLATED_BYTES || size > compressed.len().saturating_mul(MAX_DEFLATE_RATIO) {
            return None;
        }
        // The deflate data: after the header, before the final trailer.
        let body = skip_header(compressed).ok()?;
        let body = body.get(..body.len().checked_sub(8)?)?;
        if memchr::memmem::find(body, &MEMBER_START).is_some() {
            return None;
        }
        // Only growth is zero-filled: libdeflate must write all `size` bytes to succeed.
        out.resize(size, 0);
        // Raw deflate plus one CRC pass of our own: libdeflate's gzip entry point would
        // check the CRC too, and twice is measurable.
        let written = self.whole.deflate_decompress(body, out).ok()?;
        (written == size && libdeflater::crc32(out) == crc).then_some(())
    }

    /// The exact path: every member in turn through the zlib-rs state.
    fn members(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        // The trailer's ISIZE (inflated size mod 2^32) is a good capacity hint for the
        // usual single-member batch; never trust it beyond the limit.
        let hint = trailer(compressed).map_or(0, |(_, size)| size.min(MAX_INFLATED_BYTES));
        out.reserve(hint);
        let mut rest = compressed;
        loop {
            rest = self.member(rest, out)?;
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Inflates the member at the start of `input` onto `out`; returns what follows it.
    fn member<'a>(&mut self, input: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], FrameError> {
        let body = skip_header(input).map_err(FrameError::Gunzip)?;
        self.raw.reset(false);
        let start = out.len();
        loop {
            if out.len() == out.capacity() {
                if out.len() > MAX_INFLATED_BYTES {
                    return Err(too_large());
                }
                // Doubling, but never past one byte over the limit (which proves a bomb).
                let grow = out
                    .capacity()
                    .max(MIN_GROWTH)
                    .min(MAX_INFLATED_BYTES + 1 - out.len());
                out.reserve_exact(grow);
            }
            let consumed = usize::try_from(self.raw.total_in()).unwrap_or(usize::MAX);
            let pending = body.get(consumed..).unwrap_or_default();
            let produced = out.len();
            let status = self
                .raw
                .decompress_vec(pending, out, FlushDecompress::Finish)
                .map_err(|e| FrameError::Gunzip(e.into()))?;
            if out.len() > MAX_INFLATED_BYTES {
                return Err(too_large());
            }
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => {
                    let progressed =
                        self.raw.total_in() as usize != consumed || out.len() != produced;
                    if !progressed && out.len() < out.capacity() {
                        return Err(FrameError::Gunzip(ErrorKind::UnexpectedEof.into()));
                    }
                }
            }
        }
        let end = usize::try_from(self.raw.total_in()).unwrap_or(usize::MAX);
        let trailer = end
            .checked_add(8)
            .and_then(|stop| body.get(end..stop))
            .ok_or_else(|| FrameError::Gunzip(ErrorKind::UnexpectedEof.into()))?;
        let (crc, size) = trailer.split_at(4);
        let inflated = out.get(start..).unwrap_or_default();
        let mut sum = Crc::new();
        sum.update(inflated);
        if le_u32(crc) != sum.sum() || le_u32(size) != sum.amount() {
            return Err(FrameError::Gunzip(corrupt()));
        }
        Ok(body.get(end + 8..).unwrap_or_default())
    }
}

/// The final 8 bytes read as a member trailer: CRC-32 and ISIZE (inflated size mod 2^32).
fn trailer(compressed: &[u8]) -> Option<(u32, usize)> {
    let (crc, size) = compressed
        .get(compressed.len().checked_sub(8)?..)?
        .split_at(4);
    Some((le_u32(crc), le_u32(size) as usize))
}

/// Checks a member's header; returns the deflate body that follows it.
fn skip_header(input: &[u8]) -> Result<&[u8], Error> {
    let eof = || Error::from(ErrorKind::UnexpectedEof);
    let bad = || Error::new(ErrorKind::InvalidInput, "invalid gzip header");
    let fixed = input.get(..10).ok_or_else(eof)?;
    if fixed[..3] != [0x1f, 0x8b, 8] {
        return Err(bad());
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(bad());
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let xlen = input.get(at..at + 2).ok_or_else(eof)?;
        at += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        if at > input.len() {
            return Err(eof());
        }
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let rest = input.get(at..).unwrap_or_default();
            let nul = rest.iter().position(|&b| b == 0);
            match nul {
                Some(n) if n <= MAX_HEADER_FIELD => at += n + 1,
                None if rest.len() <= MAX_HEADER_FIELD => return Err(eof()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "gzip header field too long",
                    ));
                }
            }
        }
    }
    if flags & FHCRC != 0 {
        let stored = input.get(at..at + 2).ok_or_else(eof)?;
        let mut sum = Crc::new();
        sum.update(input.get(..at).unwrap_or_default());
        if u16::from_le_bytes([stored[0], stored[1]]) != sum.sum() as u16 {
            return Err(corrupt());
        }
        at += 2;
    }
    Ok(input.get(at..).unwrap_or_default())
}

fn le_u32(bytes: &[u8]) -> u32 {
    bytes.iter().rev().fold(0, |n, &b| (n << 8) | u32::from(b))
}

fn corrupt() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "corrupt gzip stream does not have a matching checksum",
    )
}

fn too_large() -> FrameError {
    FrameError::TooLarge {
        limit: MAX_INFLATED_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, GzBuilder, write::GzEncoder};
    use std::io::{Read, Write};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// What `flate2::read::MultiGzDecoder` says about the same bytes.
    fn reference(compressed: &[u8]) -> Result<Vec<u8>, ()> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(compressed)
            .take(MAX_INFLATED_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| ())?;
        if out.len() > MAX_INFLATED_BYTES {
            return Err(());
        }
        Ok(out)
    }

    fn agrees(inflater: &mut Inflater, compressed: &[u8]) {
        let ours = inflater.gunzip(compressed).map_err(|_| ());
        assert_eq!(ours, reference(compressed), "{compressed:02x?}");
    }

    fn sample() -> Vec<u8> {
        (0..40_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn one_state_serves_many_members_and_streams() {
        let mut inflater = Inflater::new();
        let data = sample();
        let one = gzip(&data);
        for _ in 0..3 {
            assert_eq!(inflater.gunzip(&one).unwrap(), data);
        }
        let two = [gzip(b"first "), gzip(b"second")].concat();
        assert_eq!(inflater.gunzip(&two).unwrap(), b"first second");
        assert_eq!(inflater.gunzip(&gzip(b"")).unwrap(), b"");
    }

    #[test]
    fn a_wrong_size_hint_only_costs_a_reallocation() {
        let mut inflater = Inflater::new();
        let data = sample();
        let mut lying = gzip(&data);
        let n = lying.len();
        // ISIZE says 3 bytes: growth must still get it all, then the ISIZE check fails.
        lying[n - 4..].copy_from_slice(&3u32.to_le_bytes());
        agrees(&mut inflater, &lying);
        // An honest two-member stream whose hint is only the last member's size.
        let two = [gzip(&data), gzip(b"tail")].concat();
        assert_eq!(
            inflater.gunzip(&two).unwrap(),
            [&data[..], b"tail"].concat()
        );
    }

    #[test]
    fn optional_header_fields_are_parsed_and_checked() {
        let mut inflater = Inflater::new();
        let mut enc = GzBuilder::new()
            .filename("batch.pb")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .write(Vec::new(), Compression::default());
        enc.write_all(b"payload").unwrap();
        let mut full = enc.finish().unwrap();
        assert_eq!(inflater.gunzip(&full).unwrap(), b"payload");
        // Add a header CRC by hand (GzBuilder never writes one).
        let header_len = 10 + 2 + 4 + "batch.pb\0".len() + "a comment\0".len();
        full[3] |= FHCRC;
        let mut crc = Crc::new();
        crc.update(&full[..header_len]);
        let mut with_hcrc = full[..header_len].to_vec();
        with_hcrc.extend_from_slice(&(crc.sum() as u16).to_le_bytes());
        with_hcrc.extend_from_slice(&full[header_len..]);
        assert_eq!(inflater.gunzip(&with_hcrc).unwrap(), b"payload");
        agrees(&mut inflater, &with_hcrc);
        with_hcrc[header_len] ^= 1;
        agrees(&mut inflater, &with_hcrc);
    }

    #[test]
    fn every_truncation_and_corruption_matches_flate2() {
        let mut inflater = Inflater::new();
        let data = b"hello hello hello hello, a batch of protobuf would be here".repeat(20);
        let good = [gzip(&data), gzip(b"more")].concat();
        for cut in 0..good.len() {
            agrees(&mut inflater, &good[..cut]);
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            agrees(&mut inflater, &bad);
        }
        for junk in [
            &b"\0"[..],
            b"\x1f",
            b"\x1f\x8b",
            b"garbage after the stream",
        ] {
            agrees(&mut inflater, &[&good[..], junk].concat());
        }
        // The state is still good after all that.
        assert_eq!(
            inflater.gunzip(&good).unwrap(),
            [&data[..], b"more"].concat()
        );
    }

    #[test]
    fn single_members_take_the_libdeflate_path_and_agree_with_flate2() {
        let mut inflater = Inflater::new();
        let data = b"a single batch member, as TikTok sends them ".repeat(30);
        let one = gzip(&data);
        let mut out = b"stale bytes from an earlier, longer batch".repeat(50);
        assert_eq!(inflater.single_member(&one, &mut out), Some(()));
        assert_eq!(out, data);
        for cut in 0..one.len() {
            agrees(&mut inflater, &one[..cut]);
        }
        for at in 0..one.len() {
            for bits in [0x01, 0x55, 0x80] {
                let mut bad = one.clone();
                bad[at] ^= bits;
                agrees(&mut inflater, &bad);
            }
        }
        for junk in [&b"\0"[..], b"\x1f\x8b", b"garbage after the stream"] {
            agrees(&mut inflater, &[&one[..], junk].concat());
        }
    }

    #[test]
    fn anything_that_might_hold_a_second_member_takes_the_exact_path() {
        let mut inflater = Inflater::new();
        let (first, second) = (gzip(b"first member"), gzip(b"second member"));
        let two = [first.clone(), second].concat();
        assert_eq!(inflater.single_member(&two, &mut Vec::new()), None);
        assert_eq!(inflater.gunzip(&two).unwrap(), b"first membersecond member");
        // Identical members: the final trailer matches the first member's output, so
        // only the header scan keeps this from decoding short.
        let twins = [first.clone(), first.clone()].concat();
        assert_eq!(inflater.single_member(&twins, &mut Vec::new()), None);
        assert_eq!(
            inflater.gunzip(&twins).unwrap(),
            b"first memberfirst member"
        );
        // A stored (uncompressed) block carries the header bytes verbatim: one member,
        // but it looks like two, and the exact path decodes it.
        let mut stored = GzBuilder::new().write(Vec::new(), Compression::none());
        stored.write_all(&[0x1f, 0x8b, 8, 0]).unwrap();
        let looks_like_two = stored.finish().unwrap();
        assert_eq!(
            inflater.single_member(&looks_like_two, &mut Vec::new()),
            None
        );
        assert_eq!(
            inflater.gunzip(&looks_like_two).unwrap(),
            [0x1f, 0x8b, 8, 0]
        );
    }

    #[test]
    fn size_claims_beyond_the_limit_or_deflate_take_the_exact_path() {
        let mut inflater = Inflater::new();
        let one = gzip(b"small");
        let at = one.len() - 4;
        for size in [
            MAX_INFLATED_BYTES as u32 + 1,
            (one.len() * MAX_DEFLATE_RATIO) as u32 + 1,
        ] {
            let mut lying = one.clone();
            lying[at..].copy_from_slice(&size.to_le_bytes());
            assert_eq!(inflater.single_member(&lying, &mut Vec::new()), None);
            agrees(&mut inflater, &lying);
        }
    }

    #[test]
    fn the_one_documented_difference_loses_nothing() {
        // Deflate data, junk, then a trailer that matches the output (with or without the
        // member's own trailer before the junk): the fast path decodes the member and
        // ignores the junk; flate2 refuses the stream.
        let mut inflater = Inflater::new();
        let one = gzip(b"payload");
        let (member, trailer) = one.split_at(one.len() - 8);
        for odd in [
            [&one[..], b"junk", trailer].concat(),
            [member, b"junk", trailer].concat(),
        ] {
            assert_eq!(inflater.gunzip(&odd).unwrap(), b"payload");
            assert!(reference(&odd).is_err());
        }
    }

    #[test]
    fn one_output_buffer_serves_batches_of_any_size_and_path() {
        let mut inflater = Inflater::new();
        let mut out = Vec::new();
        let (big, small) = (sample(), b"small".to_vec());
        for data in [&big, &small, &big] {
            inflater.gunzip_into(&gzip(data), &mut out).unwrap();
            assert_eq!(out, *data);
        }
        let two = [gzip(b"exact "), gzip(b"path")].concat();
        inflater.gunzip_into(&two, &mut out).unwrap();
        assert_eq!(out, b"exact path");
        assert!(inflater.gunzip_into(&gzip(&big)[..100], &mut out).is_err());
        inflater.gunzip_into(&gzip(&small), &mut out).unwrap();
        assert_eq!(out, small);
    }

    #[test]
    fn the_shared_buffer_is_kept_for_the_next_batch_unless_huge() {
        let kept = || SHARED.with(|shared| shared.borrow().1.capacity());
        let data = sample();
        assert!(with_shared(&gzip(&data), |raw| raw == data).unwrap());
        assert!(kept() >= data.len());
        let huge = vec![7; SCRATCH_KEEP_BYTES + 1];
        assert_eq!(with_shared(&gzip(&huge), <[u8]>::len).unwrap(), huge.len());
        assert_eq!(kept(), 0, "a huge buffer is released");
        let bomb = gzip(&vec![0; MAX_INFLATED_BYTES + 1]);
        assert!(with_shared(&bomb, |_| ()).is_err());
        assert_eq!(kept(), 0, "so is one a refused bomb grew");
        assert!(with_shared(b"\x1f\x8b not gzip", |_| ()).is_err());
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let mut inflater = Inflater::new();
        let bomb = gzip(&vec![0; MAX_INFLATED_BYTES + 1]);
        assert_eq!(inflater.gunzip(&bomb).unwrap_err().kind(), "too_large");
        let exact = vec![7; MAX_INFLATED_BYTES];
        assert_eq!(
            inflater.gunzip(&gzip(&exact)).unwrap().len(),
            MAX_INFLATED_BYTES
        );
        let split = [gzip(&exact), gzip(b"x")].concat();
        assert_eq!(inflater.gunzip(&split).unwrap_err().kind(), "too_large");
    }

    #[test]
    fn the_shared_inflater_is_reentrant_safe() {
        let data = gzip(b"abc");
        assert_eq!(gunzip_shared(&data).unwrap(), b"abc");
        SHARED.with(|shared| {
            let _busy = shared.borrow_mut();
            assert_eq!(gunzip_shared(&data).unwrap(), b"abc");
        });
    }
}
