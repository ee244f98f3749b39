#!/bin/sh
# Runs the keyring store's tests against a real Secret Service: Debian's gnome-keyring in a
# private D-Bus session (no desktop needed), and the kernel keyring (a fresh machine runs
# it in its own session keyring; set TIKTWITCH_REQUIRE_KEYUTILS=0 where seccomp blocks
# keyctl). Here they are required to pass instead of skipping. CI runs the whole suite
# this way (.ci/run); this script is the quick local run of just these tests.
set -eu
cd "$(dirname "$0")/.."
sh ci/test-prereqs.sh
# Build outside the D-Bus session, so a slow build does not run inside it.
cargo test --test secrets --no-run
export TIKTWITCH_REQUIRE_SECRET_SERVICE=1
export TIKTWITCH_REQUIRE_KEYUTILS="${TIKTWITCH_REQUIRE_KEYUTILS:-1}"
exec sh ci/keyring-session.sh cargo test --test secrets -- keyring keyutils
