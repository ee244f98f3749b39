//! The OBS overlay at `/overlay/{bridge}` in a real headless Chromium (Debian's `chromium`,
//! driven over the DevTools protocol by `support::browser`): events pushed into the feed
//! appear (chat, gift alert, follow alert), `types` hides the others, the page is
//! transparent, and it requests nothing but its own listener (DevTools `Network` events).
//!
//! Skipped (with a message) without a chromium binary, unless `TIKTWITCH_REQUIRE_ALL=1` or
//! `TIKTWITCH_REQUIRE_CHROMIUM=1`, where that fails.

mod support;

mod feed_support;

use std::time::Duration;

use serde_json::json;
use tiktwitch::event::{Event, EventKind, Meta};
use tiktwitch::feed::FeedSettings;

use feed_support::{bridge, chat, gift, start, user};
use support::browser::{Browser, chromium_or_skip};

fn with_user(msg_id: u64, kind: fn(tiktwitch::event::User) -> EventKind) -> Event {
    Event {
        meta: Meta {
            method: "WebcastSocialMessage".into(),
            msg_id,
            ..Meta::default()
        },
        kind: kind(user(msg_id % 7)),
    }
}

fn follow(msg_id: u64) -> Event {
    with_user(msg_id, |user| EventKind::Follow { user })
}

fn share(msg_id: u64) -> Event {
    with_user(msg_id, |user| EventKind::Share { user })
}

/// `event` with its user's avatar (the envelope's `user.avatar`) set to `url`.
fn with_avatar(mut event: Event, url: &str) -> Event {
    if let EventKind::Chat { user, .. } | EventKind::Gift { user, .. } = &mut event.kind {
        user.profile.avatar = Some(url.to_owned());
    }
    event
}

fn feed_on() -> FeedSettings {
    FeedSettings {
        ws_enabled: true,
        ..FeedSettings::default()
    }
}

