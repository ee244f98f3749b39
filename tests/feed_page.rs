//! The page at `/` in a real headless browser (Debian's chromium, driven over the DevTools
//! protocol by `support::browser`): it connects to `/ws/{bridge}` and shows the events it
//! gets, as text.
//!
//! Skipped (with a message) when no chromium binary is found, unless
//! `TIKTWITCH_REQUIRE_ALL=1` or `TIKTWITCH_REQUIRE_CHROMIUM=1` (CI: `ci/test-prereqs.sh`
//! installs it). `TIKTWITCH_CHROMIUM` names the binary when it is not `chromium` on `PATH`.

mod support;

mod feed_support;

use std::time::Duration;

use tiktwitch::feed::FeedSettings;

use feed_support::{bridge, chat, gift, start};
use support::browser::{Browser, chromium_or_skip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_live_feed_in_headless_chromium() {
    let Some(chromium) = chromium_or_skip("the_page_shows_the_live_feed_in_headless_chromium")
    else {
        return;
    };
    let a = bridge("a");
    let settings = FeedSettings {
        ws_enabled: true,
        ..FeedSettings::default()
    };
    let (hub, _tasks, addr) = start(settings, std::slice::from_ref(&a)).await;

    // Once the page's WebSocket is connected, play a few events (again now and then, in
    // case the browser is slow to render).
    let publisher = {
        let a = a.clone();
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut round = 0u64;
            loop {
                if hub.ws_stats().connected > 0 {
                    round += 1;
                    let base = round * 10;
                    a.publish(&chat(base + 1, "hello from the feed"));
                    a.publish(&gift(base + 2));
                    a.publish(&chat(base + 3, "<img src=x onerror=alert(1)>"));
                }
                // Waiting on an external browser process: real time is unavoidable here.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let url = format!("http://{addr}/?bridge=a");
    let dom = tokio::time::timeout(Duration::from_secs(120), async {
        let mut browser = Browser::launch(&chromium).await;
        let tab = browser.open(&url, false).await;
        browser
            .until(&tab, "document.querySelectorAll('#events li').length >= 3")
            .await;
        let dom = browser.dom(&tab).await;
        browser.close().await;
        dom
    })
    .await
    .expect("chromium did not show the events within 120 s");
    publisher.abort();
    assert!(hub.ws_stats().accepted >= 1, "the page never connected");
    assert!(dom.contains("data-type=\"chat\""), "no chat shown:\n{dom}");
    assert!(dom.contains("hello from the feed"), "{dom}");
    assert!(dom.contains("sent Rose x1"), "the gift is shown:\n{dom}");
    assert!(
        dom.contains("Fan "),
        "the sender's nickname is shown:\n{dom}"
    );
    // What viewers type is shown as text, never run as HTML.
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    assert!(!dom.contains("<img"), "{dom}");
    assert!(dom.contains(">live<"), "the status says live:\n{dom}");
}
