#!/bin/sh
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring: a real
# Secret Service with no desktop. `ci/keyring-session.sh cargo test` is how CI runs the
# suite, so the keyring tests run (and, with TIKTWITCH_REQUIRE_ALL=1, must).
#
# Needs gnome-keyring and dbus (ci/test-prereqs.sh installs them).
set -eu
# gnome-keyring-daemon --unlock reads the new login keyring's password from stdin, creates
# the keyring unlocked, and prints its environment (GNOME_KEYRING_CONTROL), which we drop.
exec dbus-run-session -- sh -c '
    printf %s "ci-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec "$@"
' keyring-session "$@"
