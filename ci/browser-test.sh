#!/bin/sh
# Runs the event-feed page test in a real headless browser: Debian's chromium opens `/`,
# which connects to /ws/{bridge}; the test reads the DOM over the DevTools protocol and
# checks the events are shown (as text). Here the test must run
# (TIKTWITCH_REQUIRE_CHROMIUM=1) instead of skipping. CI runs it within the whole suite
# (.ci/run); this script is the quick local run. TIKTWITCH_CHROMIUM may name another
# Chromium/Chrome binary.
set -eu
cd "$(dirname "$0")/.."
sh ci/test-prereqs.sh
export TIKTWITCH_REQUIRE_CHROMIUM=1
exec cargo test --test feed_page -- --nocapture
