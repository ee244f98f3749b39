//! A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for
//! the pages the feed serves (`/`, `/overlay/{bridge}`).
//!
//! `--dump-dom --virtual-time-budget` races with a WebSocket (virtual time does not wait for
//! its messages), so tests open the page over the DevTools protocol instead, wait (real
//! time, bounded) for a condition in the page, then read the DOM. Every event the browser
//! sends (network requests among them) is kept for the test to inspect.
//!
//! No chromium binary: [`chromium_or_skip`] prints `SKIPPED` (or fails under
//! `TIKTWITCH_REQUIRE_ALL=1` / `TIKTWITCH_REQUIRE_CHROMIUM=1`). `TIKTWITCH_CHROMIUM` names
//! the binary when it is not `chromium` on `PATH`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

type Cdp =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The variable that makes a missing chromium a failure (besides `TIKTWITCH_REQUIRE_ALL`).
pub const REQUIRE_CHROMIUM: &str = "TIKTWITCH_REQUIRE_CHROMIUM";

/// The chromium binary: `TIKTWITCH_CHROMIUM`, else `chromium` (or `chromium-browser`,
/// `google-chrome`) on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
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

/// The chromium binary, or `None` after saying `SKIPPED` for `test` (a failure where
/// prerequisites are required).
#[track_caller]
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        super::prereq::skip(
            Some(REQUIRE_CHROMIUM),
            &format!(
                "{test}: no chromium binary (apt-get install chromium, or set \
                 TIKTWITCH_CHROMIUM; ci/test-prereqs.sh does it)"
            ),
        );
    }
    found
}

/// One headless chromium, killed when dropped.
pub struct Browser {
    child: tokio::process::Child,
    cdp: Cdp,
    next_id: u64,
    /// Every event chromium sent (`{"method":..,"params":..,"sessionId":..}`), in order.
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromium headless with a fresh profile and connects to its DevTools socket.
    pub async fn launch(chromium: &Path) -> Self {
        let profile = tempfile::tempdir().unwrap();
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
            .arg(format!("--user-data-dir={}", profile.path().display()))
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
        let (cdp, _) = tokio_tungstenite::connect_async(devtools).await.unwrap();
        Self {
            child,
            cdp,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    /// One DevTools call; its result. Events that arrive meanwhile are kept.
    pub async fn call(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        self.next_id += 1;
        let mut message = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.cdp
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = self.cdp.next().await else {
                panic!("the DevTools connection closed")
            };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == self.next_id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
            if reply.get("method").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// Opens a tab on `url` and returns its session. With `watch_network`, the tab's
    /// network events are recorded from before the first request.
    pub async fn open(&mut self, url: &str, watch_network: bool) -> String {
        let target = self
            .call("Target.createTarget", json!({"url": "about:blank"}), None)
            .await;
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
                None,
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        if watch_network {
            self.call("Network.enable", json!({}), Some(&session)).await;
        }
        self.call("Page.navigate", json!({"url": url}), Some(&session))
            .await;
        session
    }

    /// `expression` evaluated in the tab, by value.
    pub async fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
                Some(session),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is `true` in the tab (real time: an external process;
    /// the caller bounds it with a timeout).
    pub async fn until(&mut self, session: &str, expression: &str) {
        while self.eval(session, expression).await != json!(true) {
            // Waiting on an external browser process: real time is unavoidable here.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The tab's DOM as HTML.
    pub async fn dom(&mut self, session: &str) -> String {
        let html = self
            .eval(session, "document.documentElement.outerHTML")
            .await;
        html.as_str().unwrap_or_default().to_owned()
    }

    /// The URLs the tab `session` requested (`Network.requestWillBeSent`) and the
    /// WebSockets it opened (`Network.webSocketCreated`), in order.
    pub fn requested(&self, session: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["sessionId"] == session)
            .filter_map(|e| match e["method"].as_str()? {
                "Network.requestWillBeSent" => e["params"]["request"]["url"].as_str(),
                "Network.webSocketCreated" => e["params"]["url"].as_str(),
                _ => None,
            })
            .map(str::to_owned)
            .collect()
    }

    /// Stops chromium.
    pub async fn close(mut self) {
        let _ = self.child.kill().await;
    }
}
