//! Capture files: raw push frames as `[u32 little-endian length][WebcastPushFrame bytes]`
//! records (the shared corpus format), and JSON-lines payload captures
//! (`{"method": "...", "payload": "<base64>"}`).

use std::io::{self, Read, Write};

use base64::Engine;
use bytes::Bytes;

use crate::limits::MAX_CAPTURE_RECORD_BYTES;

/// A capture record that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading the file failed.
    #[error("reading the capture: {0}")]
    Io(#[from] io::Error),
    /// The file ends inside a record.
    #[error("record {index} is truncated: {wanted} bytes declared, {got} present")]
    Truncated {
        /// Zero-based record index.
        index: usize,
        /// Bytes the length prefix declared.
        wanted: usize,
        /// Bytes actually present.
        got: usize,
    },
    /// A length prefix larger than any sane frame.
    #[error("record {index} declares {len} bytes, over the {limit}-byte limit")]
    TooLong {
        /// Zero-based record index.
        index: usize,
        /// The declared length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A payload line that is not `{"method": ..., "payload": <base64>}`.
    #[error("line {line}: {reason}")]
    BadLine {
        /// One-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Reads `[u32 LE length][frame]` records one at a time.
pub struct FrameReader<R> {
    inner: R,
    index: usize,
    done: bool,
}

impl<R: Read> FrameReader<R> {
    /// Wraps a reader positioned at the first record.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            index: 0,
            done: false,
        }
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = Result<Bytes, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let index = self.index;
        self.index += 1;
        let mut len_bytes = [0u8; 4];
        let got = match read_full(&mut self.inner, &mut len_bytes) {
            Ok(got) => got,
            Err(e) => {
                self.done = true;
                return Some(Err(e.into()));
            }
        };
        if got == 0 {
            self.done = true;
            return None;
        }
        if got < 4 {
            self.done = true;
            return Some(Err(CaptureError::Truncated {
                index,
                wanted: 4,
                got,
            }));
        }
        let len = u32::from_le_bytes(len_bytes) as usize;
        if len > MAX_CAPTURE_RECORD_BYTES {
            self.done = true;
            return Some(Err(CaptureError::TooLong {
                index,
                len,
                limit: MAX_CAPTURE_RECORD_BYTES,
            }));
        }
        let mut buf = vec![0u8; len];
        match read_full(&mut self.inner, &mut buf) {
            Ok(got) if got == len => Some(Ok(Bytes::from(buf))),
            Ok(got) => {
                self.done = true;
                Some(Err(CaptureError::Truncated {
                    index,
                    wanted: len,
                    got,
                }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.into()))
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes one `[u32 LE length][frame]` record.
pub fn write_frame(w: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(frame)
}

/// Parses one payload-capture line: `{"method": "...", "payload": "<base64>"}`; other keys
/// are ignored. `line` is one-based, for the error message.
pub fn parse_payload_line(line: usize, text: &str) -> Result<(String, Bytes), CaptureError> {
    #[derive(serde::Deserialize)]
    struct PayloadLine {
        method: String,
        payload: String,
    }
    let bad = |reason: String| CaptureError::BadLine { line, reason };
    let parsed: PayloadLine = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(parsed.payload.trim())
        .map_err(|e| bad(format!("payload is not base64: {e}")))?;
    Ok((parsed.method, Bytes::from(payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut file = Vec::new();
        write_frame(&mut file, b"one").unwrap();
        write_frame(&mut file, b"").unwrap();
        write_frame(&mut file, b"three").unwrap();
        let frames: Vec<_> = FrameReader::new(&file[..]).map(Result::unwrap).collect();
        assert_eq!(frames, [&b"one"[..], b"", b"three"]);
    }

    #[test]
    fn a_truncated_record_is_an_error_not_a_panic() {
        let mut file = Vec::new();
        write_frame(&mut file, b"whole").unwrap();
        file.extend_from_slice(&10u32.to_le_bytes());
        file.extend_from_slice(b"abc");
        let results: Vec<_> = FrameReader::new(&file[..]).collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(
            results[1],
            Err(CaptureError::Truncated {
                index: 1,
                wanted: 10,
                got: 3
            })
        ));
    }

    #[test]
    fn an_absurd_length_is_refused_without_allocating() {
        let file = u32::MAX.to_le_bytes();
        let first = FrameReader::new(&file[..]).next().unwrap();
        assert!(matches!(first, Err(CaptureError::TooLong { .. })));
    }

    #[test]
    fn payload_lines_parse_and_ignore_extra_keys() {
        let (method, payload) =
            parse_payload_line(1, r#"{"method":"M","payload":"AQID","captured":"x"}"#).unwrap();
        assert_eq!(method, "M");
        assert_eq!(&payload[..], [1, 2, 3]);
        let err = parse_payload_line(7, r#"{"method":"M"}"#).unwrap_err();
        assert!(err.to_string().starts_with("line 7:"), "{err}");
    }
}
