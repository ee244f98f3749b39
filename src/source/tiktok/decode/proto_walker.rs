//! A minimal protobuf wire walker over a byte slice, for the hand-written fast decoders
//! in [`super::fast`].
//!
//! Why it exists: a real TikTok `User` is 1.5-2.4 KB of fields the bridge never reads, and
//! prost's generic `Buf` path spent ~40% of the parse in out-of-line `decode_varint` calls
//! skipping them. This walker skips with inlined one- and two-byte varints and borrows every
//! length-delimited field from the input.
//!
//! It is deliberately stricter than prost, never more lenient: anything unusual (groups,
//! over-long varints, a wire type a declared field does not have, invalid UTF-8) is
//! [`Unusual`], and the caller then decodes the same bytes with prost, which either
//! accepts them (and its result is used) or produces the real error. So the fast path can
//! change how quickly a message decodes, never what it decodes to.

/// The walker met something it leaves to prost (see the module docs). Carries nothing:
/// prost produces the real error, if there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unusual;

/// One field's value, borrowed from the input.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2: a string, bytes, or an embedded message.
    Len(&'a [u8]),
    /// Wire types 1 and 5 (fixed 64/32 bits): skipped, never read by the fast decoders.
    Fixed,
}

impl<'a> Value<'a> {
    /// The value of a varint field (prost's `uint64`/`int64`/`int32` read it the same way
    /// and then cast).
    #[inline]
    pub(super) fn varint(self) -> Result<u64, Unusual> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(Unusual),
        }
    }

    /// A `bool` field: any non-zero varint is true (as prost).
    #[inline]
    pub(super) fn bool(self) -> Result<bool, Unusual> {
        self.varint().map(|v| v != 0)
    }

    /// An `int64` field.
    #[inline]
    pub(super) fn int64(self) -> Result<i64, Unusual> {
        self.varint().map(|v| v as i64)
    }

    /// An `int32` field: the low 32 bits of the varint (as prost).
    #[inline]
    pub(super) fn int32(self) -> Result<i32, Unusual> {
        self.varint().map(|v| v as i32)
    }

    /// The bytes of a length-delimited field (an embedded message).
    #[inline]
    pub(super) fn bytes(self) -> Result<&'a [u8], Unusual> {
        match self {
            Value::Len(b) => Ok(b),
            _ => Err(Unusual),
        }
    }

    /// A `string` field, validated as UTF-8 and borrowed.
    #[inline]
    pub(super) fn str(self) -> Result<&'a str, Unusual> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Unusual)
    }

    /// A `string` field, validated as UTF-8.
    #[inline]
    pub(super) fn string(self) -> Result<String, Unusual> {
        self.str().map(str::to_owned)
    }
}

/// Calls `field(number, value)` for every field of the message in `buf`, in wire order.
/// Fields the callback does not care about cost one tag and one skip; the callback
/// returns [`Unusual`] for a field it declares with a different wire type.
#[inline]
pub(super) fn walk<'a>(
    mut buf: &'a [u8],
    mut field: impl FnMut(u32, Value<'a>) -> Result<(), Unusual>,
) -> Result<(), Unusual> {
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        // prost refuses keys past u32 and field number 0.
        let key = u32::try_from(key).map_err(|_| Unusual)?;
        let number = key >> 3;
        if number == 0 {
            return Err(Unusual);
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(&mut buf)?),
            1 => {
                buf = buf.get(8..).ok_or(Unusual)?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| Unusual)?;
                let (bytes, rest) = buf.split_at_checked(len).ok_or(Unusual)?;
                buf = rest;
                Value::Len(bytes)
            }
            5 => {
                buf = buf.get(4..).ok_or(Unusual)?;
                Value::Fixed
            }
            // 3 and 4 are (deprecated) groups: prost skips them, we leave them to it. 6 and
            // 7 do not exist.
            _ => return Err(Unusual),
        };
        field(number, value)?;
    }
    Ok(())
}

/// Reads one varint. Accepts exactly what prost accepts except that it is allowed to be
/// stricter: at most 10 bytes, and a 10th byte of at most 1 (no bits past 64).
#[inline]
fn varint(buf: &mut &[u8]) -> Result<u64, Unusual> {
    // One byte: most tags and lengths. Two bytes: the tags of fields 16 and up (a User's
    // display id is field 38) and lengths up to 16 KiB (a User, an avatar list).
    match **buf {
        [first, ref rest @ ..] if first < 0x80 => {
            *buf = rest;
            Ok(u64::from(first))
        }
        [first, second, ref rest @ ..] if second < 0x80 => {
            *buf = rest;
            Ok(u64::from(first & 0x7f) | (u64::from(second) << 7))
        }
        _ => varint_slow(buf),
    }
}

#[inline(never)]
fn varint_slow(buf: &mut &[u8]) -> Result<u64, Unusual> {
    // Ids (~7.3e18) take 9 bytes. With 10 bytes at hand the loop has a constant bound and
    // no per-byte bounds check.
    if let Some(head) = buf.first_chunk::<10>() {
        let mut value = 0u64;
        for (i, &byte) in head.iter().enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return Err(Unusual);
                }
                *buf = &buf[i + 1..];
                return Ok(value);
            }
        }
        return Err(Unusual);
    }
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *buf = &buf[i + 1..];
            return Ok(value);
        }
    }
    // Ran out of bytes mid-varint (fewer than 10 were left, so never too long).
    Err(Unusual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::encoding::{decode_varint, encode_varint};

    #[test]
    fn varints_agree_with_prost_at_every_width() {
        let mut samples = vec![0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        samples.extend((0..64).map(|shift| 1u64 << shift));
        samples.extend((0..64).map(|shift| (1u64 << shift) - 1));
        for n in samples {
            let mut encoded = Vec::new();
            encode_varint(n, &mut encoded);
            encoded.push(0xaa); // what follows is left alone
            let mut ours = encoded.as_slice();
            assert_eq!(varint(&mut ours), Ok(n));
            assert_eq!(ours, [0xaa]);
        }
    }

    #[test]
    fn malformed_varints_are_unusual_wherever_prost_errs() {
        let cases: [&[u8]; 4] = [
            &[],
            &[0x80],
            &[0xff; 10],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        ];
        for case in cases {
            let mut ours = case;
            assert_eq!(varint(&mut ours), Err(Unusual), "{case:?}");
            let mut theirs = case;
            assert!(decode_varint(&mut theirs).is_err(), "{case:?}");
        }
    }

    #[test]
    fn walk_reports_every_field_and_skips_fixed_widths() {
        // 1: varint 150; 2: "hi"; 3: fixed64; 4: fixed32; 5: varint 1.
        let msg = [
            0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4,
            0x28, 1,
        ];
        let mut seen = Vec::new();
        walk(&msg, |n, v| {
            seen.push(match v {
                Value::Varint(x) => format!("{n}={x}"),
                Value::Len(b) => format!("{n}={}", String::from_utf8_lossy(b)),
                Value::Fixed => format!("{n}=fixed"),
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["1=150", "2=hi", "3=fixed", "4=fixed", "5=1"]);
    }

    #[test]
    fn truncations_groups_and_bad_keys_are_unusual() {
        let cases: [&[u8]; 6] = [
            &[0x12, 5, b'a'],                      // length past the end
            &[0x19, 1, 2],                         // fixed64 cut short
            &[0x0b, 0x0c],                         // a group
            &[0x00, 0x01],                         // field number 0
            &[0x0f],                               // wire type 7
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // key past u32
        ];
        for case in cases {
            assert_eq!(walk(case, |_, _| Ok(())), Err(Unusual), "{case:?}");
        }
    }
}
