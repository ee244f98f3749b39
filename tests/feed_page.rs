//! The page at `/` in a real headless browser (Debian's chromium): it connects to
//! `/ws/{bridge}` and shows the events it gets, as text.
//!
//! Skipped (with a message) when no chromium binary is found, unless
//! `TIKTWITCH_REQUIRE_CHROMIUM=1` (CI: `ci/browser-test.sh` installs it and sets that).
//! `TIKTWITCH_CHROMIUM` names the binary when it is not `chromium` on `PATH`.
//!
//! `--dump-dom --virtual-time-budget` races with a WebSocket (virtual time does not wait for
//! its messages), so the test drives chromium over the DevTools protocol instead: it opens
//! the page, waits (real time, bounded) until the list shows events, then reads the DOM.

mod support;

mod feed_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tiktwitch::feed::FeedSettings;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use feed_support::{bridge, chat, gift, start};

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TIKTWITCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_live_feed_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        support::prereq::skip(
            Some("TIKTWITCH_REQUIRE_CHROMIUM"),
            "the_page_shows_the_live_feed_in_headless_chromium: no chromium binary \
             (apt-get install chromium, or set TIKTWITCH_CHROMIUM; ci/browser-test.sh does it)",
        );
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

    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/?bridge=a");
    let dom = tokio::time::timeout(
        Duration::from_secs(120),
        rendered_dom(&chromium, profile.path(), &url),
    )
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

/// Opens `url` in headless chromium and returns the DOM once the page lists 3 events.
async fn rendered_dom(chromium: &Path, profile: &Path, url: &str) -> String {
    let mut child = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-port=0",
            "about:blank",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium could not start");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let devtools = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("chromium exited without a DevTools address");
        if let Some(at) = line.find("ws://") {
            break line[at..].trim().to_owned();
        }
    };
    // Keep draining chromium's stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let (mut cdp, _) = tokio_tungstenite::connect_async(devtools).await.unwrap();
    let mut next_id = 0u64;
    let mut call = async |method: &str, params: Value, session: Option<&str>| -> Value {
        next_id += 1;
        let mut message = json!({"id": next_id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        cdp.send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = cdp.next().await else {
                panic!("the DevTools connection closed")
            };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == next_id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    };
    let target = call("Target.createTarget", json!({"url": url}), None).await;
    let attached = call(
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
        None,
    )
    .await;
    let session = attached["sessionId"].as_str().unwrap().to_owned();
    let evaluate = json!({
        "expression": "document.querySelectorAll('#events li').length",
        "returnByValue": true
    });
    loop {
        let shown = call("Runtime.evaluate", evaluate.clone(), Some(&session)).await;
        if shown["result"]["value"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
        // Waiting on an external browser process: real time is unavoidable here.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dom = call(
        "Runtime.evaluate",
        json!({"expression": "document.documentElement.outerHTML", "returnByValue": true}),
        Some(&session),
    )
    .await;
    let _ = child.kill().await;
    dom["result"]["value"].as_str().unwrap().to_owned()
}
