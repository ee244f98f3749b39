#!/bin/sh
# Runs the event-feed page test in a real headless browser: Debian's chromium opens `/`,
# which connects to /ws/{bridge}; the test reads the DOM over the DevTools protocol and
# checks the events are shown (as text). Here the test must run
# (TIKTWITCH_REQUIRE_CHROMIUM=1) instead of skipping as it does when no chromium is found.
#
# Needs: apt-get install -y chromium (the script installs it when run as root and it is
# missing). TIKTWITCH_CHROMIUM may name another Chromium/Chrome binary.
set -eu
cd "$(dirname "$0")/.."

if [ -z "${TIKTWITCH_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "ci/browser-test.sh: need chromium (apt-get install -y chromium)" >&2
        exit 1
    fi
fi

export TIKTWITCH_REQUIRE_CHROMIUM=1
exec cargo test --test feed_page -- --nocapture