/// The page itself, without a browser: served for a bridge that exists, with a CSP that
/// allows no other origin but images; a bridge that does not exist is a 404.
#[tokio::test]
async fn the_overlay_is_served_per_bridge_with_a_closed_csp() {
    let a = bridge("a");
    let (_hub, _tasks, addr) = start(feed_on(), std::slice::from_ref(&a)).await;
    let page = reqwest::get(format!("http://{addr}/overlay/a?types=chat"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    // Everything inline: no script, style or font is loaded from anywhere.
    for external in ["<script src", "<link", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    let missing = reqwest::get(format!("http://{addr}/overlay/nope"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlay_shows_chat_and_alerts_transparently_in_headless_chromium() {
    let Some(chromium) = chromium_or_skip("the_overlay_shows_chat_and_alerts_in_headless_chromium")
    else {
        return;
    };
    let a = bridge("a");
    let (hub, _tasks, addr) = start(feed_on(), std::slice::from_ref(&a)).await;
    // An avatar on the page's own listener: the page asks for it (the image is missing there,
    // so the page falls back to the initial-letter badge), and `avatars=0` never does.
    let avatar = format!("http://{addr}/avatar/fan.png");
    // While a page is connected, play a round of events now and then (the browser may be
    // slow to connect or render). The chat comes last in each round: once it is shown,
    // the round's other events have been through the page too.
    let publisher = {
        let a = a.clone();
        let hub = hub.clone();
        let avatar = avatar.clone();
        tokio::spawn(async move {
            let mut round = 0u64;
            loop {
                if hub.ws_stats().connected > 0 {
                    round += 1;
                    let base = round * 10;
                    a.publish(&share(base + 1));
                    a.publish(&with_avatar(gift(base + 2), &avatar));
                    a.publish(&follow(base + 3));
                    a.publish(&with_avatar(
                        chat(base + 4, "<b>hello overlay</b>"),
                        &avatar,
                    ));
                }
                // Waiting on an external browser process: real time is unavoidable here.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    let all_url = format!("http://{addr}/overlay/a?theme=light&font=30");
    let chat_url = format!("http://{addr}/overlay/a?types=chat&avatars=0");
    let checks = tokio::time::timeout(Duration::from_secs(120), async {
        let mut browser = Browser::launch(&chromium).await;
        let all = browser.open(&all_url, true).await;
        browser
            .until(
                &all,
                "['chat','gift','follow'].every(t => document.querySelector('#feed li[data-type=' + t + ']'))",
            )
            .await;
        let shown = browser
            .eval(
                &all,
                "JSON.stringify({
                    share: document.querySelectorAll('#feed li[data-type=share]').length,
                    text: document.getElementById('feed').textContent,
                    bold: document.querySelectorAll('#feed b').length,
                    imgs: document.querySelectorAll('#feed img').length,
                    badge: (document.querySelector('#feed .badge') || {}).textContent,
                    alerts: Array.from(document.querySelectorAll('#feed li.alert')).map(l => l.dataset.type),
                    html_bg: getComputedStyle(document.documentElement).backgroundColor,
                    body_bg: getComputedStyle(document.body).backgroundColor,
                    font: getComputedStyle(document.querySelector('#feed li')).fontSize,
                    theme: document.body.className,
                })",
            )
            .await;
        let chat_only = browser.open(&chat_url, true).await;
        browser
            .until(
                &chat_only,
                "document.querySelectorAll('#feed li[data-type=chat]').length >= 2",
            )
            .await;
        let others = browser
            .eval(
                &chat_only,
                "document.querySelectorAll('#feed li:not([data-type=chat])').length",
            )
            .await;
        let requested = (browser.requested(&all), browser.requested(&chat_only));
        browser.close().await;
        (shown, others, requested)
    })
    .await
    .expect("chromium did not show the overlay's events within 120 s");
    publisher.abort();
    let (shown, others, (all_requests, chat_requests)) = checks;
    let shown: serde_json::Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();

    // Chat, and gift and follow as alerts; a share is not among the default types.
    assert_eq!(shown["share"], 0, "{shown}");
    let text = shown["text"].as_str().unwrap();
    assert!(
        text.contains("<b>hello overlay</b>"),
        "viewers' text shown as text: {text}"
    );
    assert_eq!(shown["bold"], 0, "never run as HTML: {shown}");
    assert!(
        text.contains("sent Rose x1") && text.contains("followed"),
        "{text}"
    );
    assert!(text.contains("Fan "), "the sender's name is shown: {text}");
    let alerts = shown["alerts"].as_array().unwrap();
    assert!(alerts.contains(&json!("gift")) && alerts.contains(&json!("follow")));
    assert!(!alerts.contains(&json!("chat")), "{shown}");
    // The follow has no avatar: an initial-letter badge. The chat's and the gift's avatar
    // URL (from the event's `user.avatar`) was asked for on the page with avatars, never on
    // the one with `avatars=0`.
    assert_eq!(shown["badge"].as_str(), Some("F"), "{shown}");
    assert!(
        all_requests.iter().any(|u| u == &avatar),
        "the avatar was shown: {all_requests:?}"
    );
    assert!(
        !chat_requests.iter().any(|u| u == &avatar),
        "avatars=0: {chat_requests:?}"
    );
    // Transparent for OBS; the theme and font size from the query.
    assert_eq!(shown["html_bg"], "rgba(0, 0, 0, 0)", "{shown}");
    assert_eq!(shown["body_bg"], "rgba(0, 0, 0, 0)", "{shown}");
    assert_eq!(shown["font"], "30px", "{shown}");
    assert!(
        shown["theme"].as_str().unwrap().contains("theme-light"),
        "{shown}"
    );
    // `types=chat`: nothing else shown.
    assert_eq!(others, 0);

    // Its own listener only: the page and its WebSocket, nothing else.
    for requests in [&all_requests, &chat_requests] {
        assert!(
            requests
                .iter()
                .any(|u| u.starts_with(&format!("ws://{addr}/ws/a?"))),
            "the feed's socket was seen: {requests:?}"
        );
        for url in requests {
            assert!(
                url.starts_with(&format!("http://{addr}/"))
                    || url.starts_with(&format!("ws://{addr}/")),
                "a request beyond its own origin: {url} (all: {requests:?})"
            );
        }
    }
    assert_eq!(all_requests[0], all_url);
}
