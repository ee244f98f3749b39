//! Compiles `proto/webcast.proto` with prost-build, using `protox` (a pure-Rust protobuf
//! compiler) so a fresh machine needs nothing but `cargo build`: no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["webcast.proto"], ["proto"])?;
    prost_build::Config::new()
        // Payloads become `bytes::Bytes`: slicing an inflated batch into its messages
        // then costs no copy.
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
