#!/usr/bin/env bash
# Windows and macOS, checked from Linux on every CI run (shared/docs/cross-targets.md):
#   - x86_64-pc-windows-gnu: clippy (all targets, -D warnings) with Debian's mingw-w64 as
#     the C compiler, then a release .exe, run under Debian's wine: `--version` and `demo`.
#   - aarch64-apple-darwin: clippy with zig (PyPI `ziglang`) as the C compiler through the
#     wrappers in ci/zig/; a macOS binary cannot be linked here (no Apple SDK).
# Installs what it needs with rustup, apt-get and pip. Any step that cannot run fails the
# script: nothing here is skipped quietly.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n--- %s (%(%H:%M:%S)T)\n' "$*" -1; }
need_root_for() {
    if [ "$(id -u)" != 0 ]; then
        echo "ci/cross-targets.sh: need $1 (run as root, or install it first)" >&2
        exit 1
    fi
}

WINDOWS=x86_64-pc-windows-gnu
MACOS=aarch64-apple-darwin
ONLY="${1:-all}"   # all | windows | macos

step "targets and C compilers"
rustup target add "$WINDOWS" "$MACOS"
missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
if [ "$ONLY" != macos ] && [ -z "${TIKTWITCH_NO_WINE:-}" ]; then
    command -v wine >/dev/null 2>&1 || missing+=(wine)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    need_root_for "${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    dpkg --print-foreign-architectures | grep -q i386 || true
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -m ziglang version >/dev/null 2>&1 || python3 -m pip install --quiet ziglang
echo "mingw: $(x86_64-w64-mingw32-gcc --version | head -1)"
echo "zig:   $(python3 -m ziglang version)"

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
export CC_aarch64_apple_darwin="$PWD/ci/zig/cc"
export AR_aarch64_apple_darwin="$PWD/ci/zig/ar"

if [ "$ONLY" != macos ]; then
    step "windows: clippy --all-targets -D warnings"
    cargo clippy --locked --target "$WINDOWS" --all-targets -- -D warnings

    step "windows: release .exe"
    bash deploy/build.sh --target "$WINDOWS"
    exe="target/$WINDOWS/release/tiktwitch.exe"
    ls -l "$exe"

    if [ -z "${TIKTWITCH_NO_WINE:-}" ]; then
        step "windows: the .exe under wine: --version and demo"
        export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$PWD/target/wineprefix}"
        wineboot --init >/dev/null 2>&1 || true
        run_dir=target/wine-run
        rm -rf "$run_dir" && mkdir -p "$run_dir"
        cp "$exe" "$run_dir/"
        exe="$run_dir/tiktwitch.exe"
        if [ ! -e "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
            # Debian 12's wine 8 lacks the DLL Rust's std draws random bytes from (see
            # ci/wine/bcryptprimitives.c); a stand-in next to the .exe, for this run only.
            echo "wine $(wine --version) has no bcryptprimitives.dll: using ci/wine's stand-in"
            x86_64-w64-mingw32-gcc -O2 -shared -o "$run_dir/bcryptprimitives.dll" \
                ci/wine/bcryptprimitives.c -ladvapi32
        fi
        version="$(wine "$exe" --version | tr -d '\r')"
        echo "$version"
        case "$version" in tiktwitch\ *) ;; *) echo "unexpected --version: $version" >&2; exit 1 ;; esac
        wine "$exe" demo --speed 8 > target/windows-demo.txt 2>&1 || {
            cat target/windows-demo.txt; echo "the Windows demo failed" >&2; exit 1; }
        tr -d '\r' < target/windows-demo.txt | tail -n 15
        grep -q "The TikTok live has ended" target/windows-demo.txt || {
            echo "the Windows demo did not reach the end of the show" >&2; exit 1; }
        grep -q " 0 rule violations" target/windows-demo.txt || {
            echo "the Windows demo broke Twitch's rules" >&2; exit 1; }
    fi
fi

if [ "$ONLY" != windows ]; then
    step "macos: clippy --all-targets -D warnings (zig as the C compiler)"
    cargo clippy --locked --target "$MACOS" --all-targets -- -D warnings
fi
step "cross targets done"
