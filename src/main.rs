//! The `tiktwitch` binary: the command-line interface ([`cli`]) over the library, and the
//! process's allocator. Argument parsing, printing and `anyhow` live here, not in the
//! library.

/// `eprintln!` that never panics: with stderr closed (`2>&1 | head`) the line is dropped.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `println!` that never panics: with stdout closed (`| head`) the line is dropped.
macro_rules! stdout_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cli;

// The CLI's files name the library's modules as `crate::<module>` (they were part of the
// library once); these imports give them those names at the binary's root.
#[cfg(feature = "standin")]
use tiktwitch::demo;
use tiktwitch::{auth, config, daemon, event, feed, limits, line, pipeline, secret, sink, source};

/// The daemon's allocator: mimalloc, faster than glibc's malloc on the decoder's many
/// small strings (BENCHMARKS.md, "Against the peers"). The benches that measure what ships
/// declare it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
