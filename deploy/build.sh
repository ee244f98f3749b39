#!/bin/sh
# The one release build: the Dockerfile runs it, CI runs it (natively and for Windows), and
# README's "install from source" is the same command. Extra arguments go to cargo
# (`--target x86_64-pc-windows-gnu`). The binary lands in target/[<target>/]release/.
# The default features (runtime, secret-service) are what ships: `--no-default-features`
# would drop the `runtime` feature the binary needs.
set -eu
cd "$(dirname "$0")/.."
# `--version` names the git revision: build.rs asks git, or takes $TIKTWITCH_GIT_REVISION
# where there is no .git (the Docker build context leaves it out).
exec cargo build --release --locked --bin tiktwitch "$@"
