//! `tiktwitch decode`: a capture file in, one JSON event per message out, a summary on
//! stderr.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::{CaptureFormat, DecodeArgs};
use crate::event::Event;
use crate::source::tiktok::capture::{FrameReader, parse_payload_line};
use crate::source::tiktok::decode::{MessageError, decode_frame, decode_message};

/// Counts for the one-line summary.
#[derive(Debug, Default)]
pub struct Summary {
    /// Frames (or payload lines) read.
    pub frames: u64,
    /// Frames that carried no events (heartbeats, acks ...), by payload type.
    pub skipped: BTreeMap<String, u64>,
    /// Messages printed (events and per-message errors).
    pub messages: u64,
    /// Messages whose method we do not map.
    pub unknown: u64,
    /// Errors by kind (frame-level and message-level).
    pub errors: BTreeMap<&'static str, u64>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let errors: u64 = self.errors.values().sum();
        write!(
            f,
            "decode: {} frames, {} messages ({} unknown), {} errors",
            self.frames, self.messages, self.unknown, errors
        )?;
        if errors > 0 {
            let by_kind: Vec<_> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            write!(f, " ({})", by_kind.join(", "))?;
        }
        if !self.skipped.is_empty() {
            let skipped: Vec<_> = self
                .skipped
                .iter()
                .map(|(k, n)| format!("{} {n}", if k.is_empty() { "(none)" } else { k }))
                .collect();
            write!(f, "; skipped frames: {}", skipped.join(", "))?;
        }
        Ok(())
    }
}

/// The JSON line for a message that failed to decode.
#[derive(Serialize)]
struct ErrorLine<'a> {
    #[serde(rename = "type")]
    type_name: &'static str,
    method: &'a str,
    error: String,
}

pub(super) fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?,
        )
    };
    let stdout = io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let summary = decode_capture(args.format, BufReader::new(input), &mut out)?;
    out.flush()?;
    stderr_line!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Decodes a whole capture, writing one JSON line per message to `out`. Bad frames and bad
/// messages are counted and reported on stderr; only an I/O error on `out` stops it.
pub fn decode_capture(
    format: CaptureFormat,
    input: impl BufRead,
    out: &mut impl Write,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    match format {
        CaptureFormat::Frames => {
            for (index, record) in FrameReader::new(input).enumerate() {
                summary.frames += 1;
                let bytes = match record {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        stderr_line!("frame {index}: {e}");
                        *summary.errors.entry("capture").or_default() += 1;
                        continue;
                    }
                };
                match decode_frame(bytes) {
                    Ok(frame) => match frame.batch {
                        Some(batch) => {
                            for message in &batch.messages {
                                write_message(out, message, &mut summary)?;
                            }
                        }
                        None => *summary.skipped.entry(frame.payload_type).or_default() += 1,
                    },
                    Err(e) => {
                        stderr_line!("frame {index}: {e}");
                        *summary.errors.entry(e.kind()).or_default() += 1;
                    }
                }
            }
        }
        CaptureFormat::Payloads => {
            for (index, line) in input.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                summary.frames += 1;
                let message = match parse_payload_line(index + 1, &line) {
                    Ok((method, payload)) => {
                        decode_message(&method, payload).map_err(|source| MessageError {
                            method,
                            msg_id: 0,
                            source,
                        })
                    }
                    Err(e) => {
                        stderr_line!("{e}");
                        *summary.errors.entry("capture").or_default() += 1;
                        continue;
                    }
                };
                write_message(out, &message, &mut summary)?;
            }
        }
    }
    Ok(summary)
}

fn write_message(
    out: &mut impl Write,
    message: &Result<Event, MessageError>,
    summary: &mut Summary,
) -> io::Result<()> {
    summary.messages += 1;
    match message {
        Ok(event) => {
            if event.type_name() == "unknown" {
                summary.unknown += 1;
            }
            serde_json::to_writer(&mut *out, event)?;
        }
        Err(e) => {
            *summary.errors.entry(e.kind()).or_default() += 1;
            serde_json::to_writer(
                &mut *out,
                &ErrorLine {
                    type_name: "error",
                    method: &e.method,
                    error: e.source.to_string(),
                },
            )?;
        }
    }
    out.write_all(b"\n")
}
