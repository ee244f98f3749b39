#!/usr/bin/env bash
# The Docker image's build, on every CI run. Where a Docker engine answers, the image is
# built from deploy/docker/Dockerfile and its demo run (`docker run IMAGE demo`). Where none
# does (this project's CI machines have only the client), the Dockerfile's own build command
# runs instead (deploy/build.sh: one script for both, so they cannot drift), and the
# binary it made is run as the image would run it: --version, probe, and the demo.
# Prints the binary's size for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
revision="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    image="tiktwitch:$version"
    docker build -f deploy/docker/Dockerfile --build-arg TIKTWITCH_GIT_REVISION="$revision" -t "$image" .
    docker run --rm "$image" --version
    docker run --rm "$image" demo --speed 8 | tail -n 3
    exit 0
fi

echo "no Docker engine here: running the Dockerfile's build command (sh deploy/build.sh)"
grep -q '^RUN sh deploy/build.sh$' deploy/docker/Dockerfile || {
    echo "deploy/docker/Dockerfile no longer builds with deploy/build.sh" >&2; exit 1; }
sh deploy/build.sh
bin=target/release/tiktwitch
"$bin" --version
"$bin" --version | grep -q "($revision)" || {
    echo "--version does not name the revision $revision" >&2; exit 1; }
"$bin" demo --speed 8 > target/release-demo.txt 2>&1 || {
    cat target/release-demo.txt; echo "the release demo failed" >&2; exit 1; }
tail -n 2 target/release-demo.txt
grep -q " 0 rule violations" target/release-demo.txt
if "$bin" probe --url http://127.0.0.1:9/livez 2>/dev/null; then
    echo "probe must fail when nothing answers" >&2; exit 1
fi
bytes="$(stat -c %s "$bin")"
echo "release binary: $bytes bytes ($(( bytes / 1024 / 1024 )) MiB), stripped, thin LTO, 1 codegen unit"
