//! The generated WebCast protobuf types (from `proto/webcast.proto`, compiled by `build.rs`).
//!
//! Only the fields the bridge reads are declared; prost skips the rest as unknown fields.

#![allow(missing_docs, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/webcast.rs"));
