#!/bin/sh
# What the test suite needs beyond cargo, so that nothing is skipped: Debian's chromium
# (tests/feed_page.rs), gnome-keyring and dbus (the Secret Service tests in
# tests/secrets.rs). Installs them with apt-get when run as root and they are missing;
# otherwise says what to install and fails.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || [ -n "${TIKTWITCH_CHROMIUM:-}" ] || missing="$missing chromium"
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing="$missing gnome-keyring"
command -v dbus-run-session >/dev/null 2>&1 || missing="$missing dbus"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # the list is word-split on purpose
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "ci/test-prereqs.sh: need:$missing (apt-get install -y$missing)" >&2
    exit 1
fi
