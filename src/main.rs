//! The `tiktwitch` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    tiktwitch::cli::main()
}
