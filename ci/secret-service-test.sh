#!/bin/sh
# Runs the keyring store's tests against a real Secret Service: Debian's gnome-keyring in a
# private D-Bus session (no desktop needed). The test is required to pass here
# (TIKTWITCH_REQUIRE_SECRET_SERVICE=1), instead of skipping as it does when no Secret
# Service is reachable. Also requires the keyutils test (a fresh machine runs it in its
# own session keyring; set TIKTWITCH_REQUIRE_KEYUTILS=0 where seccomp blocks keyctl).
#
# Needs: apt-get install -y gnome-keyring dbus (the script installs them when run as root
# and they are missing).
set -eu
cd "$(dirname "$0")/.."

if ! command -v gnome-keyring-daemon >/dev/null 2>&1 || ! command -v dbus-run-session >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends gnome-keyring dbus >/dev/null
    else
        echo "ci/secret-service-test.sh: need gnome-keyring and dbus (apt-get install -y gnome-keyring dbus)" >&2
        exit 1
    fi
fi

# Build outside the D-Bus session, so a slow build does not run inside it.
cargo test --test secrets --no-run

export TIKTWITCH_REQUIRE_SECRET_SERVICE=1
export TIKTWITCH_REQUIRE_KEYUTILS="${TIKTWITCH_REQUIRE_KEYUTILS:-1}"
# gnome-keyring-daemon --unlock reads the new login keyring's password from stdin, creates
# the keyring unlocked, and prints its environment (GNOME_KEYRING_CONTROL), which we drop.
exec dbus-run-session -- sh -c '
    printf %s "ci-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    cargo test --test secrets -- --test-threads=1 keyring keyutils
'
